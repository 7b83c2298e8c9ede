import VCenterModel

/// An instant on the task poller's monotonic time line, in seconds from an origin the
/// caller picks. The machine only compares instants and adds durations to them, so tests
/// drive it on virtual time (0, 0.5, 30, …) and the shell (`TaskPoller`) on the real clock.
struct PollerInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Seconds since the caller's origin.
    var seconds: Double

    /// The instant `seconds` after the origin.
    init(seconds: Double) { self.seconds = seconds }

    static func < (a: PollerInstant, b: PollerInstant) -> Bool { a.seconds < b.seconds }
    /// The instant `seconds` later.
    static func + (a: PollerInstant, seconds: Double) -> PollerInstant { PollerInstant(seconds: a.seconds + seconds) }
    /// Seconds from `b` to `a`.
    static func - (a: PollerInstant, b: PollerInstant) -> Double { a.seconds - b.seconds }

    var description: String { "t=\(seconds)" }
}

/// The task poller's decisions as a synchronous value: no I/O, no clock, no lock. Every
/// input carries `now` and returns the actions the shell (`TaskPoller`) performs; every
/// call the shell makes comes back as an input with its result. The rules (what each
/// setting means is in `Settings`):
///
/// * **One cycle at a time**: [rebuild → reconcile, when the collector is new or lost |
///   `ModifyListView`, when adds are due or finished tasks are many] → `WaitForUpdatesEx`
///   (continued at once while `truncated`) → [reconcile, when due] → pause → next cycle.
///   With no pending task the machine is idle and asks for nothing until a task is tracked.
/// * **Batched adds** (`addsDue`): tracked tasks join the view at once when the view watches
///   no unfinished task or `addBurst` wait; else one `ModifyListView` per `addIntervalSeconds`
///   (`addDelaySeconds` after a burst). They join at the start of a cycle, or during a wait
///   when due (`sleep(until:)` arms the timer; that call ends the wait with the new tasks'
///   first state). At most one `ModifyListView` is in flight; a cycle that would start while
///   one made during the last wait is still in flight waits for it (`blocked`).
/// * **Pacing**: after a wait in which a task ended, the next starts `coalesceSeconds`
///   later; after one that brought only progress, no sooner than `paceSeconds` after the
///   previous one started; otherwise at once.
/// * **Nothing is lost**: every empty wait reconciles (one `RetrievePropertiesEx` of every
///   pending task's `info`), and so does a wait that returns `reconcileSeconds` or more after
///   the last reconcile (a busy poller's waits are never empty). With `progressSeconds > 0`
///   a wait that returns `progressSeconds` after the last read while a task runs reconciles
///   too: that is the progress read (one retrieval serves both). Waits are cut short
///   (`maxSeconds`) so they return by the next reconcile or progress read.
/// * **Errors**: a failed rebuild, view change, wait or reconcile counts an error, and the
///   next cycle rebuilds the collector and reconciles, after a pause of `backoffSeconds`
///   that doubles with each failure in a row up to `maxBackoffSeconds` (reset by a cycle that
///   completes). A view change that fails during a wait asks to cancel the wait
///   (`cancelWait`): its failure then takes the error path. A re-login
///   (`rebuildRequested`) has the next cycle rebuild and reconcile.
/// * **Finished tasks** leave the view in one `ModifyListView` once `removeThreshold`
///   gathered; a rebuild's view holds only pending tasks.
///
/// The shell reports every task update it applied as the task's `TaskPhase`, so the machine
/// knows which tasks are pending (reconciled, rebuilt into the view), which run (progress
/// reads) and which ended (leave the view).
struct TaskPollerStateMachine: Sendable {
    /// The poller's timing and batching.
    struct Settings: Sendable, Hashable {
        /// `WaitForUpdatesEx` `maxWaitSeconds`.
        var maxWaitSeconds: Int
        /// Pause after a wait that reported a task's end, to gather more changes (and the
        /// tasks started in reaction) in the next call.
        var coalesceSeconds: Double
        /// Finished tasks are removed from the view in one batch once this many accumulate.
        var removeThreshold: Int
        /// Minimum time from the start of one wait to the next while only progress arrives.
        var paceSeconds: Double = 0
        /// A few new tasks join the view at most this long after the previous `ModifyListView`
        /// (while the view holds running tasks: each add costs the call and the wait its
        /// new tasks' first state ends). A task that ends sooner is seen when it joins.
        var addIntervalSeconds: Double = 4
        /// This many waiting tasks join at once (a burst), and after a batch this large the
        /// next joins `addDelaySeconds` later at the latest.
        var addBurst: Int = 16
        /// See `addBurst`.
        var addDelaySeconds: Double = 1
        /// Longest time between two reconciles while tasks are pending.
        var reconcileSeconds: Double = 30
        /// 0: `info.progress` is in the filter (each progress change wakes the wait). Above 0:
        /// progress does not wake the wait and is read by a reconcile this often.
        var progressSeconds: Double = 0
        /// Pause before the rebuild that follows an error.
        var backoffSeconds: Double = 0.5
        /// The pause doubles with each error in a row up to this.
        var maxBackoffSeconds: Double = 10
    }

