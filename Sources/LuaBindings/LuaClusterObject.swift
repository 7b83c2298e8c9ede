import LuaHost
import VCenterModel

/// `moonmotion.Cluster`: a cluster of an inventory snapshot.
final class LuaClusterObject: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "Cluster"

    /// The view it belongs to.
    let view: LuaInventoryView
    /// The cluster's reference.
    let ref: MoRef
    private var last: ClusterInfo

    init(view: LuaInventoryView, info: ClusterInfo) {
        self.view = view
        self.ref = info.ref
        self.last = info
    }

    /// The cluster's current record.
    var info: ClusterInfo {
        if let current = view.inventory.cluster(ref) { last = current }
        return last
    }

    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaClusterObject>) {
        type.field("name") { call, cluster in call.push(cluster.info.name); return .values(1) }
        type.field("id") { call, cluster in call.push(cluster.ref.value); return .values(1) }
        type.field("moref") { call, cluster in call.push(cluster.ref.description); return .values(1) }
        type.field("hosts") { call, cluster in
            let ref = cluster.ref
            var hosts = cluster.info.hosts
            if hosts.isEmpty { hosts = cluster.view.inventory.hosts(in: ref).map(\.ref) }
            try cluster.view.pushArray(.host, hosts, on: call)
            return .values(1)
        }
        type.method("vms") { call, cluster in
            var filter = try InventoryFilter.parse(call, at: 2, kind: .vms)
            filter.cluster = .ref(cluster.ref)
            try cluster.view.pushFiltered(.vm, filter, on: call)
            return .values(1)
        }
        type.method("refresh") { call, cluster in
            guard let connection = cluster.view.connection else {
                throw LuaFailure("cluster \(cluster.info.name) comes from an inventory without a connection; there is nothing to re-read it from")
            }
            return try connection.refreshInventory(call: call, pushing: { call, _ in call.push(cluster) })
        }
        type.tostring { cluster in
            let info = cluster.info
            let hosts = info.hosts.isEmpty ? cluster.view.inventory.hosts(in: cluster.ref).count : info.hosts.count
            return "Cluster \(info.name) (\(cluster.ref.value)), \(hosts) host\(hosts == 1 ? "" : "s")"
        }
    }
}
