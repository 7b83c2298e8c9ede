import DequeModule
import Foundation
import HeapModule
import VCenterModel

/// The engine's decisions as a synchronous, deterministic state machine: no I/O,
/// no clock. Every input carries `now`; every input returns the actions to perform
/// (start this job with this operation, wake me at T, the run is over), and the
/// events it produced wait in `drainEvents()`.
///
/// Dispatch is event-driven: each input that frees room immediately dispatches the
/// best eligible jobs. Order comes from `Strategy.order` (a rank per job). Jobs that
/// cannot start wait on the one resource that blocks them, in a rank-ordered heap per
/// (resource, cost); when a resource frees room only the waiting lists it can unblock
/// are looked at, best rank first across all of them, so an event costs
/// O(jobs it dispatches or moves × log n), never a scan of every pending job.
///
/// Limits are never exceeded: a job is dispatched only when every resource it charges
/// (see `CostModel`, `Limits`) has room for its cost, counting tasks started outside
/// the run (`externalTaskStarted`).
public final class Scheduler {
    /// The configuration the scheduler was made with.
    public let configuration: SchedulerConfiguration
    /// The retry policy in force: the configuration's, as the strategy adjusted it (`Strategy.retryPolicy`).
    public let retry: RetryPolicy
    /// The inventory, with VM locations updated as moves finish.
    public var inventory: Inventory {
        flushLocations()
        return baseInventory
    }
    /// The inventory as given, with the locations of VMs in `movedVMs` not yet written back.
    var baseInventory: Inventory
    var movedVMs: [Int32] = []
    /// Whether events are recorded for `drainEvents` (off when nobody listens: `plan` without a display).
    public var recordsEvents = true
    let strategy: any Strategy

    /// Every job of the run, indexed by `JobID.rawValue`.
    public internal(set) var jobs: [Job] = []
    var meta: [JobMeta] = []

    var ledger = ResourceLedger()
    var ledgerOwner: [Int32] = []
    var hostSlots: [HostSlot] = []
    var hostIndex: [MoRef: Int32] = [:]
    var dsSlots: [DatastoreSlot] = []
    var dsIndex: [MoRef: Int32] = [:]
    var clusterSlots: [ClusterSlot] = []
    var clusterIndex: [MoRef: Int32] = [:]
    var vcenterResource: Int32 = -1
    /// The list of jobs the strategy holds (Scheduler+Holds), how many, and whether they
    /// were all re-asked since the last start or end.
    var holdResource: Int32 = -1
    var heldCount = 0
    var idleRecheckDone = false
    /// The wave gates by scope (nil: the vCenter) and their waves (Scheduler+Waves).
    var waveGateByScope: [MoRef?: Int32] = [:]
    var waveGates: [Int32: WaveGate] = [:]
    /// Change windows (Scheduler+Windows): the list of jobs waiting for one, the next
    /// boundary, and the copy rates measured so far.
    var windowResource: Int32 = -1
    var windowWake: Date?
    var pairRates: [DatastorePair: RateSamples] = [:]
    var allRates = RateSamples()
    var groupIndex: [[Int32]: Int32] = [:]
    /// Storage moves resolved so far, with their candidate slots and target group. Jobs of a
    /// strategy ask for a few moves (one per cluster, say) in interleaved order, so one
    /// remembered move missed at nearly every job; valid while `moveCacheSlots` is the
    /// number of datastore slots (a new slot may resolve a reference that was unknown).
    var moveCache: [StorageMove: ResolvedMoveEntry] = [:]
    var moveCacheSlots = 0
    /// The move resolved last, checked before the table (consecutive jobs often share it).
    var lastMove: ResolvedMoveEntry?
    var vmSlots: [VMSlot] = []
    var vmIndex: [MoRef: Int32] = [:]
    var baseLimits: Limits

    var ready = Heap<QueueEntry>()
    var wake = Heap<WakeEntry>()
    var timers = Heap<TimerEntry>()
    var lastWakeRequest: Date?
    var external: [MoRef: ExternalTask] = [:]
    /// Every task this run started, adopted or counted as an outside task: never the task
    /// of a lost call (Scheduler+LostCalls).
    var knownTasks = Set<MoRef>()

    var pendingCount = 0
    var activeCount = 0
    var nextRank = 0
    var stopping: StopReason?
    /// How the run ended, once it has.
    public internal(set) var outcome: RunOutcome?
    var events: [EngineEvent] = []
    var actions: [SchedulerAction] = []
    /// Pacing by throughput (Scheduler+Pacing).
    var pacing = SchedulerPacing()

