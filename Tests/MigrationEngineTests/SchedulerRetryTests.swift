import Foundation
import MigrationEngine
import Testing
import VCenterModel

/// Retries owned by the strategy (issue 13.1): per-fault retry counts, every failure heard
/// with `willRetry`, and the attempt limit no answer passes.
@Suite("Scheduler retries")
struct SchedulerRetryTests {
    /// A strategy that records every failure it hears and answers with `answer`.
    final class Listener: Strategy, @unchecked Sendable {
        var heard: [JobFailure] = []
        var answer: (JobFailure) -> FailureDecision? = { _ in nil }
        var policy: (RetryPolicy) -> RetryPolicy = { $0 }

        func select(_ inventory: Inventory) throws -> [JobRequest] { TestInventory.moveAll(inventory) }
        func onFailure(_ job: Job, _ failure: JobFailure) throws -> FailureDecision? {
            heard.append(failure)
            return answer(failure)
        }
        func retryPolicy(_ base: RetryPolicy) throws -> RetryPolicy { policy(base) }
    }

    static func oneVM() -> Inventory {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 1
        return spec.make()
    }

    @Test("retries = { FileLocked = 2 }: three attempts, every failure heard, then skipped")
    func perFaultRetries() throws {
        let inv = Self.oneVM()
        let strategy = Listener()
        strategy.policy = { var p = $0; p.retries[.fileLocked] = 2; return p }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        h.taskFault = { _ in VCenterFault(.fileLocked, "locked") }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(strategy.heard.map(\.willRetry) == [true, true, false])
        #expect(strategy.heard.map(\.attempt) == [1, 2, 3])
        #expect(strategy.heard.map(\.rule) == [.fault(.fileLocked), .fault(.fileLocked), .fault(.fileLocked)])
        #expect(h.starts.count == 3)
        #expect(h.scheduler.jobs[0].state == .skipped)
    }

    @Test("a rule for a parent fault covers its subtypes; the most specific rule wins")
    func parentRuleCoversSubtype() throws {
        var policy = RetryPolicy()
        policy.retries = [.fileFault: 1, .vimFault: 5]
        #expect(policy.rule(for: .fileLocked, retriable: true).rule == .fault(.fileFault))
        #expect(policy.rule(for: .fileLocked, retriable: true).retries == 1)
        #expect(policy.rule(for: .taskInProgress, retriable: true).rule == .fault(.vimFault))
        #expect(policy.rule(for: .invalidArgument, retriable: false).rule == .none)
        #expect(policy.rule(for: .timeout, retriable: true).rule == .default)
        #expect(policy.rule(for: .timeout, retriable: true).retries == 7)
    }

    @Test("a non-retriable fault named in retries is retried on its own")
    func namedPermanentFault() throws {
        let inv = Self.oneVM()
        let strategy = Listener()
        strategy.policy = { var p = $0; p.retries[.invalidArgument] = 1; return p }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        var fails = 1
        h.startFault = { _ in
            guard fails > 0 else { return nil }
            fails -= 1
            return VCenterFault(.invalidArgument, "no")
        }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(strategy.heard.map(\.willRetry) == [true])
        #expect(h.scheduler.jobs[0].state == .done)
    }

    @Test("the strategy's answer overrides the engine: skip a fault the engine would retry")
    func strategyOverrides() throws {
        let inv = Self.oneVM()
        let strategy = Listener()
        strategy.answer = { _ in .skip }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        h.taskFault = { _ in VCenterFault(.fileLocked, "locked") }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(strategy.heard.count == 1)
        #expect(strategy.heard[0].willRetry)
        #expect(h.scheduler.jobs[0].state == .skipped)
    }

    @Test("always answering retry to a permanent fault ends at the attempt limit, naming the faults")
    func attemptLimitBoundsAJob() throws {
        let inv = Self.oneVM()
        let strategy = Listener()
        strategy.answer = { _ in .retry }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        var n = 0
        h.startFault = { _ in
            n += 1
            return VCenterFault(n % 2 == 0 ? .fileLocked : .invalidArgument, "no")
        }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        let job = h.scheduler.jobs[0]
        #expect(job.state == .failed)
        #expect(job.attempts == 25)
        #expect(strategy.heard.last?.atLimit == true)
        #expect(job.lastError?.contains("gave up after 25 attempts (InvalidArgument ×13, FileLocked ×12)") == true,
                "\(job.lastError ?? "")")
    }

    @Test("the older onFailure(job, fault, attempt:) is asked only when the engine would not retry")
    func olderHookBridged() throws {
        let inv = Self.oneVM()
        var attempts: [Int] = []
        let strategy = ClosureStrategy(onFailure: { _, _, a in attempts.append(a); return .skip })
        var config = SchedulerConfiguration()
        config.retry.retries[.fileLocked] = 1
        let h = try SchedulerHarness(inventory: inv, strategy: strategy, configuration: config)
        h.taskFault = { _ in VCenterFault(.fileLocked, "locked") }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(attempts == [2])
    }
}
