import Foundation
import MigrationEngine
import Testing
import VCenterModel

/// The lost-call rules of `Scheduler+LostCalls`, on virtual time, with no runner: each test
/// breaks if its rule is broken (a second call where a task was adopted, a task taken twice,
/// the strategy asked too early, resources released while a task may run).
@Suite("Scheduler: lost calls")
struct SchedulerLostCallTests {
    static let lost = VCenterFault(.timeout, "no answer within 120 s")

    static func oneVM(_ config: SchedulerConfiguration = SchedulerConfiguration(),
                      onFailure: @escaping (Job, VCenterFault, Int) throws -> FailureDecision = { _, _, _ in .skip }) throws -> (SchedulerHarness, Inventory) {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 1
        let inv = spec.make()
        return (try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(onFailure: onFailure), configuration: config), inv)
    }

    /// Fails the first call with `fault`; later calls succeed.
    static func failFirst(_ h: SchedulerHarness, _ fault: VCenterFault, times: Int = 1) {
        var left = times
        h.startFault = { _ in
            guard left > 0 else { return nil }
            left -= 1
            return fault
        }
    }

    @Test("vCenter got the lost call: its task is found and adopted, confirmed by the VM's place; one call, resources held throughout")
    func lostCallAdopted() throws {
        let (h, inv) = try Self.oneVM()
        Self.failFirst(h, Self.lost)
        h.lostCallStartsTask = { _ in true }
        var heldWhileLost = true
        h.afterStep = { h in
            // From the call to the end, the job holds its charges: never a free slot while a task may run.
            if h.scheduler.jobs[0].state.isActive { heldWhileLost = heldWhileLost && h.scheduler.resourceUsage().contains { $0.used > 0 } }
        }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.starts.count == 1, "no second call: \(h.starts.map(\.time))")
        #expect(h.searches.count == 1 && h.searches[0].found != nil)
        #expect(h.confirmations == [JobID(0)])
        #expect(h.scheduler.jobs[0].state == .done)
        #expect(h.scheduler.jobs[0].taskRef == h.searches[0].found)
        #expect(heldWhileLost)
        #expect(h.auditProblems.isEmpty, "\(h.auditProblems)")
        #expect(h.events.contains { if case .warning(let text, _) = $0.kind { text.contains("adopted task-1") } else { false } })
    }

    @Test("vCenter never got it: nothing found, retried with backoff after a VM check and a second search; the strategy is not asked")
    func lostCallRetried() throws {
        var asked = 0
        let (h, inv) = try Self.oneVM(onFailure: { _, _, _ in asked += 1; return .skip })
        Self.failFirst(h, Self.lost)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(asked == 0)
        #expect(h.starts.map { $0.time.timeIntervalSince(h.start) } == [0, 30])
        #expect(h.starts.map(\.verify) == [false, true])
        #expect(h.starts.map(\.look) == [false, true], "the retry looks for the lost call's task before calling")
        #expect(h.searches.count == 2 && h.searches.allSatisfy { $0.found == nil })
        #expect(h.scheduler.jobs[0].state == .done)
    }

    @Test("vCenter lists the lost call's task late: the retry finds and adopts it instead of calling again")
    func lateListing() throws {
        let (h, inv) = try Self.oneVM()
        Self.failFirst(h, Self.lost)
        h.lostCallStartsTask = { _ in true }
        h.listingDelay = 10  // after the first search (at 0), before the retry (at 30)
        h.rate = 1_000  // the task is still running at the retry
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.searches.map { $0.found == nil } == [true, false])
        // The retry's start found the task before calling: vCenter got one call in all.
        #expect(h.vcenterTasks.count == 1, "\(h.vcenterTasks.map(\.ref))")
        #expect(h.scheduler.jobs[0].state == .done)
    }

    @Test("an adopted task that succeeded while the VM is elsewhere is disowned; the retry never takes it again")
    func disowned() throws {
        let (h, inv) = try Self.oneVM()
        Self.failFirst(h, Self.lost)
        h.lostCallStartsTask = { _ in true }
        var reads = 0
        // The first read after success shows the VM where it was (it was some other task).
        h.placement = { job in
            reads += 1
            return reads == 1 ? inv.vm(job.vm) : nil
        }
        try h.add(TestInventory.moveAll(inv))
        h.run()
        #expect(h.confirmations.count == 1)
        #expect(h.starts.count == 2, "retried after the disowned task")
        #expect(h.starts[1].look, "the retry looks again for the lost call's task")
        #expect(h.searches.count == 2 && h.searches[1].found == nil, "the disowned task is known: never taken again (\(h.searches))")
        #expect(h.scheduler.jobs[0].state == .done)
        #expect(h.scheduler.jobs[0].taskRef != h.searches[0].found)
        #expect(h.scheduler.jobs[0].lastError == nil)
    }

    @Test("a search that cannot reach vCenter retries with backoff; a lost call's retries count, and past the limit the strategy decides")
    func searchFailsUntilTheLimit() throws {
        var config = SchedulerConfiguration()
        config.retry = RetryPolicy(initialDelay: 10, maxDelay: 15, maxAttempts: 3)
        var asked: [(Int, VCenterFault.Code)] = []
        let (h, inv) = try Self.oneVM(config, onFailure: { _, f, a in asked.append((a, f.code)); return .skip })
        h.startFault = { _ in Self.lost }
        h.searchesSucceed = false
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.starts.count == 3)
        #expect(asked.count == 1 && asked[0].0 == 3 && asked[0].1 == .timeout, "\(asked)")
        #expect(h.scheduler.jobs[0].state == .skipped)
        #expect(h.auditProblems.isEmpty)
    }

    @Test("a definite fault is no lost call: no search, the fault is handled like a task's")
    func definiteFault() throws {
        var asked = 0
        let (h, inv) = try Self.oneVM(onFailure: { _, _, _ in asked += 1; return .skip })
        Self.failFirst(h, VCenterFault(type: "GenericVmConfigFault", message: "bad configuration"))
        try h.add(TestInventory.moveAll(inv))
        h.run()
        #expect(h.searches.isEmpty)
        #expect(asked == 1)
        #expect(h.scheduler.jobs[0].state == .skipped)
    }

    @Test("--resume hands a lost call back: the job's first call looks for its task first; known tasks are never taken")
    func restoredLostCall() throws {
        let (first, inv) = try Self.oneVM()
        try first.add(TestInventory.moveAll(inv))
        var saved = first.scheduler.jobs
        saved[0].state = .pending
        saved[0].attempts = 1
        saved[0].taskRef = nil
        saved[0].lastFault = .timeout
        let intent = first.now
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        var calls = RestoredCalls()
        calls.lost[JobID(0)] = intent
        h.apply(h.scheduler.restore(saved, ranks: [0], calls: calls, now: h.now))
        #expect(h.starts.count == 1 && h.starts[0].look && h.starts[0].verify)
        #expect(h.run() == .completed)
    }
}
