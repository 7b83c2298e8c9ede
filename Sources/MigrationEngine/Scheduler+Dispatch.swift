import Foundation
import HeapModule
import VCenterModel

extension Scheduler {
    // MARK: Creating jobs

    /// Creates the job for a request; returns its index when it is pending (to be ordered).
    func createJob(_ request: JobRequest, now: Date) -> Int32? {
        let j = Int32(jobs.count)
        let known = vmIndex[request.vm] != nil || baseInventory.containsVM(request.vm)
        let v = vmSlot(request.vm, name: request.vm.value)
        var m = JobMeta(vm: v)
        resolveKind(request.kind, into: &m)
        let slot = vmSlots[Int(v)]
        let kind = request.kind
        let size: Int64 = kind.movesHost && !kind.movesStorage ? slot.memoryBytes : slot.committed
        var job = Job(
            id: JobID(Int(j)), vm: request.vm, vmName: slot.name, cluster: slot.host >= 0 ? clusterRef(of: slot.host) ?? slot.cluster : slot.cluster,
            kind: kind, label: request.label, size: size,
            sourceHost: slot.host >= 0 ? hostSlots[Int(slot.host)].ref : nil,
            sourceDatastores: slot.datastores.map { dsSlots[Int($0)].ref }, createdAt: now)
        var problem: (JobState, String)?
        if !known {
            problem = (.failed, "VM \(request.vm) is not in the inventory")
        } else if kind.movesStorage {
            if kind.candidates.isEmpty {
                problem = (.failed, "the storage move names no target datastore")
            } else if m.candidates.count != kind.candidates.count {
                let unknown = kind.candidates.filter { dsIndex[$0] == nil }
                problem = (.failed, "unknown target datastore \(unknown.map(\.description).joined(separator: ", "))")
            } else if slot.hasStorageMove {
                problem = (.skipped, "the VM already has a storage move in this run (a VM never moves twice)")
            }
        }
        if problem == nil, let dest = kind.destinationHost, hostIndex[dest] == nil {
            problem = (.failed, "unknown destination host \(dest)")
        }
        if kind.movesStorage, problem?.0 != .failed { vmSlots[Int(v)].hasStorageMove = true }
        if problem == nil, isOnTarget(m, slot: slot, kind: kind) {
            job.state = .done
            job.finishedAt = now
            job.label = job.label ?? "already on target"
        } else if let (state, message) = problem {
            job.state = state
            job.lastError = message
            job.finishedAt = now
        }
        jobs.append(job)
        meta.append(m)
        emit(.jobAdded(job), now)
        guard job.state == .pending else { return nil }
        pendingCount += 1
        return j
    }

    /// `isOnTarget` on the scheduler's own record of where the VM is.
    func isOnTarget(_ m: JobMeta, slot: VMSlot, kind: JobKind) -> Bool {
        switch kind {
        case .storageMove:
            return !slot.datastores.isEmpty && slot.datastores.allSatisfy { m.candidates.contains($0) }
        case .storageAndHostMove:
            return slot.host == m.destHost && !slot.datastores.isEmpty && slot.datastores.allSatisfy { m.candidates.contains($0) }
        case .hostMove:
            return slot.host == m.destHost
        case .consolidate, .removeSnapshot, .custom:
            return false
        }
    }

    /// Makes the VM's first job eligible when the VM is idle and the job's backoff is over.
    func scheduleHead(_ v: Int32, now: Date) {
        guard stopping == nil, outcome == nil else { return }
        let slot = vmSlots[Int(v)]
        guard slot.active < 0, slot.external == 0, let j = slot.queue.first else { return }
        let i = Int(j)
        guard jobs[i].state == .pending, !meta[i].queued else { return }
        if let nb = jobs[i].notBefore, nb > now { return }
        jobs[i].notBefore = nil
        meta[i].queued = true
        ready.insert(QueueEntry(rank: meta[i].rank, job: j, token: meta[i].token))
    }

    @inline(__always) func isValid(_ e: QueueEntry) -> Bool {
        let m = meta[Int(e.job)]
        return m.queued && m.token == e.token
    }

