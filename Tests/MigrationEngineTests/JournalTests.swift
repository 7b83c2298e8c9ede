import Foundation
import GRDB
import MigrationEngine
import Locking
import Testing
import VCenterModel

/// Where a simulated kill -9 hits, relative to the n-th journaled step of a kind.
enum CrashPoint: String, CaseIterable, Sendable {
    /// The intent of a call is on disk; the call is never made.
    case afterIntent
    /// The call was made; its task reference never reached the disk.
    case beforeRef
    /// The task reference is on disk.
    case afterRef
    /// A task ended; its end never reached the disk.
    case beforeDone
    /// A task's end is on disk.
    case afterDone

    func rule(nth: Int) -> @Sendable (JournalBatch) -> JournalCrash? {
        let seen = Locked(0)
        return { batch in
            let matches: Bool
            switch self {
            case .afterIntent: matches = !batch.intents.isEmpty
            case .beforeRef, .afterRef: matches = !batch.taskRefs.isEmpty
            case .beforeDone, .afterDone: matches = batch.jobs.values.contains { $0.state == .done && $0.attempts > 0 }
            }
            guard matches else { return nil }
            let n = seen.withLock { $0 += 1; return $0 }
            guard n == nth else { return nil }
            switch self {
            case .afterIntent, .afterRef, .afterDone: return .afterWrite
            case .beforeRef, .beforeDone: return .beforeWrite
            }
        }
    }
}

func temporaryJournalPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("mm-engine-\(UUID().uuidString).journal").path
}

