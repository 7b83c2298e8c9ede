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
        type.field("name") { call, vm in call.push(vm.info.name); return .values(1) }
        type.field("id") { call, vm in call.push(vm.ref.value); return .values(1) }
        type.field("moref") { call, vm in call.push(vm.ref.description); return .values(1) }
        type.field("host") { call, vm in
            if let h = vm.info.host { vm.view.push(.host, h, on: call) } else { call.pushNil() }
            return .values(1)
        }
        type.field("cluster") { call, vm in
            if let c = vm.info.cluster { vm.view.push(.cluster, c, on: call) } else { call.pushNil() }
            return .values(1)
        }
        type.field("pool") { call, vm in call.pushOptional(vm.info.resourcePool?.description); return .values(1) }
        type.field("datastores") { call, vm in
            try vm.view.pushArray(.datastore, vm.info.datastores, on: call)
            return .values(1)
        }
        type.field("committed") { call, vm in call.push(vm.info.committedBytes); return .values(1) }
        type.field("uncommitted") { call, vm in call.push(vm.info.uncommittedBytes); return .values(1) }
        type.field("memory_mb") { call, vm in call.push(vm.info.memoryMB); return .values(1) }
        type.field("power") { call, vm in call.push(vm.info.powerState); return .values(1) }
        type.field("template") { call, vm in call.push(vm.info.isTemplate); return .values(1) }
        type.field("consolidation_needed") { call, vm in call.push(vm.info.consolidationNeeded); return .values(1) }
        type.field("has_snapshots") { call, vm in call.push(vm.info.hasSnapshots); return .values(1) }
        type.field("snapshots") { call, vm in
            try call.pushArray(vm.info.snapshots) { snapshot in
                var fields: [String: LuaValue] = [
                    "name": .string(snapshot.name), "id": .string(snapshot.ref.value), "moref": .string(snapshot.ref.description),
                ]
                if let created = snapshot.createTime { fields["created"] = .number(created.timeIntervalSince1970) }
                if let parent = snapshot.parent { fields["parent"] = .string(parent.description) }
                call.push(.table(LuaTable(fields: fields)))
            }
            return .values(1)
        }
        type.field("home") { call, vm in
            let info = vm.info
            if let ds = info.configDatastore ?? info.datastores.first { vm.view.push(.datastore, ds, on: call) } else { call.pushNil() }
            return .values(1)
        }
        type.field("vm_path") { call, vm in call.pushOptional(vm.info.vmPathName.isEmpty ? nil : vm.info.vmPathName); return .values(1) }
        type.field("disks") { call, vm in
            let view = vm.view
            try call.pushArray(vm.info.disks) { disk in
                try call.newTable(fields: 14)
                call.setRawField("key", .integer(disk.key))
                call.setRawField("label", .string(disk.label))
                call.setRawField("file", .string(disk.fileName))
                call.setRawField("capacity", .integer(Int(disk.capacityBytes)))
                call.setRawField("used", .integer(Int(disk.usedBytes)))
                call.setRawField("backing", .string(disk.backing.rawValue))
                call.setRawField("thin", .boolean(disk.thinProvisioned))
                call.setRawField("eager_scrub", .boolean(disk.eagerlyScrub))
                if let format = disk.format { call.setRawField("format", .string(format.rawValue)) }
                call.setRawField("shared", .boolean(disk.isMultiWriter))
                call.setRawField("mode", .string(disk.diskMode))
                call.setRawField("independent", .boolean(disk.isIndependent))
                if let ds = disk.datastore {
                    view.push(.datastore, ds, on: call)
                    call.setRawField("datastore")
                }
            }
            return .values(1)
        }
        type.field("files") { call, vm in
            let view = vm.view
            try call.pushArray(vm.info.files) { file in
                try call.newTable(fields: 5)
                call.setRawField("id", .string(file.id.description))
                if let key = file.id.diskKey { call.setRawField("key", .integer(key)) }
                call.setRawField("label", .string(file.label))
                call.setRawField("bytes", .integer(Int(file.bytes)))
                if let ds = file.datastore {
                    view.push(.datastore, ds, on: call)
                    call.setRawField("datastore")
                }
            }
            return .values(1)
        }
        type.field("media") { call, vm in
            let view = vm.view
            try call.pushArray(vm.info.media) { media in
                try call.newTable(fields: 4)
                call.setRawField("key", .integer(media.key))
                call.setRawField("label", .string(media.label))
                call.setRawField("file", .string(media.fileName))
                if let ds = media.datastore {
                    view.push(.datastore, ds, on: call)
                    call.setRawField("datastore")
                }
            }
            return .values(1)
        }
        type.field("fault_tolerance") { call, vm in
            call.pushOptional(vm.info.faultToleranceRole.map { $0 == 1 ? "primary" : "secondary" })
            return .values(1)
        }
        type.field("connection_state") { call, vm in call.push(vm.info.connectionState); return .values(1) }
        type.field("tools") { call, vm in call.pushOptional(vm.info.toolsRunningStatus); return .values(1) }
        type.field("folder") { call, vm in call.pushOptional(vm.info.folderPath); return .values(1) }
        type.field("attributes") { call, vm in
            // A fresh plain table each read: a script may keep or change it without touching the inventory.
            call.push(.table(LuaTable(fields: vm.info.customAttributes.mapValues { .string($0) })))
            return .values(1)
        }
        type.field("guest_os") { call, vm in call.pushOptional(vm.info.guestOS); return .values(1) }
        type.field("guest_id") { call, vm in call.pushOptional(vm.info.guestId); return .values(1) }
        type.field("tags") { call, vm in
            // nil, not {}, when tags were not read: "no tags" and "unknown" must not look alike.
            // A fresh plain table each read, sorted: `category:tag` strings.
            if let tags = vm.info.tags { call.push(.table(LuaTable(array: tags.map { .string($0.description) }))) } else { call.pushNil() }
            return .values(1)
        }
        type.field("tag") { call, vm in
            guard let tags = vm.info.tags else { call.pushNil(); return .values(1) }
            call.push(.table(LuaTable(fields: LuaVMObject.tagsByCategory(tags))))
            return .values(1)
        }
        type.aliases(["size", "bytes", "used", "committed_bytes", "size_bytes", "storage", "disk_size"], for: "committed")
        type.aliases(["uncommitted_bytes"], for: "uncommitted")
        type.aliases(["power_state", "powerstate", "state", "powered_on"], for: "power")
        type.aliases(["memory", "memory_gb", "ram", "memory_size"], for: "memory_mb")
        type.aliases(["guest", "os", "guest_full_name", "operating_system"], for: "guest_os")
        type.aliases(["folder_path", "path", "location"], for: "folder")
        type.aliases(["custom_attributes", "custom_fields", "custom_values", "attribute", "annotations"], for: "attributes")
        type.aliases(["labels", "vsphere_tags", "tag_list"], for: "tags")
        type.aliases(["tag_category", "categories", "tags_by_category"], for: "tag")
        type.aliases(["datastore", "storage_location"], for: "datastores")
        type.aliases(["resource_pool"], for: "pool")
        type.aliases(["tools_running_status", "tools_status", "vmware_tools"], for: "tools")
        type.aliases(["is_template"], for: "template")
        type.aliases(["vmhost", "esx", "esxi"], for: "host")
        type.method("refresh") { call, vm in
            guard let connection = vm.view.connection else {
                throw LuaFailure("VM \(vm.info.name) comes from an inventory without a connection; there is nothing to re-read it from")
            }
            return try connection.refreshVM(vm, call: call)
        }
        type.tostring { vm in vm.summary }
    }

    /// `vm.tag`: category → the VM's tag name in it, or a sorted list of names where the VM
    /// has several tags of one category (a MULTIPLE category). A wave category (SINGLE) always
    /// gives a string: `vm.tag["migration-wave"] == "wave-1"`.
    static func tagsByCategory(_ tags: [VMTag]) -> [String: LuaValue] {
        var names: [String: [String]] = [:]
        for tag in tags { names[tag.category, default: []].append(tag.name) }
        return names.mapValues { list in
            list.count == 1 ? .string(list[0]) : .table(LuaTable(array: list.sorted().map { .string($0) }))
        }
    }

    /// `VM db-01 (vm-42) on esx-01, 120.0 GiB`.
    var summary: String {
        let info = self.info
        var text = "VM \(info.name) (\(ref.value))"
        if let host = info.host { text += " on " + view.inventory.name(of: host) }
        return text + ", " + ByteCount.format(info.committedBytes)
    }
}

/// Human-readable sizes: IEC units, as everywhere (`ByteUnits`).
enum ByteCount {
    /// `512.0 MiB`, `120.0 GiB`, `1.5 TiB`.
    static func format(_ bytes: Int64) -> String { ByteUnits.format(bytes) }
}
