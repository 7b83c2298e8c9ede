import Foundation
import VCenterModel

/// The task life cycle: queue (limits, delays), start, setup, copy with progress, end.
extension SimulationCore {
    // MARK: Submission

    /// Creates the task for a validated plan, decides its injected fate, and starts or queues it.
    mutating func submit(_ plan: TaskPlan) -> LiveTask {
        let number = nextTaskNumber
        nextTaskNumber += 1
        let ref = MoRef("Task", "task-\(number)")
        let vmInfo = inventory.vms[plan.vm]
        let index = Int32(tasks.count)
        var first = TaskInfo(ref: ref, name: TaskMethodNames.method(for: plan.name), descriptionId: plan.name, entity: vmInfo.ref, entityName: vmInfo.name, state: .queued,
                             queueTime: date(now), cancelable: plan.cancelable)
        if let fault = plan.immediateFault {
            first.state = .error
            first.error = fault
            first.startTime = date(now)
            first.completeTime = date(now)
        }
        let live = LiveTask(first)
        var task = SimTask(
            ref: ref, kind: plan.kind, name: plan.name, vm: plan.vm, cancelable: plan.cancelable, queueTime: now, live: live,
            charges: plan.charges, srcHost: plan.srcHost, dstHost: plan.dstHost, srcDS: plan.srcDS, dstDS: plan.dstDS, cold: plan.cold,
            overhead: plan.overhead, totalBytes: plan.totalBytes, baseRate: plan.baseRate, multiplier: plan.multiplier,
            loads: plan.loads, effect: plan.effect, endBytes: plan.totalBytes)
        tasks.append(task)
        taskIndex[ref] = index
        vmTasks[plan.vm].append(index)
        if let fault = plan.immediateFault {
            task.state = .error
            task.error = fault
            task.startTime = now
            task.completeTime = now
            tasks[Int(index)] = task
            return live
        }
        vmBusy[plan.vm] = index

        if let fault = injectedFault(kind: plan.kind, vm: plan.vm) {
            tasks[Int(index)].injected = fault
            tasks[Int(index)].endBytes = plan.totalBytes * config.faults.failurePoint
        }
        let delay = config.faults.startDelay + (delayByVM[plan.vm] ?? 0)
        if delay > 0 {
            tasks[Int(index)].delayUntil = now + delay
            tasksDelayed += 1
        }
        tryStart(Int(index))
        return live
    }

    /// Whether an injected rule makes this task fail, and with which fault. Every rule
    /// counts every task it applies to, so the pattern does not depend on which rule fired.
    private mutating func injectedFault(kind: SimulatedTaskKind, vm: Int) -> VCenterFault? {
        var fault = failNext.removeValue(forKey: vm)
        let faults = config.faults
        for (k, rule) in faults.everyNth.enumerated() where rule.kinds.isEmpty || rule.kinds.contains(kind) {
            nthCounters[k] += 1
            if nthCounters[k] % rule.n == 0, fault == nil { fault = rule.fault }
        }
        if faults.failureProbability > 0, faults.probabilityKinds.isEmpty || faults.probabilityKinds.contains(kind) {
            if rng.nextUnit() < faults.failureProbability, fault == nil { fault = faults.probabilityFault }
        }
        return fault
    }

    // MARK: Queue and start

    /// Starts the task now if its delay is over and every resource has room; otherwise queues it.
    mutating func tryStart(_ i: Int) {
        if tasks[i].delayUntil > now {
            schedule(i, at: tasks[i].delayUntil, .delayOver)
            return
        }
        if let blocker = blockingResource(i) {
            tasks[i].waitingOn = Int32(blocker)
            res[blocker].waiters.insert(Int32(i))
            if !tasks[i].queuedByLimit {
                tasks[i].queuedByLimit = true
                tasksQueuedByLimit += 1
                res[blocker].queued += 1
            }
            return
        }
        start(i)
    }

