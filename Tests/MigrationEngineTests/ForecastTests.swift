import Foundation
import MigrationEngine
import Locking
import Testing
import VCenterModel

/// The ETA re-planned from what the run measures (issue 15.2), on virtual time.
@Suite("Forecast")
struct ForecastTests {
    static let t0 = Date(timeIntervalSince1970: 2_000_000_000)
    static func ds(_ name: String) -> MoRef { MoRef("Datastore", "datastore-\(name)") }
    static func move(_ from: String, _ to: String, bytes: Int64) -> [FileMove] {
        [FileMove(file: .config, label: "config", from: ds(from), to: ds(to), bytes: bytes)]
    }

    // MARK: RateBook

    @Test("rates per pair decay with run time: a sample one half-life old weighs half")
    func decayingSamples() {
        var book = RateBook(halfLife: 600, overhead: 0, assumedRate: 1)
        book.recordStorageMove(Self.move("old0", "new0", bytes: 1_000_000_000), seconds: 10, now: Self.t0)
        #expect(book.rate(from: Self.ds("old0"), to: Self.ds("new0")) == 100_000_000)
        book.recordStorageMove(Self.move("old0", "new0", bytes: 1_000_000_000), seconds: 20, now: Self.t0.addingTimeInterval(600))
        // (0.5 × 1 GB + 1 GB) ÷ (0.5 × 10 s + 20 s) = 60 MB/s; without decay it would be 66.7 MB/s.
        #expect(abs(book.rate(from: Self.ds("old0"), to: Self.ds("new0")) - 60_000_000) < 1)
    }

    @Test("an unmeasured pair takes its slower datastore's rate, then every move's, then the assumed one; setup time is not copy time")
    func fallbacks() {
        var book = RateBook(halfLife: 1800, overhead: 15, assumedRate: 7)
        #expect(book.rate(from: Self.ds("a"), to: Self.ds("b")) == 7)
        book.recordStorageMove(Self.move("a", "b", bytes: 1_000_000_000), seconds: 25, now: Self.t0)  // 10 s of copy
        book.recordStorageMove(Self.move("c", "d", bytes: 1_000_000_000), seconds: 35, now: Self.t0)  // 20 s of copy
        #expect(book.rate(from: Self.ds("a"), to: Self.ds("b")) == 100_000_000)
        #expect(book.rate(from: Self.ds("c"), to: Self.ds("b")) == 50_000_000, "c, the source of the slow pair, is slow with any partner")
        #expect(book.rate(from: Self.ds("a"), to: Self.ds("d")) == 100_000_000, "d was only seen with c: nothing says it is slow")
        #expect(abs(book.rate(from: Self.ds("x"), to: Self.ds("y")) - 2_000_000_000 / 30) < 1, "every move's rate")
    }

    @Test("a datastore's capability is its best pair, not its mean: a slow partner does not make it slow for others")
    func capabilityIsTheBestPair() {
        var book = RateBook(halfLife: 1800, overhead: 0, assumedRate: 1)
        // slow (50 MB/s) → new1, fast → new1 and fast → new2 at 100 MB/s.
        book.recordStorageMove(Self.move("slow", "new1", bytes: 1_000_000_000), seconds: 20, now: Self.t0)
        book.recordStorageMove(Self.move("fast", "new1", bytes: 1_000_000_000), seconds: 10, now: Self.t0)
        book.recordStorageMove(Self.move("fast", "new2", bytes: 1_000_000_000), seconds: 10, now: Self.t0)
        #expect(book.capability(of: Self.ds("new1")) == 100_000_000)
        #expect(book.capability(of: Self.ds("slow")) == 50_000_000)
        // Unmeasured pairs: a fast source to new1 copies at new1's best (the mean, 66.7 MB/s,
        // was what this book answered before); the slow one is slow with any partner.
        #expect(book.rate(from: Self.ds("other"), to: Self.ds("new1")) == 100_000_000)
        #expect(book.rate(from: Self.ds("slow"), to: Self.ds("new2")) == 50_000_000)
        // A pair that slows down lowers its datastores' best too.
        book.recordStorageMove(Self.move("fast", "new2", bytes: 1_000_000_000), seconds: 1000, now: Self.t0)
        #expect(book.capability(of: Self.ds("new2"))! < 5_000_000)
    }