func removeJournal(_ path: String) {
    for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

@Suite("Journal")
struct JournalTests {
    static func inventory() -> Inventory {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 5
        spec.newDatastores = 2
        return spec.make()
    }

    static func config(resume: Bool) -> RunConfiguration {
        var c = RunConfiguration()
        c.resume = resume
        c.strategyName = "test-strategy"
        c.parameters = ["from": "old-*", "to": "new-*"]
        return c
    }

    @Test("a run is journaled: the run, every job with its task, the event log")
    func journaledRun() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let journal = try Journal(path: path)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                     configuration: Self.config(resume: false), journal: journal)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        let run = try #require(try journal.latestRun())
        #expect(run.state == "completed")
        #expect(run.strategy == "test-strategy")
        #expect(run.parameters == ["from": "old-*", "to": "new-*"])
        let jobs = try journal.jobs(of: run.id)
        #expect(jobs.count == inv.vms.count)
        for j in jobs {
            #expect(j.job.state == .done)
            #expect(j.job.taskRef != nil)
            #expect(j.intentOperation == "RelocateVM_Task")
            #expect(j.intentAttempt == 1)
            #expect(j.job.target.map { TestInventory.newDatastores(inv).contains($0) } == true)
        }
        #expect(Set(jobs.map(\.rank)).count == jobs.count)
        let refs = try journal.taskRefs(of: run.id)
        #expect(refs.values.map(\.count).reduce(0, +) == inv.vms.count)
        let events = try journal.events(of: run.id)
        #expect(events.first?.type == "run-started")
        #expect(events.last?.type == "run-finished")
        #expect(events.filter { $0.type == "job-changed" }.count == 3 * inv.vms.count)
        // Every dispatch's intent was written before its task reference.
        let dispatched = events.firstIndex { $0.type == "job-changed" && $0.detail.contains("\"state\":\"dispatching\"") }!
        let running = events.firstIndex { $0.type == "job-changed" && $0.detail.contains("\"state\":\"running\"") }!
        #expect(dispatched < running)
    }

    @Test("kill -9 at each point, then resume: every VM moved exactly once", arguments: CrashPoint.allCases)
    func crashThenResume(_ point: CrashPoint) async throws {
        for nth in [1, 3] {
            let path = temporaryJournalPath()
            defer { removeJournal(path) }
            let inv = Self.inventory()
            let vc = FakeVCenter(inventory: inv)
            let journal = try Journal(path: path)
            journal.injectCrash(point.rule(nth: nth))
            let first = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                        configuration: Self.config(resume: false), journal: journal)
            let stop = await #expect(throws: EngineError.self) { try await first.run() }
            #expect(stop?.isJournal == true, "\(String(describing: stop))")
            #expect(journal.hasCrashed)

            let reopened = try Journal(path: path)
            let seen = Locked<[EngineEvent]>([])
            let second = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                         configuration: Self.config(resume: true), journal: reopened,
                                         onEvent: { event in seen.withLock { $0.append(event) } })
            let summary = try await second.run()
            #expect(summary.outcome == .completed, "\(point) #\(nth)")
            // The resumed run's first event is `run-started`, before the jobs its reconciliation
            // changed (a task that ended while nothing ran, a VM found moved).
            let opening = seen.withLock { $0.first }
            if case .runStarted(let start)? = opening?.kind { #expect(start.resumed) } else {
                Issue.record("\(point) #\(nth): the first event is \(String(describing: opening?.kind))")
            }
            #expect(summary.done.count == inv.vms.count, "\(point) #\(nth): \(summary.failed.map(\.lastError))")
            #expect(vc.storageMoves.count == inv.vms.count, "\(point) #\(nth)")
            #expect(vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(point) #\(nth): \(vc.storageMoves)")
            // No call was ever repeated: tasks started before the crash were found and adopted.
            #expect(vc.calls["RelocateVM_Task"] == inv.vms.count, "\(point) #\(nth)")
            if point == .beforeRef {
                #expect((vc.calls["recentTasks"] ?? 0) > 2, "the unrecorded task was searched for among the VM's recent tasks")
            }
            let run = try #require(try reopened.latestRun())
            #expect(run.state == "completed")
            #expect(try reopened.jobs(of: run.id).allSatisfy { $0.job.state == .done })
        }
    }

    @Test("repeated crashes at varied instants, resumed each time: every VM moved exactly once")
    func repeatedCrashes() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        var spec = TestInventory()
        spec.clusters = 3
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 6
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        var crashes = 0
        var outcome: RunOutcome?
        for round in 0..<12 {
            let journal = try Journal(path: path)
            if round < 8 {
                let nth = 2 + (round * 5) % 7
                let mode: JournalCrash = round % 2 == 0 ? .beforeWrite : .afterWrite
                let seen = Locked(0)
                journal.injectCrash { batch in
                    guard !batch.intents.isEmpty || !batch.taskRefs.isEmpty || !batch.jobs.isEmpty else { return nil }
                    let n = seen.withLock { $0 += 1; return $0 }
                    return n == nth ? mode : nil
                }
            }
            let started = try journal.latestRun() != nil
            let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                         configuration: Self.config(resume: started), journal: journal)
            do {
                outcome = try await runner.run().outcome
                break
            } catch {
                crashes += 1
            }
        }
        #expect(outcome == .completed)
        #expect(crashes == 8)
        #expect(vc.storageMoves.count == inv.vms.count)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(vc.storageMoves.filter { $0.value != 1 })")
    }

    @Test("an abandoned run's tasks are re-attached by reference on resume")
    func abandonThenResume() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let holder = Locked<MigrationRunner?>(nil)
        let abandoning = ClosureStrategy(select: TestInventory.moveAll, onDone: { _ in holder.withLock { $0 }?.requestStop(graceful: false) })
        let first = MigrationRunner(vcenter: vc, strategy: abandoning, configuration: Self.config(resume: false), journal: try Journal(path: path))
        holder.withLock { $0 = first }
        let s1 = try await first.run()
        #expect(s1.outcome == .abandoned)
        #expect(!s1.leftRunning.isEmpty)
        let journal = try Journal(path: path)
        #expect(try journal.latestRun()?.state == "abandoned")
        #expect(try journal.jobs(of: 1).filter { $0.job.state == .running }.count == s1.leftRunning.count)

        let second = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                     configuration: Self.config(resume: true), journal: journal)
        let s2 = try await second.run()
        #expect(s2.outcome == .completed)
        #expect(s2.done.count == inv.vms.count)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 })
        // Re-attached by reference: one task lookup per task left running, no search among recent tasks by VM.
        #expect(vc.calls["task"] == s1.leftRunning.count)
        #expect(vc.calls["RelocateVM_Task"] == inv.vms.count)
    }

    @Test("--resume on a journal holding no run is refused and changes nothing; without --resume an unfinished run is refused")
    func resumeEdges() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        let fresh = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                    configuration: Self.config(resume: true), journal: try Journal(path: path))
        do {
            _ = try await fresh.run()
            Issue.record("--resume on an empty journal must be refused")
        } catch let error as EngineError {
            #expect(error.description.contains("holds no run to continue; start one without --resume"), "\(error)")
        }
        #expect(vc.storageMoves.isEmpty && (vc.calls["RelocateVM_Task"] ?? 0) == 0)
        #expect(try Journal(path: path, access: .read).latestRun() == nil)

        let path2 = temporaryJournalPath()
        defer { removeJournal(path2) }
        let vc2 = FakeVCenter(inventory: inv)
        let journal = try Journal(path: path2)
        journal.injectCrash(CrashPoint.afterRef.rule(nth: 2))
        let crashing = MigrationRunner(vcenter: vc2, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                       configuration: Self.config(resume: false), journal: journal)
        let stop = await #expect(throws: EngineError.self) { try await crashing.run() }
        #expect(stop?.isJournal == true, "\(String(describing: stop))")
        let again = MigrationRunner(vcenter: vc2, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                    configuration: Self.config(resume: false), journal: try Journal(path: path2))
        do {
            _ = try await again.run()
            Issue.record("a new run over an unfinished one must be refused")
        } catch let error as EngineError {
            #expect(error.description.contains("--resume"))
        }
    }

    /// Where a crash hits a pro-active vMotion.
    enum ProactiveCrash: String, CaseIterable, Sendable {
        /// The vMotion was decided (pending, waiting for its first claim on the full host).
        case pending
        /// Its intent is on disk; the call is never made.
        case afterIntent
        /// The call was made; its task reference never reached the disk.
        case beforeRef
        /// Its task reference is on disk (the vMotion is running, the destination's room kept).
        case running

        func rule() -> @Sendable (JournalBatch) -> JournalCrash? {
            let fired = Locked(false)
            return { batch in
                let proactive = batch.jobs.values.filter(\.isProactive)
                let hit: JournalCrash?
                switch self {
                case .pending: hit = proactive.contains { $0.state == .pending } ? .afterWrite : nil
                case .afterIntent: hit = proactive.contains { $0.state == .dispatching } && !batch.intents.isEmpty ? .afterWrite : nil
                case .beforeRef: hit = batch.taskRefs.contains { ref in proactive.contains { $0.id == ref.job } } ? .beforeWrite : nil
                case .running: hit = batch.taskRefs.contains { ref in proactive.contains { $0.id == ref.job } } ? .afterWrite : nil
                }
                guard let hit else { return nil }
                return fired.withLock { done in
                    if done { return nil }
                    done = true
                    return hit
                }
            }
        }
    }

    @Test("kill -9 while a pro-active vMotion is pending, dispatching or running, then resume: each VM's storage moves once, after at most one vMotion, within the limits",
          arguments: ProactiveCrash.allCases)
    func crashDuringProactive(_ point: ProactiveCrash) async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = TestInventory.concentrated(hosts: 4, onFirst: 8, elsewhere: 0)
        let vc = FakeVCenter(inventory: inv)
        func strategy() -> ClosureStrategy {
            ClosureStrategy(select: TestInventory.moveAll, limits: { _ in LimitOverrides(storageMovesPerHost: 2) },
                            onBlocked: { _, _ in .vmotion })
        }
        let journal = try Journal(path: path)
        journal.injectCrash(point.rule())
        let first = MigrationRunner(vcenter: vc, strategy: strategy(), configuration: Self.config(resume: false), journal: journal)
        let stop = await #expect(throws: EngineError.self) { try await first.run() }
        #expect(stop?.isJournal == true, "\(String(describing: stop))")
        #expect(journal.hasCrashed)
        let before = try journal.jobs(of: 1).filter(\.job.isProactive)
        #expect(!before.isEmpty)

        let reopened = try Journal(path: path)
        let second = MigrationRunner(vcenter: vc, strategy: strategy(), configuration: Self.config(resume: true), journal: reopened)
        let summary = try await second.run()
        #expect(summary.outcome == .completed, "\(point)")
        #expect(summary.jobs.filter { !$0.isProactive }.allSatisfy { $0.state == .done }, "\(point): \(summary.failed.map(\.lastError))")
        #expect(vc.storageMoves.count == inv.vms.count && vc.storageMoves.values.allSatisfy { $0 == 1 }, "\(point): \(vc.storageMoves)")
        #expect(vc.hostMoves.values.allSatisfy { $0 == 1 }, "\(point): \(vc.hostMoves)")
        #expect(vc.peakCost.filter { $0.key.type == "HostSystem" }.values.allSatisfy { $0 <= 8 }, "\(point): \(vc.peakCost)")
        #expect(summary.peakUsage.allSatisfy { $0.peakOwn <= $0.capacity })
        // The vMotion the crash interrupted was carried through, not dropped; no storage move got a second one.
        let interrupted = try #require(before.map(\.job).first { $0.state == (point == .pending ? .pending : point == .running ? .running : .dispatching) })
        #expect(summary.jobs[interrupted.id.rawValue].state == .done, "\(point): \(summary.jobs[interrupted.id.rawValue])")
        var perParent: [JobID: Int] = [:]
        for v in summary.proactiveVMotions { perParent[v.parent!, default: 0] += 1 }
        #expect(perParent.values.allSatisfy { $0 == 1 })
        for v in summary.proactiveVMotions where v.state == .done {
            let parent = summary.jobs[v.parent!.rawValue]
            #expect(parent.sourceHost == v.kind.destinationHost)
        }
        // Nothing was called twice: the task started just before the crash was found and adopted.
        #expect(vc.calls["RelocateVM_Task"] == inv.vms.count + vc.hostMoves.count, "\(point): \(vc.calls)")
    }

    @Test("every job kind survives the journal")
    func kindsRoundTrip() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        let inv = spec.make()
        let vms = inv.vms.map(\.ref)
        let news = TestInventory.newDatastores(inv)
        let requests: [JobRequest] = [
            .storageMove(vms[0], to: news, label: "a label"),
            .hostMove(vms[1], to: inv.hosts[1].ref, method: .migrate),
            JobRequest(vm: vms[2], kind: .storageAndHostMove(.to([news[1]]), host: inv.hosts[1].ref, pool: MoRef("ResourcePool", "resgroup-9"))),
            JobRequest(vm: vms[3], kind: .consolidate),
            JobRequest(vm: vms[4], kind: .removeSnapshot(.named("before upgrade"), removeChildren: true, consolidate: false)),
            JobRequest(vm: vms[5], kind: .custom(CustomTask(method: "UpgradeVM_Task", arguments: [
                .init("version", .string("vmx-19")),
                .init("spec", .object(type: "Spec", fields: [.init("n", .int(3)), .init("on", .bool(true)), .init("r", .moRef(news[0]))])),
                .init("list", .array([.double(1.5), .null])),
            ], cost: DeclaredCost(host: 1, datastore: 2, network: 0)))),
        ]
        let vc = FakeVCenter(inventory: inv)
        let journal = try Journal(path: path)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: { _ in requests }), journal: journal)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        let saved = try journal.jobs(of: 1)
        #expect(saved.map(\.job.kind) == requests.map(\.kind))
        #expect(saved[0].job.label == "a label")
        #expect(saved.map(\.job.state) == Array(repeating: .done, count: requests.count))
    }

    // MARK: The journal's vCenter

    /// A run on `vc` killed after its second task reference is on disk, left unfinished in `path`.
    static func interruptedRun(on vc: FakeVCenter, path: String) async throws {
        let journal = try Journal(path: path)
        journal.injectCrash(CrashPoint.afterRef.rule(nth: 2))
        let first = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                    configuration: Self.config(resume: false), journal: journal)
        let stop = await #expect(throws: EngineError.self) { try await first.run() }
        #expect(stop?.isJournal == true, "\(String(describing: stop))")
        #expect(journal.hasCrashed)
    }

    /// Everything the journal holds about its latest run, to compare before and after.
    struct Contents: Equatable {
        var run: JournalRun?
        var jobs: [JournalJob] = []
        var events: [JournalEventRow] = []
        var refs: [JobID: [MoRef]] = [:]
    }

    static func contents(_ path: String) throws -> Contents {
        // Read-only, as `status` reads: an inspection must not take the one-writer lock,
        // which the next writer of the test then found still held (once in ten suite runs,
        // under load: "in use by another moonmotion run (PID <this test>)").
        let journal = try Journal(path: path, access: .read)
        guard let run = try journal.latestRun() else { return Contents() }
        return Contents(run: run, jobs: try journal.jobs(of: run.id), events: try journal.events(of: run.id), refs: try journal.taskRefs(of: run.id))
    }

    @Test("a run records its vCenter's instanceUuid; --resume against another vCenter is refused, names both and changes nothing")
    func resumeOnAnotherVCenterIsRefused() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let a = FakeVCenter(inventory: inv, name: "vCenter 8.0 at https://vc-a/sdk", instanceUuid: "aaaaaaaa-0000-4000-8000-00000000000a")
        // Same inventory, same MoRef ids: only its identity tells it apart.
        let b = FakeVCenter(inventory: inv, name: "vCenter 8.0 at https://vc-b/sdk", instanceUuid: "bbbbbbbb-0000-4000-8000-00000000000b")
        try await Self.interruptedRun(on: a, path: path)
        #expect(try Journal(path: path, access: .read).latestRun()?.vcenterUUID == "aaaaaaaa-0000-4000-8000-00000000000a")
        let before = try Self.contents(path)

        // The refused runner's journal is closed here, not whenever ARC lets the runner go:
        // its one-writer lock would otherwise still be held when the right runner opens it.
        let wrongJournal = try Journal(path: path)
        defer { wrongJournal.close() }
        let wrong = MigrationRunner(vcenter: b, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                    configuration: Self.config(resume: true), journal: wrongJournal)
        do {
            _ = try await wrong.run()
            Issue.record("resuming A's run on B must be refused")
        } catch let error as EngineError {
            let text = error.description
            #expect(!text.contains("\n"), "one line: \(text)")
            for part in ["https://vc-a/sdk", "aaaaaaaa-0000-4000-8000-00000000000a", "https://vc-b/sdk",
                         "bbbbbbbb-0000-4000-8000-00000000000b", "another journal file"] {
                #expect(text.contains(part), "\(part) missing from: \(text)")
            }
        }
        wrongJournal.close()
        #expect(b.totalCalls == 0, "nothing was asked of B: \(b.calls)")
        #expect(try Self.contents(path) == before, "the journal is untouched")
        #expect(try Journal(path: path, access: .read).latestRun()?.state == "running")

        // On A it continues, and every VM moves once.
        let right = MigrationRunner(vcenter: a, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                    configuration: Self.config(resume: true), journal: try Journal(path: path))
        let summary = try await right.run()
        #expect(summary.outcome == .completed)
        #expect(a.storageMoves.count == inv.vms.count && a.storageMoves.values.allSatisfy { $0 == 1 })
    }

    @Test("one writer per journal: a second writer is refused at once naming the holder; a dead holder's lock never blocks")
    func oneWriter() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let first = try Journal(path: path)
        let runID = try first.beginRun(strategy: "s", parameters: [:], vcenter: "vc", at: Date())
        do {
            _ = try Journal(path: path)
            Issue.record("a second writer must be refused")
        } catch let error as JournalError {
            let text = error.description
            #expect(text.contains("is in use by another moonmotion run (PID \(getpid()) on "), "\(text)")
            #expect(text.contains("since ") && text.contains("nothing was changed"), "\(text)")
        }
        // Readers are welcome while it runs.
        #expect(try Journal(path: path, access: .read).latestRun()?.id == runID)
        // The holder dies (its lock goes with it): the next writer gets in.
        first.injectCrash { _ in .beforeWrite }
        _ = try? first.write(JournalBatch(), run: runID)
        #expect(first.hasCrashed)
        let second = try Journal(path: path)
        #expect(try second.latestRun()?.id == runID)
        second.close()
        _ = try Journal(path: path)
    }

    @Test("a journal from a newer Moonmotion is refused; a file that is not a journal says so; read-only needs the file")
    func refusedJournals() throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        do {
            let journal = try Journal(path: path)
            _ = try journal.beginRun(strategy: "s", parameters: [:], vcenter: "vc", at: Date())
            journal.close()
        }
        let newer = try DatabaseQueue(path: path)
        try newer.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')") }
        try newer.close()
        for access in [Journal.Access.write, .read] {
            do {
                _ = try Journal(path: path, access: access)
                Issue.record("a newer journal must be refused")
            } catch let error as JournalError {
                #expect(error.description.contains("was written by a newer Moonmotion (it has v9-from-the-future"), "\(error)")
            }
        }
        let garbage = temporaryJournalPath()
        defer { removeJournal(garbage) }
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: garbage))
        do {
            _ = try Journal(path: garbage)
            Issue.record("a file that is not a journal must be refused")
        } catch let error as JournalError {
            #expect(error.description.contains("is not a Moonmotion journal (not an SQLite database)"), "\(error)")
            #expect(!error.description.contains("permission"), "\(error)")
        }
        let missing = temporaryJournalPath()
        #expect(throws: JournalError.self) { _ = try Journal(path: missing, access: .read) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("resuming with another strategy file or other parameters warns and goes on")
    func resumeWithOtherStrategyWarns() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        try await Self.interruptedRun(on: vc, path: path)
        var config = Self.config(resume: true)
        config.strategyName = "other-strategy"
        config.parameters = ["from": "old-*", "to": "newer-*"]
        let warnings = Locked<[String]>([])
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), configuration: config,
                                     journal: try Journal(path: path)) { event in
            if case .warning(let text, nil) = event.kind { warnings.withLock { $0.append(text) } }
        }
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        let seen = warnings.withLock { $0 }
        #expect(seen.count == 2, "\(seen)")
        #expect(seen.contains { $0.contains("strategy other-strategy") && $0.contains("test-strategy") }, "\(seen)")
        #expect(seen.contains { $0.contains("to=newer-*") && $0.contains("to=new-*") }, "\(seen)")
        let events = try Journal(path: path).events(of: 1)
        #expect(events.filter { $0.type == "warning" }.count == 2)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 })
    }

    @Test("a journal written before the vCenter's identity was recorded opens, resumes with a warning, and records it")
    func oldJournalWithoutIdentity() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let inv = Self.inventory()
        let vc = FakeVCenter(inventory: inv)
        try await Self.interruptedRun(on: vc, path: path)
        // Make it what an older Moonmotion wrote: the v1 schema only.
        let old = try DatabaseQueue(path: path)
        try await old.write { db in
            try db.execute(sql: "ALTER TABLE runs DROP COLUMN vcenter_uuid")
            try db.execute(sql: "ALTER TABLE jobs DROP COLUMN moves")
            try db.execute(sql: "ALTER TABLE jobs DROP COLUMN cannot_move")
            try db.execute(sql: "ALTER TABLE jobs DROP COLUMN last_fault")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier <> 'v1'")
        }
        try old.close()

        let journal = try Journal(path: path)
        let run = try #require(try journal.latestRun())
        #expect(run.vcenterUUID == nil)
        #expect(run.strategy == "test-strategy")
        #expect(try journal.jobs(of: run.id).count == inv.vms.count)
        let warnings = Locked<[String]>([])
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll),
                                     configuration: Self.config(resume: true), journal: journal) { event in
            if case .warning(let text, nil) = event.kind { warnings.withLock { $0.append(text) } }
        }
        #expect(try await runner.run().outcome == .completed)
        #expect(warnings.withLock { $0 }.contains { $0.contains("without its vCenter's identity") })
        #expect(try journal.latestRun()?.vcenterUUID == vc.instanceUuid)
        #expect(vc.storageMoves.values.allSatisfy { $0 == 1 })
    }
}
