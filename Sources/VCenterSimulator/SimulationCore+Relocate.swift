import Foundation
import VCenterModel

/// `RelocateVM_Task` (and `MigrateVM_Task`, a relocate with only a host) with vSphere's rules
/// for a VM's files:
///
/// * `spec.datastore` is where the VM's home (configuration) goes; a disk with a locator goes
///   to the locator's datastore, converted when the locator has a format; a disk without a
///   locator follows `spec.datastore` when it is set and stays otherwise. Images stay.
/// * Only files whose place or format changes are copied: the task's bytes are what those
///   copies write (`VirtualDiskInfo.copy(to:)`), its time setup + bytes ÷ rate (with the shared
///   bandwidth of every storage array it reads or writes).
/// * A powered-on VM's storage relocation costs `datastoreStorageVMotionCost` once on each
///   datastore it touches (every source of a file that moves and every destination; a
///   datastore holding only files that stay is not charged) and `hostStorageVMotionCost` on
///   the host(s). A powered-off, suspended or template VM's relocation is a cold migration:
///   `hostColdMigrationCost` on the source host (and the destination host when it changes),
///   nothing on datastores or vMotion networks.
/// * What vSphere refuses is refused with its fault types: `InvalidArgument` (unknown disk
///   key, a datastore the host does not mount), `RDMConversionNotSupported`,
///   `MultiWriterNotSupported`, `NotSupported` (Fault Tolerance), `InvalidState` (VM not
///   connected), `HostNotConnected`; a destination without room fails the task `NoDiskSpace`.
///
/// A VM record without a file layout (an older inventory file) moves as one piece per
/// datastore it is on, each an equal share of its committed bytes.
extension SimulationCore {
    /// A locator after validation: datastore index and format.
    struct CheckedLocator {
        var datastore: Int
        var format: DiskFormat?
    }

    func datastoreIndex(of ref: MoRef) throws -> Int {
        guard ref.type == "Datastore", let i = dsIndex[ref] else { throw VCenterFault.notFound(ref) }
        return i
    }

    /// The locators by disk key: each names a datastore that exists and a disk the VM has, once;
    /// a physical-mode RDM is never given a format.
    func checkLocators(_ locators: [DiskLocator], of vm: VMInfo) throws -> [Int: CheckedLocator] {
        var out: [Int: CheckedLocator] = [:]
        for l in locators {
            let d = try datastoreIndex(of: l.datastore)
            guard let disk = vm.disk(l.diskKey) else {
                let keys = vm.disks.map { String($0.key) }
                throw VCenterFault.invalidArgument(
                    "spec.disk: VM '\(vm.name)' has no disk with key \(l.diskKey) (\(keys.isEmpty ? "the simulator knows none of its disks" : "its disks: " + keys.joined(separator: ", ")))")
            }
            guard out[l.diskKey] == nil else {
                throw VCenterFault.invalidArgument("spec.disk: disk \(l.diskKey) of VM '\(vm.name)' has two locators; give one per disk")
            }
            if l.format != nil, disk.backing == .rdmPhysical {
                throw VCenterFault.rdmConversionNotSupported(vm.name, disk)
            }
            out[l.diskKey] = CheckedLocator(datastore: d, format: l.format)
        }
        return out
    }

    /// What copying `disk` in `format` writes and takes: `VirtualDiskInfo.copy(to:)`, except that
    /// a virtual-mode RDM given a format becomes a flat disk and writes the LUN's capacity.
    static func copyCost(_ disk: VirtualDiskInfo, format: DiskFormat?) -> (written: Int64, space: Int64, rdmToFlat: Bool) {
        if disk.backing == .rdmVirtual, format != nil {
            let capacity = max(disk.capacityBytes, disk.usedBytes)
            return (capacity, capacity, true)
        }
        let c = disk.copy(to: format)
        return (c.written, c.space, false)
    }

    /// The files that move when `vm` goes to `home` (-1: its home stays) with `locators`.
    func fileMoves(of vm: VMInfo, home: Int, locators: [Int: CheckedLocator]) -> [FileMove] {
        var moves: [FileMove] = []
        guard vm.hasFileLayout else {
            guard home >= 0 else { return [] }
            // One piece per datastore, an equal share each (the first takes the remainder).
            let sources = vm.datastores.compactMap { dsIndex[$0] }
            if sources.isEmpty {
                return [FileMove(file: .config, from: -1, to: home, bytesBefore: 0, written: vm.committedBytes, space: vm.committedBytes)]
            }
            let share = vm.committedBytes / Int64(sources.count)
            let first = vm.committedBytes - share * Int64(sources.count - 1)
            for (k, s) in sources.enumerated() where s != home {
                let bytes = k == 0 ? first : share
                moves.append(FileMove(file: .config, from: s, to: home, bytesBefore: bytes, written: bytes, space: bytes))
            }
            return moves
        }
        let currentHome = (vm.configDatastore ?? vm.datastores.first).flatMap { dsIndex[$0] } ?? -1
        if home >= 0, home != currentHome {
            moves.append(FileMove(file: .config, from: currentHome, to: home, bytesBefore: currentHome >= 0 ? vm.configBytes : 0,
                                  written: vm.configBytes, space: vm.configBytes))
        }
        for disk in vm.disks {
            let current = disk.datastore.flatMap { dsIndex[$0] } ?? -1
            let locator = locators[disk.key]
            let target = locator?.datastore ?? (home >= 0 ? home : current)
            let format = locator?.format
            let converts = format != nil && (disk.backing == .rdmVirtual || format != disk.format)
            guard target >= 0, target != current || converts else { continue }
            let cost = Self.copyCost(disk, format: converts ? format : nil)
            moves.append(FileMove(file: .disk(disk.key), from: current, to: target, format: converts ? format : nil,
                                  bytesBefore: current >= 0 ? disk.usedBytes : 0, written: cost.written, space: cost.space,
                                  rdmToFlat: cost.rdmToFlat))
        }
        return moves
    }

