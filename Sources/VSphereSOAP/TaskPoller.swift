import Logging
import Locking
import VCenterModel
import VimXML

/// The one watcher of every task a connection tracks.
///
/// A private `PropertyCollector` (`CreatePropertyCollector`) holds one filter over a
/// `ListView` of the tracked tasks, and one `WaitForUpdatesEx` long poll (`maxWaitSeconds`
/// below the read timeout) delivers every change, which is applied to the task's `LiveTask`.
///
/// When to call what is decided by `TaskPollerStateMachine` (its header lists the rules:
/// batched adds, coalescing after an end, pacing after progress, reconciles, progress reads,
/// rebuilds after errors and re-logins, bulk removal). This class is its shell: it holds the
/// machine under a lock, feeds it every input with `now` from a `ContinuousClock` (the only
/// clock the poller reads), performs the actions it returns — each call in its own task,
/// whose result goes back to the machine — arms its one timer, and applies every update to
/// the task's `LiveTask`.
///
/// Calls are bounded by time and by task ends, not by tasks or their progress. Nothing is
/// lost: a missed update can delay a completion but never lose it. `TaskManager.recentTask`
/// is never used. When the poller stops, every wait on a task it still watched ends with a
/// `ConnectionClosed` fault.
final class TaskPoller: Sendable {
    typealias Settings = TaskPollerStateMachine.Settings
    typealias Counters = TaskPollerStateMachine.Counters
    typealias WaitOutcome = TaskPollerStateMachine.WaitOutcome
    typealias Action = TaskPollerStateMachine.Action

    /// The machine and what only the shell knows: the server-side objects, the update
    /// version, the calls in flight and the timer.
    private struct Shell {
        var machine: TaskPollerStateMachine
        var collector: MoRef?
        var listView: MoRef?
        var version = ""
        var inFlight: [UInt64: Task<Void, Never>] = [:]
        var nextCall: UInt64 = 0
        var timer: Task<Void, Never>?
    }

    private let session: SOAPSession
    private let content: ServiceContent
    private let book: TaskBook
    private let logger: Logger
    private let settings: Settings
    private let shell: Locked<Shell>
    private let clock = ContinuousClock()
    /// `PollerInstant` 0.
    private let origin: ContinuousClock.Instant

    init(session: SOAPSession, content: ServiceContent, book: TaskBook, settings: Settings, logger: Logger) {
        self.session = session
        self.content = content
        self.book = book
        self.settings = settings
        self.logger = logger
        origin = clock.now
        shell = Locked(Shell(machine: TaskPollerStateMachine(settings: settings)))
    }

    /// Starts watching (the first cycle begins with the first tracked task).
    func start() {
        feed { $0.start(now: $1) }
    }

    /// Stops the loop and ends every wait on a task still watched (`ConnectionClosed`).
    /// Tracked tasks keep their last state.
    func stop() async {
        let stopped = feed { $0.stop(now: $1) }
        for task in stopped { await task.value }
        abandonPending()
    }