    /// Takes a job out of every waiting list it is in.
    @inline(__always) func take(_ j: Int32) {
        meta[Int(j)].queued = false
        meta[Int(j)].token &+= 1
    }

    /// The best valid entry parked in bucket `b` of resource `r`, dropping stale ones.
    func validTop(_ r: Int32, _ b: Int32) -> QueueEntry? {
        while let top = ledger.parked[Int(r)][Int(b)].heap.min {
            if isValid(top) { return top }
            ledger.parked[Int(r)][Int(b)].heap.removeMin()
        }
        return nil
    }

    /// Parks a job on a resource until it frees room for `cost`.
    @discardableResult
    func park(_ j: Int32, _ r: Int32, cost: Int32) -> ParkSpot {
        let b = ledger.bucket(r, cost: cost)
        let m = meta[Int(j)]
        ledger.parked[Int(r)][b].heap.insert(QueueEntry(rank: m.rank, job: j, token: m.token))
        meta[Int(j)].queued = true
        meta[Int(j)].blockedOn = r
        return ParkSpot(resource: r, cost: cost)
    }

    /// Adds a parked job to a second waiting list (its entry there shares the job's token).
    func alsoPark(_ j: Int32, _ r: Int32) {
        let b = ledger.bucket(r, cost: 0)
        let m = meta[Int(j)]
        ledger.parked[Int(r)][b].heap.insert(QueueEntry(rank: m.rank, job: j, token: m.token))
    }

    /// Room was freed on `r` (or on what a wait list depends on): wake its parked jobs that may fit.
    func freed(_ r: Int32) {
        let room = ledger.room(r)
        for b in ledger.parked[Int(r)].indices where Int(ledger.parked[Int(r)][b].cost) <= room {
            if let top = validTop(r, Int32(b)) {
                wake.insert(WakeEntry(rank: top.rank, job: top.job, resource: r, bucket: Int32(b)))
            }
        }
        let owner = ledgerOwner[Int(r)]
        switch ledger.kind[Int(r)] {
        case .datastoreCost, .datastoreStorageMoves:
            datastoreChanged(owner)
        case .hostCost, .hostStorageMoves, .hostNetwork:
            let c = hostSlots[Int(owner)].cluster
            if c >= 0 { freed(clusterSlots[Int(c)].hostWait) }
        default:
            break
        }
    }

    /// A datastore's room or free space changed: wake the target groups that include it.
    func datastoreChanged(_ d: Int32) {
        for g in dsSlots[Int(d)].groups { freed(g) }
    }

    // MARK: Dispatch

    /// Dispatches eligible jobs, best rank first, until nothing else fits.
    func dispatch(now: Date) {
        guard stopping == nil, outcome == nil else { return }
        while true {
            while let top = ready.min, !isValid(top) { ready.removeMin() }
            var wakeTop: WakeEntry?
            while let w = wake.min {
                let bucketCost = Int(ledger.parked[Int(w.resource)][Int(w.bucket)].cost)
                guard ledger.room(w.resource) >= bucketCost, let top = validTop(w.resource, w.bucket) else {
                    wake.removeMin()
                    continue
                }
                if top.job != w.job || top.rank != w.rank {
                    wake.removeMin()
                    wake.insert(WakeEntry(rank: top.rank, job: top.job, resource: w.resource, bucket: w.bucket))
                    continue
                }
                wakeTop = w
                break
            }
            let readyTop = ready.min
            if let w = wakeTop, readyTop.map({ ($0.rank, $0.job) > (w.rank, w.job) }) ?? true {
                wake.removeMin()
                let r = w.resource, b = w.bucket
                ledger.parked[Int(r)][Int(b)].heap.removeMin()
                take(w.job)
                let cost = ledger.parked[Int(r)][Int(b)].cost
                examine(w.job, now: now)
                // Keep draining this list while it has room, unless the job just went
                // back to the head of it (then nothing behind it can do better now).
                if ledger.room(r) >= Int(cost), let next = validTop(r, b), next.job != w.job {
                    wake.insert(WakeEntry(rank: next.rank, job: next.job, resource: r, bucket: b))
                }
            } else if let top = readyTop {
                ready.removeMin()
                take(top.job)
                examine(top.job, now: now)
            } else {
                return
            }
            if stopping != nil || outcome != nil { return }
        }
    }