    /// Counters for tests and benchmarks.
    struct Counters: Sendable, Hashable {
        /// `WaitForUpdatesEx` calls answered (a truncated answer's continuation counts again).
        var waits = 0
        /// Waits answered without an update set (`maxWaitSeconds` passed).
        var emptyWaits = 0
        /// Reconciles asked for (one `RetrievePropertiesEx` each).
        var reconciles = 0
        /// Collectors built.
        var rebuilds = 0
        /// `ModifyListView` calls that succeeded.
        var viewChanges = 0
        /// Rebuilds, view changes, waits and reconciles that failed.
        var errors = 0
    }

    /// What one wait brought.
    enum WaitOutcome: Int, Sendable, Comparable {
        /// Nothing (`maxWaitSeconds` passed), only progress, other changes (a start, new
        /// tasks' first state), a task's end — each outranks the ones before it.
        case empty, progress, changed, ended
        static func < (a: WaitOutcome, b: WaitOutcome) -> Bool { a.rawValue < b.rawValue }
    }

    /// Where a tracked task is, as far as the poller cares.
    enum TaskPhase: Sendable, Hashable {
        /// Not started yet (queued): pending, but nothing to read progress of.
        case queued
        /// Running: pending, its progress is read every `progressSeconds`.
        case running
        /// Ended (success or error): no longer pending.
        case ended
    }

    /// One `WaitForUpdatesEx` answer, as the shell applied it.
    struct WaitResult: Sendable, Hashable {
        /// The most a tracked task did in it.
        var outcome: WaitOutcome
        /// The phase of every tracked task the answer updated.
        var tasks: [MoRef: TaskPhase] = [:]
        /// Whether the answer held an update set (a new version); false when
        /// `maxWaitSeconds` passed with nothing.
        var returnedUpdates = true
        /// The answer was truncated: the wait continues at once with the new version.
        var truncated = false
    }

    /// Why a reconcile is asked for (several reasons can meet in one).
    struct ReconcileReason: OptionSet, Sendable, Hashable, CustomStringConvertible {
        let rawValue: Int
        /// The collector was (re)built: updates made before it may be missing.
        static let rebuilt = ReconcileReason(rawValue: 1)
        /// The wait brought nothing about a tracked task.
        static let emptyWait = ReconcileReason(rawValue: 2)
        /// `reconcileSeconds` passed since the last one.
        static let periodic = ReconcileReason(rawValue: 4)
        /// `progressSeconds` passed since the last progress read while a task runs.
        static let progress = ReconcileReason(rawValue: 8)

        var description: String {
            [(Self.rebuilt, "rebuilt"), (.emptyWait, "empty wait"), (.periodic, "periodic"), (.progress, "progress")]
                .filter { contains($0.0) }.map(\.1).joined(separator: "+")
        }
    }