    /// Stops the loop without waiting for it (for a connection dropped without `close()`),
    /// and ends every wait on a task still watched.
    func cancel() {
        feed { $0.stop(now: $1) }
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
    /// `TaskPollerStateMachine.addsDue`): at the start of a cycle, or during a wait when due
    /// (that call ends the wait).
    func track(_ ref: MoRef) {
        let phase = book.task(ref).map(Self.phase) ?? .queued
        feed { $0.track(ref, phase: phase, now: $1) }
    }

    /// Marks the collector as lost (after a re-login): it is rebuilt before the next wait.
    func requestRebuild() {
        feed { $0.rebuildRequested(now: $1) }
    }

    /// What the poller has done so far.
    var counters: Counters { shell.withLock { $0.machine.counters } }

    /// What the machine is doing (for tests that must act while a wait is in flight).
    var phase: TaskPollerStateMachine.Phase { shell.withLock { $0.machine.phase } }

    // MARK: Machine

    /// Now on the machine's time line.
    private func now() -> PollerInstant {
        PollerInstant(seconds: (clock.now - origin) / .seconds(1))
    }

    /// Gives the machine one input at the current instant and performs what it returns, in
    /// one critical section (so actions are performed in the order they were decided);
    /// `update` first changes the shell's own state. Returns the tasks a `stop` cancelled.
    @discardableResult
    private func feed(
        _ update: (inout Shell) -> Void = { _ in },
        _ input: (inout TaskPollerStateMachine, PollerInstant) -> [Action]
    ) -> [Task<Void, Never>] {
        let cancelled = shell.withLock { s -> [Task<Void, Never>] in
            update(&s)
            var cancelled: [Task<Void, Never>] = []
            for action in input(&s.machine, now()) {
                switch action {
                case .sleep(let until):
                    if let old = s.timer { cancelled.append(old) }
                    s.timer = Task { [self] in
                        try? await Task.sleep(until: origin + .seconds(until.seconds), clock: clock)
                        // A replaced timer is cancelled; the machine also ignores one that fires early.
                        guard !Task.isCancelled else { return }
                        feed { $0.timerFired(now: $1) }
                    }
                case .stop:
                    cancelled += s.inFlight.values
                    s.inFlight = [:]
                    if let timer = s.timer { cancelled.append(timer) }
                    s.timer = nil
                default:
                    let id = s.nextCall
                    s.nextCall += 1
                    // The entry is made before the task can finish: it cannot remove itself first.
                    s.inFlight[id] = Task { [self] in
                        await perform(action)
                        shell.withLock { _ = $0.inFlight.removeValue(forKey: id) }
                    }
                }
            }
            return cancelled
        }
        // Outside the lock: cancellation handlers run synchronously.
        for task in cancelled { task.cancel() }
        return cancelled
    }

    /// Performs one call and reports its result to the machine.
    private func perform(_ action: Action) async {
        switch action {
        case .rebuild(let members):
            do {
                let (collector, view) = try await rebuild(members)
                feed({ s in
                    s.collector = collector
                    s.listView = view
                    s.version = ""
                }) { $0.rebuilt(now: $1) }
                logger.debug("task poller: collector ready", metadata: ["tasks": "\(members.count)"])
            } catch {
                failed(error, "rebuilding the collector")
                feed { $0.rebuildFailed(now: $1) }
            }
        case .modifyView(let add, let remove):
            do {
                guard let view = shell.withLock({ $0.listView }) else {
                    throw VCenterFault(type: "InvalidState", message: "the task poller has no list view")
                }
                try await session.call("ModifyListView", on: view) { w in
                    for ref in add { w.moRef("add", ref) }
                    for ref in remove { w.moRef("remove", ref) }
                }
                logger.debug("task poller: view changed", metadata: ["added": "\(add.map(\.value))", "removed": "\(remove.count)"])
                feed { $0.viewChanged(now: $1) }
            } catch {
                failed(error, "ModifyListView")
                feed { $0.viewChangeFailed(now: $1) }
            }
        case .wait(let maxSeconds):
            let started = clock.now
            do {
                let (result, version) = try await waitForUpdates(maxSeconds: maxSeconds)
                logger.debug("task poller: wait", metadata: [
                    "outcome": "\(result.outcome)", "seconds": "\(clock.now - started)", "truncated": "\(result.truncated)",
                ])
                feed({ s in if let version { s.version = version } }) { $0.waitReturned(result, now: $1) }
            } catch {
                failed(error, "WaitForUpdatesEx")
                feed { $0.waitFailed(now: $1) }
            }
        case .reconcile(let tasks, let why):
            do {
                let phases = try await reconcile(tasks)
                logger.debug("task poller: reconciled", metadata: ["tasks": "\(tasks.count)", "why": "\(why)"])
                feed { $0.reconciled(phases, now: $1) }
            } catch {
                failed(error, "reconciling")
                feed { $0.reconcileFailed(now: $1) }
            }
        case .cancelWait:
            // Best effort: the wait then fails (RequestCanceled) and takes the error path.
            if let collector = shell.withLock({ $0.collector }) {
                _ = try? await session.call("CancelWaitForUpdates", on: collector)
            }
        case .sleep, .stop:
            break
        }
    }

    /// Logs a failed call, unless the poller is stopping (its calls are cancelled then).
    private func failed(_ error: any Error, _ what: String) {
        guard !Task.isCancelled else { return }
        logger.warning("task poller: \(what) failed: \(error); rebuilding the collector")
    }

    /// A task's phase as the machine sees it.
    static func phase(_ task: LiveTask) -> TaskPollerStateMachine.TaskPhase {
        switch task.info.state {
        case .success, .error: .ended
        case .running: .running
        case .queued: .queued
        }
    }

    // MARK: Collector

    /// A new collector, list view (with `members`) and filter; the old ones are destroyed.
    private func rebuild(_ members: [MoRef]) async throws -> (collector: MoRef, view: MoRef) {
        let (oldCollector, oldView) = shell.withLock { s -> (MoRef?, MoRef?) in
            defer { (s.collector, s.listView) = (nil, nil) }
            return (s.collector, s.listView)
        }
        if let oldView { _ = try? await session.call("DestroyView", on: oldView) }
        if let oldCollector { _ = try? await session.call("DestroyPropertyCollector", on: oldCollector) }

        guard let collector = try await session.call("CreatePropertyCollector", on: content.propertyCollector).first?.moRef else {
            throw VCenterFault(type: "InvalidResponse", message: "CreatePropertyCollector returned no collector")
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
        return (collector, view)
    }

    /// The filter's paths when progress does not wake the wait.
    static let pathsWithoutProgress = ["info.state", "info.error", "info.result", "info.startTime", "info.completeTime", "info.cancelable"]

    /// One `WaitForUpdatesEx` from the last version: what it brought (applied to the live
    /// tasks) and the new version, if any. A truncated answer is continued by the machine.
    private func waitForUpdates(maxSeconds: Int) async throws -> (TaskPollerStateMachine.WaitResult, String?) {
        let (collector, version) = shell.withLock { ($0.collector, $0.version) }
        guard let collector else {
            throw VCenterFault(type: "InvalidState", message: "the task poller has no collector")
        }
        var result = TaskPollerStateMachine.WaitResult(outcome: .empty)
        var newVersion: String?
        try await session.call("WaitForUpdatesEx", on: collector, granularity: .returnValueMembers, body: { w in
            if !version.isEmpty { w.element("version", version) }
            w.start("options")
            w.element("maxWaitSeconds", String(maxSeconds))
            w.end("options")
        }) { [self] piece in
            switch piece.name {
            case "version": newVersion = piece.text
            case "truncated": result.truncated = piece.bool ?? false
            case "filterSet": applyFilterUpdate(piece, to: &result)
            default: break
            }
        }
        result.returnedUpdates = newVersion != nil
        return (result, newVersion)
    }

    /// Applies a `PropertyFilterUpdate`: each tracked task's phase goes into `result`, and
    /// its outcome rises to the most a task did (ended, changed otherwise, only progressed).
    private func applyFilterUpdate(_ filterSet: XMLElement, to result: inout TaskPollerStateMachine.WaitResult) {
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
            result.tasks[ref] = Self.phase(task)
            if task.isDone {
                result.outcome = .ended
            } else {
                var after = task.info
                (before.progress, after.progress) = (nil, nil)
                result.outcome = max(result.outcome, kind == "enter" || before != after ? .changed : .progress)
            }
        }
    }

    /// Reads `info` of `refs` in one `RetrievePropertiesEx` and applies it; returns every
    /// task's phase after. A task the server no longer knows ends in error
    /// (`ManagedObjectNotFound`); one the book does not hold counts as ended.
    private func reconcile(_ refs: [MoRef]) async throws -> [MoRef: TaskPollerStateMachine.TaskPhase] {
        let tasks = refs.compactMap { book.task($0) }
        let collector = PropertyCollector(session: session, collector: content.propertyCollector, pageSize: 0)
        let spec = [PropertySpec(type: "Task", paths: ["info"])]
        if !tasks.isEmpty {
            do {
                try await collector.retrieve(spec, of: .objects(tasks.map(\.ref))) { [self] object in
                    apply(object)
                }
            } catch let fault as VCenterFault where fault.type == "ManagedObjectNotFound" {
                // Find the missing one(s) task by task (rare: a task purged by the server).
                for task in tasks where !task.isDone {
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
        var phases: [MoRef: TaskPollerStateMachine.TaskPhase] = [:]
        for ref in refs { phases[ref] = book.task(ref).map(Self.phase) ?? .ended }
        return phases
    }

    private func apply(_ object: ObjectContent) {
        guard let ref = object.ref, let task = book.task(ref) else { return }
        object.forEachProperty { path, value in
            if path == "info", let info = TaskDecoding.info(value, ref: ref) { task.apply(info) }
        }
    }
}