    /// Creates a scheduler over `inventory`. Asks the strategy for each cluster's
    /// limits (an error there is thrown: nothing has started yet).
    public init(inventory: Inventory, strategy: any Strategy, configuration: SchedulerConfiguration = SchedulerConfiguration()) throws {
        self.baseInventory = inventory
        self.strategy = strategy
        self.configuration = configuration
        self.baseLimits = configuration.limits
        do {
            try strategy.prepare(inventory)
        } catch {
            throw EngineError.hookFailed(hook: "prepare", message: String(describing: error))
        }
        do {
            self.retry = try strategy.retryPolicy(configuration.retry)
        } catch {
            throw EngineError.hookFailed(hook: "retries", message: String(describing: error))
        }
        try buildResources()
        vmIndex.reserveCapacity(inventory.vms.count)
        vmSlots.reserveCapacity(inventory.vms.count)
    }

    // MARK: Inputs

    /// Adds the strategy's jobs: records a second storage move of a VM as skipped,
    /// a VM already on its target as done (no vCenter call), orders the rest with
    /// `Strategy.order` and dispatches what fits. Throws only when `order` throws.
    public func add(_ requests: [JobRequest], now: Date) throws -> [SchedulerAction] {
        let firstEvent = events.count
        let fresh = try createAndRank(requests, now: now)
        if configuration.windows != nil, windowWake == nil { planWindowWake(now: now, announce: true) }
        do {
            try assignWaves(fresh)
        } catch {
            throw EngineError.hookFailed(hook: "wave", message: String(describing: error))
        }
        // The jobs were announced before the strategy was asked for their waves: the events
        // carry them, so that progress (and the journal) know each pending job's wave.
        if recordsEvents, !waveGates.isEmpty {
            for k in firstEvent..<events.count {
                guard case .jobAdded(var job) = events[k].kind, let wave = jobs[job.id.rawValue].wave else { continue }
                job.wave = wave
                events[k] = EngineEvent(time: events[k].time, kind: .jobAdded(job))
            }
        }
        var touched: [Int32] = []
        for j in fresh {
            let v = meta[Int(j)].vm
            if vmSlots[Int(v)].queue.isEmpty { touched.append(v) }
            vmSlots[Int(v)].queue.append(j)
        }
        for v in touched { scheduleHead(v, now: now) }
        return finishStep(now: now)
    }

    /// Creates the jobs of `requests` and ranks the pending ones with `Strategy.order`;
    /// returns the pending jobs' indices, in creation order.
    func createAndRank(_ requests: [JobRequest], now: Date) throws -> [Int32] {
        var fresh: [Int32] = []
        fresh.reserveCapacity(requests.count)
        jobs.reserveCapacity(jobs.count + requests.count)
        meta.reserveCapacity(meta.count + requests.count)
        if recordsEvents { events.reserveCapacity(events.count + requests.count) }
        for request in requests {
            if let j = createJob(request, now: now) { fresh.append(j) }
        }
        let candidates = fresh.map { jobs[Int($0)] }
        let ordered: [Job]
        do {
            ordered = try strategy.order(candidates)
        } catch {
            throw EngineError.hookFailed(hook: "order", message: String(describing: error))
        }
        // Which fresh jobs the answer ranked, by index from the first fresh one (fresh jobs
        // are ascending indices: flags instead of two sets hashed per job).
        let base = fresh.first.map(Int.init) ?? 0
        let span = fresh.last.map { Int($0) - base + 1 } ?? 0
        var isFresh = [Bool](repeating: false, count: span)
        for j in fresh { isFresh[Int(j) - base] = true }
        var ranked = [Bool](repeating: false, count: span)
        var rankedCount = 0
        // By position: iterating the jobs themselves copies each one.
        for position in ordered.indices {
            let id = ordered[position].id.rawValue
            let k = id - base
            guard k >= 0, k < span, isFresh[k], !ranked[k] else { continue }
            ranked[k] = true
            rankedCount += 1
            meta[id].rank = nextRank
            nextRank += 1
        }
        if rankedCount < fresh.count {
            let fallback = DefaultOrder.largestFirst(candidates)
            for position in fallback.indices where !ranked[fallback[position].id.rawValue - base] {
                meta[fallback[position].id.rawValue].rank = nextRank
                nextRank += 1
            }
        }
        return fresh
    }

