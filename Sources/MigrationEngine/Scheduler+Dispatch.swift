import Foundation
import HeapModule
import VCenterModel

extension Scheduler {
    // MARK: Creating jobs

    /// Creates the job for a request; returns its index when it is pending (to be ordered).
    func createJob(_ request: JobRequest, now: Date) -> Int32? {
        let j = Int32(jobs.count)
        // The VM's record, read once (a copy of every field): for a new slot and for the
        // cannot-move checks.
        let existing = vmIndex[request.vm]
        let info = baseInventory.vm(request.vm)
        let known = existing != nil || info != nil
        let v = existing ?? vmSlot(request.vm, name: request.vm.value, info: info)
        var m = JobMeta(vm: v)
        resolveKind(request.kind, into: &m)
        let kind = request.kind
        // Fields of the slot, not a copy of it (its files, queue and names).
        let vi = Int(v)
        let host = vmSlots[vi].host, slotCluster = vmSlots[vi].cluster
        // Appended without a local binding: a copy kept to the end of the scope would share
        // the job's box, and the writes below would copy it.
        jobs.append(Job(
            id: JobID(Int(j)), vm: request.vm, vmName: vmSlots[vi].name, cluster: host >= 0 ? clusterRef(of: host) ?? slotCluster : slotCluster,
            kind: kind, label: request.label, size: kind.movesHost && !kind.movesStorage ? vmSlots[vi].memoryBytes : vmSlots[vi].committed,
            sourceHost: host >= 0 ? hostSlots[Int(host)].ref : nil,
            sourceDatastores: vmSlots[vi].datastores.map { dsSlots[Int($0)].ref }, createdAt: now))
        meta.append(m)
        var problem: (JobState, String)?
        if !known {
            problem = (.failed, "VM \(request.vm) is not in the inventory")
        } else if let move = m.move {
            if move.move.allTargets.isEmpty && move.move.storageDRS == nil {
                problem = (.failed, "the storage move names no target datastore")
            } else if !move.unknown.isEmpty {
                problem = (.failed, "unknown target datastore \(move.unknown.map(\.description).joined(separator: ", "))")
            } else if vmSlots[vi].hasStorageMove {
                problem = (.skipped, "the VM already has a storage move in this run (a VM never moves twice)")
            }
        }
        if problem == nil, let dest = kind.destinationHost, hostIndex[dest] == nil {
            problem = (.failed, "unknown destination host \(dest)")
        }
        if kind.movesStorage, problem?.0 != .failed { vmSlots[Int(v)].hasStorageMove = true }
        var done = false
        if problem == nil {
            // The VM's moving files, worked out once for the size, the on-target check and
            // the cannot-move checks (three walks over its files before).
            let files = kind.movesStorage ? movingFiles(j) : []
            if kind.movesStorage { jobs[Int(j)].size = files.reduce(0) { $0 + $1.written } }
            done = isOnTarget(j, files: files)
            if !done, let reason = cannotMove(j, files: files, vm: info) {
                problem = (.skipped, "cannot move: " + reason)
                jobs[Int(j)].cannotMove = true
            }
        }
        let i = Int(j)
        if done {
            jobs[i].state = .done
            jobs[i].finishedAt = now
            jobs[i].label = jobs[i].label ?? "already on target"
        } else if let (state, message) = problem {
            jobs[i].state = state
            jobs[i].lastError = message
            jobs[i].finishedAt = now
        }
        if recordsEvents { emit(.jobAdded(jobs[i]), now) }
        guard jobs[i].state == .pending else { return nil }
        pendingCount += 1
        return j
    }

