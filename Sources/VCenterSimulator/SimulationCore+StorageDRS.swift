import Foundation
import VCenterModel

/// A recommendation Storage DRS gave and nobody applied yet.
struct PendingRecommendation {
    var vm: Int
    /// The relocation it stands for: the member as `datastore`, the caller's host, pool and locators.
    var spec: RelocateSpec
    /// The recommendations of one `RecommendDatastores` call share a batch: they are
    /// alternatives, so applying one drops the others.
    var batch: Int
}

/// Storage DRS for relocations into a datastore cluster (`StorageResourceManager`):
/// `RecommendDatastores` with a `relocate` placement spec, `ApplyStorageDrsRecommendation_Task`.
extension SimulationCore {
    /// How many recommendations one call gives at most.
    static let maxRecommendations = 3

    /// Up to `maxRecommendations` members of the enabled datastore cluster `pod` that the VM's
    /// (destination) host mounts and that have room for every file moving into the pod (the
    /// home and each disk without a locator in `spec`), most free space first. Their keys are
    /// remembered until one of them is applied.
    mutating func recommendDatastores(_ vmRef: MoRef, pod: MoRef, spec: RelocateSpec) throws -> [StorageRecommendation] {
        let v = try vmIndex(of: vmRef)
        let vm = inventory.vms[v]
        guard let info = inventory.datastoreCluster(pod) else {
            throw VCenterFault.invalidArgument("podSelectionSpec.storagePod: \(pod) is not a datastore cluster (StoragePod) of this vCenter")
        }
        guard info.sdrsEnabled else {
            throw VCenterFault.invalidArgument("podSelectionSpec.storagePod: Storage DRS is not enabled on datastore cluster '\(info.name)'")
        }
        var host = vm.host.flatMap { hostIndex[$0] } ?? -1
        if let h = spec.host {
            guard h.type == "HostSystem", let i = hostIndex[h] else { throw VCenterFault.notFound(h) }
            host = i
        }
        let locators = try checkLocators(spec.disks, of: vm)

        var candidates: [(member: Int, free: Int64)] = []
        for ref in info.datastores {
            guard let d = dsIndex[ref] else { continue }
            let ds = inventory.datastores[d]
            guard ds.accessible else { continue }
            if host >= 0, let mounted = dsMountedBy[d], !mounted.contains(host) { continue }
            // Files pinned by a locator go where it says, not into the pod.
            let arriving = fileMoves(of: vm, home: d, locators: locators).filter { m in
                m.to == d && (m.file.diskKey.map { locators[$0] == nil } ?? true)
            }
            let need = arriving.reduce(Int64(0)) { $0 + $1.space }
            if need <= ds.freeBytes { candidates.append((d, ds.freeBytes)) }
        }
        candidates.sort { $0.free != $1.free ? $0.free > $1.free : $0.member < $1.member }

        let batch = nextRecommendationKey
        var out: [StorageRecommendation] = []
        var keys: [String] = []
        for (rank, c) in candidates.prefix(Self.maxRecommendations).enumerated() {
            let key = String(nextRecommendationKey)
            nextRecommendationKey += 1
            let destination = inventory.datastores[c.member].ref
            keys.append(key)
            recommendations[key] = PendingRecommendation(
                vm: v, spec: RelocateSpec(datastore: destination, host: spec.host, pool: spec.pool, disks: spec.disks), batch: batch)
            out.append(StorageRecommendation(key: key, destination: destination, disks: spec.disks.filter { $0.datastore != destination },
                                             rating: max(1, 5 - rank)))
        }
        if !keys.isEmpty { recommendationBatches[batch] = keys }
        return out
    }

    /// `ApplyStorageDrsRecommendation_Task` with one key: the recommended relocation as a task
    /// (`StorageResourceManager.applyRecommendation`) with a relocation's costs, times and
    /// accounting. `vm`, when given, must be the recommendation's VM.
    mutating func applyRecommendation(_ key: String, vm vmRef: MoRef?) throws -> LiveTask {
        guard let pending = recommendations[key] else {
            throw VCenterFault.invalidArgument("key: '\(key)' is not a pending Storage DRS recommendation (each is applied at most once; ask RecommendDatastores again)")
        }
        let vm = inventory.vms[pending.vm]
        if let vmRef, vmRef != vm.ref {
            throw VCenterFault.invalidArgument("key: recommendation '\(key)' is for VM '\(vm.name)' (\(vm.ref.value)), not for \(vmRef.value)")
        }
        let task = try relocate(vm.ref, spec: pending.spec, name: "StorageResourceManager.applyRecommendation")
        for k in recommendationBatches.removeValue(forKey: pending.batch) ?? [key] { recommendations[k] = nil }
        return task
    }

    /// The inventory with each datastore cluster's capacity and free space summed from its
    /// members as they are now.
    func inventoryWithPodTotals() -> Inventory {
        guard !inventory.datastoreClusters.isEmpty else { return inventory }
        let pods = inventory.datastoreClusters.map { pod -> DatastoreClusterInfo in
            var p = pod
            let members = pod.datastores.compactMap { dsIndex[$0] }.map { inventory.datastores[$0] }
            p.capacityBytes = members.reduce(0) { $0 + $1.capacityBytes }
            p.freeBytes = members.reduce(0) { $0 + $1.freeBytes }
            return p
        }
        let i = inventory
        var out = Inventory(about: i.about, datacenters: i.datacenters, clusters: i.clusters, hosts: i.hosts, datastores: i.datastores,
                            vms: i.vms, resourcePools: i.resourcePools, datastoreClusters: pods)
        out.tagsUnread = i.tagsUnread
        return out
    }
}