    /// Installs the jobs of an interrupted run, reconciled with vCenter by the runner:
    /// ended jobs stay as they are, running ones hold their resources again (their
    /// tasks are real, so they are charged even beyond a limit), pending ones wait for
    /// their turn in their saved rank. `saved` must hold ids 0, 1, 2, … in order.
    /// `calls` carries what the reconciliation learned about their calls: pending jobs
    /// whose last call was lost in transport, running jobs whose task was found by search,
    /// and every task reference of the run (Scheduler+LostCalls).
    public func restore(_ saved: [Job], ranks: [Int], calls: RestoredCalls = RestoredCalls(), now: Date) -> [SchedulerAction] {
        precondition(jobs.isEmpty, "restore must be the first input")
        knownTasks.formUnion(calls.knownTasks)
        var touched: [Int32] = []
        for (i, job) in saved.enumerated() {
            precondition(job.id.rawValue == i, "restored jobs must be dense and in id order")
            let v = vmSlot(job.vm, name: job.vmName)
            var m = JobMeta(vm: v)
            m.rank = i < ranks.count ? ranks[i] : Int.max / 2 + i
            nextRank = max(nextRank, m.rank + 1)
            resolveKind(job.kind, into: &m)
            var job = job
            if job.state == .dispatching { job.state = .pending; m.verifyNext = true }
            if let parent = job.parent {
                // A pro-active vMotion: its storage move gets no other one (at most one per
                // job, across resumes). A pending one keeps its first claim and is decided
                // afresh at dispatch (destination, or skipped when moot); a running one holds
                // its charges, the destination's room for the storage move included.
                let p = parent.rawValue
                if p < i, jobs[p].vm == job.vm {
                    meta[p].proactiveTried = true
                    m.parentJob = Int32(p)
                    m.fromHost = job.sourceHost.map { hostSlot($0) } ?? -1
                }
                if job.state == .pending, m.parentJob < 0 || jobs[p].state != .pending {
                    job.state = .skipped
                    job.lastError = m.parentJob < 0 ? "not needed: \(parent) is not an earlier job of the VM"
                        : "not needed: \(jobs[p].id) is \(jobs[p].state.rawValue)"
                    job.finishedAt = now
                }
            }
            if job.state == .pending, job.attempts > 0, job.kind.movesStorage || job.kind.movesHost { m.verifyNext = true }
            if job.kind.movesStorage, job.parent == nil { vmSlots[Int(v)].hasStorageMove = true }
            if job.state == .pending, let lostAt = calls.lost[job.id] {
                m.call.lostAt = lostAt
                m.call.lostFault = VCenterFault(job.lastFault ?? .connectionClosed, job.lastError ?? "the call was lost in transport")
            }
            if job.state == .running, let adoptedFor = calls.adopted[job.id] { m.call.adoptedFor = adoptedFor }
            jobs.append(job)
            meta.append(m)
            emit(.jobAdded(job), now)
            let j = Int32(i)
            switch job.state {
            case .pending:
                pendingCount += 1
                if vmSlots[Int(v)].queue.isEmpty { touched.append(v) }
                if m.parentJob >= 0, let k = vmSlots[Int(v)].queue.firstIndex(of: m.parentJob) {
                    vmSlots[Int(v)].queue.insert(j, at: k)
                } else {
                    vmSlots[Int(v)].queue.append(j)
                }
                if let nb = job.notBefore { timers.insert(TimerEntry(date: nb, job: j)) }
            case .running, .dispatching:
                activeCount += 1
                reattach(j)
                if vmSlots[Int(v)].queue.isEmpty { touched.append(v) }
                vmSlots[Int(v)].queue.prepend(j)
            case .done, .failed, .skipped:
                break
            }
        }
        do {
            try assignWaves(jobs.indices.map { Int32($0) })
        } catch {
            emit(.warning("the strategy's wave hook failed; this resume runs without waves: \(error)", job: nil), now)
        }
        if configuration.windows != nil, windowWake == nil { planWindowWake(now: now, announce: true) }
        for v in touched { scheduleHead(v, now: now) }
        return finishStep(now: now)
    }

    /// vCenter accepted the job's call and returned its task.
    public func taskStarted(_ id: JobID, task: MoRef, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .dispatching else { return finishStep(now: now) }
        jobs[j].taskRef = task
        jobs[j].startedAt = now
        knownTasks.insert(task)
        let adoptedFor = meta[j].call.adoptedFor
        meta[j].call = CallState()
        meta[j].call.adoptedFor = adoptedFor
        transition(Int32(j), to: .running, now: now)
        pacingStarted(Int32(j), now: now)
        return finishStep(now: now)
    }

    /// A running task reported progress (an event only; nothing is dispatched).
    public func taskProgress(_ id: JobID, percent: Int, now: Date) {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .running, jobs[j].progress != percent else { return }
        jobs[j].progress = percent
        if let ref = jobs[j].taskRef { emit(.taskProgress(id, task: ref, percent: percent), now) }
    }