    /// What the shell does next.
    enum Action: Sendable, Hashable {
        /// Destroy the collector and view (if any); create a collector, a `ListView` of
        /// `members` and a filter over it; then report `rebuilt` or `rebuildFailed`.
        case rebuild(members: [MoRef])
        /// One `ModifyListView`; then report `viewChanged` or `viewChangeFailed`.
        case modifyView(add: [MoRef], remove: [MoRef])
        /// One `WaitForUpdatesEx` with this `maxWaitSeconds` (and the last version); then
        /// report `waitReturned` or `waitFailed`.
        case wait(maxSeconds: Int)
        /// `CancelWaitForUpdates` on the collector (best effort; the wait then fails).
        case cancelWait
        /// One `RetrievePropertiesEx` of these tasks' `info`, applied to their live tasks;
        /// then report `reconciled` or `reconcileFailed`.
        case reconcile(tasks: [MoRef], why: ReconcileReason)
        /// Arm the one timer for this instant (replacing any armed one); report
        /// `timerFired` then.
        case sleep(until: PollerInstant)
        /// Stop: cancel the calls in flight and the timer, end the waits on pending tasks.
        case stop
    }

    /// What the machine is doing.
    enum Phase: Sendable, Hashable {
        /// `start` not called yet: tracked tasks are recorded, nothing is asked.
        case notStarted
        /// No pending task: nothing to watch until one is tracked.
        case idle
        /// Waiting for the timer before the next cycle (coalescing, pacing, error backoff).
        case pausing
        /// The next cycle is due but a view change made during the last wait is in flight.
        case blocked
        /// A rebuild is in flight.
        case rebuilding
        /// A reconcile is in flight.
        case reconciling
        /// A view change at the start of a cycle is in flight.
        case changingView
        /// A wait is in flight (with perhaps a view change beside it).
        case waiting
        /// Stopped: every input is ignored.
        case stopped
    }

    /// A `ModifyListView` in flight.
    private struct ViewChange: Sendable, Hashable {
        var add: [MoRef]
        var remove: [MoRef]
    }

    /// The settings the machine was made with.
    let settings: Settings
    /// What the machine is doing.
    private(set) var phase = Phase.notStarted
    /// What the poller has done so far.
    private(set) var counters = Counters()

    /// Tracked tasks that have not ended.
    private(set) var pending: Set<MoRef> = []
    /// Pending tasks last seen running.
    private(set) var running: Set<MoRef> = []
    /// Tasks in the list view (pending or finished).
    private(set) var inView: Set<MoRef> = []
    /// Pending tasks waiting to join the view.
    private(set) var toAdd: Set<MoRef> = []
    /// Finished tasks still in the view.
    private(set) var finishedInView: Set<MoRef> = []

    /// Whether a collector, view and filter exist (built and not known lost).
    private var hasCollector = false
    /// The collector must be rebuilt before the next wait (an error, a re-login).
    private(set) var needsRebuild = false
    /// The members of the rebuild in flight.
    private var rebuildMembers: [MoRef] = []
    /// The `ModifyListView` in flight, if any.
    private var viewChange: ViewChange?
    /// When the last `ModifyListView` that added tasks (or the last rebuild) succeeded, and how many it added.
    private var lastAdd: PollerInstant?
    private var lastAddCount = 0

    /// When the next cycle may start.
    private var nextStart = PollerInstant(seconds: 0)
    private var lastReconcile = PollerInstant(seconds: 0)
    private var lastProgressRead = PollerInstant(seconds: 0)
    /// The pause after the next error.
    private var backoff: Double
    /// The wait in flight: when it started, its `maxSeconds`, the most it brought so far.
    private var waitStarted = PollerInstant(seconds: 0)
    private var waitMaxSeconds = 1
    private var waitOutcome = WaitOutcome.empty
    /// Why the reconcile in flight was asked for.
    private var reconcileWhy: ReconcileReason = []
    /// When the armed timer fires (nil: none that matters).
    private(set) var timer: PollerInstant?

    /// A machine with `settings`, not started.
    init(settings: Settings) {
        self.settings = settings
        self.backoff = settings.backoffSeconds
    }

    // MARK: Inputs