    /// Where each of the VM's files (and images) is after `moves`: datastore indices, without repeats.
    private func finalDatastores(of vm: VMInfo, moves: [FileMove]) -> [Int] {
        var out: [Int] = []
        func add(_ d: Int) { if d >= 0, !out.contains(d) { out.append(d) } }
        if vm.hasFileLayout {
            let moved = Dictionary(moves.map { ($0.file, $0.to) }, uniquingKeysWith: { a, _ in a })
            add(moved[.config] ?? (vm.configDatastore ?? vm.datastores.first).flatMap { dsIndex[$0] } ?? -1)
            for d in vm.disks { add(moved[.disk(d.key)] ?? d.datastore.flatMap { dsIndex[$0] } ?? -1) }
            for m in vm.media { add(m.datastore.flatMap { dsIndex[$0] } ?? -1) }
        } else {
            let leaving = Set(moves.map(\.from))
            for d in vm.datastores.compactMap({ dsIndex[$0] }) where !leaving.contains(d) { add(d) }
            for m in moves { add(m.to) }
        }
        return out
    }

    mutating func relocate(_ vmRef: MoRef, spec: RelocateSpec, name: String) throws -> LiveTask {
        let v = try vmIndex(of: vmRef)
        let vm = inventory.vms[v]
        var dstHost = -1, home = -1
        if let h = spec.host {
            guard h.type == "HostSystem", let i = hostIndex[h] else { throw VCenterFault.notFound(h) }
            dstHost = i
        }
        if let d = spec.datastore { home = try datastoreIndex(of: d) }
        if let p = spec.pool, p.type != "ResourcePool" {
            throw VCenterFault.invalidArgument("spec.pool must be a ResourcePool, not \(p)")
        }
        let locators = try checkLocators(spec.disks, of: vm)
        let hosts = inventory.hosts, datastores = inventory.datastores
        let srcHost = vm.host.flatMap { hostIndex[$0] } ?? -1
        if vm.connectionState != "connected" {
            throw VCenterFault.invalidState("VM '\(vm.name)' is \(vm.connectionState): vCenter cannot relocate it until it is connected again")
        }
        if srcHost >= 0, hosts[srcHost].connectionState != "connected" {
            throw VCenterFault.hostNotConnected(hosts[srcHost].name, state: hosts[srcHost].connectionState, vm: vm.name)
        }
        let hostChange = dstHost >= 0 && dstHost != srcHost
        let runHost = hostChange ? dstHost : srcHost
        if hostChange, !hosts[dstHost].isUsable {
            throw VCenterFault.invalidState("host '\(hosts[dstHost].name)' is \(hosts[dstHost].inMaintenanceMode ? "in maintenance mode" : hosts[dstHost].connectionState); choose another host")
        }

        let moves = fileMoves(of: vm, home: home, locators: locators)
        let storageChange = !moves.isEmpty
        var sources: [Int] = [], destinations: [Int] = []
        for m in moves {
            if m.from >= 0, !sources.contains(m.from) { sources.append(m.from) }
            if !destinations.contains(m.to) { destinations.append(m.to) }
        }
        if storageChange {
            if vm.faultToleranceRole != nil { throw VCenterFault.faultToleranceStorageVMotion(vm.name) }
            if vm.powerState == "poweredOn", let shared = vm.disks.first(where: \.isMultiWriter) {
                throw VCenterFault.multiWriterNotSupported(vm.name, shared)
            }
            for d in destinations {
                guard datastores[d].accessible else {
                    throw VCenterFault(.invalidDatastore, "datastore '\(datastores[d].name)' is not accessible; choose another datastore")
                }
                if runHost >= 0, let mounted = dsMountedBy[d], !mounted.contains(runHost) {
                    throw VCenterFault.invalidArgument("datastore '\(datastores[d].name)' is not mounted on host '\(hosts[runHost].name)'; choose a datastore of the VM's cluster or move the host too")
                }
            }
        }
        if hostChange {
            for d in finalDatastores(of: vm, moves: moves) where !destinations.contains(d) {
                if let mounted = dsMountedBy[d], !mounted.contains(dstHost) {
                    throw VCenterFault.invalidArgument("VM '\(vm.name)' keeps files on datastore '\(datastores[d].name)', which host '\(hosts[dstHost].name)' does not mount; move its storage too")
                }
            }
        }

        let kind: SimulatedTaskKind = hostChange && storageChange ? .hostAndStorageVMotion
            : storageChange ? .storageVMotion : hostChange ? .vMotion
            : spec.datastore != nil || !spec.disks.isEmpty ? .storageVMotion : .vMotion
        if let plan = busyPlan(v, kind: kind, name: name, cancelable: true) { return submit(plan) }

        let limits = config.limits
        let srcDS = vm.datastores.compactMap { dsIndex[$0] }
        let homeMove = moves.first { $0.file == .config && vm.hasFileLayout }
        var plan = TaskPlan(kind: kind, name: name, vm: v, cancelable: true, srcHost: srcHost, dstHost: hostChange ? dstHost : -1,
                            srcDS: srcDS, dstDS: homeMove?.to ?? moves.first?.to ?? -1, cold: vm.isCold, overhead: 0,
                            effect: .move(host: hostChange ? dstHost : -1, pool: spec.pool, files: moves))
        let memoryBytes = vm.powerState == "poweredOn" ? Double(vm.memoryMB) * Self.mib : 0
        let vMotionRate = vMotionRateMBps(srcHost, hostChange ? dstHost : -1) * Self.mib
        let vMotionTime = config.vMotionOverhead + memoryBytes / vMotionRate
        let movingHosts = [srcHost, hostChange ? dstHost : -1].filter { $0 >= 0 }
        let touched = (sources + destinations.filter { !sources.contains($0) }).sorted()

        // Charges (vSphere's Limits on Simultaneous Migrations).
        if vm.isCold {
            if hostChange || storageChange {
                for h in movingHosts { plan.charge(hostBase + h, limits.hostColdMigrationCost) }
            }
        } else {
            if hostChange {
                for h in movingHosts {
                    plan.charge(hostBase + h, limits.hostVMotionCost)
                    plan.charge(netBase + h, limits.networkVMotionCost)
                }
                if !storageChange { for s in srcDS { plan.charge(dsBase + s, limits.datastoreVMotionCost) } }
            }
            if storageChange {
                for h in movingHosts { plan.charge(hostBase + h, limits.hostStorageVMotionCost) }
                for d in touched { plan.charge(dsBase + d, limits.datastoreStorageVMotionCost) }
            }
        }

        // Duration: setup, then the bytes the copies write (or the memory a vMotion copies).
        var multiplier = 1.0
        if hostChange || storageChange { for h in movingHosts { multiplier = min(multiplier, hostMultiplier[h]) } }
        if storageChange {
            for d in touched { multiplier = min(multiplier, dsMultiplier[d]) }
            plan.overhead = config.storageVMotionOverhead + (hostChange ? vMotionTime : 0)
            plan.totalBytes = Double(moves.reduce(Int64(0)) { $0 + $1.written })
            plan.baseRate = config.storageVMotionRateMBps * Self.mib
            plan.loads = arrayLayout.loads(reads: sources, writes: destinations)
        } else if hostChange {
            plan.overhead = config.vMotionOverhead
            plan.totalBytes = memoryBytes
            plan.baseRate = vMotionRate
        } else {
            plan.overhead = kind == .storageVMotion ? config.storageVMotionOverhead : config.vMotionOverhead
        }
        plan.multiplier = multiplier
        chargeCounters(&plan, hosts: [srcHost, hostChange ? dstHost : -1], vm: v)
        return submit(plan)
    }