    /// The first resource without room for the task's charge, or nil when it may start.
    /// A resource with nothing running always has room (a charge above the limit runs alone).
    func blockingResource(_ i: Int) -> Int? {
        guard config.limits.enforced else { return nil }
        for c in tasks[i].charges {
            let r = Int(c.resource)
            let state = res[r]
            if state.cost > 0, state.limit - state.cost < Int(c.cost) { return r }
        }
        return nil
    }

    private mutating func start(_ i: Int) {
        tasks[i].waitingOn = -1
        let moves = tasks[i].fileMoves
        if !moves.isEmpty {
            // Each destination must have room for everything arriving there; it is reserved
            // while the copy runs (and given back if the copy fails).
            var need: [(datastore: Int, bytes: Int64)] = []
            for m in moves {
                if let k = need.firstIndex(where: { $0.datastore == m.to }) { need[k].bytes += m.space } else { need.append((m.to, m.space)) }
            }
            for (d, bytes) in need where bytes > inventory.datastores[d].freeBytes {
                let ds = inventory.datastores[d]
                tasks[i].startTime = now
                end(i, fault: .noDiskSpace(ds.name, need: bytes, free: ds.freeBytes))
                return
            }
            for (d, bytes) in need { adjustFree(d, by: -bytes) }
            tasks[i].reservations = need
        }
        for c in tasks[i].charges { change(Int(c.resource), cost: Int(c.cost), count: 1) }
        tasks[i].acquired = true
        tasks[i].state = .running
        tasks[i].startTime = now
        tasks[i].progress = 0
        emit(i)
        schedule(i, at: now + tasks[i].overhead, .setupDone)
    }

    /// Re-examines the tasks waiting for `r` after it freed some cost, oldest first.
    mutating func wakeWaiters(_ r: Int) {
        while let head = res[r].waiters.min {
            let h = Int(head)
            if tasks[h].state != .queued || tasks[h].waitingOn != Int32(r) {
                res[r].waiters.removeMin()
                continue
            }
            if let blocker = blockingResource(h) {
                if blocker == r { break }
                res[r].waiters.removeMin()
                tasks[h].waitingOn = Int32(blocker)
                res[blocker].waiters.insert(head)
                continue
            }
            res[r].waiters.removeMin()
            start(h)
        }
    }

    // MARK: Events

    mutating func schedule(_ i: Int, at time: Double, _ kind: SimEvent.Kind) {
        tasks[i].epoch &+= 1
        eventSeq += 1
        events.insert(SimEvent(time: time, seq: eventSeq, task: Int32(i), epoch: tasks[i].epoch, kind: kind))
    }

    /// The time of the next live event (stale events are dropped on the way).
    mutating func nextEventTime() -> Double? {
        while let e = events.min {
            if tasks[Int(e.task)].epoch == e.epoch { return e.time }
            events.removeMin()
        }
        return nil
    }

    /// Applies the next event if it is due by `limit`; returns whether one was applied.
    /// Times that went through `Date` may come back a few hundred nanoseconds off, so
    /// an event within a microsecond of the limit counts as due.
    mutating func processNextEvent(upTo limit: Double) -> Bool {
        guard let time = nextEventTime(), time <= limit + 1e-6, let e = events.popMin() else { return false }
        now = max(now, time)
        let i = Int(e.task)
        switch e.kind {
        case .delayOver:
            tasks[i].delayUntil = 0
            tryStart(i)
        case .setupDone:
            beginCopy(i)
        case .milestone:
            reachMilestone(i)
        }
        return true
    }

    // MARK: Copy and progress

    private mutating func beginCopy(_ i: Int) {
        if tasks[i].totalBytes <= 0 || tasks[i].endBytes <= 0 {
            end(i, fault: tasks[i].injected)
            return
        }
        tasks[i].transferring = true
        tasks[i].copyStart = now
        tasks[i].lastUpdate = now
        if tasks[i].loads.isEmpty {
            tasks[i].rate = tasks[i].baseRate * tasks[i].multiplier
            scheduleMilestone(i)
        } else {
            for l in tasks[i].loads { changeCopies(Int(l.array), adding: Int32(i)) }
            sharing.append(Int32(i))
            rebalance(fresh: i)
        }
    }

