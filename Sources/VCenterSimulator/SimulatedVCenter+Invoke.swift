import VCenterModel

/// `invoke`: the few vSphere methods the simulator knows by name.
extension SimulatedVCenter {
    /// The methods `invoke` accepts.
    public static let invokableMethods = [
        "RelocateVM_Task", "MigrateVM_Task", "ConsolidateVMDisks_Task", "RemoveAllSnapshots_Task",
        "RemoveSnapshot_Task", "PowerOffVM_Task", "PowerOnVM_Task", "CancelTask",
    ]

    public func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult {
        func value(_ name: String) -> PropertyValue? {
            arguments.first(where: { $0.name == name })?.value
        }
        func ref(_ v: PropertyValue?, _ name: String) throws -> MoRef? {
            switch v {
            case nil, .null?: return nil
            case .moRef(let r)?: return r
            case .string(let s)?:
                guard let r = MoRef(parsing: s) else { throw VCenterFault.invalidArgument("\(method): argument '\(name)' = '\(s)' is not a managed object reference such as host-12") }
                return r
            default: throw VCenterFault.invalidArgument("\(method): argument '\(name)' must be a managed object reference")
            }
        }
        func bool(_ name: String, default def: Bool) throws -> Bool {
            switch value(name) {
            case nil, .null?: return def
            case .bool(let b)?: return b
            case .string(let s)? where s == "true" || s == "false": return s == "true"
            default: throw VCenterFault.invalidArgument("\(method): argument '\(name)' must be true or false")
            }
        }
        func priority() throws -> MovePriority {
            guard let v = value("priority"), v != .null else { return .defaultPriority }
            guard let s = v.string, let p = MovePriority(rawValue: s) else {
                throw VCenterFault.invalidArgument("\(method): priority must be one of \(MovePriority.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return p
        }
        func expect(_ type: String) throws {
            guard object.type == type else {
                throw VCenterFault.invalidArgument("\(method) is a method of \(type), not of \(object.type) (\(object.value))")
            }
        }

        switch method {
        case "RelocateVM_Task":
            try expect("VirtualMachine")
            guard let spec = value("spec"), case .object = spec else {
                throw VCenterFault.invalidArgument("RelocateVM_Task needs a 'spec' object (VirtualMachineRelocateSpec) with datastore, host and/or pool")
            }
            let relocate = RelocateSpec(datastore: try ref(spec[field: "datastore"], "spec.datastore"),
                                        host: try ref(spec[field: "host"], "spec.host"),
                                        pool: try ref(spec[field: "pool"], "spec.pool"))
            return .task(try await relocateVM(object, spec: relocate, priority: try priority()))
        case "MigrateVM_Task":
            try expect("VirtualMachine")
            guard let host = try ref(value("host"), "host") else {
                throw VCenterFault.invalidArgument("MigrateVM_Task in the simulated vCenter needs a 'host' argument (DRS placement is not simulated)")
            }
            return .task(try await migrateVM(object, host: host, pool: try ref(value("pool"), "pool"), priority: try priority()))
        case "ConsolidateVMDisks_Task":
            try expect("VirtualMachine")
            return .task(try await consolidateDisks(object))
        case "RemoveAllSnapshots_Task":
            try expect("VirtualMachine")
            return .task(try await removeSnapshot(object, .all, removeChildren: true, consolidate: try bool("consolidate", default: true)))
        case "RemoveSnapshot_Task":
            try expect("VirtualMachineSnapshot")
            let removeChildren = try bool("removeChildren", default: false)
            let consolidate = try bool("consolidate", default: true)
            let vm = try perform { s -> MoRef in
                guard let owner = s.snapshotOwner[object] else { throw VCenterFault.notFound(object) }
                return s.inventory.vms[owner].ref
            }
            return .task(try await removeSnapshot(vm, .ref(object), removeChildren: removeChildren, consolidate: consolidate))
        case "PowerOffVM_Task", "PowerOnVM_Task":
            try expect("VirtualMachine")
            let on = method == "PowerOnVM_Task"
            return .task(try perform { try $0.power(object, on: on) })
        case "CancelTask":
            try expect("Task")
            try await cancelTask(object)
            return .value(.null)
        default:
            throw VCenterFault.notSupported("the simulated vCenter does not implement \(method); it implements \(Self.invokableMethods.joined(separator: ", "))")
        }
    }
}