    /// The job's task ended (success or error). Frees its resources and dispatches at once.
    public func taskFinished(_ id: JobID, info: TaskInfo, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state.isActive, info.state.isTerminal else { return finishStep(now: now) }
        if jobs[j].taskRef == nil { jobs[j].taskRef = info.ref }
        if needsConfirmation(j, info: info) { return finishStep(now: now) }
        if info.state == .success {
            succeed(Int32(j), now: now)
        } else {
            handleFailure(Int32(j), fault: info.error ?? VCenterFault(.taskError, "the task ended in error without a fault"), now: now)
        }
        return finishStep(now: now)
    }

    /// The runner found the VM already on the job's target before calling vCenter
    /// (after `verifyFirst`): the job is done without a call.
    public func alreadyDone(_ id: JobID, vm: VMInfo? = nil, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .dispatching else { return finishStep(now: now) }
        jobs[j].lastError = nil
        jobs[j].label = jobs[j].label ?? "already on target"
        succeed(Int32(j), now: now, observed: vm)
        return finishStep(now: now)
    }

    /// The wake time asked for by `.wake(at:)` has come: jobs whose backoff ended become eligible.
    public func timerFired(now: Date) -> [SchedulerAction] {
        lastWakeRequest = nil
        if let w = windowWake, w <= now { windowBoundary(now: now) }
        while let top = timers.min, top.date <= now {
            timers.removeMin()
            let j = Int(top.job)
            guard jobs[j].state == .pending, jobs[j].notBefore == top.date else { continue }
            jobs[j].notBefore = nil
            scheduleHead(meta[j].vm, now: now)
        }
        return finishStep(now: now)
    }

    /// Stops the run. Graceful: no new dispatches; running tasks finish, then the run
    /// ends as `.stopped`. Not graceful (abandon): the run ends now and running tasks
    /// are left running in vCenter (their jobs stay `running`).
    /// A simulated run reached its time limit: it ends `.timeLimit`, running tasks left as
    /// they are (in the simulator), pending jobs pending.
    public func timeLimitReached(_ seconds: TimeInterval, now: Date) -> [SchedulerAction] {
        if outcome == nil { finish(.timeLimit(seconds: seconds), now: now) }
        return finishStep(now: now)
    }

    public func stop(graceful: Bool, now: Date) -> [SchedulerAction] {
        if outcome == nil {
            if graceful {
                if stopping == nil { stopping = .requested }
            } else {
                finish(.abandoned, now: now)
            }
        }
        return finishStep(now: now)
    }

    /// A task started outside this run (found at start, or by the runner) runs on a VM
    /// the inventory knows: its cost is charged to the VM's host and datastores until
    /// `externalTaskFinished`, and the VM gets no job meanwhile. Returns whether it was
    /// recorded (tasks on unknown objects, or already known, are ignored).
    @discardableResult
    public func externalTaskStarted(_ info: TaskInfo, now: Date) -> Bool {
        knownTasks.insert(info.ref)
        guard external[info.ref] == nil, !info.state.isTerminal, let entity = info.entity,
              baseInventory.vm(entity) != nil else { return false }
        let v = vmSlot(entity, name: info.entityName ?? entity.value)
        let charges = externalCharges(name: info.name, vm: v)
        for c in charges { ledger.charge(c, external: true) }
        external[info.ref] = ExternalTask(vm: v, charges: charges, ref: info.ref, name: info.name)
        vmSlots[Int(v)].external += 1
        emit(.externalTask(info), now)
        return true
    }

    /// A task recorded by `externalTaskStarted` ended: its resources are free again.
    public func externalTaskFinished(_ ref: MoRef, now: Date) -> [SchedulerAction] {
        guard let task = external.removeValue(forKey: ref) else { return finishStep(now: now) }
        for c in task.charges {
            ledger.release(c, external: true)
            freed(c.resource)
        }
        vmSlots[Int(task.vm)].external -= 1
        scheduleHead(task.vm, now: now)
        return finishStep(now: now)
    }

    /// Records a VM's fresh location (from `refreshVMs`), for VMs with no job in flight.
    public func updateVM(_ info: VMInfo) {
        guard let v = vmIndex[info.ref], vmSlots[Int(v)].active < 0 else { return }
        applyLocation(v, info)
    }

    // MARK: Outputs

    /// The events produced since the last call, oldest first.
    public func drainEvents() -> [EngineEvent] {
        let out = events
        events = []
        return out
    }

    /// Whether the run is over.
    public var isFinished: Bool { outcome != nil }

