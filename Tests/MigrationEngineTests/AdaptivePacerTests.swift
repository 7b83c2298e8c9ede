import Foundation
import MigrationEngine
import Testing

/// The adaptive pacer's rules (issue 15.3) on virtual time, against a fluid model of one
/// storage array: n copies share C(n) = B × max(0.2, 1 − loss × max(0, n − knee)) MB/s, each
/// at most r MB/s. The model runs as many copies as the pacer allows (endless work unless
/// `work` says otherwise) and, like vCenter, reports progress in whole percents.
@Suite("Adaptive pacer")
struct AdaptivePacerTests {
    static let mb = 1_048_576.0

    /// The array and the copies on it.
    struct Model {
        var bandwidth: Double = .infinity
        var rate: Double = 50
        var knee = 0
        var loss = 0.0
        /// Bytes of each copy.
        var size: Double = 10 * 1_073_741_824
        /// Copies available in all (nil: endless).
        var work: Int?
        /// Percent between two progress reports.
        var step: Double = 1
        /// Bytes of work waiting, told to the pacer whenever it asks (nil: never told).
        var backlog: Int64?

        func throughput(_ n: Int) -> Double {
            guard n > 0 else { return 0 }
            var c = bandwidth
            if knee > 0, n > knee { c *= max(0.2, 1 - loss * Double(n - knee)) }
            return min(Double(n) * rate, c) * AdaptivePacerTests.mb
        }
    }

    /// Runs the model for `seconds` in 1 s steps; returns the pacer and every change.
    static func run(_ model: Model, _ configuration: AdaptivePacer.Configuration, seconds: Int, group: String = "array",
                    limits: inout [Int]) -> (AdaptivePacer, [AdaptivePacer.Change]) {
        var pacer = AdaptivePacer()
        pacer.addGroup(group, configuration)
        var changes: [AdaptivePacer.Change] = []
        var copies: [(id: Int, done: Double)] = []
        var next = 0
        let t0 = Date(timeIntervalSinceReferenceDate: 0)
        for s in 0...seconds {
            let now = t0.addingTimeInterval(Double(s))
            // Start copies up to the limit (the scheduler's job), while work remains.
            while copies.count < pacer.limit(of: group)!, model.work.map({ next < $0 }) ?? true {
                pacer.taskStarted(next, groups: [group], now: now)
                copies.append((next, 0))
                next += 1
            }
            limits.append(pacer.limit(of: group)!)
            // One second of copying at the fair share; whole percents reported, the end exact.
            let each = model.throughput(copies.count) / Double(max(1, copies.count))
            var still: [(id: Int, done: Double)] = []
            let later = now.addingTimeInterval(1)
            for var c in copies {
                let before = (c.done / model.size * 100 / model.step).rounded(.down) * model.step
                c.done = min(model.size, c.done + each)
                if c.done >= model.size {
                    pacer.taskEnded(c.id, bytes: Int64(model.size), now: later)
                } else {
                    let pct = (c.done / model.size * 100 / model.step).rounded(.down) * model.step
                    if pct != before { pacer.progress(c.id, bytes: Int64(pct / 100 * model.size), now: later) }
                    still.append(c)
                }
            }
            copies = still
            if let b = model.backlog, pacer.wantsBacklog(group, now: later) { pacer.setBacklog(group, bytes: b, now: later) }
            pacer.tick(now: later)
            changes += pacer.drainChanges()
        }
        return (pacer, changes)
    }

    static func run(_ model: Model, _ configuration: AdaptivePacer.Configuration, seconds: Int) -> (AdaptivePacer, [AdaptivePacer.Change], [Int]) {
        var limits: [Int] = []
        let (p, c) = run(model, configuration, seconds: seconds, limits: &limits)
        return (p, c, limits)
    }

    static let quick = AdaptivePacer.Configuration(min: 2, max: 16, window: 60, settle: 20, threshold: 0.05, reprobeAfter: 100_000)

    @Test("starts at min, 2 by default, and records the start")
    func startsAtMin() {
        #expect(AdaptivePacer.Configuration().min == 2)
        var pacer = AdaptivePacer()
        pacer.addGroup("a", AdaptivePacer.Configuration(min: 3))
        #expect(pacer.limit(of: "a") == 3)
        #expect(pacer.limit(of: "b") == nil)
        pacer.taskStarted(1, groups: ["a", "b"], now: Date(timeIntervalSinceReferenceDate: 0))
        let changes = pacer.drainChanges()
        #expect(changes.map(\.reason) == [.start])
        #expect(changes.first?.to == 3)
        #expect(changes.first?.summary == "pacing a: start at 3 copies")
    }