    @Test("which end of a slow pair is slow: the one whose partner did better elsewhere; when neither did, the source")
    func slowEnd() {
        var book = RateBook(halfLife: 1800, overhead: 0, assumedRate: 1)
        func record(_ from: String, _ to: String, seconds: TimeInterval) {
            book.recordStorageMove(Self.move(from, to, bytes: 1_000_000_000), seconds: seconds, now: Self.t0)
        }
        record("legacy1", "new1", seconds: 10)  // 100 MB/s
        record("legacy2", "new3", seconds: 20)  // 50 MB/s: each end seen once, so the source is taken as slow
        #expect(book.isBottleneck(Self.ds("legacy2")) && !book.isBottleneck(Self.ds("new3")))
        #expect(book.rate(from: Self.ds("legacy1"), to: Self.ds("new3")) == 100_000_000, "new3 is not slowed for other sources")
        #expect(book.rate(from: Self.ds("legacy2"), to: Self.ds("new1")) == 50_000_000)
        // A destination that is slow: legacy1 did 100 MB/s with new1, so new4 is the slow end.
        record("legacy1", "new4", seconds: 25)  // 40 MB/s
        #expect(book.isBottleneck(Self.ds("new4")))
        #expect(book.rate(from: Self.ds("legacy1"), to: Self.ds("new2")) == 100_000_000, "legacy1 stays at its best")
        #expect(book.rate(from: Self.ds("legacy3"), to: Self.ds("new4")) == 40_000_000)
        // A later pair settles an early guess: x → y was slow, then x copies fast elsewhere.
        record("x", "y", seconds: 20)
        #expect(book.isBottleneck(Self.ds("x")))
        record("x", "new1", seconds: 10)
        #expect(book.isBottleneck(Self.ds("y")), "x did 100 MB/s with new1: y is the slow end")
        #expect(book.rate(from: Self.ds("x"), to: Self.ds("new2")) == 100_000_000)
        #expect(book.rate(from: Self.ds("legacy1"), to: Self.ds("y")) == 50_000_000)
        // A pair slower than both its ends' other pairs (a busy link) marks neither.
        record("legacy1", "new1b", seconds: 10)
        record("legacy4", "new1b", seconds: 10)
        record("legacy4", "new5", seconds: 10)
        record("legacy1", "new5", seconds: 30)
        #expect(!book.isBottleneck(Self.ds("new5")), "new5 did 100 MB/s with legacy4")
        #expect(book.rate(from: Self.ds("legacy9"), to: Self.ds("new5")) == 100_000_000)
        #expect(book.rate(from: Self.ds("legacy1"), to: Self.ds("new5")) < 34_000_000, "the pair itself keeps its own rate")
    }

    @Test("a running move's progress measures a pair no finished move has measured yet, and only such a pair")
    func progressSamples() {
        var book = RateBook(halfLife: 1800, overhead: 0, assumedRate: 1)
        book.recordStorageMove(Self.move("a", "b", bytes: 1_000_000_000), seconds: 10, now: Self.t0)
        func running(_ from: String, _ to: String) -> Job {
            Job(id: JobID(1), vm: MoRef("VirtualMachine", "vm-1"), vmName: "vm1", cluster: nil, kind: .storageMove(.to([Self.ds(to)])),
                size: 1_000_000_000, state: .running, createdAt: Self.t0, startedAt: Self.t0, moves: Self.move(from, to, bytes: 1_000_000_000))
        }
        let mark = TaskProgressMark(percent: 40, at: Self.t0.addingTimeInterval(40))  // 400 MB in 40 s
        let slow = book.withProgress(of: [(job: running("slow", "b2"), mark: mark)])
        #expect(slow.rate(from: Self.ds("slow"), to: Self.ds("b2")) == 10_000_000)
        #expect(book.rate(from: Self.ds("slow"), to: Self.ds("b2")) != 10_000_000, "the book itself keeps only finished moves")
        let measured = book.withProgress(of: [(job: running("a", "b"), mark: mark)])
        #expect(measured.rate(from: Self.ds("a"), to: Self.ds("b")) == 100_000_000, "a finished move's pair keeps its own rate")
        // What progress shows counts for other pairs too: slow is slow with any partner.
        #expect(slow.capability(of: Self.ds("slow")) == 10_000_000)
        #expect(slow.isBottleneck(Self.ds("slow")))
        #expect(slow.rate(from: Self.ds("slow"), to: Self.ds("b")) == 10_000_000)
    }

