import LuaHost
import VCenterModel

/// The four kinds of inventory objects Lua sees as userdata.
enum InventoryObjectKind: String, CaseIterable, Sendable {
    case vm, host, datastore, cluster

    /// The Lua type name after `moonmotion.`.
    var typeName: String {
        switch self {
        case .vm: "VM"
        case .host: "Host"
        case .datastore: "Datastore"
        case .cluster: "Cluster"
        }
    }

    /// The vSphere managed object type.
    var managedType: String {
        switch self {
        case .vm: "VirtualMachine"
        case .host: "HostSystem"
        case .datastore: "Datastore"
        case .cluster: "ClusterComputeResource"
        }
    }

    /// The reference of the object of this kind at stack `slot`, or nil when the value is
    /// not such an object.
    func ref(ofObjectAt slot: Int32, access call: some LuaStackAccess) -> MoRef? {
        switch self {
        case .vm: call.object(at: slot, as: LuaVMObject.self)?.ref
        case .host: call.object(at: slot, as: LuaHostObject.self)?.ref
        case .datastore: call.object(at: slot, as: LuaDatastoreObject.self)?.ref
        case .cluster: call.object(at: slot, as: LuaClusterObject.self)?.ref
        }
    }

    /// The kind of any inventory object at `slot`, with its reference.
    static func object(at slot: Int32, access call: some LuaStackAccess) -> (InventoryObjectKind, MoRef)? {
        for kind in allCases {
            if let ref = kind.ref(ofObjectAt: slot, access: call) { return (kind, ref) }
        }
        return nil
    }
}

extension Inventory {
    /// The reference of the only object of `kind` called `name`, or nil when there is none.
    /// Several of that name → `AmbiguousNameError` (`ambiguous VM name 'db-01': vm-12, vm-57
    /// (use the moref or a userdata)`), raised in Lua where one object is wanted.
    func uniqueRef(_ kind: InventoryObjectKind, named name: String) throws -> MoRef? {
        switch kind {
        case .vm: try uniqueVM(named: name)?.ref
        case .host: try uniqueHost(named: name)?.ref
        case .datastore: try uniqueDatastore(named: name)?.ref
        case .cluster: try uniqueCluster(named: name)?.ref
        }
    }
}