    /// The fluid model: every copy sharing an array gets its max-min fair rate (`FairShare`)
    /// under the arrays' capacities for their current number of copies; copies whose rate
    /// changed are settled up to now at the old rate and rescheduled. Called whenever a
    /// sharing copy starts or stops — the only moments a rate can change.
    private mutating func rebalance(fresh: Int = -1) {
        guard !sharing.isEmpty else { return }
        var caps: [Double] = [], uses: [[FairShare.Use]] = []
        caps.reserveCapacity(sharing.count)
        uses.reserveCapacity(sharing.count)
        for j in sharing {
            let t = tasks[Int(j)]
            caps.append(t.baseRate * t.multiplier)
            uses.append(t.loads.map { FairShare.Use(array: Int($0.array), weight: $0.weight) })
        }
        let capacity = arrayLayout.arrays.indices.map { arrayLayout.arrays[$0].capacityMBps(copies: arrayUse[$0].copies.count) * Self.mib }
        let rates = FairShare.maxMin(caps: caps, uses: uses, capacity: capacity)
        for (k, j32) in sharing.enumerated() {
            let j = Int(j32)
            if rates[k] != tasks[j].rate || j == fresh {
                settle(j)
                tasks[j].rate = rates[k]
                scheduleMilestone(j)
            }
        }
    }

    /// Adds or removes a copy on an array, integrating its concurrency up to now first.
    private mutating func changeCopies(_ a: Int, adding j: Int32 = -1, removing r: Int32 = -1) {
        let dt = now - arrayUse[a].last
        if dt > 0 {
            arrayUse[a].copySeconds += Double(arrayUse[a].copies.count) * dt
            if !arrayUse[a].copies.isEmpty { arrayUse[a].busySeconds += dt }
        }
        arrayUse[a].last = now
        if j >= 0 {
            arrayUse[a].copies.append(j)
            arrayUse[a].maxCopies = max(arrayUse[a].maxCopies, arrayUse[a].copies.count)
        }
        if r >= 0, let k = arrayUse[a].copies.firstIndex(of: r) {
            arrayUse[a].copies.swapAt(k, arrayUse[a].copies.count - 1)
            arrayUse[a].copies.removeLast()
        }
    }

    /// Counts the bytes copied since the last update.
    private mutating func settle(_ j: Int) {
        guard tasks[j].transferring else { return }
        let copied = tasks[j].rate * (now - tasks[j].lastUpdate)
        advance(j, to: min(tasks[j].bytesDone + copied, tasks[j].endBytes))
    }

    /// Sets the copy's bytes done (at now), crediting the difference to its arrays.
    private mutating func advance(_ j: Int, to bytes: Double) {
        let delta = bytes - tasks[j].bytesDone
        if delta > 0 {
            for l in tasks[j].loads {
                if l.read { arrayUse[Int(l.array)].bytesRead += delta }
                if l.write { arrayUse[Int(l.array)].bytesWritten += delta }
            }
        }
        tasks[j].bytesDone = bytes
        tasks[j].lastUpdate = now
    }

    /// Schedules the next progress step, the end, or the injected failure, whichever comes first.
    private mutating func scheduleMilestone(_ j: Int) {
        let total = tasks[j].totalBytes
        let step = total / Double(config.progressUpdates)
        var next = ((tasks[j].bytesDone / step + 1e-9).rounded(.down) + 1) * step
        if next >= total * (1 - 1e-12) { next = total }
        let target = min(next, tasks[j].endBytes)
        tasks[j].target = target
        let remaining = max(0, target - tasks[j].bytesDone)
        schedule(j, at: now + remaining / tasks[j].rate, .milestone)
    }

    private mutating func reachMilestone(_ j: Int) {
        advance(j, to: tasks[j].target)
        if tasks[j].target >= tasks[j].endBytes {
            end(j, fault: tasks[j].injected)
            return
        }
        tasks[j].progress = min(99, Int((tasks[j].bytesDone / tasks[j].totalBytes * 100).rounded(.down)))
        emit(j)
        scheduleMilestone(j)
    }

    // MARK: End

