import Foundation
import MigrationEngine
import Locking
import Testing
import VCenterModel

/// A task-starting call that fails in transport after vCenter may have received it
/// (Scheduler+LostCalls, performed by the runner): its task is looked for among the VM's recent tasks and
/// adopted; otherwise the job is retried with backoff, never failed while its task may run.
@Suite("Calls lost in transport")
struct LostCallTests {
    static func inventory() -> Inventory {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        return spec.make()
    }

    static let dropped = VCenterFault(type: "ConnectionFailed", message: "127.0.0.1:443 closed the connection before answering")

    /// The questions `onFailure` was asked.
    final class Asked: Sendable {
        let list = Locked<[String]>([])
        func append(_ text: String) { list.withLock { $0.append(text) } }
        var all: [String] { list.withLock { $0 } }
    }

    /// A strategy that moves every VM and records every `onFailure` question.
    static func strategy(asked: Asked) -> ClosureStrategy {
        ClosureStrategy(select: TestInventory.moveAll, onFailure: { job, fault, _ in
            asked.append("\(job.vmName): \(fault)")
            return .skip
        })
    }

    @Test("a relocation whose answer was lost is found among the VM's recent tasks and adopted: no second call, nothing released early")
    func lostAnswerIsAdopted() async throws {
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let victim = inv.vms[0].ref
        vc.loseAnswers { method, vm, n in method == "RelocateVM_Task" && vm == victim && n == 1 ? Self.dropped : nil }
        let asked = Asked()
        let events = Locked<[EngineEvent]>([])
        let runner = MigrationRunner(vcenter: vc, strategy: Self.strategy(asked: asked)) { e in events.withLock { $0.append(e) } }
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(summary.done.count == inv.vms.count, "\(summary.failed.map(\.lastError))")
        let job = try #require(summary.jobs.first { $0.vm == victim })
        #expect(job.attempts == 1, "the lost call's task was adopted, not called again")
        #expect(job.taskRef != nil)
        #expect(vc.calls["RelocateVM_Task"] == inv.vms.count)
        #expect((vc.calls["recentTasks"] ?? 0) >= 1)
        #expect(vc.storageMoves.count == inv.vms.count && vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(vc.storageMoves)")
        #expect(asked.all.isEmpty, "the strategy is not asked about a lost call")
        #expect(vc.peakCost.filter { $0.key.type == "HostSystem" }.values.allSatisfy { $0 <= 8 }, "\(vc.peakCost)")
        #expect(summary.peakUsage.allSatisfy { $0.peakOwn <= $0.capacity })
        #expect(events.withLock { $0 }.contains { e in
            if case .warning(let text, let id) = e.kind { return id == job.id && text.contains("may have received it") }
            return false
        })
    }

    @Test("a call dropped before vCenter got it: no task is found, the job is retried with backoff after checking the VM, the strategy is not asked")
    func droppedCallIsRetried() async throws {
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let victim = inv.vms[1].ref
        vc.failStarts { method, vm, n in method == "RelocateVM_Task" && vm == victim && n == 1 ? Self.dropped : nil }
        let asked = Asked()
        let retries = Locked<[Date]>([])
        let runner = MigrationRunner(vcenter: vc, strategy: Self.strategy(asked: asked)) { e in
            if case .retryScheduled(let job, let at, _) = e.kind, job.vm == victim { retries.withLock { $0.append(at) } }
        }
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        let job = try #require(summary.jobs.first { $0.vm == victim })
        #expect(job.state == .done)
        #expect(job.attempts == 2)
        #expect(retries.withLock { $0 }.count == 1)
        #expect(vc.calls["RelocateVM_Task"] == inv.vms.count + 1)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(vc.storageMoves)")
        #expect((vc.calls["refreshVMs"] ?? 0) >= 1, "the retry checked where the VM is first")
        #expect(asked.all.isEmpty)
    }

    @Test("vCenter lists the lost call's task late: the retry finds and adopts it instead of calling again")
    func lateTaskIsAdoptedOnRetry() async throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 2
        spec.size = { _ in 500_000_000_000 }  // 5,000 s at the fake's rate: still copying at the first retry
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        let victim = inv.vms[0].ref
        vc.loseAnswers { method, vm, n in method == "RelocateVM_Task" && vm == victim && n == 1 ? Self.dropped : nil }
        vc.hideRecentTasks(count: 1)
        let asked = Asked()
        let runner = MigrationRunner(vcenter: vc, strategy: Self.strategy(asked: asked))
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        let job = try #require(summary.jobs.first { $0.vm == victim })
        #expect(job.state == .done)
        #expect(vc.calls["RelocateVM_Task"] == inv.vms.count, "no second relocation of \(victim): \(vc.calls)")
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(vc.storageMoves)")
        #expect((vc.calls["recentTasks"] ?? 0) >= 2, "looked once at the loss, again before the retry's call")
        #expect(asked.all.isEmpty)
    }

    @Test("kill -9 while a lost call waits for its retry: --resume looks for its task before calling, and adopts it")
    func lostCallAcrossResume() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 2
        spec.size = { _ in 500_000_000_000 }
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        let victim = inv.vms[0].ref
        vc.loseAnswers { method, vm, n in method == "RelocateVM_Task" && vm == victim && n == 1 ? Self.dropped : nil }
        vc.hideRecentTasks(count: 1)
        let journal = try Journal(path: path)
        journal.injectCrash { batch in
            batch.jobs.values.contains { $0.vm == victim && $0.state == .pending && $0.attempts == 1 } ? .afterWrite : nil
        }
        var config = RunConfiguration()
        config.strategyName = "lost"
        let asked = Asked()
        let first = MigrationRunner(vcenter: vc, strategy: Self.strategy(asked: asked), configuration: config, journal: journal)
        let stop = await #expect(throws: EngineError.self) { try await first.run() }
        #expect(stop?.isJournal == true, "\(String(describing: stop))")
        #expect(journal.hasCrashed)

        config.resume = true
        let second = MigrationRunner(vcenter: vc, strategy: Self.strategy(asked: asked), configuration: config, journal: try Journal(path: path))
        let summary = try await second.run()
        #expect(summary.outcome == .completed)
        #expect(summary.done.count == inv.vms.count, "\(summary.failed.map(\.lastError))")
        #expect(vc.calls["RelocateVM_Task"] == inv.vms.count, "no second relocation of \(victim): \(vc.calls)")
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(vc.storageMoves)")
    }

    @Test("an earlier task of the VM that matches by name and time is not taken for the lost call's: the VM's place decides, and the job is retried")
    func earlierTaskIsDisowned() async throws {
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let victim = inv.vms[0].ref
        // Run 1 moves everything to new-*.
        let there = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll))
        #expect(try await there.run().outcome == .completed)
        // Run 2 moves the victim back to old-0; its first call is dropped before vCenter sees it.
        // With a clock-skew tolerance as large as vCenter's clock may be off, run 1's
        // relocation of the VM matches by operation and time.
        vc.failStarts { method, vm, n in method == "RelocateVM_Task" && vm == victim && n == 2 ? Self.dropped : nil }
        let back = try #require(inv.datastores.first { $0.name == "old-0" }?.ref)
        var config = RunConfiguration()
        config.clockSkewTolerance = 1e7
        let asked = Asked()
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: { _ in [.storageMove(victim, to: [back])] }, onFailure: { job, fault, _ in
            asked.append("\(job.vmName): \(fault)")
            return .skip
        }), configuration: config)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        let job = try #require(summary.jobs.first)
        #expect(job.state == .done, "\(job.lastError ?? "")")
        #expect(job.attempts == 2)
        #expect(vc.currentInventory.vm(victim)?.datastores == [back], "the VM really is back on \(back)")
        #expect(vc.storageMoves[victim] == 2, "once per run")
        #expect(asked.all.isEmpty)
    }

    @Test("lost calls past the retry limit go to the strategy")
    func retriesUsedUp() async throws {
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let victim = inv.vms[2].ref
        vc.failStarts { method, vm, _ in method == "RelocateVM_Task" && vm == victim ? Self.dropped : nil }
        let asked = Asked()
        var config = RunConfiguration()
        config.scheduler.retry.maxAttempts = 3
        let runner = MigrationRunner(vcenter: vc, strategy: Self.strategy(asked: asked), configuration: config)
        let summary = try await runner.run()
        let job = try #require(summary.jobs.first { $0.vm == victim })
        #expect(job.state == .skipped)
        #expect(job.attempts == 3)
        #expect(asked.all.count == 1)
        #expect(asked.all.first?.contains("ConnectionFailed") == true)
    }
}
