import LuaHost
import VCenterModel

/// `moonmotion.Host`: an ESXi host of an inventory snapshot.
final class LuaHostObject: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "Host"

    /// The view it belongs to.
    let view: LuaInventoryView
    /// The host's reference.
    let ref: MoRef
    private var last: HostInfo

    init(view: LuaInventoryView, info: HostInfo) {
        self.view = view
        self.ref = info.ref
        self.last = info
    }

    /// The host's current record.
    var info: HostInfo {
        if let current = view.inventory.host(ref) { last = current }
        return last
    }

    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaHostObject>) {
        type.field("name") { call, host in call.push(host.info.name); return .values(1) }
        type.field("id") { call, host in call.push(host.ref.value); return .values(1) }
        type.field("moref") { call, host in call.push(host.ref.description); return .values(1) }
        type.field("cluster") { call, host in
            if let c = host.info.cluster { host.view.push(.cluster, c, on: call) } else { call.pushNil() }
            return .values(1)
        }
        type.field("connection_state") { call, host in call.push(host.info.connectionState); return .values(1) }
        type.field("maintenance") { call, host in call.push(host.info.inMaintenanceMode); return .values(1) }
        type.field("usable") { call, host in call.push(host.info.isUsable); return .values(1) }
        type.aliases(["in_maintenance_mode", "maintenance_mode"], for: "maintenance")
        type.aliases(["state"], for: "connection_state")
        type.field("datastores") { call, host in
            let ref = host.ref
            try host.view.pushArray(.datastore, host.view.inventory.datastores.filter { $0.hosts.contains(ref) }.map(\.ref), on: call)
            return .values(1)
        }
        type.method("vms") { call, host in
            var filter = try InventoryFilter.parse(call, at: 2, kind: .vms)
            filter.host = .ref(host.ref)
            try host.view.pushFiltered(.vm, filter, on: call)
            return .values(1)
        }
        type.method("refresh") { call, host in
            guard let connection = host.view.connection else {
                throw LuaFailure("host \(host.info.name) comes from an inventory without a connection; there is nothing to re-read it from")
            }
            return try connection.refreshInventory(call: call, pushing: { call, _ in call.push(host) })
        }
        type.tostring { host in
            let info = host.info
            var text = "Host \(info.name) (\(host.ref.value))"
            if let c = info.cluster { text += " in " + host.view.inventory.name(of: c) }
            if info.inMaintenanceMode { text += ", in maintenance" }
            if info.connectionState != "connected" { text += ", " + info.connectionState }
            return text
        }
    }
}