    /// Decides one eligible job: dispatch it, park it on what blocks it, insert a
    /// pro-active vMotion, or fail it. Returns where it was parked, if it was.
    @discardableResult
    func examine(_ j: Int32, now: Date) -> ParkSpot? {
        let i = Int(j)
        let v = meta[i].vm
        let h = vmSlots[Int(v)].host
        let kind = jobs[i].kind
        if meta[i].parentJob >= 0 { return examineProactive(j, now: now) }
        guard h >= 0 else {
            failPending(j, "the VM has no host (not registered, or disconnected); cannot move it", now: now)
            return nil
        }
        if kind.movesHost, meta[i].destHost >= 0, !hostSlots[Int(meta[i].destHost)].usable {
            failPending(j, "destination host \(baseInventory.name(of: hostSlots[Int(meta[i].destHost)].ref)) is disconnected or in maintenance mode", now: now)
            return nil
        }
        var list = charges(kind: kind, vm: v, destHost: meta[i].destHost, target: -1)
        for k in 0..<list.hostStart where !ledger.fits(list.all[k]) {
            return parkOrFail(j, list.all[k], now: now)
        }
        var candidates: [Int32] = []
        if kind.movesStorage {
            let mountHost = kind.movesHost ? meta[i].destHost : h
            switch targetCandidates(j, mountHost: mountHost) {
            case .ready(let list): candidates = list
            case .wait: return park(j, meta[i].group, cost: 0)
            case .impossible(let message):
                failPending(j, message, now: now)
                return nil
            }
        }
        for k in list.hostStart..<list.targetStart where !ledger.fits(list.all[k]) {
            let c = list.all[k]
            if Int(c.cost) > ledger.capacity[Int(c.resource)] { return parkOrFail(j, c, now: now) }
            if case .storageMove = kind, !meta[i].proactiveTried, hostSlots[Int(h)].cluster >= 0 {
                switch hostBlocked(j, host: h, blocker: c, now: now) {
                case .inserted, .failed:
                    return nil
                case .wait:
                    return park(j, c.resource, cost: c.cost)
                case .noRoomElsewhere:
                    // Wait for the host, and for another host of the cluster to free room
                    // (then the strategy may be asked).
                    let spot = park(j, c.resource, cost: c.cost)
                    alsoPark(j, clusterSlots[Int(hostSlots[Int(h)].cluster)].hostWait)
                    return spot
                }
            }
            return park(j, c.resource, cost: c.cost)
        }
        var t: Int32 = -1
        if kind.movesStorage {
            let chosen: MoRef?
            do {
                chosen = try strategy.target(jobs[i], candidates: candidates.map { datastoreInfo($0) })
            } catch {
                failPending(j, "the strategy's target hook failed: \(error)", now: now)
                return nil
            }
            guard let chosen else { return park(j, meta[i].group, cost: 0) }
            guard let ti = candidates.first(where: { dsSlots[Int($0)].ref == chosen }) else {
                let names = candidates.map { baseInventory.name(of: dsSlots[Int($0)].ref) }.joined(separator: ", ")
                failPending(j, "the strategy's target hook returned \(baseInventory.name(of: chosen)), which is not one of the candidates (\(names))", now: now)
                return nil
            }
            t = ti
            list.add(dsSlots[Int(t)].cost, configuration.costs.storageVMotionDatastore)
            list.add(dsSlots[Int(t)].storageMoves, 1)
        }
        commit(j, charges: list.all, target: t, now: now)
        return nil
    }

    func parkOrFail(_ j: Int32, _ c: Charge, now: Date) -> ParkSpot? {
        if Int(c.cost) > ledger.capacity[Int(c.resource)] {
            failPending(j, "needs \(c.cost) of \(describe(c.resource)), more than the limit allows; raise the limit or change the job", now: now)
            return nil
        }
        return park(j, c.resource, cost: c.cost)
    }

    enum Candidates {
        case ready([Int32])
        case wait
        case impossible(String)
    }