    /// Starts the machine: with tasks already tracked, the first cycle (a rebuild) begins.
    mutating func start(now: PollerInstant) -> [Action] {
        guard phase == .notStarted else { return [] }
        nextStart = now
        lastReconcile = now
        lastProgressRead = now
        phase = .idle
        return beginCycle(now)
    }

    /// A task to watch (`phase` as the task book knows it). It joins the view in a batch
    /// (see `addsDue`); an idle poller starts a cycle, a waiting one arms the add timer.
    mutating func track(_ ref: MoRef, phase taskPhase: TaskPhase = .queued, now: PollerInstant) -> [Action] {
        guard phase != .stopped, taskPhase != .ended, !pending.contains(ref) else { return [] }
        pending.insert(ref)
        if taskPhase == .running { running.insert(ref) }
        if !inView.contains(ref) { toAdd.insert(ref) }
        switch phase {
        case .idle: return beginCycle(now)
        case .waiting: return scheduleAdds(now)
        default: return []
        }
    }

    /// The session logged in again: the collector died with the old session. The next cycle
    /// rebuilds it and reconciles (a wait in flight on it fails by itself).
    mutating func rebuildRequested(now: PollerInstant) -> [Action] {
        guard phase != .stopped else { return [] }
        needsRebuild = true
        return []
    }

    /// The armed timer fired: the next cycle, or adds that came due during a wait.
    /// A timer that fires early or was replaced is ignored.
    mutating func timerFired(now: PollerInstant) -> [Action] {
        guard let armed = timer, now >= armed else { return [] }
        timer = nil
        switch phase {
        case .pausing: return beginCycle(now)
        case .waiting: return scheduleAdds(now)
        default: return []
        }
    }

    /// The collector, view (with the rebuild's members) and filter exist: reconcile.
    mutating func rebuilt(now: PollerInstant) -> [Action] {
        guard phase == .rebuilding else { return [] }
        hasCollector = true
        inView = Set(rebuildMembers)
        // Members that ended while the rebuild ran are already finished in the new view.
        finishedInView = inView.subtracting(pending)
        lastAdd = now
        lastAddCount = rebuildMembers.count
        rebuildMembers = []
        counters.rebuilds += 1
        return reconcile(now, why: .rebuilt)
    }

    /// The rebuild failed: error path (backoff, then another rebuild).
    mutating func rebuildFailed(now: PollerInstant) -> [Action] {
        guard phase == .rebuilding else { return [] }
        rebuildMembers = []
        return failed(now)
    }

    /// The `ModifyListView` in flight succeeded.
    mutating func viewChanged(now: PollerInstant) -> [Action] {
        guard phase != .stopped, let change = viewChange else { return [] }
        viewChange = nil
        inView.formUnion(change.add)
        inView.subtract(change.remove)
        // A task that ended while it joined is a finished task in the view.
        for ref in change.add where !pending.contains(ref) { finishedInView.insert(ref) }
        counters.viewChanges += 1
        if !change.add.isEmpty {
            lastAdd = now
            lastAddCount = change.add.count
        }
        switch phase {
        case .changingView: return startWait(now)
        case .blocked: return beginCycle(now)
        case .waiting: return scheduleAdds(now)
        default: return []
        }
    }

    /// The `ModifyListView` in flight failed: the view is suspect, the collector is rebuilt.
    /// At the start of a cycle that is the error path; during a wait the wait is cancelled
    /// (its failure takes the error path).
    mutating func viewChangeFailed(now: PollerInstant) -> [Action] {
        guard phase != .stopped, let change = viewChange else { return [] }
        viewChange = nil
        toAdd.formUnion(change.add.filter { pending.contains($0) })
        needsRebuild = true
        switch phase {
        case .changingView: return failed(now)
        case .waiting: return [.cancelWait]
        case .blocked: return beginCycle(now)
        default: return []
        }
    }

