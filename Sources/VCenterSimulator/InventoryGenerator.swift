import Foundation
import VCenterModel

/// Builds a realistic inventory from a `GenerateSpec`: clusters `cluster-1…`, hosts
/// `esx-c1-01…`, datastores `legacy-01…` (holding every VM), `new-01…` (empty) and
/// optionally `flash-01…` (holding some disks), VMs `app-c1-0001…` with heavy-tailed
/// (log-normal) sizes, a fraction with snapshots or needing consolidation. Each VM has a
/// home and virtual disks (`VMInfo.files`): home and first disk on a `legacy` datastore,
/// further disks spread, RDMs, multi-writer disks, ISOs, templates and Fault Tolerance
/// as the spec asks. Ids are numbered like vCenter's (`domain-c7`, `host-12`,
/// `datastore-34`, `vm-123`, `group-p56`). The same spec and reference date give the same
/// inventory.
///
/// The committed size, memory, power state and snapshots come from the same random
/// sequence as before VMs had files; everything about files comes from a second one, so
/// the default spec gives exactly the sizes it always gave.
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
        let vmFolder = "/\(datacenter.name)/vm"
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
        var flashRefs: [[Int]] = []
        let flashWidth = max(2, digits(groups * spec.flashPerCluster))
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
            var flash: [Int] = []
            for d in 0..<spec.flashPerCluster {
                flash.append(dsRefs.count)
                dsRefs.append(MoRef("Datastore", id("datastore-")))
                dsNames.append("\(GenerateSpec.flashPrefix)-\(pad(g * spec.flashPerCluster + d + 1, flashWidth))")
                dsHosts.append(mounting)
            }
            flashRefs.append(flash)
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
        var fileRNG = SeededGenerator(seed: spec.seed ^ fileSeedSalt)
        // Where a VM's further disks may go, by home datastore: the group's other sources and its flash datastores.
        var elsewhereOf = [[Int]?](repeating: nil, count: dsRefs.count)
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
            let poweredOn = rng.nextUnit() >= spec.poweredOffFraction

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

            let name = "app-c\(c + 1)-\(pad(k + 1, vmWidth))"
            var vm = VMInfo(
                ref: MoRef("VirtualMachine", id("vm-")), name: name,
                host: host, cluster: cluster.ref, resourcePool: pools[c], datastores: [dsRefs[ds]],
                committedBytes: committed, uncommittedBytes: uncommitted, memoryMB: memoryMB,
                powerState: poweredOn ? "poweredOn" : "poweredOff", snapshots: snapshots,
                consolidationNeeded: consolidation,
                folderPath: spec.folders.isEmpty ? vmFolder : vmFolder + "/" + spec.folders[i % spec.folders.count],
                customAttributes: spec.attributes.mapValues { $0[i % $0.count] },
                guestOS: GuestOSNames.fullName(of: spec.guests[i % spec.guests.count]), guestId: spec.guests[i % spec.guests.count],
                tags: spec.tags.map { VMTag(category: $0.key, name: $0.value[i % $0.value.count]) }.sorted())
            let elsewhere = elsewhereOf[ds] ?? (dsList.filter { $0 != ds } + flashRefs[group])
            elsewhereOf[ds] = elsewhere
            addFiles(to: &vm, spec: spec, rng: &fileRNG, home: ds, elsewhere: elsewhere, isoDatastores: dsList,
                     refs: dsRefs, names: dsNames, load: &load)
            vms.append(vm)
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

        // Datastore clusters: each group's targets, Storage DRS on (ids after the VMs', so
        // the other objects keep theirs).
        var podOf: [Int: MoRef] = [:]
        var pods: [DatastoreClusterInfo] = []
        if spec.datastoreClusters {
            for g in 0..<groups {
                let ref = MoRef("StoragePod", id("group-p"))
                let name = spec.sharedDatastores ? "\(spec.toPrefix)-pod" : "\(spec.toPrefix)-pod-\(clusters[g].name)"
                let members = toRefs[g]
                for m in members { podOf[m] = ref }
                let count = Int64(members.count)
                pods.append(DatastoreClusterInfo(ref: ref, name: name, datastores: members.map { dsRefs[$0] }, sdrsEnabled: true,
                                                 capacityBytes: capacity * count, freeBytes: members.reduce(0) { $0 + capacity - load[$1] }))
            }
        }

        var datastores: [DatastoreInfo] = []
        for g in 0..<groups {
            for i in fromRefs[g] + toRefs[g] + flashRefs[g] {
                datastores.append(DatastoreInfo(ref: dsRefs[i], name: dsNames[i], capacityBytes: capacity,
                                                freeBytes: capacity - load[i], type: "VMFS", hosts: dsHosts[i], datastoreCluster: podOf[i]))
            }
        }

        let about = AboutInfo(name: "VMware vCenter Server (simulated)", fullName: "Moonmotion simulated vCenter 8.0.2",
                              version: "8.0.2", build: "0", apiVersion: "8.0.2.0", apiType: "VirtualCenter",
                              instanceUuid: "00000000-0000-4000-8000-\(pad(Int(spec.seed % 1_000_000_000_000), 12))")
        return Inventory(about: about, datacenters: [datacenter], clusters: clusters, hosts: hosts, datastores: datastores, vms: vms,
                         resourcePools: resourcePools, datastoreClusters: pods)
    }

    /// Mixed into the seed of the second random sequence (files, disks, templates, FT).
    static let fileSeedSalt: UInt64 = 0xD15C_F11E_5EED_0001
    /// Bytes of an RDM's mapping file (one VMFS block).
    static let rdmMappingBytes: Int64 = 1 << 20
    /// `Hard disk 1`, `Hard disk 2`, … (made once: every VM has them).
    static let diskLabels = (1...(GenerateSpec.maxDisks + 2)).map { "Hard disk \($0)" }
    static func diskLabel(_ n: Int) -> String { n < diskLabels.count ? diskLabels[n] : "Hard disk \(n + 1)" }
    /// The images a generated CD/DVD drive may have connected.
    static let isoNames = ["win2019.iso", "win2022.iso", "rhel-9.4.iso", "ubuntu-22.04.iso", "vmware-tools.iso"]

    /// Gives `vm` (its committed bytes already drawn) a home and disks whose bytes sum to the
    /// committed size, and the images, template, power and FT flags the spec asks for; adds
    /// each file's bytes to `load` of the datastore holding it.
    private static func addFiles(
        to vm: inout VMInfo, spec: GenerateSpec, rng: inout SeededGenerator, home: Int, elsewhere: [Int], isoDatastores: [Int],
        refs: [MoRef], names: [String], load: inout [Int64]
    ) {
        let mib: Int64 = 1 << 20
        let committed = vm.committedBytes
        let flatCount = spec.disksMin + Int(rng.nextUnit() * Double(spec.disksMax - spec.disksMin + 1))
        let isTemplate = rng.nextUnit() < spec.templateFraction
        let ft = rng.nextUnit() < spec.faultToleranceFraction
        let physicalRDM = rng.nextUnit() < spec.rdmFraction
        let virtualRDM = rng.nextUnit() < spec.vrdmFraction
        let multiWriter = rng.nextUnit() < spec.multiWriterFraction
        let iso = rng.nextUnit() < spec.isoFraction

        // A small home (.vmx, .nvram, logs, swap): 1% of the VM within 64 MiB…2 GiB, at most half.
        let configBytes = min(min(max(committed / 100, 64 * mib), 2 << 30), committed / 2) / 4096 * 4096
        let mappings = Int64((physicalRDM ? 1 : 0) + (virtualRDM ? 1 : 0))
        let mappingBytes = min(rdmMappingBytes, (committed - configBytes) / (4 * max(mappings, 1)))
        let dataBytes = committed - configBytes - mappings * mappingBytes
        let weights = (0..<flatCount).map { _ in 0.5 + rng.nextUnit() }
        let total = weights.reduce(0, +)

        func place(_ n: Int) -> Int {
            // Disks beyond the first: some on another source datastore or a flash one.
            guard n > 0, !elsewhere.isEmpty else { return home }
            let spread = rng.nextUnit() < spec.spreadFraction
            let pick = elsewhere[min(elsewhere.count - 1, Int(rng.nextUnit() * Double(elsewhere.count)))]
            return spread ? pick : home
        }
        func fileName(_ ds: Int, _ n: Int) -> String {
            "[\(names[ds])] \(vm.name)/\(vm.name)\(n == 0 ? "" : "_\(n)").vmdk"
        }

        var disks: [VirtualDiskInfo] = []
        disks.reserveCapacity(flatCount + Int(mappings))
        var diskDatastores: [Int] = []
        var given: Int64 = 0
        var thinUsed: Int64 = 0
        for n in 0..<flatCount {
            let used = n == flatCount - 1 ? dataBytes - given : min(dataBytes - given, Int64(Double(dataBytes) * weights[n] / total) / mib * mib)
            given += used
            let ds = place(n)
            diskDatastores.append(ds)
            let thin = rng.nextUnit() < spec.thinFraction
            if thin { thinUsed += used }
            disks.append(VirtualDiskInfo(key: 2000 + n, label: diskLabel(n), fileName: fileName(ds, n), datastore: refs[ds],
                                         capacityBytes: used, usedBytes: used, thinProvisioned: thin, sharing: "sharingNone"))
        }
        if multiWriter, let last = disks.indices.last {
            // Multi-writer sharing needs eagerly zeroed thick disks.
            if disks[last].thinProvisioned { thinUsed -= disks[last].usedBytes }
            disks[last].thinProvisioned = false
            disks[last].eagerlyScrub = true
            disks[last].sharing = "sharingMultiWriter"
        }
        // Thin disks are larger than what they use: the VM's uncommitted bytes, shared by use.
        var uncommitted: Int64 = 0
        if thinUsed > 0 {
            let thinIndices = disks.indices.filter { disks[$0].thinProvisioned }
            for (j, d) in thinIndices.enumerated() {
                let extra = j == thinIndices.count - 1 ? vm.uncommittedBytes - uncommitted
                    : Int64(Double(vm.uncommittedBytes) * Double(disks[d].usedBytes) / Double(thinUsed))
                disks[d].capacityBytes += extra
                uncommitted += extra
            }
        }
        vm.uncommittedBytes = uncommitted
        for (backing, present) in [(DiskBacking.rdmPhysical, physicalRDM), (.rdmVirtual, virtualRDM)] where present {
            let n = disks.count
            let ds = place(n)
            diskDatastores.append(ds)
            let lun = Int64(100 + Int(rng.nextUnit() * 1948)) << 30
            disks.append(VirtualDiskInfo(key: 2000 + n, label: diskLabel(n), fileName: fileName(ds, n), datastore: refs[ds],
                                         capacityBytes: lun, usedBytes: mappingBytes, backing: backing, sharing: "sharingNone",
                                         diskMode: backing == .rdmPhysical ? "independent_persistent" : "persistent"))
        }
        var media: [VirtualMediaInfo] = []
        var mediaDatastore: Int?
        if iso {
            let ds = isoDatastores[min(isoDatastores.count - 1, Int(rng.nextUnit() * Double(isoDatastores.count)))]
            let image = isoNames[min(isoNames.count - 1, Int(rng.nextUnit() * Double(isoNames.count)))]
            mediaDatastore = ds
            media.append(VirtualMediaInfo(key: 3000, label: "CD/DVD drive 1", fileName: "[\(names[ds])] iso/\(image)", datastore: refs[ds]))
        }

        vm.configDatastore = refs[home]
        vm.vmPathName = "[\(names[home])] \(vm.name)/\(vm.name).vmx"
        vm.configBytes = configBytes
        vm.disks = disks
        vm.media = media
        if isTemplate {
            vm.isTemplate = true
            vm.powerState = "poweredOff"
        }
        if ft { vm.faultToleranceRole = 1 }
        vm.toolsRunningStatus = vm.powerState == "poweredOn" ? "guestToolsRunning" : "guestToolsNotRunning"
        // `VMInfo.recomputeDatastores()`, without its temporary arrays: home, disks, images.
        var touched = [home]
        for ds in diskDatastores where !touched.contains(ds) { touched.append(ds) }
        if let ds = mediaDatastore, !touched.contains(ds) { touched.append(ds) }
        vm.datastores = touched.map { refs[$0] }
        load[home] += configBytes
        for (d, ds) in zip(disks, diskDatastores) { load[ds] += d.usedBytes }
    }

    private static func digits(_ n: Int) -> Int { String(max(n, 0)).count }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
