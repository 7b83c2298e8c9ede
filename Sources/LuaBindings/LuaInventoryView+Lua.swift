import LuaHost
import VCenterModel

extension LuaInventoryView {
    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaInventoryView>) {
        for kind in InventoryObjectKind.allCases {
            type.field(kind.listingName) { call, view in
                try view.pushAll(kind, on: call)
                return .values(1)
            }
        }
        for kind in InventoryObjectKind.allCases {
            type.method(kind.rawValue) { call, view in
                try view.pushLookup(kind, argument: 2, call: call)
                return .values(1)
            }
        }
        type.field("datastore_clusters") { call, view in
            try call.pushArray(view.inventory.datastoreClusters) { pod in
                try call.newTable(fields: 7)
                call.setRawField("name", .string(pod.name))
                call.setRawField("id", .string(pod.ref.value))
                call.setRawField("moref", .string(pod.ref.description))
                call.setRawField("sdrs", .boolean(pod.sdrsEnabled))
                call.setRawField("capacity", .integer(Int(pod.capacityBytes)))
                call.setRawField("free", .integer(Int(pod.freeBytes)))
                try view.pushArray(.datastore, pod.datastores, on: call)
                call.setRawField("datastores")
            }
            return .values(1)
        }
        type.field("about") { call, view in
            if let about = view.inventory.about { call.push(.table(about.luaTable)) } else { call.pushNil() }
            return .values(1)
        }
        type.field("tags_unread") { call, view in call.pushOptional(view.tagsUnread); return .values(1) }
        type.field("connection") { call, view in
            if let c = view.connection { call.push(c) } else { call.pushNil() }
            return .values(1)
        }
        type.method("refresh") { call, view in
            guard let connection = view.connection else {
                throw LuaFailure("this inventory was loaded without a connection; there is nothing to re-read it from")
            }
            return try connection.refreshInventory(call: call, pushing: { call, view in call.push(view) })
        }
        type.tostring { view in
            let inv = view.inventory
            func count(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
            return "Inventory: \(count(inv.clusters.count, "cluster")), \(count(inv.hosts.count, "host")), "
                + "\(count(inv.datastores.count, "datastore")), \(count(inv.vms.count, "VM"))"
        }
    }

    /// Pushes the object of `kind` that argument `argument` names (an object, a name or a
    /// reference), or nil.
    func pushLookup(_ kind: InventoryObjectKind, argument: Int32, call: LuaCall) throws {
        if let (k, ref) = InventoryObjectKind.object(at: argument, access: call) {
            guard k == kind else { throw LuaArgumentError(argument, expected: "\(kind.typeName) name", actual: call.typeName(argument)) }
            push(kind, ref, on: call)
            return
        }
        guard call.type(argument) == .string || call.type(argument) == .number else {
            throw LuaArgumentError(argument, expected: "\(kind.typeName.lowercased()) name or moref", actual: call.typeName(argument))
        }
        if let ref = try lookup(kind, try call.string(argument)) { push(kind, ref, on: call) } else { call.pushNil() }
    }

    /// The metatable of `inv.vms` & co.: `__call(list, inv, filter)` filters like `conn:vms`.
    static func listingMetatable(_ kind: InventoryObjectKind, on stack: some LuaStackAccess) throws -> LuaRef {
        try stack.registryValue("moonmotion.bindings.listing." + kind.listingName) {
            try stack.newTable(fields: 3)
            stack.push(function: "inv:" + kind.listingName) { call in
                guard let view = call.object(at: 2, as: LuaInventoryView.self) else {
                    throw LuaFailure("call it as inv:\(kind.listingName){...} (with a colon), on the inventory it came from")
                }
                let filter = try InventoryFilter.parse(call, at: 3, kind: kind.filterKind)
                try view.pushFiltered(kind, filter, on: call)
                return .values(1)
            }
            stack.setRawField("__call")
            stack.push("moonmotion." + kind.typeName + " list")
            stack.setRawField("__name")
            stack.push("moonmotion." + kind.typeName + " list")
            stack.setRawField("__metatable")
        }
    }
}

extension InventoryObjectKind {
    /// `vms`, `hosts`, `datastores`, `clusters`.
    var listingName: String { rawValue + "s" }

    var filterKind: InventoryFilter.Kind {
        switch self {
        case .vm: .vms
        case .host: .hosts
        case .datastore: .datastores
        case .cluster: .clusters
        }
    }
}

extension AboutInfo {
    /// `conn:about()`: `name, full_name, version, build, api_version, api_type, instance_uuid`.
    var luaTable: LuaTable {
        LuaTable(fields: [
            "name": .string(name), "full_name": .string(fullName), "version": .string(version),
            "build": .string(build), "api_version": .string(apiVersion), "api_type": .string(apiType),
            "instance_uuid": .string(instanceUuid),
        ])
    }
}