    /// A `WaitForUpdatesEx` answered: a truncated answer continues the wait; otherwise a
    /// reconcile when due, then the pause the outcome calls for.
    mutating func waitReturned(_ result: WaitResult, now: PollerInstant) -> [Action] {
        guard phase == .waiting else { return [] }
        counters.waits += 1
        if !result.returnedUpdates { counters.emptyWaits += 1 }
        apply(result.tasks)
        waitOutcome = max(waitOutcome, result.outcome)
        if result.truncated { return [.wait(maxSeconds: waitMaxSeconds)] }
        // The add timer belonged to this wait.
        timer = nil
        var why: ReconcileReason = []
        if waitOutcome == .empty { why.insert(.emptyWait) }
        if now - lastReconcile >= settings.reconcileSeconds { why.insert(.periodic) }
        if settings.progressSeconds > 0, now - lastProgressRead >= settings.progressSeconds, !running.isEmpty {
            why.insert(.progress)
        }
        if !why.isEmpty { return reconcile(now, why: why) }
        return finishCycle(now)
    }

    /// The wait failed (or was cancelled): error path.
    mutating func waitFailed(now: PollerInstant) -> [Action] {
        guard phase == .waiting else { return [] }
        timer = nil
        return failed(now)
    }

    /// The reconcile read these tasks (each one's phase after its `info` was applied).
    mutating func reconciled(_ tasks: [MoRef: TaskPhase], now: PollerInstant) -> [Action] {
        guard phase == .reconciling else { return [] }
        apply(tasks)
        return afterReconcile(now)
    }

    /// The reconcile failed: error path.
    mutating func reconcileFailed(now: PollerInstant) -> [Action] {
        guard phase == .reconciling else { return [] }
        return failed(now)
    }

    /// Stops the machine: the shell cancels what is in flight and ends the waits on
    /// pending tasks. Every later input is ignored.
    mutating func stop(now: PollerInstant) -> [Action] {
        guard phase != .stopped else { return [] }
        phase = .stopped
        timer = nil
        viewChange = nil
        return [.stop]
    }

    // MARK: Rules

    /// When the tasks waiting to join the view are due: at once when the view holds no
    /// pending task (nothing else would end the wait) or `addBurst` of them wait; else
    /// `addIntervalSeconds` after the previous add (`addDelaySeconds` after a burst).
    func addsDue(_ now: PollerInstant) -> PollerInstant? {
        guard !toAdd.isEmpty else { return nil }
        guard !pending.isDisjoint(with: inView), toAdd.count < settings.addBurst, let last = lastAdd else { return now }
        return last + (lastAddCount >= settings.addBurst ? settings.addDelaySeconds : settings.addIntervalSeconds)
    }

    /// The next cycle: idle, a pause, a rebuild, a view change or the wait.
    private mutating func beginCycle(_ now: PollerInstant) -> [Action] {
        if pending.isEmpty {
            phase = .idle
            timer = nil
            return []
        }
        if now < nextStart {
            phase = .pausing
            return arm(nextStart)
        }
        if viewChange != nil {
            // Two ModifyListView at once could land in any order.
            phase = .blocked
            return []
        }
        if needsRebuild || !hasCollector {
            phase = .rebuilding
            hasCollector = false
            needsRebuild = false
            // Every pending task joins the new view: nothing waits to be added.
            rebuildMembers = pending.sorted()
            toAdd = []
            return [.rebuild(members: rebuildMembers)]
        }
        return changeViewOrWait(now)
    }

    /// At a cycle's start: the due adds and a full batch of removals in one `ModifyListView`,
    /// else the wait.
    private mutating func changeViewOrWait(_ now: PollerInstant) -> [Action] {
        guard let change = takeViewChange(now, onlyIfDue: true) else { return startWait(now) }
        viewChange = change
        phase = .changingView
        return [.modifyView(add: change.add, remove: change.remove)]
    }