    // MARK: ForecastTrigger

    /// `ForecastTrigger.due` is mutating: `#expect` cannot call it in place.
    static func due(_ m: inout ForecastTrigger, _ now: Date) -> Bool { m.due(now: now) }

    @Test("when to forecast: at the first sample, never twice within a minute, again after a rate shift, else every refresh")
    func trigger() {
        var m = ForecastTrigger(minimumInterval: 60, refreshInterval: 600, shiftThreshold: 0.25)
        let key = RateBook.Key.pair(RateBook.Pair(from: Self.ds("a"), to: Self.ds("b")))
        let due1 = Self.due(&m, Self.t0)
        #expect(!due1, "nothing measured yet")
        m.sampled(key, rate: 100)
        let due2 = Self.due(&m, Self.t0)
        #expect(due2)
        let due3 = Self.due(&m, Self.t0.addingTimeInterval(1))
        #expect(!due3, "one is being computed")
        m.finished()
        m.sampled(key, rate: 200)  // +100 %: a shift
        let due4 = Self.due(&m, Self.t0.addingTimeInterval(59))
        #expect(!due4, "not within a minute, shift or not")
        let due5 = Self.due(&m, Self.t0.addingTimeInterval(60))
        #expect(due5, "the shift makes it due once the minute has passed")
        m.finished()
        m.sampled(key, rate: 220)  // +10 % of what the last forecast saw: no shift
        let due6 = Self.due(&m, Self.t0.addingTimeInterval(200))
        #expect(!due6)
        let due7 = Self.due(&m, Self.t0.addingTimeInterval(659))
        #expect(!due7)
        let due8 = Self.due(&m, Self.t0.addingTimeInterval(660))
        #expect(due8, "the periodic refresh")
        m.finished()
        m.sampled(RateBook.Key.host(MoRef("HostSystem", "h")), rate: 5)  // a rate measured for the first time
        let due9 = Self.due(&m, Self.t0.addingTimeInterval(720))
        #expect(due9)
    }

    // MARK: The simulation

    /// One host (two Storage vMotions at a time), VMs 0–3 of 10, 10, 20, 5 GB; VM i moves
    /// from old-(i % 2) to new-(i % 2).
    static func scheduler() throws -> (Scheduler, Inventory) {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 4
        spec.size = { [10, 10, 20, 5][$0] * 1_000_000_000 }
        let inv = spec.make()
        var config = SchedulerConfiguration()
        config.predictedOverhead = 0
        let s = try Scheduler(inventory: inv, strategy: ClosureStrategy(), configuration: config)
        s.recordsEvents = false
        let requests = inv.vms.enumerated().map { i, vm in JobRequest.storageMove(vm.ref, to: [Self.ds("new\(i % 2)")]) }
        for case .start(let id, _, _, _) in try s.add(requests, now: t0) {
            _ = s.taskStarted(id, task: MoRef("Task", "task-\(id.rawValue)"), now: t0)
        }
        return (s, inv)
    }

    static func measuredRates() -> RateBook {
        var book = RateBook(halfLife: 1800, overhead: 0, assumedRate: 1)
        book.recordStorageMove(move("old0", "new0", bytes: 1_000_000_000), seconds: 10, now: t0)  // 100 MB/s
        book.recordStorageMove(move("old1", "new1", bytes: 1_000_000_000), seconds: 20, now: t0)  // 50 MB/s
        return book
    }

