import Foundation
import VCenterModel
@testable import VCenterSimulator

/// VMs with real files: a home and disks on several datastores.
///
/// One cluster, hosts `esx-1` and `esx-2`; datastores S1, S2 (sources), F (flash), D1, D2
/// (targets), all mounted by both hosts, and X, mounted by `esx-2` only. Each 10 TiB; free
/// space is what the VMs' files leave.
enum FileFixtures {
    static let gib = Fixtures.gib
    static let mib: Int64 = 1 << 20
    static let names = ["S1", "S2", "F", "D1", "D2", "X"]
    static let cluster = MoRef("ClusterComputeResource", "domain-c7")
    static let hosts = [MoRef("HostSystem", "host-11"), MoRef("HostSystem", "host-12")]
    static func ds(_ name: String) -> MoRef { MoRef("Datastore", "datastore-\(30 + names.firstIndex(of: name)!)") }

    /// A disk of `used` GiB (capacity `capacity` GiB, default `used`) on `datastore`.
    static func disk(_ key: Int, on datastore: String, usedGB: Int64, capacityGB: Int64? = nil, thin: Bool = false, eager: Bool = false,
                     backing: DiskBacking = .flat, usedBytes: Int64? = nil, sharing: String = "sharingNone") -> VirtualDiskInfo {
        VirtualDiskInfo(key: key, label: "Hard disk \(key - 1999)", fileName: "[\(datastore)] vm/vm_\(key - 2000).vmdk", datastore: ds(datastore),
                        capacityBytes: (capacityGB ?? usedGB) * gib, usedBytes: usedBytes ?? usedGB * gib, backing: backing,
                        thinProvisioned: thin, eagerlyScrub: eager, sharing: sharing,
                        diskMode: backing == .rdmPhysical ? "independent_persistent" : "persistent")
    }

    /// A VM with its home (1 GiB unless told) on `home` and these disks, on `esx-1` unless told.
    static func vm(_ n: Int, _ name: String, home: String = "S1", configGB: Int64 = 1, disks: [VirtualDiskInfo], host: Int = 0,
                   powerState: String = "poweredOn", template: Bool = false, media: [String] = [], memoryMB: Int = 4096,
                   tweak: (inout VMInfo) -> Void = { _ in }) -> VMInfo {
        var vm = VMInfo(ref: MoRef("VirtualMachine", "vm-\(100 + n)"), name: name, host: hosts[host], cluster: cluster, memoryMB: memoryMB,
                        powerState: powerState, isTemplate: template, configDatastore: ds(home), vmPathName: "[\(home)] \(name)/\(name).vmx",
                        configBytes: configGB * gib, disks: disks,
                        media: media.enumerated().map { VirtualMediaInfo(key: 3000 + $0, label: "CD/DVD drive \($0 + 1)", fileName: "[\($1)] iso/x.iso", datastore: ds($1)) })
        vm.recomputeDatastores()
        tweak(&vm)
        return vm
    }

    /// The usual multi-disk VM: home and a 40 GiB thick disk on S1, a thin disk using 20 of
    /// 100 GiB on S2, a thin disk using 10 of 50 GiB on F.
    static func multi(_ n: Int = 0, _ name: String = "multi", tweak: (inout VMInfo) -> Void = { _ in }) -> VMInfo {
        vm(n, name, disks: [
            disk(2000, on: "S1", usedGB: 40),
            disk(2001, on: "S2", usedGB: 20, capacityGB: 100, thin: true),
            disk(2002, on: "F", usedGB: 10, capacityGB: 50, thin: true),
        ], tweak: tweak)
    }

    static let capacity: Int64 = 10 * 1024 * gib

    /// The inventory: datastores' free space is their capacity minus the files on them.
    static func inventory(_ vms: [VMInfo], hostStates: [String] = ["connected", "connected"], capacities: [String: Int64] = [:],
                          pods: [DatastoreClusterInfo] = []) -> Inventory {
        let hostInfos = hosts.enumerated().map { HostInfo(ref: $1, name: "esx-\($0 + 1)", cluster: cluster, connectionState: hostStates[$0]) }
        var used: [MoRef: Int64] = [:]
        for vm in vms {
            for f in vm.files { if let d = f.datastore { used[d, default: 0] += f.bytes } }
        }
        let datastores = names.map { n in
            let cap = capacities[n] ?? capacity
            return DatastoreInfo(ref: ds(n), name: n, capacityBytes: cap, freeBytes: cap - (used[ds(n)] ?? 0),
                                 hosts: n == "X" ? [hosts[1]] : hosts)
        }
        return Inventory(clusters: [ClusterInfo(ref: cluster, name: "cluster-1", hosts: hosts)], hosts: hostInfos, datastores: datastores,
                         vms: vms, datastoreClusters: pods)
    }

    static func sim(_ vms: [VMInfo], hostStates: [String] = ["connected", "connected"], capacities: [String: Int64] = [:],
                    pods: [DatastoreClusterInfo] = [], config: SimulatorConfiguration = Fixtures.config()) throws -> SimulatedVCenter {
        try SimulatedVCenter(inventory: inventory(vms, hostStates: hostStates, capacities: capacities, pods: pods), configuration: config, source: "files")
    }
}

extension SimulatedVCenter {
    /// Relocates the VM called `vm`: home to `to` (nil: stays), disks by `locators` (key → datastore name, format).
    func relocate(_ vm: String, to home: String?, disks locators: [(Int, String, DiskFormat?)] = [], host: String? = nil) async throws -> LiveTask {
        let spec = RelocateSpec(datastore: home.map { datastore($0).ref }, host: host.map { self.host($0).ref },
                                disks: locators.map { DiskLocator(diskKey: $0.0, datastore: datastore($0.1).ref, format: $0.2) })
        return try await relocateVM(self.vm(vm).ref, spec: spec, priority: .defaultPriority)
    }

    /// Peak cost seen on the datastore called `name`.
    func peakCost(datastore name: String) -> Int? { stats.usage(.datastore(datastore(name).ref))?.peakCost }

    /// Peak cost seen on the host called `name`.
    func peakCost(host name: String) -> Int? { stats.usage(.host(host(name).ref))?.peakCost }

    /// The fault a call throws, or nil when it does not.
    func fault(_ body: () async throws -> Void) async -> VCenterFault? {
        do { try await body(); return nil } catch { return error as? VCenterFault }
    }
}