    /// Ends a queued or running task: success when `fault` is nil. Frees its resources,
    /// applies its effect, and starts what was waiting.
    mutating func end(_ i: Int, fault: VCenterFault?) {
        if tasks[i].transferring {
            settle(i)   // a cancelled copy stops where it is
            tasks[i].transferring = false
            tasks[i].copyEnd = now
            if !tasks[i].loads.isEmpty {
                for l in tasks[i].loads { changeCopies(Int(l.array), removing: Int32(i)) }
                if let k = sharing.firstIndex(of: Int32(i)) { sharing.swapAt(k, sharing.count - 1); sharing.removeLast() }
                rebalance()
            }
        }
        let released = tasks[i].acquired
        if released {
            for c in tasks[i].charges { change(Int(c.resource), cost: -Int(c.cost), count: -1) }
            tasks[i].acquired = false
        }
        if let fault {
            for (d, bytes) in tasks[i].reservations { adjustFree(d, by: bytes) }
            tasks[i].state = .error
            tasks[i].error = fault
        } else {
            applyEffect(i)
            if tasks[i].kind.isMove { moves[tasks[i].vm, default: 0] += 1 }
            tasks[i].state = .success
            tasks[i].progress = 100
        }
        tasks[i].reservations = []
        tasks[i].completeTime = now
        tasks[i].epoch &+= 1
        if vmBusy[tasks[i].vm] == Int32(i) { vmBusy[tasks[i].vm] = -1 }
        emit(i)
        if released {
            for c in tasks[i].charges { wakeWaiters(Int(c.resource)) }
        }
    }

    /// `CancelTask`: a queued task ends at once; a running one stops where it is.
    mutating func cancel(_ i: Int) {
        end(i, fault: .requestCanceled)
    }

    // MARK: Accounting

    mutating func change(_ r: Int, cost: Int, count: Int) {
        let dt = now - res[r].last
        if res[r].count > 0 { res[r].busy += dt }
        res[r].costTime += Double(res[r].cost) * dt
        res[r].last = now
        res[r].cost += cost
        res[r].count += count
        if res[r].cost > res[r].peakCost { res[r].peakCost = res[r].cost }
        if res[r].count > res[r].peakCount { res[r].peakCount = res[r].count }
    }

    mutating func adjustFree(_ d: Int, by delta: Int64) {
        var ds = inventory.datastores[d]
        ds.freeBytes += delta
        inventory.update(ds)
    }

    private mutating func applyEffect(_ i: Int) {
        let t = tasks[i]
        var vm = inventory.vms[t.vm]
        switch t.effect {
        case .none:
            return
        case .move(let host, let pool, let files):
            if host >= 0 {
                let oldCluster = vm.cluster
                vm.host = inventory.hosts[host].ref
                vm.cluster = inventory.hosts[host].cluster
                if pool == nil, vm.cluster != oldCluster {
                    // Across clusters the VM lands in the destination cluster's pool, as vCenter puts it.
                    vm.resourcePool = hostCluster[host] >= 0 ? clusterPool[hostCluster[host]] : nil
                }
            }
            if let pool { vm.resourcePool = pool }
            if !files.isEmpty { placeFiles(files, of: &vm, task: i) }
        case .consolidate:
            vm.consolidationNeeded = false
        case .removeSnapshots(let all, let refs, let consolidate):
            let removed = all ? Set(vm.snapshots.map(\.ref)) : refs
            let parentOf = Dictionary(vm.snapshots.map { ($0.ref, $0.parent) }, uniquingKeysWith: { a, _ in a })
            var kept: [SnapshotInfo] = []
            for var s in vm.snapshots where !removed.contains(s.ref) {
                while let p = s.parent, removed.contains(p) { s.parent = parentOf[p] ?? nil }
                kept.append(s)
            }
            for r in removed { snapshotOwner[r] = nil }
            let hadAny = !removed.isEmpty
            vm.snapshots = kept
            vm.consolidationNeeded = consolidate ? false : (vm.consolidationNeeded || hadAny)
        case .power(let on):
            vm.powerState = on ? "poweredOn" : "poweredOff"
        }
        inventory.update(vm)
    }
}
