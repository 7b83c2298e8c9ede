import Foundation
import VCenterModel

/// The vCenter operations as plans: validation (faults thrown like vCenter's), charges
/// under ESXi's limits, durations from the rate model.
extension SimulationCore {
    func vmIndex(of ref: MoRef) throws -> Int {
        guard ref.type == "VirtualMachine", let i = vmIndex[ref] else { throw VCenterFault.notFound(ref) }
        return i
    }

    /// A plan that fails at once with `TaskInProgress` when the VM already has a queued or running task.
    private func busyPlan(_ vm: Int, kind: SimulatedTaskKind, name: String, cancelable: Bool) -> TaskPlan? {
        let busy = vmBusy[vm]
        guard busy >= 0 else { return nil }
        return TaskPlan(kind: kind, name: name, vm: vm, cancelable: cancelable, overhead: 0,
                        immediateFault: .taskInProgress(inventory.vms[vm].name, tasks[Int(busy)].ref))
    }

    /// Charges on the clusters involved and the vCenter (counted, never limiting).
    /// The memory copy rate of a vMotion between hosts `a` and `b` (-1: none), MB/s: the
    /// configured rate, or a tenth of the slower vMotion link in Mbit/s.
    func vMotionRateMBps(_ a: Int, _ b: Int) -> Double {
        if let rate = config.vMotionRateMBps { return rate }
        let links = [a, b].filter { $0 >= 0 }.map { inventory.hosts[$0].vmotionLinkSpeedMbps ?? config.limits.defaultLinkSpeedMbps }
        return Double(max(links.min() ?? config.limits.defaultLinkSpeedMbps, 100)) / 10
    }

    private func chargeCounters(_ plan: inout TaskPlan, hosts: [Int], vm: Int) {
        var clusters = Set(hosts.filter { $0 >= 0 }.map { hostCluster[$0] }.filter { $0 >= 0 })
        if clusters.isEmpty, let c = inventory.vms[vm].cluster.flatMap({ clusterIndex[$0] }) { clusters.insert(c) }
        for c in clusters.sorted() { plan.charge(clusterBase + c, 1) }
        plan.charge(vcenterSlot, 1)
    }

    // MARK: Relocate / migrate

