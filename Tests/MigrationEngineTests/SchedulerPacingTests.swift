import Foundation
import MigrationEngine
import Testing
import VCenterModel

/// The scheduler's side of `max_concurrent = "auto"` (issue 15.3): storage moves capped per
/// paced group at the pacer's limit, on top of vSphere's limits.
@Suite("Scheduler pacing")
struct SchedulerPacingTests {
    static func inventory(size: ((Int) -> Int64)? = nil) -> Inventory {
        var spec = TestInventory()
        spec.hostsPerCluster = 4
        spec.vmsPerHost = 4
        spec.oldDatastores = 2
        spec.newDatastores = 2
        if let size { spec.size = size }
        return spec.make()
    }

    /// Runs every VM's move under `pacing`; returns the harness and the most copies running at once.
    static func run(_ pacing: AdaptivePacing, size: ((Int) -> Int64)? = nil) throws -> (SchedulerHarness, Int) {
        let inv = Self.inventory(size: size)
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(limits: { _ in LimitOverrides(adaptive: pacing) }))
        var peak = 0
        h.afterStep = { peak = max(peak, $0.scheduler.activeJobs) }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).count == inv.vms.count)
        #expect(h.auditProblems.isEmpty)
        return (h, peak)
    }

    @Test("a declared array runs at most the pacer's limit of copies (4 hosts would allow 8)")
    func arrayCapped() throws {
        // min = max: the harness's copies end with their bytes, which the pacer measures; a
        // cap it cannot leave keeps the limit still.
        let pacing = AdaptivePacing(configuration: AdaptivePacer.Configuration(min: 3, max: 3),
                                    arrays: [.init(pattern: "old-*", name: "old"), .init(pattern: "new-*", name: "new")])
        let (h, peak) = try Self.run(pacing)
        #expect(peak == 3)
        #expect(h.scheduler.pacingLimits == ["old": 3, "new": 3])
        let starts = h.events.compactMap { if case .pacingChanged(let c) = $0.kind { c } else { nil } }
        #expect(Set(starts.map(\.group)) == ["old", "new"] && starts.allSatisfy { $0.reason == .start && $0.to == 3 })
        let text = EventRecord(h.events.first { if case .pacingChanged = $0.kind { true } else { false } }!)
        #expect(text.type == "pacing" && text.message?.contains("start at 3 copies") == true)
    }

    @Test("without declared arrays each datastore is a group of its own, sources and targets")
    func perDatastore() throws {
        let (h, peak) = try Self.run(AdaptivePacing(configuration: AdaptivePacer.Configuration(min: 1, max: 1)))
        // Two sources and two targets, one copy each at once: two copies in all.
        #expect(peak == 2)
        #expect(h.peakStorageMovesPerDatastore.values.allSatisfy { $0 <= 1 })
        #expect(h.scheduler.pacingLimits == ["old-0": 1, "old-1": 1, "new-0": 1, "new-1": 1])
    }

    @Test("copies measured only by their ends still raise the limit, never above max, audit clean")
    func growsToMax() throws {
        // The harness's copies run at a fixed rate each (no array): more copies, more throughput.
        // All of one size: measured by their ends alone, a window's bytes are the copies that
        // happened to end in it, and with sizes of 10–99 GB (a probe's copy the smallest) that
        // is noise of ±70 %.
        let pacing = AdaptivePacing(configuration: AdaptivePacer.Configuration(min: 2, max: 5, window: 120, settle: 0),
                                    arrays: [.init(pattern: "old-*", name: "old"), .init(pattern: "new-*", name: "new")])
        let (h, peak) = try Self.run(pacing, size: { _ in 20_000_000_000 })
        #expect(peak == 5)
        #expect(h.scheduler.pacingLimits == ["old": 5, "new": 5])
    }

    @Test("a group's backlog is the bytes its moves not started yet will copy")
    func backlog() throws {
        let inv = Self.inventory()
        let pacing = AdaptivePacing(configuration: AdaptivePacer.Configuration(min: 2, max: 2),
                                    arrays: [.init(pattern: "old-*", name: "old")])
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(limits: { _ in LimitOverrides(adaptive: pacing) }))
        try h.add(TestInventory.moveAll(inv))
        // Every VM reads from old-* and writes to new-*, a group of its own per datastore; the
        // first two copies started when the jobs were added, the rest wait.
        let waiting = h.scheduler.jobs.filter { $0.state == .pending }
        #expect(waiting.count == inv.vms.count - 2)
        let bytes = waiting.reduce(Int64(0)) { $0 + $1.size }
        #expect(bytes > 0 && h.scheduler.pacingBacklog["old"] == bytes)
        // A target group counts the moves that may land on it: both new datastores, all of them.
        #expect(h.scheduler.pacingBacklog["new-0"] == bytes && h.scheduler.pacingBacklog["new-1"] == bytes)
        #expect(h.run() == .completed)
        #expect(h.scheduler.pacingBacklog == ["old": 0, "new-0": 0, "new-1": 0])
    }

    /// A scheduler under `max_concurrent = "auto"` (start at 2 copies, 10-s windows, no settle)
    /// driven by hand: every start it asks for is taken at once.
    final class Driver {
        let scheduler: Scheduler
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        /// The jobs started, in order.
        private(set) var started: [JobID] = []

        init(_ inv: Inventory) throws {
            let pacing = AdaptivePacing(configuration: AdaptivePacer.Configuration(min: 2, window: 10, settle: 0),
                                        arrays: [.init(pattern: "old-*", name: "old"), .init(pattern: "new-*", name: "new")])
            scheduler = try Scheduler(inventory: inv, strategy: ClosureStrategy(limits: { _ in LimitOverrides(adaptive: pacing) }))
            take(try scheduler.add(TestInventory.moveAll(inv), now: t0), t0)
        }

        func take(_ actions: [SchedulerAction], _ now: Date) {
            for case .start(let id, _, _, _) in actions {
                started.append(id)
                take(scheduler.taskStarted(id, task: MoRef("Task", "task-\(id.rawValue)"), now: now), now)
            }
        }

        /// Second by second up to 30 s, the first two copies report as many percent as seconds
        /// have passed, until a third copy starts; returns that second (nil: none started).
        func progressUntilRaised() -> Int? {
            let first = Array(started.prefix(2))
            for second in 1...30 {
                let now = t0.addingTimeInterval(Double(second))
                for id in first { take(scheduler.taskProgressed(id, percent: second, now: now), now) }
                if started.count > 2 { return second }
            }
            return nil
        }
    }

    @Test("a raised limit starts the waiting copies at once")
    func raiseStartsMore() throws {
        // Copies report progress; with 2 of them copying at a steady rate the first window
        // measures a level and the pacer tries 3 — the third copy starts on that input.
        let d = try Driver(Self.inventory())
        #expect(d.started.count == 2 && d.scheduler.activeJobs == 2)
        let raisedAt = d.progressUntilRaised()
        #expect(raisedAt != nil && raisedAt! >= 10 && raisedAt! <= 12, "raised at \(String(describing: raisedAt))")
        #expect(d.started.count == 3 && d.scheduler.pacingLimits["old"] == 3)
    }

    @Test("the copy a raise adds is the shortest waiting move that lasts a measurement")
    func probeIsShort() throws {
        // As above, with VMs of 10–99 GB: 2 copies at 1 % a second measure (a + b) / 100 bytes
        // a second, a copy's share over the 10-s window (settle 0) is (a + b) / 20 bytes; the
        // third copy is the smallest waiting VM at least that big, not the strategy's next.
        let d = try Driver(Self.inventory())
        let s = d.scheduler
        let share = d.started.reduce(Int64(0)) { $0 + s.job($1).size } / 20
        let waiting = s.jobs.filter { $0.state == .pending }
        let byRank = waiting.min { s.rank(of: $0.id) < s.rank(of: $1.id) }!
        let expected = waiting.filter { $0.size >= share }.min { ($0.size, $0.id.rawValue) < ($1.size, $1.id.rawValue) }!
        #expect(expected.id != byRank.id, "the test needs the strategy's next move to be another one")
        _ = d.progressUntilRaised()
        #expect(d.started.count == 3 && s.pacingLimits["old"] == 3)
        #expect(d.started.last == expected.id, "\(d.started.last.map { s.job($0).size } ?? 0) bytes started, smallest ≥ \(share): \(expected.size)")
    }
}