    @Test("raises while throughput rises, by two while each copy keeps its rate, never above max")
    func raisesToMax() {
        var c = Self.quick
        c.max = 6
        let (pacer, changes, limits) = Self.run(Model(), c, seconds: 2_000)
        #expect(pacer.limit(of: "array") == 6)
        #expect(limits.max() == 6)
        let raises = changes.filter { if case .rose = $0.reason { true } else { false } }
        // 2 → 3 after the first measurement; 3 copies each still move 50 MB/s: 3 → 5; 7 is
        // above max: 5 → 6.
        #expect(raises.map(\.to) == [3, 5, 6])
        // 2 → 3 copies of 50 MB/s: +50%; each step up is recorded with its gain.
        if case .rose(let g) = raises[1].reason { #expect(abs(g! - 0.5) < 0.05) } else { Issue.record("not a rise") }
        #expect(raises.map { $0.to - $0.from } == [1, 2, 1])
        // A rise, however large (+50 % … +20 %), takes the whole window (settle 20 s + 60 s):
        // its figure is the next level's reference.
        for (before, after) in zip(raises, raises.dropFirst()) {
            #expect(after.time.timeIntervalSince(before.time) >= 80, "\(before.summary) → \(after.summary)")
        }
    }

    @Test("coarse progress (5% steps, about 2 per copy per window) measures each level without a false knee")
    func coarseProgress() {
        // Copies of 10 GiB at 50 MB/s report every 5% (every ~10 s); 60 s windows see about
        // six reports per copy, each copy's last one up to a step old: counting only the
        // reports would be off by up to a step per copy — enough for a false knee.
        var c = Self.quick
        c.max = 8
        c.window = 25
        c.settle = 5
        let (pacer, changes, _) = Self.run(Model(step: 5), c, seconds: 3_000)
        #expect(pacer.limit(of: "array") == 8)
        #expect(changes.allSatisfy { $0.to >= $0.from }, "\(changes.map(\.summary))")
    }

    @Test("backs off by one and holds at the knee (one more copy gained nothing)")
    func kneeHolds() {
        // B = 250, r = 50: 5 copies fill the array. The climb reaches 5 by two (3 copies each
        // at their full rate), 7 does not pay, the level between (6) gains nothing over 5: 5.
        let (pacer, changes, limits) = Self.run(Model(bandwidth: 250), Self.quick, seconds: 3_000)
        #expect(pacer.limit(of: "array") == 5, "\(changes.map(\.summary))")
        #expect(limits.max() == 7)
        let last = changes.last!
        #expect(last.from == 6 && last.to == 5)
        if case .knee(let g) = last.reason { #expect(abs(g) <= 0.05) } else { Issue.record("expected the knee, got \(last.reason)") }
        #expect(last.summary.contains("the knee"))
        // Held: nothing changes after the back-off while re-probing is far away.
        let kneeAt = last.time.timeIntervalSinceReferenceDate
        #expect(limits.suffix(from: Int(kneeAt) + 1).allSatisfy { $0 == 5 })
    }

    @Test("backs off when one more copy lowered throughput (past the knee)")
    func fallsBack() {
        // B = 300, r = 100, knee 3, loss 20%: 2 → 200, 3 → 300, 4 → 240 MB/s.
        let (pacer, changes, _) = Self.run(Model(bandwidth: 300, rate: 100, knee: 3, loss: 0.2), Self.quick, seconds: 3_000)
        #expect(pacer.limit(of: "array") == 3)
        let last = changes.last!
        #expect(last.from == 4 && last.to == 3)
        if case .fell(let g) = last.reason { #expect(g < -0.15 && g > -0.25) } else { Issue.record("expected a fall, got \(last.reason)") }
        // A fall of 20 % shows within half a window: the back-off comes before the window's end.
        let raise = changes.last { $0.to == 4 }!
        let held = last.time.timeIntervalSince(raise.time)
        #expect(held >= 20 + 30 && held < 20 + 60, "settle 20 s, then half of a 60-s window (held \(held) s)")
    }

    @Test("a knee, or a fall of less than twice the threshold, takes the whole window")
    func kneeTakesTheWholeWindow() {
        // B = 300, r = 100, knee 3, loss 8%: 4 copies give 276 MB/s, −8 %: a fall, but not a clear one.
        let (pacer, changes, _) = Self.run(Model(bandwidth: 300, rate: 100, knee: 3, loss: 0.08), Self.quick, seconds: 3_000)
        #expect(pacer.limit(of: "array") == 3)
        let last = changes.last!
        #expect(last.from == 4 && last.to == 3)
        let raise = changes.last { $0.to == 4 }!
        #expect(last.time.timeIntervalSince(raise.time) >= 20 + 60)
    }

    @Test("re-probes after holding, and keeps the knee when the probe does not pay")
    func reprobes() {
        var c = Self.quick
        c.reprobeAfter = 600
        let (pacer, changes, _) = Self.run(Model(bandwidth: 200), c, seconds: 4_000)
        let probes = changes.filter { $0.reason == .reprobe }
        #expect(probes.count >= 2)
        // The climb (2, 3, then 5 by two: 3 copies still each moved 50 MB/s) holds at 5, which
        // fills the array as 4 does; every probe tries 6 and is followed by a back-off to 5.
        #expect(probes.allSatisfy { $0.from == 5 && $0.to == 6 }, "\(changes.map(\.summary))")
        for p in probes {
            let after = changes.first { $0.time > p.time }
            #expect(after?.to == 5)
        }
        // Each probe comes no sooner than reprobeAfter after the back-off before it.
        for p in probes {
            let backOff = changes.last { $0.time < p.time && $0.to < $0.from }
            #expect(backOff.map { p.time.timeIntervalSince($0.time) >= 600 } == true)
        }
        #expect(pacer.limit(of: "array")! <= 6)
    }

    @Test("two more copies that do not pay try the level between; a small gain measured twice is held")
    func smallGainConfirmed() {
        // B = 154.5, r = 50: 3 copies move 150 MB/s (each its full 50, so the climb adds two),
        // 5 copies +3 %: not a rise, the level between is tried; 4 copies +3 % over 3 (within
        // the 5 % threshold) in two windows: held.
        let (pacer, changes, limits) = Self.run(Model(bandwidth: 154.5), Self.quick, seconds: 3_000)
        #expect(pacer.limit(of: "array") == 4, "\(changes.map(\.summary))")
        #expect(limits.max() == 5)
        #expect(changes.contains { $0.from == 3 && $0.to == 5 })
        let between = changes.first { if case .between = $0.reason { true } else { false } }
        #expect(between.map { $0.from == 5 && $0.to == 4 && $0.summary.contains("trying the level between") } == true)
        let held = changes.last!
        #expect(held.from == 4 && held.to == 4)
        if case .knee(let g) = held.reason { #expect(g > 0.01 && g <= 0.05) } else { Issue.record("expected the knee, got \(held.reason)") }
        #expect(held.summary.contains("holds 4"))
        // Two windows at 4: settle and a window, then a second window.
        #expect(held.time.timeIntervalSince(between!.time) >= 20 + 2 * 60)
        // A gain of 0.5 %, within a window's noise, is not confirmed: B = 150.75 holds at 3.
        let (flat, flatChanges, _) = Self.run(Model(bandwidth: 150.75), Self.quick, seconds: 3_000)
        #expect(flat.limit(of: "array") == 3, "\(flatChanges.map(\.summary))")
    }

    @Test("no re-probe while too little work waits for one to pay; one when enough does")
    func reprobeNeedsWork() {
        var c = Self.quick
        c.reprobeAfter = 300
        // 200 MB/s held; a measurement is settle 20 + window 60 = 80 s: four of them, 64,000 MB.
        var little = Model(bandwidth: 200)
        little.backlog = Int64(3 * 80 * 200 * Self.mb)
        let (_, few, _) = Self.run(little, c, seconds: 3_000)
        #expect(!few.contains { $0.reason == .reprobe }, "\(few.map(\.summary))")
        var plenty = Model(bandwidth: 200)
        plenty.backlog = Int64(5 * 80 * 200 * Self.mb)
        let (_, many, _) = Self.run(plenty, c, seconds: 3_000)
        #expect(many.filter { $0.reason == .reprobe }.count >= 2)
    }

    @Test("re-probing finds a bandwidth that grew while holding")
    func reprobeFindsMore() {
        var c = Self.quick
        c.reprobeAfter = 300
        var pacer = AdaptivePacer()
        pacer.addGroup("a", c)
        // Phase 1: B = 200 (knee at 4); phase 2 from t = 2,000: B = 400 (knee at 8).
        var copies: [Int: Double] = [:]
        var next = 0
        let t0 = Date(timeIntervalSinceReferenceDate: 0)
        for s in 0...6_000 {
            let now = t0.addingTimeInterval(Double(s))
            while copies.count < pacer.limit(of: "a")! {
                pacer.taskStarted(next, groups: ["a"], now: now)
                copies[next] = 0
                next += 1
            }
            let b = (s < 2_000 ? 200.0 : 400.0) * Self.mb
            let each = min(b, Double(copies.count) * 50 * Self.mb) / Double(copies.count)
            for id in copies.keys.sorted() {
                copies[id]! += each
                if copies[id]! >= 20e9 {
                    pacer.taskEnded(id, bytes: Int64(copies[id]!), now: now.addingTimeInterval(1))
                    copies[id] = nil
                } else {
                    pacer.progress(id, bytes: Int64(copies[id]!), now: now.addingTimeInterval(1))
                }
            }
            // 4 and 5 copies both fill B = 200 (the climb went 3 → 5 by two).
            if s == 1_999 { #expect((4...5).contains(pacer.limit(of: "a")!)) }
        }
        #expect(pacer.limit(of: "a") == 8)
    }

    @Test("a window where fewer copies ran than the limit changes nothing")
    func unsaturatedHolds() {
        // Only one copy at a time exists (work trickles in): the limit of 2 is never reached.
        var pacer = AdaptivePacer()
        pacer.addGroup("a", Self.quick)
        let t0 = Date(timeIntervalSinceReferenceDate: 0)
        for k in 0..<20 {
            let start = t0.addingTimeInterval(Double(k * 100))
            pacer.taskStarted(k, groups: ["a"], now: start)
            for s in 1...100 {
                pacer.progress(k, bytes: Int64(Double(s) * 50 * Self.mb), now: start.addingTimeInterval(Double(s)))
            }
            pacer.taskEnded(k, bytes: Int64(100 * 50 * Self.mb), now: start.addingTimeInterval(100))
        }
        #expect(pacer.limit(of: "a") == 2)
        #expect(pacer.drainChanges().map(\.reason) == [.start])
    }

    @Test("bytes reported only at the end still count")
    func endBytesCount() {
        // Copies of 1 GiB at 50 MB/s (≈ 20 s) report no progress, only their end: the pacer
        // still sees 2 → 3 copies raise the throughput and goes on.
        var pacer = AdaptivePacer()
        pacer.addGroup("a", Self.quick)
        let t0 = Date(timeIntervalSinceReferenceDate: 0)
        var copies: [Int: Double] = [:]
        var next = 0
        for s in 0...600 {
            let now = t0.addingTimeInterval(Double(s))
            while copies.count < pacer.limit(of: "a")! {
                pacer.taskStarted(next, groups: ["a"], now: now)
                copies[next] = 0
                next += 1
            }
            for id in copies.keys.sorted() {
                copies[id]! += 50 * Self.mb
                if copies[id]! >= 1_073_741_824 {
                    pacer.taskEnded(id, bytes: 1_073_741_824, now: now.addingTimeInterval(1))
                    copies[id] = nil
                }
            }
            pacer.tick(now: now.addingTimeInterval(1))
        }
        #expect(pacer.limit(of: "a")! > 2)
    }

    @Test("groups are paced apart; a copy touching two groups counts in both")
    func groupsApart() {
        var pacer = AdaptivePacer()
        pacer.addGroup("old", Self.quick)
        pacer.addGroup("new", AdaptivePacer.Configuration(min: 5, max: 5, window: 60))
        let t0 = Date(timeIntervalSinceReferenceDate: 0)
        // Two copies old → new, 50 MB/s each, for 10 minutes.
        pacer.taskStarted(1, groups: ["old", "new"], now: t0)
        pacer.taskStarted(2, groups: ["old", "new"], now: t0)
        for s in 1...600 {
            let now = t0.addingTimeInterval(Double(s))
            pacer.progress(1, bytes: Int64(Double(s) * 50 * Self.mb), now: now)
            pacer.progress(2, bytes: Int64(Double(s) * 50 * Self.mb), now: now)
        }
        // "old" ran its limit of 2 and measured a first level: it tries 3. "new" never ran 5.
        #expect(pacer.limit(of: "old") == 3)
        #expect(pacer.limit(of: "new") == 5)
        let changes = pacer.drainChanges()
        #expect(changes.filter { $0.group == "new" }.map(\.reason) == [.start])
        let rise = changes.first { $0.group == "old" && $0.to == 3 }
        #expect(rise?.reason == .rose(gain: nil))
        if let t = rise?.throughput { #expect(abs(t / Self.mb - 100) < 1) }
    }
}