    /// `RelocateVM_Task` (and `MigrateVM_Task`, which is a relocate with only a host).
    mutating func relocate(_ vmRef: MoRef, spec: RelocateSpec, name: String) throws -> LiveTask {
        let v = try vmIndex(of: vmRef)
        let vm = inventory.vms[v]
        var dstHost = -1, dstDS = -1
        if let h = spec.host {
            guard h.type == "HostSystem", let i = hostIndex[h] else { throw VCenterFault.notFound(h) }
            dstHost = i
        }
        if let d = spec.datastore {
            guard d.type == "Datastore", let i = dsIndex[d] else { throw VCenterFault.notFound(d) }
            dstDS = i
        }
        if let p = spec.pool, p.type != "ResourcePool" {
            throw VCenterFault.invalidArgument("spec.pool must be a ResourcePool, not \(p)")
        }
        let srcHost = vm.host.flatMap { hostIndex[$0] } ?? -1
        let srcDS = vm.datastores.compactMap { dsIndex[$0] }
        let hostChange = dstHost >= 0 && dstHost != srcHost
        let storageChange = dstDS >= 0 && srcDS != [dstDS]
        let runHost = hostChange ? dstHost : srcHost
        let hosts = inventory.hosts, datastores = inventory.datastores

        if hostChange, !hosts[dstHost].isUsable {
            throw VCenterFault.invalidState("host '\(hosts[dstHost].name)' is \(hosts[dstHost].inMaintenanceMode ? "in maintenance mode" : hosts[dstHost].connectionState); choose another host")
        }
        if storageChange {
            guard datastores[dstDS].accessible else {
                throw VCenterFault(type: "InvalidDatastore", message: "datastore '\(datastores[dstDS].name)' is not accessible; choose another datastore")
            }
            if runHost >= 0, let mounted = dsMountedBy[dstDS], !mounted.contains(runHost) {
                throw VCenterFault.invalidArgument("datastore '\(datastores[dstDS].name)' is not mounted on host '\(hosts[runHost].name)'; choose a datastore of the VM's cluster or move the host too")
            }
        } else if hostChange {
            for s in srcDS {
                if let mounted = dsMountedBy[s], !mounted.contains(dstHost) {
                    throw VCenterFault.invalidArgument("VM '\(vm.name)' is on datastore '\(datastores[s].name)', which host '\(hosts[dstHost].name)' does not mount; move its storage too")
                }
            }
        }

        let kind: SimulatedTaskKind = hostChange && storageChange ? .hostAndStorageVMotion
            : storageChange ? .storageVMotion : hostChange ? .vMotion
            : spec.datastore != nil ? .storageVMotion : .vMotion
        if let plan = busyPlan(v, kind: kind, name: name, cancelable: true) { return submit(plan) }

        let limits = config.limits
        var plan = TaskPlan(kind: kind, name: name, vm: v, cancelable: true, srcHost: srcHost, dstHost: hostChange ? dstHost : -1,
                            srcDS: srcDS, dstDS: storageChange ? dstDS : -1, overhead: 0,
                            effect: .move(host: hostChange ? dstHost : -1, datastore: storageChange ? dstDS : -1, pool: spec.pool))
        let memoryBytes = vm.powerState == "poweredOn" ? Double(vm.memoryMB) * Self.mib : 0
        let vMotionRate = vMotionRateMBps(srcHost, hostChange ? dstHost : -1) * Self.mib
        let vMotionTime = config.vMotionOverhead + memoryBytes / vMotionRate
        var multiplier = 1.0
        if hostChange {
            for h in [srcHost, dstHost] where h >= 0 {
                plan.charge(hostBase + h, limits.hostVMotionCost)
                plan.charge(netBase + h, limits.networkVMotionCost)
                multiplier = min(multiplier, hostMultiplier[h])
            }
            if !storageChange { for s in srcDS { plan.charge(dsBase + s, limits.datastoreVMotionCost) } }
        }
        if storageChange {
            for h in [srcHost, hostChange ? dstHost : -1] where h >= 0 {
                plan.charge(hostBase + h, limits.hostStorageVMotionCost)
                multiplier = min(multiplier, hostMultiplier[h])
            }
            for d in srcDS + [dstDS] {
                plan.charge(dsBase + d, limits.datastoreStorageVMotionCost)
                multiplier = min(multiplier, dsMultiplier[d])
            }
            plan.overhead = config.storageVMotionOverhead + (hostChange ? vMotionTime : 0)
            plan.totalBytes = Double(vm.committedBytes)
            plan.baseRate = config.storageVMotionRateMBps * Self.mib
            if bandwidth != nil { plan.bandwidthDS = Array(Set(srcDS + [dstDS])).sorted() }
        } else if hostChange {
            plan.overhead = config.vMotionOverhead
            plan.totalBytes = memoryBytes
            plan.baseRate = vMotionRate
        } else {
            plan.overhead = spec.datastore != nil ? config.storageVMotionOverhead : config.vMotionOverhead
        }
        plan.multiplier = multiplier
        chargeCounters(&plan, hosts: [srcHost, hostChange ? dstHost : -1], vm: v)
        return submit(plan)
    }

    // MARK: Snapshots and disks

    private func snapshotPlan(_ v: Int, kind: SimulatedTaskKind, name: String, fraction: Double, effect: SimTask.Effect) -> TaskPlan {
        let vm = inventory.vms[v]
        let srcHost = vm.host.flatMap { hostIndex[$0] } ?? -1
        let srcDS = vm.datastores.compactMap { dsIndex[$0] }
        var multiplier = srcHost >= 0 ? hostMultiplier[srcHost] : 1
        for d in srcDS { multiplier = min(multiplier, dsMultiplier[d]) }
        var plan = TaskPlan(kind: kind, name: name, vm: v, cancelable: false, srcHost: srcHost, srcDS: srcDS,
                            overhead: config.snapshotOverhead,
                            totalBytes: Double(vm.committedBytes) * config.snapshotDeltaFraction * fraction,
                            baseRate: config.snapshotRateMBps * Self.mib, multiplier: multiplier, effect: effect)
        chargeCounters(&plan, hosts: [srcHost], vm: v)
        return plan
    }

    /// `ConsolidateVMDisks_Task`: quick when nothing needs consolidating.
    mutating func consolidate(_ vmRef: MoRef) throws -> LiveTask {
        let v = try vmIndex(of: vmRef)
        let name = "VirtualMachine.consolidateDisks"
        if let plan = busyPlan(v, kind: .consolidateDisks, name: name, cancelable: false) { return submit(plan) }
        let vm = inventory.vms[v]
        let work = vm.consolidationNeeded || vm.hasSnapshots ? 1.0 : 0
        return submit(snapshotPlan(v, kind: .consolidateDisks, name: name, fraction: work, effect: .consolidate))
    }

