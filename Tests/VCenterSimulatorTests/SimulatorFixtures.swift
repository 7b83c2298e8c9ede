import Foundation
import VCenterModel
@testable import VCenterSimulator

/// Shared helpers: a fixed start time, small hand-made inventories, lookups.
enum Fixtures {
    static let start = Date(timeIntervalSince1970: 1_750_000_000)
    static let gib: Int64 = 1 << 30
    static let mib = 1_048_576.0

    /// A configuration on the virtual clock starting at `start`.
    static func config(rate: Double = 100, overhead: Double = 10, _ tweak: (inout SimulatorConfiguration) -> Void = { _ in }) -> SimulatorConfiguration {
        var c = SimulatorConfiguration()
        c.startTime = start
        c.storageVMotionRateMBps = rate
        c.storageVMotionOverhead = overhead
        tweak(&c)
        return c
    }

    /// A generated simulator with every VM the same size (`sizeGB`), no snapshots.
    static func generated(_ spec: String, sizeGB: Int = 100, config: SimulatorConfiguration = Fixtures.config()) throws -> SimulatedVCenter {
        try SimulatedVCenter(generating: "\(spec),size=\(sizeGB)GB,sigma=0,snapshots=0,consolidate=0", configuration: config)
    }

    /// One cluster, `hosts` hosts, datastores S (source) and D1…D3 mounted everywhere,
    /// VMs `a`, `b`, … of the given sizes on S, round-robin over the hosts.
    static func handmade(sizesGB: [Int], hosts: Int = 1, memoryMB: Int = 4096, linkMbps: [Int] = [],
                         config: SimulatorConfiguration = Fixtures.config()) throws -> SimulatedVCenter {
        let cluster = MoRef("ClusterComputeResource", "domain-c7")
        let hostRefs = (1...hosts).map { MoRef("HostSystem", "host-\(10 + $0)") }
        let hostInfos = hostRefs.enumerated().map { HostInfo(ref: $1, name: "esx-\($0 + 1)", cluster: cluster,
                                                                       vmotionLinkSpeedMbps: $0 < linkMbps.count ? linkMbps[$0] : 10_000) }
        let names = ["S", "D1", "D2", "D3"]
        let total = sizesGB.reduce(0, +)
        let datastores = names.enumerated().map { i, n in
            DatastoreInfo(ref: MoRef("Datastore", "datastore-\(30 + i)"), name: n, capacityBytes: 100 * 1024 * gib,
                          freeBytes: 100 * 1024 * gib - (i == 0 ? Int64(total) * gib : 0), hosts: hostRefs)
        }
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let vms = sizesGB.enumerated().map { i, size in
            VMInfo(ref: MoRef("VirtualMachine", "vm-\(100 + i)"), name: String(letters[i % 26]) + (i >= 26 ? String(i) : ""),
                   host: hostRefs[i % hosts], datastores: [datastores[0].ref], committedBytes: Int64(size) * gib, memoryMB: memoryMB)
        }
        let inventory = Inventory(clusters: [ClusterInfo(ref: cluster, name: "cluster-1", hosts: hostRefs)], hosts: hostInfos,
                                  datastores: datastores, vms: vms)
        return try SimulatedVCenter(inventory: inventory, configuration: config, source: "handmade")
    }
}

extension SimulatedVCenter {
    func vm(_ name: String) -> VMInfo { inventorySnapshot.vm(named: name)! }
    func datastore(_ name: String) -> DatastoreInfo { inventorySnapshot.datastore(named: name)! }
    func host(_ name: String) -> HostInfo { inventorySnapshot.host(named: name)! }

    /// Storage vMotion of the VM called `vm` to the datastore called `datastore`.
    func move(_ vm: String, to datastore: String) async throws -> LiveTask {
        try await relocateVM(self.vm(vm).ref, spec: RelocateSpec(datastore: self.datastore(datastore).ref), priority: .defaultPriority)
    }

    func advance(seconds: Double) {
        advance(to: Fixtures.start.addingTimeInterval(seconds))
    }

    var elapsed: Double { now.timeIntervalSince(Fixtures.start) }
}

extension LiveTask {
    var state: TaskState { info.state }
    func seconds(_ keyPath: KeyPath<TaskInfo, Date?>) -> Double? {
        info[keyPath: keyPath].map { $0.timeIntervalSince(Fixtures.start) }
    }
}
