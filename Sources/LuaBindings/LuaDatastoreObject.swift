import LuaHost
import VCenterModel

/// `moonmotion.Datastore`: a datastore of an inventory snapshot.
final class LuaDatastoreObject: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "Datastore"

    /// The view it belongs to.
    let view: LuaInventoryView
    /// The datastore's reference.
    let ref: MoRef
    private var last: DatastoreInfo

    init(view: LuaInventoryView, info: DatastoreInfo) {
        self.view = view
        self.ref = info.ref
        self.last = info
    }

    /// The datastore's current record.
    var info: DatastoreInfo {
        if let current = view.inventory.datastore(ref) { last = current }
        return last
    }

    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaDatastoreObject>) {
        type.field("name") { call, ds in call.push(ds.info.name); return .values(1) }
        type.field("id") { call, ds in call.push(ds.ref.value); return .values(1) }
        type.field("moref") { call, ds in call.push(ds.ref.description); return .values(1) }
        type.field("capacity") { call, ds in call.push(ds.info.capacityBytes); return .values(1) }
        type.field("free") { call, ds in call.push(ds.info.freeBytes); return .values(1) }
        type.field("type") { call, ds in call.push(ds.info.type); return .values(1) }
        type.field("accessible") { call, ds in call.push(ds.info.accessible); return .values(1) }
        type.field("datastore_cluster") { call, ds in
            call.pushOptional(ds.info.datastoreCluster.map { ds.view.inventory.name(of: $0) })
            return .values(1)
        }
        type.field("hosts") { call, ds in
            try ds.view.pushArray(.host, ds.info.hosts, on: call)
            return .values(1)
        }
        type.aliases(["capacity_bytes", "size", "total"], for: "capacity")
        type.aliases(["free_bytes", "free_space", "freespace", "available"], for: "free")
        type.aliases(["pod", "storage_pod", "cluster"], for: "datastore_cluster")
        type.method("vms") { call, ds in
            var filter = try InventoryFilter.parse(call, at: 2, kind: .vms)
            filter.datastore = .ref(ds.ref)
            try ds.view.pushFiltered(.vm, filter, on: call)
            return .values(1)
        }
        type.method("refresh") { call, ds in
            guard let connection = ds.view.connection else {
                throw LuaFailure("datastore \(ds.info.name) comes from an inventory without a connection; there is nothing to re-read it from")
            }
            return try connection.refreshInventory(call: call, pushing: { call, _ in call.push(ds) })
        }
        type.tostring { ds in
            let info = ds.info
            return "Datastore \(info.name) (\(ds.ref.value)), \(ByteCount.format(info.freeBytes)) free of \(ByteCount.format(info.capacityBytes))"
                + (info.accessible ? "" : ", inaccessible")
        }
    }
}