    /// Whether job `j`'s VM is already where the job would put it, on the scheduler's own
    /// record of where the VM and its files are.
    func isOnTarget(_ j: Int32, files: [MovingFile]? = nil) -> Bool {
        let v = Int(meta[Int(j)].vm), destHost = meta[Int(j)].destHost
        switch jobs[Int(j)].kind {
        case .storageMove:
            return !vmSlots[v].datastores.isEmpty && (files ?? movingFiles(j)).isEmpty
        case .storageAndHostMove:
            return vmSlots[v].host == destHost && !vmSlots[v].datastores.isEmpty && (files ?? movingFiles(j)).isEmpty
        case .hostMove:
            return vmSlots[v].host == destHost
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
        if let nb = jobs[i].notBefore {
            if nb > now { return }
            // Written only when set: a write copies the job's box while its `jobAdded` or
            // last `jobChanged` event still shares it.
            jobs[i].notBefore = nil
        }
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
        case .pacingGroup:
            pacingFreed(owner)
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
        if waitsForWave(i) { return park(j, meta[i].waveGate, cost: meta[i].waveIndex) }
        guard h >= 0 else {
            failPending(j, "the VM has no host (not registered, or disconnected); cannot move it", now: now)
            return nil
        }
        if kind.movesHost, meta[i].destHost >= 0, !hostSlots[Int(meta[i].destHost)].usable {
            failPending(j, "destination host \(baseInventory.name(of: hostSlots[Int(meta[i].destHost)].ref)) is disconnected or in maintenance mode", now: now)
            return nil
        }
        var files: [MovingFile] = []
        var groups: [[MovingFile]] = []
        var sources: [Int32]?
        if kind.movesStorage {
            files = movingFiles(j)
            if files.isEmpty, case .storageMove = kind {
                // Already where it should be (the VM's files moved since the job was made).
                dispatchWithoutCall(j, now: now)
                return nil
            }
            groups = self.groups(files, keepTogether: meta[i].move?.move.keepTogether ?? true)
            sources = self.sources(of: files, vm: v) ?? (files.isEmpty ? [] : nil)
        }
        var list = charges(kind: kind, vm: v, destHost: meta[i].destHost, sources: sources)
        for k in 0..<list.hostStart where !ledger.fits(list.all[k]) {
            return parkOrFail(j, list.all[k], now: now)
        }
        let mountHost = kind.movesHost ? meta[i].destHost : h
        // A few resources (about ten): a linear search beats building a set per examined job.
        let touched = list.all.map(\.resource)
        if !groups.isEmpty {
            switch targetCandidates(j, groups: groups, mountHost: mountHost, touched: touched) {
            case .ready: break
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
        if meta[i].move?.move.storageDRS != nil, !groups.isEmpty {
            askStorageDRS(j, charges: list.all, now: now)
            return nil
        }
        var placed: [PlacedFile] = []
        if !groups.isEmpty {
            switch choosePlacement(j, groups: groups, mountHost: mountHost, touched: touched) {
            case .placed(let p): placed = p
            case .wait: return park(j, meta[i].group, cost: 0)
            case .held: return holdForStrategy(j)
            case .failed(let message):
                failPending(j, message, now: now)
                return nil
            }
            let cold = vmSlots[Int(v)].cold
            for t in distinct(placed.map(\.to)) { addTarget(t, to: &list, cold: cold) }
        }
        if !windowAllows(j, placed: placed, now: now) { return parkForWindow(j) }
        commit(j, charges: list.all, placed: placed, now: now)
        return nil
    }

    /// A storage move whose VM is already where it should be when its turn comes: done
    /// without a call (its VM's next job runs).
    func dispatchWithoutCall(_ j: Int32, now: Date) {
        let i = Int(j)
        jobs[i].label = jobs[i].label ?? "already on target"
        jobs[i].lastError = nil
        jobs[i].progress = 100
        end(j, .done, now: now)
    }

    func parkOrFail(_ j: Int32, _ c: Charge, now: Date) -> ParkSpot? {
        if Int(c.cost) > ledger.capacity[Int(c.resource)] {
            failPending(j, "needs \(c.cost) of \(describe(c.resource)), more than the limit allows; raise the limit or change the job", now: now)
            return nil
        }
        return park(j, c.resource, cost: c.cost)
    }

    /// Charges the job's resources and asks the driver to start it.
    func commit(_ j: Int32, charges: [Charge], placed: [PlacedFile] = [], now: Date) {
        let verify = hold(j, charges: charges, now: now)
        place(j, placed)
        actions.append(startAction(j, verifyFirst: verify, now: now))
    }

    /// The `.start` of job `j`'s attempt; its intent time is remembered (a lost call's task
    /// is sought from it).
    func startAction(_ j: Int32, verifyFirst: Bool, now: Date) -> SchedulerAction {
        meta[Int(j)].call.intentAt = now
        return .start(jobs[Int(j)].id, operation(j), verifyFirst: verifyFirst, lookFirst: searchBeforeCall(j))
    }

    /// Charges `charges` and makes the job dispatching (one more attempt); returns whether
    /// the call must first check where the VM is.
    @discardableResult
    func hold(_ j: Int32, charges: [Charge], now: Date) -> Bool {
        let i = Int(j)
        let v = meta[i].vm
        for c in charges { ledger.charge(c, external: false) }
        countRunning(charges, +1)
        meta[i].charges = charges
        let host = vmSlots[Int(v)].host
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
        return verify
    }

    /// Records where a storage move's files go: reserves the space, sets the job's moves,
    /// target and size.
    func place(_ j: Int32, _ placed: [PlacedFile]) {
        let i = Int(j)
        guard jobs[i].kind.movesStorage else { return }
        reserve(j, placed: placed)
        let home = placed.first { $0.id == .config }?.to ?? placed.first?.to
        jobs[i].target = home.map { dsSlots[Int($0)].ref }
        jobs[i].moves = placed.map { p in
            FileMove(file: p.id, label: p.label, from: p.from >= 0 ? dsSlots[Int(p.from)].ref : nil, to: dsSlots[Int(p.to)].ref, bytes: p.written)
        }
        if !placed.isEmpty { jobs[i].size = placed.reduce(0) { $0 + $1.written } }
    }

    /// The vCenter call for the job's current attempt.
    func operation(_ j: Int32) -> EngineOperation {
        // The VM and the kind, not a copy of the whole job.
        let vm = jobs[Int(j)].vm
        let priority = configuration.movePriority
        switch jobs[Int(j)].kind {
        case .storageMove:
            if let key = meta[Int(j)].recommendationKey { return .applyStorageRecommendation(vm: vm, key: key) }
            return .relocate(vm: vm, spec: relocateSpec(j, host: nil, pool: nil), priority: priority)
        case .hostMove(let host, let pool, let method):
            switch method {
            case .relocate: return .relocate(vm: vm, spec: RelocateSpec(host: host, pool: pool), priority: priority)
            case .migrate: return .migrate(vm: vm, host: host, pool: pool, priority: priority)
            }
        case .storageAndHostMove(_, let host, let pool):
            if let key = meta[Int(j)].recommendationKey { return .applyStorageRecommendation(vm: vm, key: key) }
            return .relocate(vm: vm, spec: relocateSpec(j, host: host, pool: pool), priority: priority)
        case .consolidate:
            return .consolidate(vm: vm)
        case .removeSnapshot(let selector, let removeChildren, let consolidate):
            return .removeSnapshot(vm: vm, selector: selector, removeChildren: removeChildren, consolidate: consolidate)
        case .custom(let task):
            return .invoke(method: task.method, object: task.object ?? vm, arguments: task.arguments)
        }
    }
}
