import Foundation
import VCenterModel

/// Builds a realistic inventory from a `GenerateSpec`: clusters `cluster-1…`, hosts
/// `esx-c1-01…`, datastores `legacy-01…` (holding every VM) and `new-01…` (empty),
/// VMs `app-c1-0001…` with heavy-tailed (log-normal) sizes, a fraction with snapshots
/// or needing consolidation. Ids are numbered like vCenter's (`domain-c7`, `host-12`,
/// `datastore-34`, `vm-123`). The same spec and reference date give the same inventory.
public enum InventoryGenerator {
    /// Generates the inventory. `referenceDate` is "now" for snapshot ages (snapshots are
    /// created over the 60 days before it). Throws when an explicit `capacity` is too
    /// small for the VMs placed on a datastore.
    public static func generate(_ spec: GenerateSpec, referenceDate: Date) throws -> Inventory {
        var rng = SeededGenerator(seed: spec.seed)
        var nextID = 1000
        func id(_ prefix: String) -> String {
            nextID += 1
            return "\(prefix)\(nextID)"
        }

        let datacenter = DatacenterInfo(ref: MoRef("Datacenter", "datacenter-3"), name: "dc-sim")
        var clusters: [ClusterInfo] = []
        var hosts: [HostInfo] = []
        var pools: [MoRef] = []
        var resourcePools: [ResourcePoolInfo] = []
        let hostWidth = max(2, digits(spec.hostsPerCluster))
        for c in 1...spec.clusters {
            let cref = MoRef("ClusterComputeResource", id("domain-c"))
            pools.append(MoRef("ResourcePool", id("resgroup-")))
            var members: [MoRef] = []
            for h in 1...spec.hostsPerCluster {
                let href = MoRef("HostSystem", id("host-"))
                members.append(href)
                hosts.append(HostInfo(ref: href, name: "esx-c\(c)-\(pad(h, hostWidth))", cluster: cref,
                                      vmotionLinkSpeedMbps: spec.vmotionLinkGbps * 1000))
            }
            clusters.append(ClusterInfo(ref: cref, name: "cluster-\(c)", datacenter: datacenter.ref, hosts: members))
            resourcePools.append(ResourcePoolInfo(ref: pools[c - 1], name: "Resources", owner: cref))
        }

        // Datastores: per cluster (legacy-01..04 for cluster 1, 05..08 for cluster 2, …) or shared.
        let groups = spec.sharedDatastores ? 1 : spec.clusters
        let dsWidth = max(2, digits(groups * spec.datastoresPerSide))
        var fromRefs: [[Int]] = []   // per group, indices into dsRefs
        var toRefs: [[Int]] = []
        var dsRefs: [MoRef] = []
        var dsNames: [String] = []
        var dsHosts: [[MoRef]] = []
        for g in 0..<groups {
            let mounting = spec.sharedDatastores ? hosts.map(\.ref) : clusters[g].hosts
            for (prefix, isFrom) in [(spec.fromPrefix, true), (spec.toPrefix, false)] {
                var refs: [Int] = []
                for d in 1...spec.datastoresPerSide {
                    refs.append(dsRefs.count)
                    dsRefs.append(MoRef("Datastore", id("datastore-")))
                    dsNames.append("\(prefix)-\(pad(g * spec.datastoresPerSide + d, dsWidth))")
                    dsHosts.append(mounting)
                }
                if isFrom { fromRefs.append(refs) } else { toRefs.append(refs) }
            }
        }

        // VMs: round-robin over clusters, then over the cluster's hosts and source datastores.
        var vms: [VMInfo] = []
        vms.reserveCapacity(spec.vms)
        var perCluster = [Int](repeating: 0, count: spec.clusters)
        var load = [Int64](repeating: 0, count: dsRefs.count)
        let vmWidth = max(4, digits((spec.vms + spec.clusters - 1) / spec.clusters))
        let minSize = Double(spec.minSizeBytes), maxSize = Double(spec.maxSizeBytes)
        let mib: Int64 = 1 << 20
        let sixtyDays: Double = 60 * 86_400
        var dsRoundRobin = 0
        for i in 0..<spec.vms {
            let c = i % spec.clusters
            let k = perCluster[c]
            perCluster[c] += 1
            let cluster = clusters[c]
            let host = cluster.hosts[k % cluster.hosts.count]
            let group = spec.sharedDatastores ? 0 : c
            let dsList = fromRefs[group]
            let ds: Int
            if spec.sharedDatastores {
                ds = dsList[dsRoundRobin % dsList.count]
                dsRoundRobin += 1
            } else {
                // Skewed by one per round over the hosts, so every host holds VMs of every
                // source datastore (k % datastores alone pairs each datastore with a few hosts).
                ds = dsList[(k + k / cluster.hosts.count) % dsList.count]
            }

            let rawSize = spec.sizeSigma == 0 ? Double(spec.meanSizeBytes)
                : rng.nextLogNormal(mean: Double(spec.meanSizeBytes), sigma: spec.sizeSigma)
            let committed = max(mib, (Int64(min(max(rawSize, minSize), maxSize)) / mib) * mib)
            let uncommitted = (Int64(Double(committed) * 0.5 * rng.nextUnit()) / mib) * mib
            let rawMemory = rng.nextLogNormal(mean: Double(spec.meanMemoryMB), sigma: 0.6)
            let memoryMB = rawMemory < 1024 ? max(512, Int(rawMemory / 512) * 512) : min(1 << 20, Int((rawMemory / 1024).rounded()) * 1024)
            let poweredOn = rng.nextUnit() >= 0.05

            var snapshots: [SnapshotInfo] = []
            if rng.nextUnit() < spec.snapshotFraction {
                let count = 1 + Int(rng.nextUnit() * 3)
                let ages = (0..<count).map { _ in rng.nextUnit() * sixtyDays }.sorted(by: >)
                var parent: MoRef?
                for (n, age) in ages.enumerated() {
                    let sref = MoRef("VirtualMachineSnapshot", id("snapshot-"))
                    let created = Date(timeIntervalSinceReferenceDate: (referenceDate.timeIntervalSinceReferenceDate - age).rounded(.down))
                    snapshots.append(SnapshotInfo(ref: sref, name: n == 0 ? "before-upgrade" : "checkpoint-\(n)", createTime: created, parent: parent))
                    parent = sref
                }
            }
            let consolidation = rng.nextUnit() < spec.consolidateFraction

            load[ds] += committed
            vms.append(VMInfo(
                ref: MoRef("VirtualMachine", id("vm-")), name: "app-c\(c + 1)-\(pad(k + 1, vmWidth))",
                host: host, cluster: cluster.ref, resourcePool: pools[c], datastores: [dsRefs[ds]],
                committedBytes: committed, uncommittedBytes: uncommitted, memoryMB: memoryMB,
                powerState: poweredOn ? "poweredOn" : "poweredOff", snapshots: snapshots,
                consolidationNeeded: consolidation))
        }

        // Capacity: the same for every datastore; by default the fullest source is ~75% full.
        let fullest = load.max() ?? 0
        let capacity: Int64
        if let explicit = spec.capacityBytes {
            if explicit < fullest, let i = load.firstIndex(of: fullest) {
                throw GenerateSpecError("capacity=\(GenerateSpec.formatBytes(explicit)) is too small: \(dsNames[i]) would hold \(GenerateSpec.formatBytes(fullest)); give a larger capacity or more datastores")
            }
            capacity = explicit
        } else {
            let needed = Double(fullest) / 0.75
            capacity = max(1, Int64((needed / Double(GenerateSpec.tib)).rounded(.up))) * GenerateSpec.tib
        }
        var datastores: [DatastoreInfo] = []
        for g in 0..<groups {
            for i in fromRefs[g] + toRefs[g] {
                datastores.append(DatastoreInfo(ref: dsRefs[i], name: dsNames[i], capacityBytes: capacity,
                                                freeBytes: capacity - load[i], type: "VMFS", hosts: dsHosts[i]))
            }
        }

        let about = AboutInfo(name: "VMware vCenter Server (simulated)", fullName: "Moonmotion simulated vCenter 8.0.2",
                              version: "8.0.2", build: "0", apiVersion: "8.0.2.0", apiType: "VirtualCenter",
                              instanceUuid: "00000000-0000-4000-8000-\(pad(Int(spec.seed % 1_000_000_000_000), 12))")
        return Inventory(about: about, datacenters: [datacenter], clusters: clusters, hosts: hosts, datastores: datastores, vms: vms,
                         resourcePools: resourcePools)
    }

    private static func digits(_ n: Int) -> Int { String(max(n, 0)).count }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
