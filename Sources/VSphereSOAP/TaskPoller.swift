import Logging
import Synchronization
import VCenterModel
import VimXML

/// The one watcher of every task a connection tracks.
///
/// A private `PropertyCollector` (`CreatePropertyCollector`) holds one filter over a
/// `ListView` of the tracked tasks (`info`, whole); new tasks join the view with
/// `ModifyListView` (batched: tasks tracked while a call is under way go in the next one),
/// and one `WaitForUpdatesEx` long poll (`maxWaitSeconds` below the read timeout)
/// delivers every change, which is applied to the task's `LiveTask`.
///
/// Nothing is lost: after a re-login or any collector error the collector, view and
/// filter are rebuilt and every pending task is reconciled with one
/// `RetrievePropertiesEx`; every empty wait reconciles too, so a missed update can
/// delay a completion but never lose it. `TaskManager.recentTask` is never used.
final class TaskPoller: Sendable {
    struct Settings: Sendable {
        /// `WaitForUpdatesEx` `maxWaitSeconds`.
        var maxWaitSeconds: Int
        /// Pause after a wait that returned updates, to gather more changes per call.
        var coalesceSeconds: Double
        /// Finished tasks are removed from the view in one batch once this many accumulate.
        var removeThreshold: Int
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

    private struct State {
        var collector: MoRef?
        var listView: MoRef?
        var version = ""
        var inView: Set<MoRef> = []
        var toAdd: Set<MoRef> = []
        var finishedInView: Set<MoRef> = []
        var needsRebuild = false
        var stopped = false
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
    private let modifierSignals: AsyncStream<Void>
    private let modifierWake: AsyncStream<Void>.Continuation
    private let loops = Mutex<[Task<Void, Never>]>([])

    init(session: SOAPSession, content: ServiceContent, book: TaskBook, settings: Settings, logger: Logger) {
        self.session = session
        self.content = content
        self.book = book
        self.settings = settings
        self.logger = logger
        (mainSignals, mainWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (modifierSignals, modifierWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts the wait loop and the view-modifying loop.
    func start() {
        let main = Task { [self] in await self.mainLoop() }
        let modifier = Task { [self] in await self.modifierLoop() }
        loops.withLock { $0 = [main, modifier] }
    }

    /// Stops both loops. Tracked tasks keep their last state.
    func stop() async {
        state.withLock { $0.stopped = true }
        mainWake.finish()
        modifierWake.finish()
        let tasks = loops.withLock { l -> [Task<Void, Never>] in defer { l = [] }; return l }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Stops both loops without waiting for them (for a connection dropped without `close()`).
    func cancel() {
        state.withLock { $0.stopped = true }
        mainWake.finish()
        modifierWake.finish()
        for task in loops.withLock({ $0 }) { task.cancel() }
    }

    /// Starts watching `ref` (already in the task book).
    func track(_ ref: MoRef) {
        state.withLock { s in
            if !s.inView.contains(ref) { s.toAdd.insert(ref) }
        }
        modifierWake.yield()
        mainWake.yield()
    }

    /// Marks the collector as lost (after a re-login): it is rebuilt before the next wait.
    func requestRebuild() {
        state.withLock { $0.needsRebuild = true }
        mainWake.yield()
    }

    var counters: Counters { state.withLock { $0.counters } }

    // MARK: Loops

    private func mainLoop() async {
        var backoff = 0.5
        var signals = mainSignals.makeAsyncIterator()
        while !Task.isCancelled {
            let (stopped, idle, build) = state.withLock { s in
                (s.stopped, s.toAdd.isEmpty && book.pending.isEmpty, s.needsRebuild || s.collector == nil)
            }
            if stopped { return }
            if idle {
                if await signals.next() == nil { return }
                continue
            }
            do {
                if build {
                    try await serial.run { try await self.rebuild() }
                    try await reconcile()
                }
                let changed = try await waitForUpdates()
                if changed {
                    if settings.coalesceSeconds > 0 { try? await Task.sleep(for: .seconds(settings.coalesceSeconds)) }
                } else {
                    try await reconcile()
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

    private func modifierLoop() async {
        for await _ in modifierSignals {
            if Task.isCancelled { return }
            do {
                try await serial.run { try await self.flushViewChanges() }
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
    }

    // MARK: Collector

    /// Adds newly tracked tasks to the view (and removes finished ones in bulk). Runs serially.
    private func flushViewChanges() async throws {
        let (view, adds, removes): (MoRef?, [MoRef], [MoRef]) = state.withLock { s in
            guard let view = s.listView, !s.needsRebuild else { return (nil, [], []) }
            let adds = Array(s.toAdd)
            s.toAdd.removeAll()
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
        state.withLock { s in
            s.inView.formUnion(adds)
            s.inView.subtract(removes)
            s.counters.viewChanges += 1
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
        try await session.call("CreateFilter", on: collector) { w in
            PropertyCollector.writeFilterSpec(&w, name: "spec", specs: [PropertySpec(type: "Task", paths: ["info"])], selection: .view(view))
            w.element("partialUpdates", "false")
        }
        state.withLock { s in
            s.collector = collector
            s.listView = view
            s.version = ""
            s.inView = Set(members)
            s.finishedInView = []
            s.needsRebuild = false
            s.counters.rebuilds += 1
        }
        logger.debug("task poller: collector ready", metadata: ["tasks": "\(members.count)"])
        // Tasks tracked while this ran are added now.
        modifierWake.yield()
    }

    /// One `WaitForUpdatesEx` (repeated at once while `truncated`). Returns whether anything changed.
    private func waitForUpdates() async throws -> Bool {
        guard let collector = state.withLock({ $0.collector }) else { return false }
        var changed = false
        var truncated = true
        while truncated {
            truncated = false
            let version = state.withLock { $0.version }
            var newVersion: String?
            let maxWait = settings.maxWaitSeconds
            try await session.call("WaitForUpdatesEx", on: collector, granularity: .returnValueMembers, body: { w in
                if !version.isEmpty { w.element("version", version) }
                w.start("options")
                w.element("maxWaitSeconds", String(maxWait))
                w.end("options")
            }) { [self] piece in
                switch piece.name {
                case "version": newVersion = piece.text
                case "truncated": truncated = piece.bool ?? false
                case "filterSet": if applyFilterUpdate(piece) { changed = true }
                default: break
                }
            }
            state.withLock { s in
                if let newVersion { s.version = newVersion }
                s.counters.waits += 1
                if newVersion == nil { s.counters.emptyWaits += 1 }
            }
        }
        return changed
    }

    /// Applies a `PropertyFilterUpdate`; returns whether any tracked task changed.
    private func applyFilterUpdate(_ filterSet: XMLElement) -> Bool {
        var any = false
        for objectSet in filterSet.children where objectSet.name == "objectSet" {
            guard objectSet.child("kind")?.text != "leave", let ref = objectSet.child("obj")?.moRef,
                  let task = book.task(ref) else { continue }
            task.update { info in
                for change in objectSet.children where change.name == "changeSet" {
                    guard let path = change.child("name")?.text else { continue }
                    let op = change.child("op")?.text ?? "assign"
                    TaskDecoding.apply(path: path, value: op == "remove" ? nil : change.child("val"), to: &info)
                }
            }
            any = true
            if task.isDone { markFinished(ref) }
        }
        return any
    }

    private func markFinished(_ ref: MoRef) {
        let flush = state.withLock { s -> Bool in
            guard s.inView.contains(ref) else { return false }
            s.finishedInView.insert(ref)
            return s.finishedInView.count >= settings.removeThreshold
        }
        if flush { modifierWake.yield() }
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
