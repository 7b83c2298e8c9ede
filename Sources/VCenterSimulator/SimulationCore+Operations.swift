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
    func busyPlan(_ vm: Int, kind: SimulatedTaskKind, name: String, cancelable: Bool) -> TaskPlan? {
        let busy = vmBusy[vm]
        guard busy >= 0 else { return nil }
        return TaskPlan(kind: kind, name: name, vm: vm, cancelable: cancelable, overhead: 0,
                        immediateFault: .taskInProgress(inventory.vms[vm].name, tasks[Int(busy)].ref))
    }

    /// The memory copy rate of a vMotion between hosts `a` and `b` (-1: none), MB/s: the
    /// configured rate, or a tenth of the slower vMotion link in Mbit/s.
    func vMotionRateMBps(_ a: Int, _ b: Int) -> Double {
        if let rate = config.vMotionRateMBps { return rate }
        let links = [a, b].filter { $0 >= 0 }.map { inventory.hosts[$0].vmotionLinkSpeedMbps ?? config.limits.defaultLinkSpeedMbps }
        return Double(max(links.min() ?? config.limits.defaultLinkSpeedMbps, 100)) / 10
    }

    /// Charges on the clusters involved and the vCenter (counted, never limiting).
    func chargeCounters(_ plan: inout TaskPlan, hosts: [Int], vm: Int) {
        var clusters = Set(hosts.filter { $0 >= 0 }.map { hostCluster[$0] }.filter { $0 >= 0 })
        if clusters.isEmpty, let c = inventory.vms[vm].cluster.flatMap({ clusterIndex[$0] }) { clusters.insert(c) }
        for c in clusters.sorted() { plan.charge(clusterBase + c, 1) }
        plan.charge(vcenterSlot, 1)
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
            plan.immediateFault = VCenterFault(.invalidPowerState, "VM '\(vm.name)' is already \(vm.powerState)")
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
