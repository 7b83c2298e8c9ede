import Dispatch
import Foundation
import MigrationEngine
import Locking
import Testing
import VCenterModel

/// A serial executor that marks its queue, so hooks can check where they run.
final class MarkedExecutor: SerialExecutor, @unchecked Sendable {
    static let key = DispatchSpecificKey<Bool>()
    let queue = DispatchQueue(label: "marked")
    let jobs = Locked(0)
    init() { queue.setSpecific(key: Self.key, value: true) }
    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        jobs.withLock { $0 += 1 }
        queue.async { unowned.runSynchronously(on: executor) }
    }
    static var onIt: Bool { DispatchQueue.getSpecific(key: key) == true }
}

/// Collects events from the runner's handler.
final class EventLog: Sendable {
    let events = Locked<[EngineEvent]>([])
    func record(_ e: EngineEvent) { events.withLock { $0.append(e) } }
    var all: [EngineEvent] { events.withLock { $0 } }
}

@Suite("MigrationRunner")
struct RunnerTests {
    static func spec() -> TestInventory {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 3
        spec.vmsPerHost = 5
        spec.oldDatastores = 2
        spec.newDatastores = 3
        return spec
    }

    @Test("moves every VM once on a virtual-time backend, within vSphere's costs, in ≤ 3 calls per VM")
    func virtualRun() async throws {
        let inv = Self.spec().make()
        let vc = FakeVCenter(inventory: inv)
        let log = EventLog()
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), onEvent: log.record)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(summary.moved.count == inv.vms.count)
        #expect(vc.storageMoves.count == inv.vms.count)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 })
        for (obj, peak) in vc.peakCost {
            #expect(peak <= (obj.type == "HostSystem" ? 8 : 128), "\(obj) peaked at \(peak)")
        }
        #expect(vc.peakCost.filter { $0.key.type == "HostSystem" }.values.max() == 8)
        // inventory + recentTasks + one RelocateVM_Task per VM.
        #expect(summary.calls == inv.vms.count + 2)
        #expect(vc.totalCalls == summary.calls)
        #expect(summary.callsPerMovedVM <= 3)
        // Virtual time: the run took simulated time (about 30 × 55 GB ÷ 100 MB/s ÷ 12 slots), no real time.
        #expect(summary.duration > 1000)
        #expect(summary.endedAt == vc.now)
        let kinds = log.all.map { e -> String in
            switch e.kind {
            case .runStarted: "start"
            case .runFinished: "end"
            case .taskProgress: "progress"
            default: "job"
            }
        }
        #expect(kinds.first == "start")
        #expect(kinds.last == "end")
        #expect(kinds.filter { $0 == "progress" }.count == inv.vms.count)
    }

    @Test("the per-vCenter cap from the strategy's vcenterLimits, or the configuration's override (--max-concurrent), is never exceeded",
          arguments: [(3, nil), (3, 5), (nil, 2)] as [(Int?, Int?)])
    func vcenterCap(_ fromStrategy: Int?, _ forced: Int?) async throws {
        var spec = Self.spec()
        spec.hostsPerCluster = 4
        let inv = spec.make()  // 8 hosts: 16 Storage vMotions at once by cost alone
        let vc = FakeVCenter(inventory: inv)
        let asked = Locked(0)
        let strategy = ClosureStrategy(select: TestInventory.moveAll, vcenterLimits: { inventory in
            asked.withLock { $0 += 1 }
            #expect(inventory.vms.count == inv.vms.count)
            return VCenterLimitOverrides(maxConcurrent: fromStrategy)
        })
        var config = RunConfiguration()
        config.scheduler.vcenterMaxJobsOverride = forced
        let runner = MigrationRunner(vcenter: vc, strategy: strategy, configuration: config)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(vc.storageMoves.count == inv.vms.count)
        let cap = forced ?? fromStrategy ?? 256
        #expect(vc.peakOwnRunning == cap, "at most \(cap) at once, and the cap was reached")
        let usage = try #require(summary.peakUsage.first { $0.kind == .vcenterJobs })
        #expect(usage.capacity == cap && usage.peakOwn <= cap)
        #expect(asked.withLock { $0 } == (forced == nil ? 1 : 0), "the override wins without asking the strategy")
    }

    @Test("an unusable per-vCenter cap stops the run before anything starts, saying what is valid")
    func badVCenterCap() async throws {
        let inv = Self.spec().make()
        for (fromStrategy, forced) in [(0, nil), (5_000, nil), (nil, 0)] as [(Int?, Int?)] {
            let vc = FakeVCenter(inventory: inv)
            var config = RunConfiguration()
            config.scheduler.vcenterMaxJobsOverride = forced
            let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll, vcenterLimits: { _ in
                VCenterLimitOverrides(maxConcurrent: fromStrategy)
            }), configuration: config)
            do {
                _ = try await runner.run()
                Issue.record("a cap of \(String(describing: fromStrategy ?? forced)) must be refused")
            } catch let error as EngineError {
                #expect(error.description.contains("from 1 to 2000"), "\(error)")
                #expect(error.description.contains(forced != nil ? "--max-concurrent" : "vcenter_limits"), "\(error)")
            }
            #expect(vc.calls["RelocateVM_Task"] == nil)
        }
    }

    @Test("a host whose vMotion link speed is unknown gets the 1 GbE limit (4 vMotions), not the 10 GbE one")
    func unknownLinkIsOneGigabit() throws {
        #expect(Limits().networkMaxCost(linkSpeedMbps: nil) == 4)
        #expect(Limits().networkMaxCost(linkSpeedMbps: 1_000) == 4)
        #expect(Limits().networkMaxCost(linkSpeedMbps: 10_000) == 8)
        var spec = Self.spec()
        spec.linkSpeedMbps = nil
        let unknown = try Scheduler(inventory: spec.make(), strategy: ClosureStrategy())
        let networks = unknown.resourceUsage().filter { $0.kind == .hostNetwork }
        #expect(!networks.isEmpty && networks.allSatisfy { $0.capacity == 4 }, "\(networks)")
        spec.linkSpeedMbps = 25_000
        let fast = try Scheduler(inventory: spec.make(), strategy: ClosureStrategy())
        #expect(fast.resourceUsage().filter { $0.kind == .hostNetwork }.allSatisfy { $0.capacity == 8 })
    }

    @Test("hooks run on the injected executor")
    func injectedExecutor() async throws {
        let inv = Self.spec().make()
        let vc = FakeVCenter(inventory: inv)
        let executor = MarkedExecutor()
        let offExecutor = Locked(0)
        let hooks = Locked(0)
        let check: @Sendable () -> Void = {
            hooks.withLock { $0 += 1 }
            if !MarkedExecutor.onIt { offExecutor.withLock { $0 += 1 } }
        }
        let strategy = ClosureStrategy(
            select: { inv in check(); return TestInventory.moveAll(inv) },
            order: { jobs in check(); return DefaultOrder.largestFirst(jobs) },
            target: { _, c in check(); return c.first?.ref },
            onDone: { _ in check() })
        let runner = MigrationRunner(vcenter: vc, strategy: strategy, executor: executor)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(hooks.withLock { $0 } > inv.vms.count)
        #expect(offExecutor.withLock { $0 } == 0)
        #expect(executor.jobs.withLock { $0 } > 0)
    }

    @Test("tasks already running in vCenter are counted until they end")
    func existingTasks() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 4
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        // Someone else moves vm0 already: with it, the host would exceed 8 if the engine started two more.
        vc.startExternalRelocate(inv.vms[0].ref, to: TestInventory.newDatastores(inv)[0])
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll))
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(vc.peakCost[inv.hosts[0].ref] == 8)
        // vm0 is moving through the outside task: this run leaves it alone, saying why.
        #expect(vc.storageMoves[inv.vms[0].ref, default: 0] <= 1)
        #expect(summary.done.count == 3)
        #expect(summary.skipped.map(\.vm) == [inv.vms[0].ref])
        #expect(summary.skipped.first?.cannotMove == true)
    }

    @Test("a retriable start fault is retried after a VM check; a VM found on target needs no second move")
    func retryVerifies() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 2
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        let bad = inv.vms[0].ref
        vc.failStarts { _, vm, n in vm == bad && n == 1 ? VCenterFault(type: "TaskInProgress", message: "busy") : nil }
        var config = RunConfiguration()
        config.scheduler.retry = RetryPolicy(initialDelay: 5, maxDelay: 5, maxAttempts: 3)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), configuration: config)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(vc.calls["refreshVMs"] == 1)
        #expect(vc.calls["RelocateVM_Task"] == 3)
        #expect(summary.jobs.first { $0.vm == bad }?.attempts == 2)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 })
    }

    @Test("graceful stop lets running tasks finish; abandon leaves them running")
    func stopAndAbandon() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 6
        let inv = spec.make()

        let vc = FakeVCenter(inventory: inv)
        let holder = Locked<MigrationRunner?>(nil)
        let graceful = ClosureStrategy(select: TestInventory.moveAll, onDone: { _ in holder.withLock { $0 }?.requestStop(graceful: true) })
        let runner = MigrationRunner(vcenter: vc, strategy: graceful)
        holder.withLock { $0 = runner }
        let summary = try await runner.run()
        #expect(summary.outcome == .stopped)
        // The first completion asked to stop; its freed slot had already gone to a third job.
        // Both running tasks finished, nothing started after the stop.
        #expect(summary.done.count == 3)
        #expect(summary.pending.count == 3)
        #expect(vc.calls["RelocateVM_Task"] == 3)
        #expect(vc.runningCount == 0)

        let vc2 = FakeVCenter(inventory: inv)
        let holder2 = Locked<MigrationRunner?>(nil)
        let abandon = ClosureStrategy(select: TestInventory.moveAll, onDone: { _ in
            holder2.withLock { $0 }?.requestStop(graceful: true)
            holder2.withLock { $0 }?.requestStop(graceful: false)
        })
        let runner2 = MigrationRunner(vcenter: vc2, strategy: abandon)
        holder2.withLock { $0 = runner2 }
        let summary2 = try await runner2.run()
        #expect(summary2.outcome == .abandoned)
        #expect(summary2.leftRunning.count == 2, "the first completion's slot was refilled; both running tasks left running")
        #expect(summary2.done.count == 1)
        #expect(vc2.runningCount == 2)
    }

    // Bounded: a task whose end the runner misses (it ended before the observer was in
    // place, which this backend makes likely) would leave the run waiting forever.
    @Test("a real-time backend (no virtual clock) works through the same runner", .timeLimit(.minutes(3)))
    func realTime() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        let inv = spec.make()
        let fake = FakeVCenter(inventory: inv)
        let vc = RealTimeWrapper(fake)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll))
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(fake.storageMoves.count == inv.vms.count)
        #expect(fake.peakCost.filter { $0.key.type == "HostSystem" }.values.allSatisfy { $0 <= 8 })
    }

    // Bounded: a retry timer that never fires would leave the run waiting forever.
    @Test("a simulated backend on its own (scaled) clock drives time itself; retries still fire", .timeLimit(.minutes(3)))
    func selfDrivenClock() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        let inv = spec.make()
        let fake = FakeVCenter(inventory: inv)
        let vc = SelfDrivenFake(fake)
        let bad = inv.vms[0].ref
        fake.failStarts { _, vm, n in vm == bad && n == 1 ? VCenterFault(type: "FileLocked", message: "locked") : nil }
        var config = RunConfiguration()
        config.scheduler.retry = RetryPolicy(initialDelay: 30, maxDelay: 30, maxAttempts: 3)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), configuration: config)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(fake.storageMoves.count == inv.vms.count)
        #expect(summary.jobs.first { $0.vm == bad }?.attempts == 2)
    }

    @Test("the dry-run plan lists the order, sizes and predicted targets without starting anything")
    func dryRun() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 3
        spec.newDatastores = 2
        spec.size = { i in Int64([100, 300, 200][i]) * 1_000_000_000 }
        var inv = spec.make()
        var placed = inv.vms[0]
        placed.datastores = [TestInventory.newDatastores(inv)[1]]
        inv.update(placed)
        let vc = FakeVCenter(inventory: inv)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll))
        let plan = try await runner.plan()
        #expect(plan.entries.map(\.job.vmName) == ["vm1", "vm2"])
        #expect(plan.entries.allSatisfy { $0.to != nil })
        #expect(plan.settled.map(\.vmName) == ["vm0"])
        let lines = plan.lines()
        #expect(lines[0].contains("2 job(s)"))
        #expect(lines[1].contains("vm1") && lines[1].contains("279.4 GiB") && lines[1].contains("old-1 → new-"))
        #expect(lines.last?.contains("already on its target") == true)
        #expect(plan.proactiveNote?.contains("decided while the run goes") == true)
        #expect(vc.runningCount == 0)
        #expect(vc.calls["RelocateVM_Task"] == nil)
    }
}

