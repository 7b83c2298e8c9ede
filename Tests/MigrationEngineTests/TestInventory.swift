import Foundation
import MigrationEngine
import VCenterModel

/// Builds small inventories for engine tests: clusters of hosts, source ("old")
/// and target ("new") datastores mounted everywhere, VMs spread over hosts.
struct TestInventory {
    var clusters = 1
    var hostsPerCluster = 2
    var vmsPerHost = 4
    var oldDatastores = 2
    var newDatastores = 2
    var newCapacity: Int64 = 1 << 50
    /// Committed bytes of VM number `i` (0-based, in creation order).
    var size: (Int) -> Int64 = { i in Int64(10 + (i * 37) % 90) * 1_000_000_000 }
    var linkSpeedMbps: Int? = nil

    func make() -> Inventory {
        var clusterInfos: [ClusterInfo] = []
        var hosts: [HostInfo] = []
        for c in 0..<clusters {
            let cref = MoRef("ClusterComputeResource", "domain-c\(c)")
            var hrefs: [MoRef] = []
            for h in 0..<hostsPerCluster {
                let href = MoRef("HostSystem", "host-\(c)-\(h)")
                hrefs.append(href)
                hosts.append(HostInfo(ref: href, name: "esx-\(c)-\(h)", cluster: cref, vmotionLinkSpeedMbps: linkSpeedMbps))
            }
            clusterInfos.append(ClusterInfo(ref: cref, name: "cl\(c)", hosts: hrefs))
        }
        let allHosts = hosts.map(\.ref)
        var datastores: [DatastoreInfo] = []
        for d in 0..<oldDatastores {
            datastores.append(DatastoreInfo(ref: MoRef("Datastore", "datastore-old\(d)"), name: "old-\(d)", capacityBytes: 1 << 50, freeBytes: 1 << 48, hosts: allHosts))
        }
        for d in 0..<newDatastores {
            datastores.append(DatastoreInfo(ref: MoRef("Datastore", "datastore-new\(d)"), name: "new-\(d)", capacityBytes: newCapacity, freeBytes: newCapacity, hosts: allHosts))
        }
        var vms: [VMInfo] = []
        var i = 0
        for host in hosts {
            for _ in 0..<vmsPerHost {
                let ds = MoRef("Datastore", "datastore-old\(i % max(oldDatastores, 1))")
                vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-\(i)"), name: "vm\(i)", host: host.ref, cluster: host.cluster,
                                  datastores: [ds], committedBytes: size(i), memoryMB: 4096))
                i += 1
            }
        }
        return Inventory(clusters: clusterInfos, hosts: hosts, datastores: datastores, vms: vms)
    }

    /// One cluster of `hosts` hosts, unbalanced: the first holds `onFirst` large VMs
    /// (200 GB, 190 GB, … down to 50 GB, then 50 GB), every other host `elsewhere` small
    /// ones (20 GB). Old and new datastores are mounted by every host.
    static func concentrated(hosts: Int = 8, onFirst: Int = 24, elsewhere: Int = 1) -> Inventory {
        var spec = TestInventory()
        spec.hostsPerCluster = hosts
        spec.vmsPerHost = 0
        spec.newDatastores = 4
        let base = spec.make()
        let cluster = base.clusters[0].ref
        let old = base.datastores.filter { $0.name.hasPrefix("old-") }.map(\.ref)
        var vms: [VMInfo] = []
        for k in 0..<onFirst {
            vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-\(vms.count)"), name: "big\(k)", host: base.hosts[0].ref, cluster: cluster,
                              datastores: [old[k % old.count]], committedBytes: Int64(max(200 - 10 * k, 50)) * 1_000_000_000, memoryMB: 8192))
        }
        for host in base.hosts.dropFirst() {
            for k in 0..<elsewhere {
                vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-\(vms.count)"), name: "small-\(host.name)-\(k)", host: host.ref, cluster: cluster,
                                  datastores: [old[vms.count % old.count]], committedBytes: 20_000_000_000, memoryMB: 4096))
            }
        }
        return Inventory(clusters: base.clusters, hosts: base.hosts, datastores: base.datastores, vms: vms)
    }

    static func newDatastores(_ inv: Inventory) -> [MoRef] { inv.datastores.filter { $0.name.hasPrefix("new-") }.map(\.ref) }

    /// A storage move of every VM to the new datastores.
    static func moveAll(_ inv: Inventory) -> [JobRequest] {
        let targets = newDatastores(inv)
        return inv.vms.map { JobRequest.storageMove($0.ref, to: targets) }
    }
}