    /// When the scheduler next needs `timerFired` (a retry's backoff end), if ever.
    public var nextWake: Date? {
        var next: Date?
        while let top = timers.min {
            let j = Int(top.job)
            if jobs[j].state == .pending, jobs[j].notBefore == top.date { next = top.date; break }
            timers.removeMin()
        }
        // A window boundary matters only while jobs wait (or the run should end at a closing).
        if let w = windowWake, pendingCount > 0 || activeCount > 0 { next = min(next ?? w, w) }
        return next
    }

    /// The job with this id.
    public func job(_ id: JobID) -> Job { jobs[id.rawValue] }

    /// The job's state (cheaper than `job(_:)`).
    public func state(of id: JobID) -> JobState { jobs[id.rawValue].state }

    /// The job's attempts so far (cheaper than `job(_:)`).
    public func attempts(of id: JobID) -> Int { jobs[id.rawValue].attempts }

    /// The job's VM (cheaper than `job(_:)`, which copies the whole record).
    public func vm(of id: JobID) -> MoRef { jobs[id.rawValue].vm }

    /// What the job does (cheaper than `job(_:)`).
    public func kind(of id: JobID) -> JobKind { jobs[id.rawValue].kind }

    /// The job's rank in the strategy's order (0 runs first).
    public func rank(of id: JobID) -> Int { meta[id.rawValue].rank }

    /// Whether `vm` is already where the job would put it (storage moves: every file on
    /// one of the allowed targets; host moves: on the destination host).
    public func isOnTarget(_ id: JobID, vm: VMInfo) -> Bool {
        Self.isOnTarget(jobs[id.rawValue].kind, vm: vm)
    }

    /// Whether `vm` is already where a job of `kind` would put it.
    public static func isOnTarget(_ kind: JobKind, vm: VMInfo) -> Bool {
        switch kind {
        case .storageMove(let move):
            return !vm.datastores.isEmpty && move.isDone(for: vm)
        case .storageAndHostMove(let move, let host, _):
            return vm.host == host && !vm.datastores.isEmpty && move.isDone(for: vm)
        case .hostMove(let host, _, _):
            return vm.host == host
        case .consolidate, .removeSnapshot, .custom:
            return false
        }
    }

    /// Jobs dispatching or running.
    public var activeJobs: Int { activeCount }
    /// Jobs pending (waiting for room, their turn, or a retry).
    public var pendingJobs: Int { pendingCount }

    // MARK: Step

    func finishStep(now: Date) -> [SchedulerAction] {
        if pacing.enabled { pacingStep(now: now) }
        dispatch(now: now)
        checkFinished(now: now)
        if outcome == nil, let next = nextWake, next != lastWakeRequest {
            lastWakeRequest = next
            actions.append(.wake(at: next))
        }
        let out = actions
        actions = []
        return out
    }

    func emit(_ kind: @autoclosure () -> EngineEvent.Kind, _ now: Date) {
        guard recordsEvents else { return }
        events.append(EngineEvent(time: now, kind: kind()))
    }
}

extension Scheduler {
    /// Writes the locations of VMs moved by finished jobs back into the inventory.
    func flushLocations() {
        guard !movedVMs.isEmpty else { return }
        for v in movedVMs {
            let slot = vmSlots[Int(v)]
            guard slot.locationDirty, var info = baseInventory.vm(slot.ref) else { continue }
            info.host = slot.host >= 0 ? hostSlots[Int(slot.host)].ref : nil
            info.cluster = slot.host >= 0 ? clusterRef(of: slot.host) ?? info.cluster : info.cluster
            if slot.hasLayout {
                for f in slot.files where f.ds >= 0 {
                    info.place(f.id, on: dsSlots[Int(f.ds)].ref)
                    if case .disk(let key) = f.id, let disk = f.disk, let k = info.disks.firstIndex(where: { $0.key == key }) {
                        info.disks[k].backing = disk.backing
                        info.disks[k].thinProvisioned = disk.thinProvisioned
                        info.disks[k].eagerlyScrub = disk.eagerlyScrub
                        info.disks[k].usedBytes = disk.usedBytes
                    }
                }
                info.recomputeDatastores()
            } else {
                info.datastores = slot.datastores.map { dsSlots[Int($0)].ref }
            }
            baseInventory.update(info)
            vmSlots[Int(v)].locationDirty = false
        }
        movedVMs.removeAll()
    }

    func clusterRef(of h: Int32) -> MoRef? {
        let c = hostSlots[Int(h)].cluster
        return c >= 0 ? clusterSlots[Int(c)].ref : nil
    }
}