/// Hides a fake's virtual clock, so the runner drives it as a real vCenter: each task
/// runs to its end on another thread once the call that started it has returned, as a
/// real vCenter's task ends while the runner watches it. No pump on a timer: the task's
/// start is the event that ends it, so the runner's real-time path (observing a
/// `LiveTask` that changes under it) runs without a sleep.
final class RealTimeWrapper: VCenter {
    let inner: FakeVCenter
    init(_ inner: FakeVCenter) { self.inner = inner }

    /// Runs the fake's events to the end of `task`, off the caller's thread.
    private func finishLater(_ task: LiveTask) -> LiveTask {
        let inner = self.inner
        Task.detached {
            while !task.isDone, let next = inner.nextEventTime { inner.advance(to: next) }
        }
        return task
    }
    var displayName: String { "real-time wrapper" }
    func about() async throws -> AboutInfo { try await inner.about() }
    func inventory() async throws -> Inventory { try await inner.inventory() }
    func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] { try await inner.refreshVMs(refs) }
    func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask {
        finishLater(try await inner.relocateVM(vm, spec: spec, priority: priority))
    }
    func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask {
        finishLater(try await inner.migrateVM(vm, host: host, pool: pool, priority: priority))
    }
    func consolidateDisks(_ vm: MoRef) async throws -> LiveTask { finishLater(try await inner.consolidateDisks(vm)) }
    func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask {
        finishLater(try await inner.removeSnapshot(vm, which, removeChildren: removeChildren, consolidate: consolidate))
    }
    func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult { try await inner.invoke(method, on: object, arguments: arguments) }
    func task(_ ref: MoRef) async throws -> LiveTask { try await inner.task(ref) }
    func cancelTask(_ ref: MoRef) async throws { try await inner.cancelTask(ref) }
    func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo] { try await inner.recentTasks(query) }
    func close() async {}
}

