import Logging
import Synchronization
import VCenterModel
import VimXML

/// The one watcher of every task a connection tracks.
///
/// A private `PropertyCollector` (`CreatePropertyCollector`) holds one filter over a
/// `ListView` of the tracked tasks, and one `WaitForUpdatesEx` long poll (`maxWaitSeconds`
/// below the read timeout) delivers every change, which is applied to the task's `LiveTask`.
///
/// Calls are bounded by time and by task ends, not by tasks or their progress:
/// * New tasks join the view in batches (`addsDue`): at once when the view watches no
///   unfinished task or `addBurst` wait; otherwise one `ModifyListView` per `addIntervalSeconds` adds
///   every task tracked since the last (`addDelaySeconds` after a burst). Adds happen at the
///   start of a cycle, or during a wait when due (the call then ends that wait with the new
///   tasks' first state, which also reports a task that ended before it joined; the reconciles
///   below read every pending task, in the view or not).
/// * With `progressSeconds > 0` (the default) the filter leaves `info.progress` out: progress
///   never wakes the wait; running tasks' progress is read by a reconcile every
///   `progressSeconds`. With 0, each progress change wakes it like any change.
/// * After a return in which a task ended, the next wait starts `coalesceSeconds` later
///   (nearby ends share a call). After a return that brought only progress, the next wait
///   starts no sooner than `paceSeconds` after the previous one started: streaming progress
///   costs at most one wait per `paceSeconds`, and an end in that pause is seen at its end.
///
/// Nothing is lost: after a re-login or any collector error the collector, view and filter
/// are rebuilt and every pending task is reconciled with one `RetrievePropertiesEx`; so is
/// every empty wait, and a busy poller (whose waits are never empty) reconciles at least
/// every `reconcileSeconds`. A missed update can delay a completion but never lose it.
/// `TaskManager.recentTask` is never used. When the poller stops, every wait on a task it
/// still watched ends with a `ConnectionClosed` fault.
final class TaskPoller: Sendable {
    struct Settings: Sendable {
        /// `WaitForUpdatesEx` `maxWaitSeconds`.
        var maxWaitSeconds: Int
        /// Pause after a wait that reported a task's end, to gather more changes (and the
        /// tasks started in reaction) in the next call.
        var coalesceSeconds: Double
        /// Finished tasks are removed from the view in one batch once this many accumulate.
        var removeThreshold: Int
        /// Minimum time from the start of one wait to the next while only changes other than
        /// ends arrive (progress, starts).
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
    }

    /// Counters for tests and benchmarks.
    struct Counters: Sendable, Hashable {
        var waits = 0
        var emptyWaits = 0
        var reconciles = 0
        var rebuilds = 0
        var viewChanges = 0
        var errors = 0
    }

    /// What one wait brought.
    enum WaitOutcome: Int, Sendable, Comparable {
        /// Nothing (`maxWaitSeconds` passed), only progress, other changes (a start, new
        /// tasks' first state), a task's end — each outranks the ones before it.
        case empty, progress, changed, ended
        static func < (a: WaitOutcome, b: WaitOutcome) -> Bool { a.rawValue < b.rawValue }
    }

    private struct State {
        var collector: MoRef?
        var listView: MoRef?
        var version = ""
        var inView: Set<MoRef> = []
        var toAdd: Set<MoRef> = []
        var finishedInView: Set<MoRef> = []
        var needsRebuild = false
        var stopped = false
        /// The wait in flight (a number per wait), for the delayed add.
        var waitInFlight: UInt64?
        var waitNumber: UInt64 = 0
        /// When the armed add timer fires, if one is armed.
        var addTimerDue: ContinuousClock.Instant?
        /// When the last `ModifyListView` that added tasks was made, and how many it added.
        var lastAdd: ContinuousClock.Instant?
        var lastAddCount = 0
        var counters = Counters()
    }