    @Test("two pairs at different measured rates: the predicted end is the hand computation's")
    func twoPairs() throws {
        let (s, _) = try Self.scheduler()
        // Largest first, two at a time: vm2 (20 GB at 100 MB/s, 0–200 s) and vm0 (10 GB, 0–100 s) run;
        // vm1 (10 GB at 50 MB/s) follows vm0 (100–300 s), vm3 (5 GB at 50 MB/s) follows vm2 (200–300 s).
        #expect(s.jobs.filter { $0.state == .running }.map(\.vmName).sorted() == ["vm0", "vm2"])
        let now = Self.t0.addingTimeInterval(50)
        let f = try #require(ForecastSimulation.run(s.forecastInput(rates: Self.measuredRates(), now: now)))
        #expect(f.madeAt == now)
        #expect(f.jobs == 4)
        #expect(f.complete)
        #expect(abs(f.end.timeIntervalSince(Self.t0) - 300) < 1e-6, "ends \(f.end.timeIntervalSince(Self.t0)) s after the start")
        #expect(abs((f.clusters[MoRef("ClusterComputeResource", "domain-c0")] ?? .distantPast).timeIntervalSince(Self.t0) - 300) < 1e-6)
        // The live scheduler is untouched.
        #expect(s.jobs.filter { $0.state == .running }.count == 2 && s.pendingJobs == 2)
    }

    @Test("a vCenter cap above what --max-concurrent may ask (a configuration's own) is the forecast's cap too")
    func largeVCenterCap() throws {
        let inv = TestInventory().make()
        var config = SchedulerConfiguration()
        config.limits.vcenterMaxJobs = 5000
        let s = try Scheduler(inventory: inv, strategy: ClosureStrategy(), configuration: config)
        _ = try s.add(TestInventory.moveAll(inv), now: Self.t0)
        let f = ForecastSimulation.run(s.forecastInput(rates: RateBook(), now: Self.t0))
        #expect(f?.complete == true)
        #expect(f?.jobs == inv.vms.count)
    }

    @Test("a job never ranked (skipped when it was created) does not stop the forecast")
    func unrankedJob() throws {
        let (s, _) = try Self.scheduler()
        var input = s.forecastInput(rates: Self.measuredRates(), now: Self.t0.addingTimeInterval(50))
        // What the scheduler keeps for a job skipped at creation (`cannotMove`): no rank.
        input.ranks[3] = .max
        let f = try #require(ForecastSimulation.run(input))
        #expect(f.complete)
    }

    @Test("a running task's own progress decides what is left of it")
    func runningTaskProgress() throws {
        let (s, _) = try Self.scheduler()
        let now = Self.t0.addingTimeInterval(50)
        // vm2 reports 80 % after 50 s: 12.5 s left, not the 150 s its rate predicts. Then vm1
        // (next in rank) runs 62.5–262.5 s and vm3 follows vm0 at 100 s, to 200 s.
        let vm2 = try #require(s.jobs.first { $0.vmName == "vm2" })
        let marks = [vm2.id: TaskProgressMark(percent: 80, at: now)]
        let f = try #require(ForecastSimulation.run(s.forecastInput(rates: Self.measuredRates(), progress: marks, now: now)))
        // A report 20 s old: 40 % after 30 s leaves 45 s from then, 25 s from now.
        let stale = [vm2.id: TaskProgressMark(percent: 40, at: now.addingTimeInterval(-20))]
        let g = try #require(ForecastSimulation.run(s.forecastInput(rates: Self.measuredRates(), progress: stale, now: now)))
        // vm2 ends at 75 s, vm1 runs 75–275 s; vm3 follows vm0 (100–200 s).
        #expect(abs(g.end.timeIntervalSince(Self.t0) - 275) < 1e-6, "ends \(g.end.timeIntervalSince(Self.t0)) s after the start")
        #expect(abs(f.end.timeIntervalSince(Self.t0) - 262.5) < 1e-6, "ends \(f.end.timeIntervalSince(Self.t0)) s after the start")
    }