/// A virtual-time backend whose clock runs by itself, like a simulator on a scaled clock:
/// simulated time is the fake's start plus the real time since × `clockSpeed`, and the
/// runner waits for it as for a real vCenter. No pump: reading `now` delivers what is due
/// by then, and each started task arms a wait until the fake's next event, (T − now) ÷
/// speed — the scaled clock's own pace, as the simulator's, not a poll.
final class SelfDrivenFake: VirtualTimeVCenter {
    let inner: FakeVCenter
    private let origin: Date
    private let started = ContinuousClock.now
    /// 50,000 simulated seconds a real second: a 30 s retry backoff lasts 0.6 ms.
    private static let speed = 50_000.0

    init(_ inner: FakeVCenter) {
        self.inner = inner
        origin = inner.now
    }

    /// Simulated time now on the scaled clock.
    private var clockTime: Date {
        let elapsed = (ContinuousClock.now - started).components
        return origin.addingTimeInterval((Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18) * Self.speed)
    }

    var now: Date {
        inner.advance(to: clockTime)
        return inner.now
    }
    var nextEventTime: Date? { inner.nextEventTime }
    func advance(to time: Date) { inner.advance(to: min(time, clockTime)) }
    var clockSpeed: Double? { Self.speed }

    /// Delivers `task`'s events (and any before them) when the scaled clock reaches them.
    private func runOnItsClock(_ task: LiveTask) -> LiveTask {
        Task.detached { [self] in
            while !task.isDone, let next = inner.nextEventTime {
                let wait = next.timeIntervalSince(clockTime) / Self.speed
                if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
                inner.advance(to: min(next, clockTime))
            }
        }
        return task
    }

    var displayName: String { "self-driven fake" }
    func about() async throws -> AboutInfo { try await inner.about() }
    func inventory() async throws -> Inventory { try await inner.inventory() }
    func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] { try await inner.refreshVMs(refs) }
    func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask {
        runOnItsClock(try await inner.relocateVM(vm, spec: spec, priority: priority))
    }
    func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask {
        runOnItsClock(try await inner.migrateVM(vm, host: host, pool: pool, priority: priority))
    }
    func consolidateDisks(_ vm: MoRef) async throws -> LiveTask { runOnItsClock(try await inner.consolidateDisks(vm)) }
    func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask {
        runOnItsClock(try await inner.removeSnapshot(vm, which, removeChildren: removeChildren, consolidate: consolidate))
    }
    func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult { try await inner.invoke(method, on: object, arguments: arguments) }
    func task(_ ref: MoRef) async throws -> LiveTask { try await inner.task(ref) }
    func cancelTask(_ ref: MoRef) async throws {}
    func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo] { try await inner.recentTasks(query) }
    func close() async {}
}
