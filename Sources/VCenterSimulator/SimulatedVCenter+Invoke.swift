import VCenterModel

/// `invoke`: the few vSphere methods the simulator knows by name.
extension SimulatedVCenter {
    /// The methods `invoke` accepts.
    public static let invokableMethods = [
        "RelocateVM_Task", "MigrateVM_Task", "ConsolidateVMDisks_Task", "RemoveAllSnapshots_Task",
        "RemoveSnapshot_Task", "PowerOffVM_Task", "PowerOnVM_Task", "CancelTask",
        "RecommendDatastores", "ApplyStorageDrsRecommendation_Task",
    ]

    /// The simulator's `StorageResourceManager` (the object `RecommendDatastores` and
    /// `ApplyStorageDrsRecommendation_Task` are called on).
    public static let storageResourceManager = MoRef("StorageResourceManager", "StorageResourceManager")

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
        func flag(_ v: PropertyValue?, _ name: String) throws -> Bool? {
            switch v {
            case nil, .null?: return nil
            case .bool(let b)?: return b
            case .string(let s)? where s == "true" || s == "false": return s == "true"
            default: throw VCenterFault.invalidArgument("\(method): '\(name)' must be true or false")
            }
        }
        /// A `VirtualMachineRelocateSpec`: datastore, host, pool and `disk[]` locators
        /// (`diskId`, `datastore`, `diskBackingInfo` with `thinProvisioned` / `eagerlyScrub`).
        func relocateSpec(_ spec: PropertyValue, _ name: String) throws -> RelocateSpec {
            var locators: [DiskLocator] = []
            let entries: [PropertyValue]
            switch spec[field: "disk"] {
            case nil, .null?: entries = []
            case .array(let list)?: entries = list
            case let one?: entries = [one]
            }
            for (n, entry) in entries.enumerated() {
                let at = "\(name).disk[\(n)]"
                guard case .object = entry else { throw VCenterFault.invalidArgument("\(method): \(at) must be a disk locator (VirtualMachineRelocateSpecDiskLocator)") }
                let key: Int
                switch entry[field: "diskId"] {
                case .int(let k)?: key = Int(k)
                case .string(let s)? where Int(s) != nil: key = Int(s)!
                default: throw VCenterFault.invalidArgument("\(method): \(at).diskId must be the disk's device key, such as 2000")
                }
                guard let datastore = try ref(entry[field: "datastore"], "\(at).datastore") else {
                    throw VCenterFault.invalidArgument("\(method): \(at) needs a datastore")
                }
                var format: DiskFormat?
                if let backing = entry[field: "diskBackingInfo"], backing != .null {
                    let thin = try flag(backing[field: "thinProvisioned"], "\(at).diskBackingInfo.thinProvisioned")
                    let eager = try flag(backing[field: "eagerlyScrub"], "\(at).diskBackingInfo.eagerlyScrub")
                    format = thin == true ? .thin : eager == true ? .eager : thin == false ? .thick : nil
                }
                locators.append(DiskLocator(diskKey: key, datastore: datastore, format: format))
            }
            return RelocateSpec(datastore: try ref(spec[field: "datastore"], "\(name).datastore"),
                                host: try ref(spec[field: "host"], "\(name).host"),
                                pool: try ref(spec[field: "pool"], "\(name).pool"), disks: locators)
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
            return .task(try await relocateVM(object, spec: try relocateSpec(spec, "spec"), priority: try priority()))
        case "RecommendDatastores":
            try expect("StorageResourceManager")
            guard let placement = value("storageSpec"), case .object = placement else {
                throw VCenterFault.invalidArgument("RecommendDatastores needs a 'storageSpec' object (StoragePlacementSpec) with type = relocate, vm, podSelectionSpec.storagePod and relocateSpec")
            }
            if let type = placement[field: "type"]?.string, type != "relocate" {
                throw VCenterFault.notSupported("the simulated vCenter's Storage DRS places relocations (type = relocate), not '\(type)'")
            }
            guard let vm = try ref(placement[field: "vm"], "storageSpec.vm") else {
                throw VCenterFault.invalidArgument("RecommendDatastores: storageSpec.vm is required for a relocation")
            }
            guard let pod = try ref(placement[field: "podSelectionSpec"]?[field: "storagePod"], "storageSpec.podSelectionSpec.storagePod") else {
                throw VCenterFault.invalidArgument("RecommendDatastores: storageSpec.podSelectionSpec.storagePod is required")
            }
            var relocate = RelocateSpec()
            if let r = placement[field: "relocateSpec"], r != .null { relocate = try relocateSpec(r, "storageSpec.relocateSpec") }
            let recommendations = try await recommendDatastores(vm, pod: pod, spec: relocate)
            return .value(Self.placementResult(recommendations, vm: vm, pod: pod))
        case "ApplyStorageDrsRecommendation_Task":
            try expect("StorageResourceManager")
            let keys: [String]
            switch value("key") {
            case .string(let k)?: keys = [k]
            case .array(let list)?: keys = list.compactMap(\.string)
            default: keys = []
            }
            guard keys.count == 1 else {
                throw VCenterFault.invalidArgument("ApplyStorageDrsRecommendation_Task in the simulated vCenter takes one recommendation key ('key'), not \(keys.count)")
            }
            return .task(try perform { try $0.applyRecommendation(keys[0], vm: nil) })
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

    /// `StoragePlacementResult`: one `ClusterRecommendation` per recommendation, each with its
    /// `StoragePlacementAction` (the destination and the relocate spec to apply).
    static func placementResult(_ recommendations: [StorageRecommendation], vm: MoRef, pod: MoRef) -> PropertyValue {
        typealias F = PropertyValue.Field
        let items = recommendations.map { r -> PropertyValue in
            let locators = r.disks.map { l -> PropertyValue in
                var fields = [F("diskId", .int(Int64(l.diskKey))), F("datastore", .moRef(l.datastore))]
                if let format = l.format {
                    fields.append(F("diskBackingInfo", .object(type: "VirtualDiskFlatVer2BackingInfo", fields: [
                        F("thinProvisioned", .bool(format == .thin)), F("eagerlyScrub", .bool(format == .eager)),
                    ])))
                }
                return .object(type: "VirtualMachineRelocateSpecDiskLocator", fields: fields)
            }
            let relocate = PropertyValue.object(type: "VirtualMachineRelocateSpec", fields: [
                F("datastore", .moRef(r.destination)), F("disk", .array(locators)),
            ])
            let action = PropertyValue.object(type: "StoragePlacementAction", fields: [
                F("type", .string("StoragePlacementV1")), F("target", .moRef(pod)), F("vm", .moRef(vm)),
                F("destination", .moRef(r.destination)), F("relocateSpec", relocate),
            ])
            return .object(type: "ClusterRecommendation", fields: [
                F("key", .string(r.key)), F("type", .string("V1")), F("rating", .int(Int64(r.rating))),
                F("reason", .string("storagePlacement")), F("target", .moRef(pod)), F("action", .array([action])),
            ])
        }
        return .object(type: "StoragePlacementResult", fields: [F("recommendations", .array(items))])
    }
}