    @Test("in a run, the forecast made after the first task ends predicts the actual end; each is an event")
    func runnerForecasts() async throws {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 6
        let inv = spec.make()
        // The fake copies at 100 MB/s with no setup; the plan's rate says 10 MB/s.
        let vc = FakeVCenter(inventory: inv)
        var config = RunConfiguration()
        config.scheduler.predictedOverhead = 0
        config.scheduler.predictedRate = 10_000_000
        config.forecast = ForecastTrigger()
        let forecasts = Locked<[RunForecast]>([])
        let tracker = ProgressTracker()
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), configuration: config,
                                     onEvent: { event in
            tracker.record(event)
            if case .forecast(let f) = event.kind { forecasts.withLock { $0.append(f) } }
        })
        let summary = try await runner.run()
        let made = forecasts.withLock { $0 }
        #expect(!made.isEmpty)
        for (a, b) in zip(made, made.dropFirst()) { #expect(b.madeAt.timeIntervalSince(a.madeAt) >= 60, "at most once a minute") }
        for f in made {
            #expect(abs(f.end.timeIntervalSince(summary.endedAt)) < 1e-3, "forecast at \(f.madeAt): \(f.end) vs \(summary.endedAt)")
            #expect(f.clusters.count <= 2)
        }
        #expect(tracker.snapshot().forecast == made.last)
    }

    // MARK: What is shown

    @Test("the tracker shows the forecast's ETA once there is one, the rate's before (labelled), per cluster too")
    func trackerShowsForecast() {
        let tracker = ProgressTracker(rateWindow: 600)
        let cluster = MoRef("ClusterComputeResource", "c1")
        func job(_ id: Int, _ state: JobState) -> Job {
            Job(id: JobID(id), vm: MoRef("VirtualMachine", "vm-\(id)"), vmName: "vm\(id)", cluster: cluster,
                kind: .storageMove(.to([Self.ds("d")])), size: 100_000_000_000, state: state, attempts: 1, createdAt: Self.t0)
        }
        tracker.record(EngineEvent(time: Self.t0, kind: .runStarted(RunStart(jobs: 2, bytes: 0, resumed: false, names: [cluster: "prod"]))))
        tracker.record(EngineEvent(time: Self.t0, kind: .jobAdded(job(0, .running))))
        tracker.record(EngineEvent(time: Self.t0, kind: .jobAdded(job(1, .pending))))
        tracker.record(EngineEvent(time: Self.t0.addingTimeInterval(500), kind: .jobChanged(job(0, .done), from: .running)))
        let before = tracker.snapshot(at: Self.t0.addingTimeInterval(500))
        #expect(before.overall.etaSource == .rate)
        #expect(before.overall.eta.map { abs($0 - 500) < 0.01 } == true, "100 GB left at 200 MB/s")
        #expect(ProgressRenderer(width: 200).logLine(before).contains("(rate)"))

        let end = Self.t0.addingTimeInterval(2000)
        tracker.record(EngineEvent(time: Self.t0.addingTimeInterval(500), kind: .forecast(RunForecast(
            madeAt: Self.t0.addingTimeInterval(500), end: end, clusters: [cluster: end], jobs: 1))))
        let after = tracker.snapshot(at: Self.t0.addingTimeInterval(600))
        #expect(after.overall.etaSource == .forecast)
        #expect(after.overall.eta == 1400)
        #expect(after.overall.predictedEnd == end)
        #expect(after.overall.rateEta != nil)
        #expect(after.clusters.first?.totals.predictedEnd == end)
        #expect(after.clusters.first?.totals.etaSource == .forecast)
        #expect(!ProgressRenderer(width: 200).logLine(after).contains("(rate)"))
        let json = RunStatus(strategy: "s", vcenter: "vc", phase: .dispatching, progress: after, source: "process").json()
        #expect(json.contains("\"etaSource\":\"forecast\""))
        #expect(json.contains("\"forecastMadeAt\""))
    }

    @Test("a forecast goes through the journal: `moonmotion status` reads the latest one")
    func journaledForecast() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        var spec = TestInventory()
        spec.vmsPerHost = 6
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        var config = RunConfiguration()
        config.scheduler.predictedOverhead = 0
        config.forecast = ForecastTrigger()
        let last = Locked<RunForecast?>(nil)
        let journal = try Journal(path: path)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), configuration: config,
                                     journal: journal, onEvent: { event in
            if case .forecast(let f) = event.kind { last.withLock { $0 = f } }
        })
        _ = try await runner.run()
        let expected = try #require(last.withLock { $0 })
        let status = try RunStatus.read(journalAt: path)
        let read = try #require(status.progress.forecast)
        // ISO 8601 with milliseconds in the journal.
        #expect(abs(read.end.timeIntervalSince(expected.end)) < 0.001)
        #expect(abs(read.madeAt.timeIntervalSince(expected.madeAt)) < 0.001)
        #expect(read.clusters.keys.sorted { $0.value < $1.value } == expected.clusters.keys.sorted { $0.value < $1.value })
        #expect(read.jobs == expected.jobs)
    }
}