    /// The adds (every waiting task; with `onlyIfDue`, only when `addsDue` has come) and
    /// removals (once `removeThreshold` gathered) of the next `ModifyListView`, if any.
    private mutating func takeViewChange(_ now: PollerInstant, onlyIfDue: Bool) -> ViewChange? {
        var add: [MoRef] = []
        if !toAdd.isEmpty, !onlyIfDue || addsDue(now).map({ $0 <= now }) == true {
            add = toAdd.sorted()
            toAdd = []
        }
        var remove: [MoRef] = []
        if !finishedInView.isEmpty, finishedInView.count >= settings.removeThreshold {
            remove = finishedInView.sorted()
            finishedInView = []
        }
        guard !add.isEmpty || !remove.isEmpty else { return nil }
        return ViewChange(add: add, remove: remove)
    }

    /// The wait, cut short to end by the next reconcile or progress read; tasks still
    /// waiting to join must not wait for its end (`scheduleAdds`).
    private mutating func startWait(_ now: PollerInstant) -> [Action] {
        var due = lastReconcile + settings.reconcileSeconds
        if settings.progressSeconds > 0, !running.isEmpty {
            due = min(due, lastProgressRead + settings.progressSeconds)
        }
        let untilDue = min(Double(settings.maxWaitSeconds), (due - now).rounded(.up))
        waitMaxSeconds = max(1, Int(untilDue))
        waitStarted = now
        waitOutcome = .empty
        phase = .waiting
        return [.wait(maxSeconds: waitMaxSeconds)] + scheduleAdds(now)
    }

    /// During a wait: the tasks waiting to join join now when due (the call ends the wait),
    /// or the timer is armed for when they are.
    private mutating func scheduleAdds(_ now: PollerInstant) -> [Action] {
        guard phase == .waiting, viewChange == nil, hasCollector, !needsRebuild, let due = addsDue(now) else { return [] }
        guard due <= now else { return arm(due) }
        guard let change = takeViewChange(now, onlyIfDue: false) else { return [] }
        viewChange = change
        return [.modifyView(add: change.add, remove: change.remove)]
    }

    /// One reconcile of every pending task (none needed when nothing is pending).
    private mutating func reconcile(_ now: PollerInstant, why: ReconcileReason) -> [Action] {
        reconcileWhy = why
        guard !pending.isEmpty else { return afterReconcile(now) }
        phase = .reconciling
        counters.reconciles += 1
        return [.reconcile(tasks: pending.sorted(), why: why)]
    }

    /// After a reconcile (it read progress too): on to the wait after a rebuild, else the
    /// end of the cycle.
    private mutating func afterReconcile(_ now: PollerInstant) -> [Action] {
        lastReconcile = now
        lastProgressRead = now
        if reconcileWhy.contains(.rebuilt) {
            return pending.isEmpty ? beginCycle(now) : changeViewOrWait(now)
        }
        return finishCycle(now)
    }

    /// A cycle completed: the next starts when the wait's outcome says.
    private mutating func finishCycle(_ now: PollerInstant) -> [Action] {
        backoff = settings.backoffSeconds
        switch waitOutcome {
        case .ended: nextStart = now + settings.coalesceSeconds
        case .progress: nextStart = max(now, waitStarted + settings.paceSeconds)
        case .changed, .empty: nextStart = now
        }
        return beginCycle(now)
    }

    /// A step failed: count it, rebuild after the backoff (doubled for the next failure).
    private mutating func failed(_ now: PollerInstant) -> [Action] {
        counters.errors += 1
        needsRebuild = true
        nextStart = now + backoff
        backoff = min(backoff * 2, settings.maxBackoffSeconds)
        return beginCycle(now)
    }

    /// Arms the timer for `instant` unless it already is.
    private mutating func arm(_ instant: PollerInstant) -> [Action] {
        guard timer != instant else { return [] }
        timer = instant
        return [.sleep(until: instant)]
    }

    /// Takes in the phases the shell reported.
    private mutating func apply(_ tasks: [MoRef: TaskPhase]) {
        for (ref, taskPhase) in tasks where pending.contains(ref) {
            switch taskPhase {
            case .queued: running.remove(ref)
            case .running: running.insert(ref)
            case .ended:
                pending.remove(ref)
                running.remove(ref)
                // A task that ended before it joined never needs to.
                toAdd.remove(ref)
                if inView.contains(ref) { finishedInView.insert(ref) }
            }
        }
    }
}