    private let session: SOAPSession
    private let content: ServiceContent
    private let book: TaskBook
    private let logger: Logger
    private let settings: Settings
    private let state = Mutex(State())
    private let serial = SerialRunner()
    private let mainSignals: AsyncStream<Void>
    private let mainWake: AsyncStream<Void>.Continuation
    private let loops = Mutex<[Task<Void, Never>]>([])
    private let addTimer = Mutex<Task<Void, Never>?>(nil)

    init(session: SOAPSession, content: ServiceContent, book: TaskBook, settings: Settings, logger: Logger) {
        self.session = session
        self.content = content
        self.book = book
        self.settings = settings
        self.logger = logger
        (mainSignals, mainWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts the wait loop.
    func start() {
        let main = Task { [self] in await self.mainLoop() }
        loops.withLock { $0.append(main) }
    }

    /// Stops the loop and ends every wait on a task still watched (`ConnectionClosed`).
    /// Tracked tasks keep their last state.
    func stop() async {
        state.withLock { $0.stopped = true }
        mainWake.finish()
        let tasks = loops.withLock { l -> [Task<Void, Never>] in defer { l = [] }; return l }
            + [addTimer.withLock { $0 }].compactMap { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        abandonPending()
    }

    /// Stops the loop without waiting for it (for a connection dropped without `close()`),
    /// and ends every wait on a task still watched.
    func cancel() {
        state.withLock { $0.stopped = true }
        mainWake.finish()
        for task in loops.withLock({ $0 }) { task.cancel() }
        addTimer.withLock { $0?.cancel() }
        abandonPending()
    }

    /// Ends the waits on every task that had not ended: nothing will report their end now.
    private func abandonPending() {
        for task in book.pending {
            task.abandon(VCenterFault(
                type: "ConnectionClosed",
                message: "the connection to vCenter was closed while waiting for \(task.ref.value); the task may still be running in vCenter"))
        }
    }

    /// Starts watching `ref` (already in the task book). It joins the view in a batch (see
    /// `addsDue`): at the start of a cycle, or during a wait when due (that call ends the wait).
    func track(_ ref: MoRef) {
        state.withLock { s in
            if !s.inView.contains(ref) { s.toAdd.insert(ref) }
        }
        mainWake.yield()
        scheduleAdds()
    }

    /// When the tasks waiting to join the view are due: at once when the view holds no
    /// pending task (nothing else would end the wait) or `addBurst` of them wait; else
    /// `addIntervalSeconds` after the previous add (`addDelaySeconds` after a burst).
    private func addsDue(_ s: State, pendingInView: Bool) -> ContinuousClock.Instant? {
        guard !s.toAdd.isEmpty else { return nil }
        let now = ContinuousClock.now
        guard pendingInView, s.toAdd.count < settings.addBurst, let last = s.lastAdd else { return now }
        let interval = s.lastAddCount >= settings.addBurst ? settings.addDelaySeconds : settings.addIntervalSeconds
        return last + .seconds(interval)
    }

    /// Whether a task that has not ended is in the view.
    private func pendingInView() -> Bool {
        let pending = book.pending
        return state.withLock { s in pending.contains { s.inView.contains($0.ref) } }
    }

    /// While a wait is in flight and tasks wait to join the view, arms a timer for when
    /// they are due (an earlier due time replaces a later one).
    private func scheduleAdds() {
        let inView = pendingInView()
        let due = state.withLock { s -> ContinuousClock.Instant? in
            guard s.waitInFlight != nil, !s.stopped, let due = addsDue(s, pendingInView: inView) else { return nil }
            if let armed = s.addTimerDue, armed <= due { return nil }
            s.addTimerDue = due
            return due
        }
        guard let due else { return }
        let timer = Task { [self] in
            try? await Task.sleep(until: due, clock: .continuous)
            await self.addTimerFired(due)
        }
        // The one kept is cancelled at stop; a replaced one finds its due time gone and returns.
        addTimer.withLock { $0 = timer }
    }

    /// An add timer fired: if a wait is still in flight and tasks are due, they join now
    /// (their first state ends that wait); if they are not due yet, the timer is re-armed.
    private func addTimerFired(_ due: ContinuousClock.Instant) async {
        let current = state.withLock { s -> Bool in
            guard s.addTimerDue == due else { return false }
            s.addTimerDue = nil
            return !s.stopped
        }
        guard current, !Task.isCancelled else { return }
        let inView = pendingInView()
        let go = state.withLock { s -> Bool in
            guard s.waitInFlight != nil, let due = addsDue(s, pendingInView: inView) else { return false }
            return due <= .now
        }
        guard go else {
            scheduleAdds()
            return
        }
        do {
            try await serial.run { try await self.flushViewChanges(onlyIfDue: false) }
        } catch {
            if Task.isCancelled || state.withLock({ $0.stopped }) { return }
            logger.warning("task poller: ModifyListView failed: \(error); rebuilding the collector")
            state.withLock { $0.needsRebuild = true }
            mainWake.yield()
            // Interrupt a wait on the broken collector so the rebuild happens now.
            if let collector = state.withLock({ $0.collector }) {
                _ = try? await session.call("CancelWaitForUpdates", on: collector)
            }
        }
    }

    /// Marks the collector as lost (after a re-login): it is rebuilt before the next wait.
    func requestRebuild() {
        state.withLock { $0.needsRebuild = true }
        mainWake.yield()
    }

    var counters: Counters { state.withLock { $0.counters } }

    // MARK: Loop

    private func mainLoop() async {
        var backoff = 0.5
        var signals = mainSignals.makeAsyncIterator()
        let clock = ContinuousClock()
        var nextStart = clock.now
        var lastReconcile = clock.now
        var lastProgressRead = clock.now
        while !Task.isCancelled {
            let (stopped, idle) = state.withLock { s in (s.stopped, s.toAdd.isEmpty && book.pending.isEmpty) }
            if stopped { return }
            if idle {
                if await signals.next() == nil { return }
                continue
            }
            do {
                if nextStart > clock.now { try await Task.sleep(until: nextStart, clock: clock) }
                if state.withLock({ $0.needsRebuild || $0.collector == nil }) {
                    try await serial.run { try await self.rebuild() }
                    try await reconcile()
                    lastReconcile = clock.now
                    lastProgressRead = lastReconcile
                } else {
                    try await serial.run { try await self.flushViewChanges(onlyIfDue: true) }
                }
                let started = clock.now
                // The wait ends in time for the next periodic reconcile.
                var due = lastReconcile + .seconds(settings.reconcileSeconds)
                if settings.progressSeconds > 0, book.pending.contains(where: { $0.info.state == .running }) {
                    due = min(due, lastProgressRead + .seconds(settings.progressSeconds))
                }
                let untilDue = max(1, Int(((due - started) / .seconds(1)).rounded(.up)))
                let outcome = try await waitForUpdates(maxWait: min(settings.maxWaitSeconds, untilDue))
                let now = clock.now
                logger.debug("task poller: wait", metadata: ["outcome": "\(outcome)", "seconds": "\(now - started)",
                                                            "waiting to join": "\(state.withLock { $0.toAdd.count })"])
                let progressDue = settings.progressSeconds > 0 && now - lastProgressRead >= .seconds(settings.progressSeconds)
                    && book.pending.contains { $0.info.state == .running }
                if outcome == .empty || now - lastReconcile >= .seconds(settings.reconcileSeconds) || progressDue {
                    try await reconcile()
                    lastReconcile = clock.now
                    lastProgressRead = lastReconcile
                }
                switch outcome {
                case .ended: nextStart = clock.now + .seconds(settings.coalesceSeconds)
                case .progress: nextStart = max(clock.now, started + .seconds(settings.paceSeconds))
                case .changed, .empty: nextStart = clock.now
                }
                backoff = 0.5
            } catch {
                if Task.isCancelled || state.withLock({ $0.stopped }) { return }
                logger.warning("task poller: \(error); rebuilding the collector")
                state.withLock { s in
                    s.needsRebuild = true
                    s.counters.errors += 1
                }
                try? await Task.sleep(for: .seconds(backoff))
                backoff = min(backoff * 2, 10)
            }
        }
    }

    // MARK: Collector

    /// Adds the tasks waiting to join the view (with `onlyIfDue`, only when `addsDue`) and
    /// removes finished ones in bulk, in one `ModifyListView`. Runs serially.
    private func flushViewChanges(onlyIfDue: Bool) async throws {
        let inView = onlyIfDue ? pendingInView() : true
        let (view, adds, removes): (MoRef?, [MoRef], [MoRef]) = state.withLock { s in
            guard let view = s.listView, !s.needsRebuild else { return (nil, [], []) }
            var adds: [MoRef] = []
            if !onlyIfDue || (addsDue(s, pendingInView: inView).map { $0 <= .now } ?? false) {
                adds = Array(s.toAdd)
                s.toAdd.removeAll()
            }
            var removes: [MoRef] = []
            if s.finishedInView.count >= settings.removeThreshold {
                removes = Array(s.finishedInView)
                s.finishedInView.removeAll()
            }
            return (view, adds, removes)
        }
        guard let view, !adds.isEmpty || !removes.isEmpty else { return }
        do {
            try await session.call("ModifyListView", on: view) { w in
                for ref in adds { w.moRef("add", ref) }
                for ref in removes { w.moRef("remove", ref) }
            }
        } catch {
            state.withLock { s in s.toAdd.formUnion(adds) }
            throw error
        }
        logger.debug("task poller: view changed", metadata: ["added": "\(adds.map(\.value))", "removed": "\(removes.count)"])
        state.withLock { s in
            s.inView.formUnion(adds)
            s.inView.subtract(removes)
            s.counters.viewChanges += 1
            if !adds.isEmpty {
                s.lastAdd = .now
                s.lastAddCount = adds.count
            }
        }
    }

    /// A new collector, list view (with every pending task) and filter. Runs serially.
    private func rebuild() async throws {
        let (oldCollector, oldView) = state.withLock { s -> (MoRef?, MoRef?) in
            defer { s.collector = nil; s.listView = nil }
            return (s.collector, s.listView)
        }
        if let oldView { _ = try? await session.call("DestroyView", on: oldView) }
        if let oldCollector { _ = try? await session.call("DestroyPropertyCollector", on: oldCollector) }

        guard let collector = try await session.call("CreatePropertyCollector", on: content.propertyCollector).first?.moRef else {
            throw VCenterFault(type: "InvalidResponse", message: "CreatePropertyCollector returned no collector")
        }
        let members = state.withLock { s -> [MoRef] in
            let all = Set(book.pending.map(\.ref)).union(s.toAdd)
            s.toAdd.removeAll()
            return all.sorted()
        }
        guard let view = try await session.call("CreateListView", on: content.viewManager, body: { w in
            for ref in members { w.moRef("obj", ref) }
        }).first?.moRef else {
            throw VCenterFault(type: "InvalidResponse", message: "CreateListView returned no view")
        }
        let paths = settings.progressSeconds > 0 ? Self.pathsWithoutProgress : ["info"]
        try await session.call("CreateFilter", on: collector) { w in
            PropertyCollector.writeFilterSpec(&w, name: "spec", specs: [PropertySpec(type: "Task", paths: paths)], selection: .view(view))
            w.element("partialUpdates", "false")
        }
        state.withLock { s in
            s.collector = collector
            s.listView = view
            s.version = ""
            s.inView = Set(members)
            s.lastAdd = .now
            s.lastAddCount = members.count
            s.finishedInView = []
            s.needsRebuild = false
            s.counters.rebuilds += 1
        }
        logger.debug("task poller: collector ready", metadata: ["tasks": "\(members.count)"])
    }

    /// The filter's paths when progress does not wake the wait.
    static let pathsWithoutProgress = ["info.state", "info.error", "info.result", "info.startTime", "info.completeTime", "info.cancelable"]

    /// One `WaitForUpdatesEx` (repeated at once while `truncated`): what it brought.
    private func waitForUpdates(maxWait: Int) async throws -> WaitOutcome {
        let (collector, number) = state.withLock { s -> (MoRef?, UInt64) in
            s.waitNumber += 1
            s.waitInFlight = s.waitNumber
            return (s.collector, s.waitNumber)
        }
        defer { state.withLock { s in if s.waitInFlight == number { s.waitInFlight = nil } } }
        guard let collector else { return .empty }
        // Tasks still waiting to join must not wait for this wait's end.
        scheduleAdds()
        var outcome = WaitOutcome.empty
        var truncated = true
        while truncated {
            truncated = false
            let version = state.withLock { $0.version }
            var newVersion: String?
            try await session.call("WaitForUpdatesEx", on: collector, granularity: .returnValueMembers, body: { w in
                if !version.isEmpty { w.element("version", version) }
                w.start("options")
                w.element("maxWaitSeconds", String(maxWait))
                w.end("options")
            }) { [self] piece in
                switch piece.name {
                case "version": newVersion = piece.text
                case "truncated": truncated = piece.bool ?? false
                case "filterSet":
                    outcome = max(outcome, applyFilterUpdate(piece))
                default: break
                }
            }
            state.withLock { s in
                if let newVersion { s.version = newVersion }
                s.counters.waits += 1
                if newVersion == nil { s.counters.emptyWaits += 1 }
            }
        }
        return outcome
    }

    /// Applies a `PropertyFilterUpdate`; returns the most a tracked task did in it (ended,
    /// changed otherwise, or only progressed).
    private func applyFilterUpdate(_ filterSet: XMLElement) -> WaitOutcome {
        var outcome = WaitOutcome.empty
        for objectSet in filterSet.children where objectSet.name == "objectSet" {
            let kind = objectSet.child("kind")?.text
            guard kind != "leave", let ref = objectSet.child("obj")?.moRef,
                  let task = book.task(ref) else { continue }
            var before = task.info
            task.update { info in
                for change in objectSet.children where change.name == "changeSet" {
                    guard let path = change.child("name")?.text else { continue }
                    let op = change.child("op")?.text ?? "assign"
                    TaskDecoding.apply(path: path, value: op == "remove" ? nil : change.child("val"), to: &info)
                }
            }
            if task.isDone {
                outcome = .ended
                markFinished(ref)
            } else {
                var after = task.info
                (before.progress, after.progress) = (nil, nil)
                outcome = max(outcome, kind == "enter" || before != after ? .changed : .progress)
            }
        }
        return outcome
    }

    /// Finished tasks leave the view in the next cycle's `ModifyListView` once enough gathered.
    private func markFinished(_ ref: MoRef) {
        state.withLock { s in
            if s.inView.contains(ref) { s.finishedInView.insert(ref) }
        }
    }

    /// Reads `info` of every pending task in one `RetrievePropertiesEx` and applies it.
    /// A task the server no longer knows ends in error (`ManagedObjectNotFound`).
    func reconcile() async throws {
        let pending = book.pending
        guard !pending.isEmpty else { return }
        state.withLock { $0.counters.reconciles += 1 }
        let collector = PropertyCollector(session: session, collector: content.propertyCollector, pageSize: 0)
        let spec = [PropertySpec(type: "Task", paths: ["info"])]
        do {
            try await collector.retrieve(spec, of: .objects(pending.map(\.ref))) { [self] object in
                apply(object)
            }
        } catch let fault as VCenterFault where fault.type == "ManagedObjectNotFound" {
            // Find the missing one(s) task by task (rare: a task purged by the server).
            for task in pending where !task.isDone {
                do {
                    try await collector.retrieve(spec, of: .objects([task.ref])) { [self] object in apply(object) }
                } catch let fault as VCenterFault where fault.type == "ManagedObjectNotFound" {
                    task.update { info in
                        info.state = .error
                        info.error = VCenterFault(type: "ManagedObjectNotFound", message: "task \(task.ref.value) no longer exists on the server")
                    }
                }
            }
        }
    }

    private func apply(_ object: ObjectContent) {
        guard let ref = object.ref, let task = book.task(ref) else { return }
        object.forEachProperty { path, value in
            if path == "info", let info = TaskDecoding.info(value, ref: ref) { task.apply(info) }
        }
        if task.isDone { markFinished(ref) }
    }
}