    /// `RemoveAllSnapshots_Task` or `RemoveSnapshot_Task` on the selected snapshot.
    mutating func removeSnapshot(_ vmRef: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) throws -> LiveTask {
        let v = try vmIndex(of: vmRef)
        let vm = inventory.vms[v]
        let target: MoRef
        switch which {
        case .all:
            let name = "VirtualMachine.removeAllSnapshots"
            if let plan = busyPlan(v, kind: .removeSnapshot, name: name, cancelable: false) { return submit(plan) }
            return submit(snapshotPlan(v, kind: .removeSnapshot, name: name, fraction: vm.hasSnapshots ? 1 : 0,
                                       effect: .removeSnapshots(all: true, refs: [], consolidate: consolidate)))
        case .named(let snapshotName):
            guard let s = vm.snapshots.first(where: { $0.name == snapshotName }) else {
                throw VCenterFault.invalidArgument("VM '\(vm.name)' has no snapshot named '\(snapshotName)' (it has \(vm.snapshots.isEmpty ? "none" : vm.snapshots.map { "'\($0.name)'" }.joined(separator: ", ")))")
            }
            target = s.ref
        case .ref(let ref):
            guard let owner = snapshotOwner[ref] else { throw VCenterFault.notFound(ref) }
            guard owner == v else {
                throw VCenterFault.invalidArgument("snapshot \(ref.value) belongs to VM '\(inventory.vms[owner].name)', not to '\(vm.name)'")
            }
            target = ref
        }
        let name = "vm.Snapshot.remove"
        if let plan = busyPlan(v, kind: .removeSnapshot, name: name, cancelable: false) { return submit(plan) }
        var removed: Set<MoRef> = [target]
        if removeChildren {
            var grew = true
            while grew {
                grew = false
                for s in vm.snapshots where !removed.contains(s.ref) {
                    if let p = s.parent, removed.contains(p) { removed.insert(s.ref); grew = true }
                }
            }
        }
        let fraction = Double(removed.count) / Double(max(vm.snapshots.count, 1))
        return submit(snapshotPlan(v, kind: .removeSnapshot, name: name, fraction: fraction,
                                   effect: .removeSnapshots(all: false, refs: removed, consolidate: consolidate)))
    }

    /// `PowerOnVM_Task` / `PowerOffVM_Task`: fails with `InvalidPowerState` when already there.
    mutating func power(_ vmRef: MoRef, on: Bool) throws -> LiveTask {
        let v = try vmIndex(of: vmRef)
        let name = on ? "VirtualMachine.powerOn" : "VirtualMachine.powerOff"
        if let plan = busyPlan(v, kind: .power, name: name, cancelable: false) { return submit(plan) }
        let vm = inventory.vms[v]
        var plan = TaskPlan(kind: .power, name: name, vm: v, cancelable: false, overhead: config.powerOperationDuration, effect: .power(on: on))
        if (vm.powerState == "poweredOn") == on {
            plan.immediateFault = VCenterFault(type: "InvalidPowerState", message: "VM '\(vm.name)' is already \(vm.powerState)")
        }
        chargeCounters(&plan, hosts: [vm.host.flatMap { hostIndex[$0] } ?? -1], vm: v)
        return submit(plan)
    }

    // MARK: Tasks

    func taskIndex(of ref: MoRef) throws -> Int {
        guard let i = taskIndex[ref] else { throw VCenterFault.notFound(ref) }
        return Int(i)
    }

    /// `CancelTask`: queued or running tasks end with `RequestCanceled`.
    mutating func cancelTask(_ ref: MoRef) throws {
        let i = try taskIndex(of: ref)
        let t = tasks[i]
        if t.state.isTerminal {
            throw VCenterFault.invalidState("task \(ref.value) (\(t.name)) has already ended (\(t.state.rawValue)); nothing to cancel")
        }
        guard t.cancelable else {
            throw VCenterFault.notSupported("task \(ref.value) (\(t.name)) cannot be canceled; wait for it to end")
        }
        cancel(i)
    }

    /// Recent tasks: every task not ended yet, and those that ended within `recentTaskWindow`.
    func recentTasks(_ query: TaskQuery) throws -> [TaskInfo] {
        let cutoff = now - config.recentTaskWindow
        func wanted(_ i: Int) -> Bool {
            let t = tasks[i]
            if let done = t.completeTime, done < cutoff { return false }
            return query.states.isEmpty || query.states.contains(t.state)
        }
        if let entity = query.entity {
            if entity.type == "VirtualMachine" {
                let v = try vmIndex(of: entity)
                return vmTasks[v].map(Int.init).filter(wanted).map(info)
            }
            guard hostIndex[entity] != nil || dsIndex[entity] != nil || clusterIndex[entity] != nil else { throw VCenterFault.notFound(entity) }
            return []
        }
        return tasks.indices.filter(wanted).map(info)
    }

    /// Current records for these VMs.
    func refresh(_ refs: [MoRef]) throws -> [VMInfo] {
        try refs.map { inventory.vms[try vmIndex(of: $0)] }
    }
}
