import Foundation
import MigrationEngine
import Synchronization
import Testing
import VCenterModel

@Suite("RunStatus")
struct RunStatusTests {
    static func inventory() -> Inventory {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 5
        return spec.make()
    }

    /// The figures both views must agree on (task percentages and the running moves' share
    /// of bytes are the process's own: the journal does not record progress).
    struct Figures: Equatable, CustomStringConvertible {
        var totals: [String]
        var running: [String]
        var failures: [String]
        var description: String { "\(totals) running \(running) failures \(failures)" }

        init(_ p: ProgressSnapshot) {
            func t(_ name: String, _ x: ProgressTotals) -> String {
                "\(name): \(x.jobs) jobs \(x.done) done \(x.failed) failed \(x.skipped) skipped \(x.running) running \(x.pending) pending \(x.bytesTotal) B"
            }
            totals = [t("overall", p.overall)] + p.clusters.map { t($0.name, $0.totals) }
            running = p.running.map { "\($0.job.rawValue) \($0.vmName) \($0.route)" }
            // Jobs that ended at the same instant are replayed from the journal in id order,
            // which need not be the order their events came in.
            failures = p.recentFailures.sorted()
        }
    }

    @Test("read from the journal at the end of a run, the status is the running process's: counts, bytes, names, failures")
    func journalAgreesAtTheEnd() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        // Every third VM's task fails for good: failures and their reasons must be listed alike.
        vc.failTasks { vm, _ in
            Int(vm.value.dropFirst(3)).map { $0 % 3 == 0 } == true ? VCenterFault(type: "InvalidArgument", message: "disk is busted by test") : nil
        }
        let tracker = ProgressTracker()
        var configuration = RunConfiguration()
        configuration.strategyName = "wave1.lua"
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                     configuration: configuration, journal: try Journal(path: path)) { tracker.record($0) }
        let summary = try await runner.run()
        #expect(!summary.failed.isEmpty || !summary.skipped.isEmpty, "the test needs failures")

        let status = try RunStatus.read(journalAt: path)
        let live = tracker.snapshot()
        #expect(status.phase == .done)
        #expect(status.strategy == "wave1.lua")
        #expect(status.progress.outcome == .completed)
        #expect(Figures(status.progress) == Figures(live))
        #expect(status.progress.overall.bytesDone == live.overall.bytesDone, "no task runs: every byte is a finished move's")
        #expect(status.progress.clusters.map(\.name) == ["cl0", "cl1"], "names come from the journaled run-started event")
        #expect(status.progress.recentFailures.contains { $0.contains("disk is busted by test") })
        #expect(status.progress.startedAt == live.startedAt)
    }

    @Test("read while the run goes (its process killed after a committed step): the counts and running tasks are the process's")
    func journalAgreesMidRun() async throws {
        for nth in [1, 3, 7] {
            let path = temporaryJournalPath()
            defer { removeJournal(path) }
            let vc = FakeVCenter(inventory: Self.inventory())
            let tracker = ProgressTracker()
            let journal = try Journal(path: path)
            // The process "dies" right after the nth step that ended a move is committed: the
            // tracker has seen exactly what the journal holds.
            journal.injectCrash(CrashPoint.afterDone.rule(nth: nth))
            let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                         configuration: RunConfiguration(), journal: journal) { tracker.record($0) }
            await #expect(throws: EngineError.self) { _ = try await runner.run() }

            let status = try RunStatus.read(journalAt: path)
            let live = tracker.snapshot()
            #expect(status.phase == .dispatching, "this process still holds the journal's writer record and lives")
            #expect(status.progress.outcome == nil)
            #expect(Figures(status.progress) == Figures(live), "after \(nth) ended move(s)")
            #expect(status.progress.overall.done >= nth)
            #expect(status.progress.overall.running > 0)
            #expect(status.progress.running.allSatisfy { $0.percent == nil }, "the journal records no percentages")
        }
    }

    @Test("a journal whose writer is gone reads as interrupted; reading takes no lock and changes nothing")
    func interruptedAndReadOnly() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let journal = try Journal(path: path)
        let run = try journal.beginRun(strategy: "s.lua", parameters: [:], vcenter: "vc.example", at: Date(timeIntervalSince1970: 1_000))
        journal.close()
        // A writer record naming a process of this host that has ended (PID 2^22 + 1 is above
        // Linux's pid_max, so no process has it).
        try "pid=4194305\nhost=\(ProcessInfo.processInfo.hostName)\nsince=x\n".write(toFile: path + ".lock", atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let status = try RunStatus.read(journalAt: path)
        #expect(status.phase == .interrupted)
        #expect(status.progress.overall.jobs == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // Reading took no lock: a writer opens it at once.
        let writer = try Journal(path: path)
        try writer.endRun(run, outcome: .aborted(reason: "the strategy said so"), at: Date(timeIntervalSince1970: 2_000))
        let ended = try RunStatus.read(journalAt: path)
        #expect(ended.phase == .done)
        #expect(ended.progress.outcome == .aborted(reason: "the strategy said so"))
        #expect(ended.progress.now == Date(timeIntervalSince1970: 2_000), "an ended run is shown as of its end")
    }

    @Test("the JSON document round-trips and names every figure; a missing journal is an error, not an empty status")
    func jsonDocument() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let runner = MigrationRunner(vcenter: FakeVCenter(inventory: inv), strategy: ClosureStrategy(select: TestInventory.moveAll),
                                     configuration: RunConfiguration(), journal: try Journal(path: path))
        _ = try await runner.run()
        let status = try RunStatus.read(journalAt: path)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let document = try decoder.decode(RunStatus.Document.self, from: Data(status.json().utf8))
        #expect(document == status.document)
        #expect(document.overall.done == inv.vms.count)
        #expect(document.overall.bytesDone == inv.vms.reduce(0) { $0 + $1.committedBytes })
        #expect(document.overall.fraction == 1)
        #expect(document.phase == .done && document.outcome == "completed")
        #expect(document.source == "journal")
        #expect(document.clusters.map(\.totals.jobs) == [10, 10])
        #expect(throws: JournalError.self) { _ = try RunStatus.read(journalAt: path + ".missing") }
    }
}
