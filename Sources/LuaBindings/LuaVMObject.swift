import LuaHost
import VCenterModel

/// `moonmotion.VM`: a virtual machine of an inventory snapshot. Fields read the view's
/// current data, so `vm:refresh()` or `conn:refresh()` updates every holder.
final class LuaVMObject: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "VM"

    /// The view it belongs to (kept alive by the object).
    let view: LuaInventoryView
    /// The VM's reference.
    let ref: MoRef
    private var last: VMInfo

    init(view: LuaInventoryView, info: VMInfo) {
        self.view = view
        self.ref = info.ref
        self.last = info
    }

    /// The VM's current record (the last known one if a refresh dropped it).
    var info: VMInfo {
        if let current = view.inventory.vm(ref) { last = current }
        return last
    }

    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaVMObject>) {
        type.field("name") { call, vm in call.pushString(vm.info.name); return .values(1) }
        type.field("id") { call, vm in call.pushString(vm.ref.value); return .values(1) }
        type.field("moref") { call, vm in call.pushString(vm.ref.description); return .values(1) }
        type.field("host") { call, vm in
            if let h = vm.info.host { vm.view.push(.host, h, on: call) } else { call.pushNilValue() }
            return .values(1)
        }
        type.field("cluster") { call, vm in
            if let c = vm.info.cluster { vm.view.push(.cluster, c, on: call) } else { call.pushNilValue() }
            return .values(1)
        }
        type.field("pool") { call, vm in call.pushOptional(vm.info.resourcePool?.description); return .values(1) }
        type.field("datastores") { call, vm in
            try vm.view.pushArray(.datastore, vm.info.datastores, on: call)
            return .values(1)
        }
        type.field("committed") { call, vm in call.pushInteger(vm.info.committedBytes); return .values(1) }
        type.field("uncommitted") { call, vm in call.pushInteger(vm.info.uncommittedBytes); return .values(1) }
        type.field("memory_mb") { call, vm in call.pushInteger(vm.info.memoryMB); return .values(1) }
        type.field("power") { call, vm in call.pushString(vm.info.powerState); return .values(1) }
        type.field("template") { call, vm in call.pushBoolean(vm.info.isTemplate); return .values(1) }
        type.field("consolidation_needed") { call, vm in call.pushBoolean(vm.info.consolidationNeeded); return .values(1) }
        type.field("has_snapshots") { call, vm in call.pushBoolean(vm.info.hasSnapshots); return .values(1) }
        type.field("snapshots") { call, vm in
            try call.pushArray(vm.info.snapshots) { snapshot in
                var fields: [String: LuaValue] = [
                    "name": .string(snapshot.name), "id": .string(snapshot.ref.value), "moref": .string(snapshot.ref.description),
                ]
                if let created = snapshot.createTime { fields["created"] = .number(created.timeIntervalSince1970) }
                if let parent = snapshot.parent { fields["parent"] = .string(parent.description) }
                call.pushPlain(.table(LuaTable(fields: fields)))
            }
            return .values(1)
        }
        type.method("refresh") { call, vm in
            guard let connection = vm.view.connection else {
                throw LuaFailure("VM \(vm.info.name) comes from an inventory without a connection; there is nothing to re-read it from")
            }
            return try connection.refreshVM(vm, call: call)
        }
        type.tostring { vm in vm.summary }
    }

    /// `VM db-01 (vm-42) on esx-01, 120.0 GB`.
    var summary: String {
        let info = self.info
        var text = "VM \(info.name) (\(ref.value))"
        if let host = info.host { text += " on " + view.inventory.name(of: host) }
        return text + ", " + ByteCount.format(info.committedBytes)
    }
}

/// Human-readable sizes (binary units, as vSphere shows them).
enum ByteCount {
    /// `512.0 MB`, `120.0 GB`, `1.5 TB`.
    static func format(_ bytes: Int64) -> String {
        let b = Double(bytes)
        let units: [(Double, String)] = [(1_099_511_627_776, "TB"), (1_073_741_824, "GB"), (1_048_576, "MB"), (1024, "KB")]
        for (size, unit) in units where b >= size {
            return oneDecimal(b / size) + " " + unit
        }
        return "\(bytes) B"
    }

    static func oneDecimal(_ x: Double) -> String {
        let tenths = Int64((x * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