    /// The job's allowed targets usable from `mountHost` that have room for one more
    /// Storage vMotion and the job's size plus the kept free share.
    func targetCandidates(_ j: Int32, mountHost: Int32) -> Candidates {
        let i = Int(j)
        let v = meta[i].vm
        let size = jobs[i].size
        let costs = configuration.costs
        var usable = 0
        var withSpace = 0
        var prospects = false
        var list: [Int32] = []
        for d in meta[i].candidates {
            let ds = dsSlots[Int(d)]
            if vmSlots[Int(v)].datastores.contains(d) { continue }
            guard ds.accessible, ds.mounts.map({ $0.contains(mountHost) }) ?? true else { continue }
            usable += 1
            if ds.inflightTo > 0 || ds.inflightFrom > 0 { prospects = true }
            let keep = Int64(configuration.minimumFreeFraction * Double(ds.capacity == .max ? 0 : ds.capacity))
            guard ds.free >= size &+ keep else { continue }
            withSpace += 1
            guard ledger.room(ds.cost) >= costs.storageVMotionDatastore else { continue }
            if ds.storageMoves >= 0, ledger.room(ds.storageMoves) < 1 { continue }
            list.append(d)
        }
        if !list.isEmpty { return .ready(list) }
        if usable == 0 {
            let hostName = mountHost >= 0 ? baseInventory.name(of: hostSlots[Int(mountHost)].ref) : "?"
            return .impossible("no target datastore is usable from host \(hostName) (inaccessible, not mounted, or already holding the VM)")
        }
        if withSpace > 0 || prospects { return .wait }
        let gb = Double(size) / 1e9
        return .impossible(String(format: "no target datastore has %.1f GB free (plus %.0f%% kept free)", gb, configuration.minimumFreeFraction * 100))
    }

    /// Charges the job's resources and asks the driver to start it.
    func commit(_ j: Int32, charges: [Charge], target t: Int32, now: Date) {
        let i = Int(j)
        let v = meta[i].vm
        for c in charges { ledger.charge(c, external: false) }
        countRunning(charges, +1)
        meta[i].charges = charges
        reserve(j, target: t)
        let host = vmSlots[Int(v)].host
        jobs[i].target = t >= 0 ? dsSlots[Int(t)].ref : nil
        jobs[i].sourceHost = host >= 0 ? hostSlots[Int(host)].ref : nil
        jobs[i].sourceDatastores = vmSlots[Int(v)].datastores.map { dsSlots[Int($0)].ref }
        jobs[i].attempts += 1
        jobs[i].dispatchedAt = now
        jobs[i].startedAt = nil
        jobs[i].progress = nil
        jobs[i].taskRef = nil
        vmSlots[Int(v)].active = j
        let verify = meta[i].verifyNext
        meta[i].verifyNext = false
        transition(j, to: .dispatching, now: now)
        actions.append(.start(jobs[i].id, operation(j), verifyFirst: verify))
    }

    /// The vCenter call for the job's current attempt.
    func operation(_ j: Int32) -> EngineOperation {
        let job = jobs[Int(j)]
        let priority = configuration.movePriority
        switch job.kind {
        case .storageMove:
            return .relocate(vm: job.vm, spec: RelocateSpec(datastore: job.target), priority: priority)
        case .hostMove(let host, let pool, let method):
            switch method {
            case .relocate: return .relocate(vm: job.vm, spec: RelocateSpec(host: host, pool: pool), priority: priority)
            case .migrate: return .migrate(vm: job.vm, host: host, pool: pool, priority: priority)
            }
        case .storageAndHostMove(_, let host, let pool):
            return .relocate(vm: job.vm, spec: RelocateSpec(datastore: job.target, host: host, pool: pool), priority: priority)
        case .consolidate:
            return .consolidate(vm: job.vm)
        case .removeSnapshot(let selector, let removeChildren, let consolidate):
            return .removeSnapshot(vm: job.vm, selector: selector, removeChildren: removeChildren, consolidate: consolidate)
        case .custom(let task):
            return .invoke(method: task.method, object: task.object ?? job.vm, arguments: task.arguments)
        }
    }
}