    /// A successful relocation's files: each lands where it was copied (in its new format),
    /// its source gets back what it occupied (the destination's space was reserved at the
    /// start), and the copy is recorded for `SimulatorStats.fileCopies`.
    mutating func placeFiles(_ moves: [FileMove], of vm: inout VMInfo, task: Int) {
        for m in moves where m.from >= 0 { adjustFree(m.from, by: m.bytesBefore) }
        if vm.hasFileLayout {
            for m in moves {
                if m.rdmToFlat, case .disk(let key) = m.file, let k = vm.disks.firstIndex(where: { $0.key == key }) {
                    // The LUN's data becomes a VMDK as large as the LUN.
                    vm.disks[k].backing = .flat
                    vm.disks[k].usedBytes = max(vm.disks[k].capacityBytes, vm.disks[k].usedBytes)
                }
                vm.place(m.file, on: inventory.datastores[m.to].ref, format: m.format)
            }
        } else if let to = moves.first?.to {
            vm.datastores = [inventory.datastores[to].ref]
        }
        for m in moves { fileCopies.append(FileCopyEntry(task: Int32(task), move: m)) }
    }
}

/// One file copied by a successful relocation (kept until `stats()` turns it into a `FileCopy`).
struct FileCopyEntry {
    var task: Int32
    var move: FileMove
}
