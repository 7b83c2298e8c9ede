import Foundation

/// Pacing by throughput (`max_concurrent = "auto"`) as a synchronous state machine on
/// injected time: it watches the aggregate copy throughput of each group of datastores (a
/// declared array, or one datastore) and answers how many copies the group may run at once.
///
/// Why by measurement: what limits a storage migration is usually the array, not vSphere's
/// costs. An array serves some bandwidth B shared by its copies, each copy at most some r;
/// past a knee more copies only slow each other down (seeks, cache thrashing). Neither B, r
/// nor the knee is known to the engine, and "hosts / 2" is right only by chance.
///
/// The rules, per group:
/// * **Start** at `min` copies.
/// * **Measure** the group's aggregate throughput (bytes copied by all its copies per second)
///   over a `window`, only while the group runs as many copies as its limit (a window where
///   it ran fewer for more than `1 − minSaturation` of the time says nothing about the limit:
///   no work, or another limit bound; it is dropped). Each window starts `settle` seconds
///   after a change, and only once the group runs exactly its limit (after a back-off the
///   extra copy must end first).
/// * **Raise** by one while a level's throughput beats the level below by more than
///   `threshold` (5%): one more copy still buys bandwidth — by two while each copy still moves
///   as much as at the level below (the array is nowhere near full: every level of a one-copy
///   climb costs a settle and a window at a level the array could exceed, 1,900 s of the test
///   vCenter's fast array's 35,000). When two more copies did not pay, the level between is
///   tried against the one below before the pacer holds.
/// * **Back off** by one and **hold** when one more copy did not raise the throughput by more
///   than the threshold (the knee) or lowered it — as soon as half a window shows it lowered
///   by more than twice the threshold (`clearlyFell`): past the knee, waiting costs throughput.
/// * **Confirm** a small gain: when one more copy raised the throughput by no more than the
///   threshold but by more than a fifth of it (`smallGain`), the level is measured once more;
///   it is held if that window beats the level below by as much too (a rise after all if by
///   more than the threshold), else the pacer backs off.
///   A few percent more throughput is a few percent off a migration's makespan (on the test
///   vCenter's fast array 8 copies move 2.9 % more than 7, measured +3 % and +4 %), and two
///   windows that agree are unlikely to be noise.
/// * **Re-probe** after holding `reprobeAfter` seconds: one more copy again, kept only if it
///   pays (the array's load from outside may have changed). The held level's throughput is
///   re-measured while holding, so the probe is compared with a fresh figure. No re-probe
///   when the work waiting for the group (`backlog`) would keep it busy for less than
///   `reprobeMinWork` measurements (settle plus window each): a probe past the knee costs a
///   measurement at the worse level plus the drain of its copy, and pays a few percent of
///   what is left at best — in a run's tail it can only cost.
/// * **Probe short**: while a level is on probation (`probeBytes`), the scheduler fills its
///   extra copy with the shortest waiting move that lasts the measurement. Past the knee the extra copy cannot be taken
///   back — Storage vMotion cannot be paused — so a failed probe costs until some copy ends:
///   on the test vCenter's slow array the first copies run 8,690 s, and the 4th copy the climb
///   started cost more than the window that found it too many.
/// * **Never above** `max` (the strategy's bound); the scheduler's own limits (vSphere's
///   costs) still apply on top, and a group they hold below its limit never fills its
///   windows, so the pacer never raises past what can run.
///
/// Inputs: `taskStarted`, `progress` (bytes a task has copied so far) and `taskEnded`, each
/// with `now`. Outputs: `limit(of:)` and the `Change` records (`drainChanges`).
public struct AdaptivePacer: Sendable {
    /// How a group is paced.
    public struct Configuration: Sendable, Hashable {
        /// Copies at once to start with (at least 1).
        public var min: Int
        /// Never more copies at once than this.
        public var max: Int
        /// Seconds of one throughput measurement.
        public var window: TimeInterval
        /// Seconds after a change before measuring (new copies set up, ended ones drain).
        public var settle: TimeInterval
        /// The relative gain one more copy must bring to be kept (0.05: 5%).
        public var threshold: Double
        /// Seconds held at the knee before one more copy is tried again.
        public var reprobeAfter: TimeInterval
        /// The share of a window the group must run its full limit for the window to count.
        public var minSaturation: Double

        /// Creates a configuration: start at 2, at most 64, 2-minute windows, 30 s settle,
        /// 5% threshold, re-probe every 15 minutes, windows count when saturated 80% of the time.
        public init(min: Int = 2, max: Int = 64, window: TimeInterval = 120, settle: TimeInterval = 30,
                    threshold: Double = 0.05, reprobeAfter: TimeInterval = 900, minSaturation: Double = 0.8) {
            self.min = Swift.max(1, min)
            self.max = Swift.max(self.min, max)
            self.window = window
            self.settle = settle
            self.threshold = threshold
            self.reprobeAfter = reprobeAfter
            self.minSaturation = minSaturation
        }
    }

    /// Why a group's limit changed.
    public enum Reason: Sendable, Hashable {
        /// The group's first copy: it starts at `min`.
        case start
        /// One more copy raised the throughput by `gain` (a fraction) over the level below, or
        /// this is the first level measured (`gain` nil): try one more.
        case rose(gain: Double?)
        /// Two more copies did not pay (`gain` against the level below them): the level between
        /// is tried next.
        case between(gain: Double)
        /// One more copy changed the throughput by only `gain` (within ± threshold): the knee.
        /// `from == to` when the gain held in two windows and the higher level is kept.
        case knee(gain: Double)
        /// One more copy lowered the throughput by `-gain` (more than the threshold): past the knee.
        case fell(gain: Double)
        /// Held long enough at the knee: try one more copy again.
        case reprobe
    }

    /// One change of a group's limit, with the measurements behind it.
    public struct Change: Sendable, Hashable {
        /// The group (an array's name, or a datastore's).
        public var group: String
        /// When it changed.
        public var time: Date
        /// The limit before (0 for `.start`).
        public var from: Int
        /// The limit now.
        public var to: Int
        /// Why.
        public var reason: Reason
        /// The aggregate throughput measured at `from`, bytes per second (nil when none was).
        public var throughput: Double?
        /// The throughput of the level it was compared with, bytes per second.
        public var compared: Double?

        /// One line for the journal and the display: `old-array 4 → 5: +12% (180 → 202 MB/s)`.
        public var summary: String {
            let mbps = { (b: Double) in String(Int((b / 1_048_576).rounded())) }
            let figures = throughput.map { t in compared.map { " (\(mbps($0)) → \(mbps(t)) MB/s)" } ?? " (\(mbps(t)) MB/s)" } ?? ""
            let pct = { (g: Double) in "\(g >= 0 ? "+" : "")\(Int((g * 100).rounded()))%" }
            switch reason {
            case .start: return "pacing \(group): start at \(to) copies"
            case .rose(let g):
                return "pacing \(group) \(from) → \(to): " + (g.map { "\(pct($0)) over the level below" } ?? "first measurement") + figures
            case .knee(let g) where from == to:
                return "pacing \(group) holds \(to): the knee, one more copy gave \(pct(g)) in two windows" + figures
            case .knee(let g): return "pacing \(group) \(from) → \(to): the knee, one more copy gave \(pct(g))" + figures + ", holding"
            case .fell(let g): return "pacing \(group) \(from) → \(to): one more copy lowered throughput \(pct(g))" + figures + ", holding"
            case .between(let g): return "pacing \(group) \(from) → \(to): two more copies gave \(pct(g))" + figures + ", trying the level between"
            case .reprobe: return "pacing \(group) \(from) → \(to): re-probing after holding" + figures
            }
        }
    }

    /// A throughput measured at one level.
    struct Level: Sendable, Hashable {
        var limit: Int
        var throughput: Double
    }

    /// An open measurement window.
    struct Window: Sendable, Hashable {
        var start: Date
        var bytes: Double
        var saturated: TimeInterval = 0
        /// Per copy: its first and last progress sample inside the window.
        var samples: [Int: Span] = [:]
    }

    /// A copy's first and last sample inside a window.
    struct Span: Sendable, Hashable {
        var firstBytes: Int64
        var firstTime: Date
        var lastBytes: Int64
        var lastTime: Date
    }

    /// One group's state.
    struct Group: Sendable {
        var configuration: Configuration
        var limit: Int
        var running = 0
        /// Bytes copied by the group's copies since it was added.
        var copied: Double = 0
        /// When `running` and `limit` last took effect (for the saturation time).
        var lastTime: Date?
        /// No window opens before this (a change's settle time).
        var settleUntil: Date = .distantPast
        var window: Window?
        /// The level the current one is compared with (the one below while raising, the
        /// held one while holding).
        var below: Level?
        /// While holding at the knee: when to re-probe.
        var holdUntil: Date?
        /// While a small gain is confirmed: the level below it, which the next window must beat.
        var confirming: Level?
        /// A level two more copies reached without paying: the climb stops below it.
        var didNotPay: Int?
        /// Bytes of work waiting to start in the group, and when the scheduler last said so
        /// (nil: never said; re-probes are then not bounded by it).
        var backlog: (bytes: Double, time: Date)?
    }

    /// The share of the threshold a gain must pass in two windows for the higher level to be
    /// held at the knee: on a flat array (one more copy gains nothing) the fluid model's windows
    /// read within ±1 % of each other.
    static let smallGain = 0.2

    /// Measurements (settle plus window each) of waiting work below which a held group is not
    /// re-probed.
    static let reprobeMinWork = 4.0

    /// A running task: its groups, the bytes it had copied at its last sample, when that
    /// sample came, its first sample (the rate's baseline) and its rate since then.
    struct Task: Sendable {
        var groups: [String]
        var bytes: Int64
        var sampled: Date
        var first: (bytes: Int64, time: Date)?
        var rate: Double = 0
        var step: Double = 0
    }

    var groups: [String: Group] = [:]
    var tasks: [Int: Task] = [:]
    var changes: [Change] = []
    /// Groups whose `.start` was recorded.
    var started = Set<String>()

    /// An empty pacer; groups come with `addGroup`.
    public init() {}

    /// Declares a group paced with `configuration` (the first declaration wins).
    public mutating func addGroup(_ name: String, _ configuration: Configuration) {
        guard groups[name] == nil else { return }
        groups[name] = Group(configuration: configuration, limit: configuration.min)
    }

    /// Whether `name` is a paced group.
    public func paces(_ name: String) -> Bool { groups[name] != nil }

    /// How many copies `group` may run at once now (nil for a group not paced).
    public func limit(of group: String) -> Int? { groups[group]?.limit }

    /// The names of the paced groups.
    public var groupNames: [String] { groups.keys.sorted() }

    /// While `group` runs one copy more than a level it measured and has not decided yet
    /// whether that copy pays (a raise or a re-probe, until its window closes): the bytes one
    /// copy moves in a measurement (settle plus window) at the per-copy rate of the level
    /// below. nil when the group is not probing.
    ///
    /// The scheduler gives the copy a raise adds the smallest waiting move of at least that
    /// size: it lasts the measurement (a copy that ends within it leaves a gap while the next
    /// starts, and short copies churning make the figure noise), and should the copy not pay,
    /// what runs above the knee until it ends is a move just long enough, not a big one.
    public func probeBytes(_ group: String) -> Int64? {
        guard let g = groups[group], g.holdUntil == nil, let below = g.below,
              below.limit < g.limit, below.limit > 0 else { return nil }
        let c = g.configuration
        return Int64(below.throughput / Double(below.limit) * (c.settle + c.window))
    }

    /// Whether `group` is due to re-probe and wants to know its backlog (`setBacklog`) for it:
    /// holding past its re-probe time, and not told within the last quarter window. The
    /// scheduler counts the backlog only then — it walks the waiting jobs.
    public func wantsBacklog(_ group: String, now: Date) -> Bool {
        guard let g = groups[group], let hold = g.holdUntil, now >= hold else { return false }
        guard let told = g.backlog?.time else { return true }
        return now.timeIntervalSince(told) >= g.configuration.window / 4
    }

    /// The bytes the group's waiting jobs (not started yet) will copy.
    public mutating func setBacklog(_ group: String, bytes: Int64, now: Date) {
        guard groups[group] != nil else { return }
        groups[group]!.backlog = (Double(max(0, bytes)), now)
    }

    /// The changes since the last call, oldest first.
    public mutating func drainChanges() -> [Change] {
        let out = changes
        changes = []
        return out
    }

    // MARK: Inputs

    /// A copy started (its task exists) touching `groups` (the paced ones count; others are ignored).
    public mutating func taskStarted(_ task: Int, groups names: [String], now: Date) {
        let paced = names.filter { groups[$0] != nil }
        guard tasks[task] == nil, !paced.isEmpty else { return }
        tasks[task] = Task(groups: paced, bytes: 0, sampled: now)
        for g in paced {
            advance(g, now: now)
            if started.insert(g).inserted {
                changes.append(Change(group: g, time: now, from: 0, to: groups[g]!.limit, reason: .start))
            }
            groups[g]!.running += 1
            evaluate(g, now: now)
        }
    }

    /// A running copy has copied `bytes` so far (a sample of its task's progress).
    public mutating func progress(_ task: Int, bytes: Int64, now: Date) {
        guard let t = tasks[task] else { return }
        let delta = Double(max(0, bytes - t.bytes))
        if delta > 0 {
            // The rate since the copy's first report, not between its last two: reports
            // arrive in batches (a property collector's tick), so two of them may carry
            // nearly the same time however far apart the copy really was.
            if let f = t.first, now.timeIntervalSince(f.time) > 0 {
                tasks[task]!.rate = Double(bytes - f.bytes) / now.timeIntervalSince(f.time)
            } else if t.first == nil {
                tasks[task]!.first = (bytes, now)
            }
            tasks[task]!.step = delta
            tasks[task]!.bytes = bytes
            tasks[task]!.sampled = now
        }
        for g in t.groups {
            advance(g, now: now)
            groups[g]!.copied += delta
            if delta > 0, groups[g]!.window != nil {
                if groups[g]!.window!.samples[task] == nil {
                    groups[g]!.window!.samples[task] = Span(firstBytes: bytes, firstTime: now, lastBytes: bytes, lastTime: now)
                } else {
                    groups[g]!.window!.samples[task]!.lastBytes = bytes
                    groups[g]!.window!.samples[task]!.lastTime = now
                }
            }
            evaluate(g, now: now)
        }
    }

    /// A copy ended; `bytes`: what it copied in all (its size when it succeeded), nil when unknown.
    public mutating func taskEnded(_ task: Int, bytes: Int64?, now: Date) {
        if let bytes { progress(task, bytes: bytes, now: now) }
        guard let t = tasks.removeValue(forKey: task) else { return }
        for g in t.groups {
            advance(g, now: now)
            groups[g]!.running -= 1
            evaluate(g, now: now)
        }
    }

    /// Lets time pass without a sample (closes a window that is due).
    public mutating func tick(now: Date) {
        for g in groups.keys.sorted() {
            advance(g, now: now)
            evaluate(g, now: now)
        }
    }

    // MARK: Rules

    /// Counts the time since the group's last input as saturated when it ran its limit.
    mutating func advance(_ name: String, now: Date) {
        guard var g = groups[name] else { return }
        if let last = g.lastTime, now > last, g.window != nil, g.running >= g.limit {
            g.window!.saturated += now.timeIntervalSince(last)
        }
        g.lastTime = now
        groups[name] = g
    }

    /// Opens a window when the group has settled at its limit; closes a due one and decides.
    mutating func evaluate(_ name: String, now: Date) {
        guard var g = groups[name] else { return }
        defer { groups[name] = g }
        if g.window == nil {
            if now >= g.settleUntil, g.running == g.limit {
                g.window = Window(start: now, bytes: estimate(name, g, now: now))
            }
            return
        }
        let w = g.window!
        let span = now.timeIntervalSince(w.start)
        if span < g.configuration.window {
            guard clearlyFell(g, name, w, span: span, now: now) else { return }
        }
        g.window = nil
        guard w.saturated >= g.configuration.minSaturation * span else {
            // Fewer copies than the limit ran (no work, or another limit bound): the window
            // says nothing about the limit. Reopen at once when it runs full again.
            if g.running == g.limit { g.window = Window(start: now, bytes: estimate(name, g, now: now)) }
            return
        }
        let measured = Level(limit: g.limit, throughput: throughput(name, g, w, span: span, now: now))
        decide(&g, name, measured, now: now)
    }

    /// Whether a window one more copy opened may close early: from half its length on, when the
    /// group has run full and the throughput so far is below the level under it by more than
    /// twice the threshold. Past the knee every second at the higher level costs throughput
    /// (on the test vCenter's slow array, 4 copies moved 17 % less than 3), and a fall that
    /// large is beyond a half window's noise (the held level's windows spread 7–9 %).
    ///
    /// Only falls: a rise decided at half a window becomes the next level's reference, and a
    /// half window's figure is too rough for that — tried, on the test vCenter's fast array the
    /// climb's references were off by a third and the pacer held at 3 copies of the best 8
    /// (1.46 × the best fixed concurrency). A back-off keeps the whole window measured below.
    /// A knee or a smaller fall still takes the whole window, and so does a held level's
    /// re-measurement or a window in which some copy has not reported progress twice yet.
    func clearlyFell(_ g: Group, _ name: String, _ w: Window, span: TimeInterval, now: Date) -> Bool {
        let c = g.configuration
        guard span >= c.window / 2, g.holdUntil == nil, w.saturated >= c.minSaturation * span,
              let below = g.below, below.limit < g.limit, below.throughput > 0 else { return false }
        // Only while every copy of the group reports progress: copies measured by their ends
        // alone make half a window's bytes a matter of which copies happened to end in it.
        guard tasks.values.allSatisfy({ !$0.groups.contains(name) || $0.rate > 0 }) else { return false }
        let sofar = throughput(name, g, w, span: span, now: now)
        return sofar / below.throughput - 1 < -2 * c.threshold
    }

    /// The rules applied to one window's measurement.
    mutating func decide(_ g: inout Group, _ name: String, _ m: Level, now: Date) {
        let c = g.configuration
        if let low = g.confirming {
            // The second window of a small gain: held if it beats the level below again, a
            // rise after all if by more than the threshold (the first window read low).
            g.confirming = nil
            let gain = m.throughput / low.throughput - 1
            if gain > c.threshold {
                g.below = m
                raise(&g, name, to: g.limit + 1, .rose(gain: gain), m, low.throughput, now: now)
                return
            }
            if gain > Self.smallGain * c.threshold {
                changes.append(Change(group: name, time: now, from: g.limit, to: g.limit, reason: .knee(gain: gain),
                                      throughput: m.throughput, compared: low.throughput))
                g.below = m
            } else {
                set(&g, name, to: low.limit, gain < -c.threshold ? .fell(gain: gain) : .knee(gain: gain), m, low.throughput, now: now)
            }
            hold(&g, name, now: now)
            return
        }
        if let hold = g.holdUntil {
            // Holding at the knee: refresh the held level's figure; re-probe when due, if
            // enough work waits for a probe to pay.
            g.below = m
            if now >= hold, g.limit < c.max, worthProbing(g, m) {
                g.holdUntil = nil
                set(&g, name, to: g.limit + 1, .reprobe, m, nil, now: now)
            } else {
                reopen(&g, name, now: now)
            }
            return
        }
        guard let below = g.below, below.limit < m.limit, below.throughput > 0 else {
            // The first level measured (or one with nothing to compare): one more copy.
            g.below = m
            raise(&g, name, to: g.limit + 1, .rose(gain: nil), m, nil, now: now)
            return
        }
        let gain = m.throughput / below.throughput - 1
        if gain > c.threshold {
            g.below = m
            // By two while each copy still moves as much as one level below (within the threshold).
            let full = m.throughput / Double(m.limit) >= (1 - c.threshold) * below.throughput / Double(below.limit)
            raise(&g, name, to: g.limit + (full ? 2 : 1), .rose(gain: gain), m, below.throughput, now: now)
        } else if m.limit - below.limit > 1 {
            // Two more copies did not pay: the level between, against the one below.
            g.didNotPay = m.limit
            set(&g, name, to: below.limit + 1, .between(gain: gain), m, below.throughput, now: now)
        } else if gain > Self.smallGain * c.threshold {
            // A small gain: measure this level once more before holding it.
            g.confirming = below
            reopen(&g, name, now: now)
        } else {
            // The knee (or past it): the level below was as good for fewer copies.
            set(&g, name, to: below.limit, gain < -c.threshold ? .fell(gain: gain) : .knee(gain: gain), m, below.throughput, now: now)
            hold(&g, name, now: now)
        }
    }

    /// Whether the group's waiting work is enough for a re-probe to pay (see `reprobeMinWork`).
    func worthProbing(_ g: Group, _ held: Level) -> Bool {
        guard let backlog = g.backlog, held.throughput > 0 else { return true }
        let c = g.configuration
        return backlog.bytes / held.throughput >= Self.reprobeMinWork * (c.settle + c.window)
    }

    /// Raises the limit towards `limit`, never above `max` nor to a level two more copies
    /// reached without paying; holds when neither leaves room.
    mutating func raise(_ g: inout Group, _ name: String, to limit: Int, _ reason: Reason, _ m: Level, _ compared: Double?, now: Date) {
        let to = min(limit, g.configuration.max, (g.didNotPay ?? .max) - 1)
        if to > g.limit {
            set(&g, name, to: to, reason, m, compared, now: now)
        } else {
            hold(&g, name, now: now)
        }
    }

    mutating func hold(_ g: inout Group, _ name: String, now: Date) {
        g.didNotPay = nil
        g.holdUntil = now.addingTimeInterval(g.configuration.reprobeAfter)
        reopen(&g, name, now: now)
    }

    /// Starts the next window at once when nothing changed and the group still runs full.
    func reopen(_ g: inout Group, _ name: String, now: Date) {
        if g.window == nil, now >= g.settleUntil, g.running == g.limit {
            g.window = Window(start: now, bytes: estimate(name, g, now: now))
        }
    }

    /// The group's throughput over window `w`: its limit times the copies' mean rate, each
    /// copy's rate read between its first and last samples inside the window (weighted by
    /// that time). Bytes counted into the window instead (`estimate`) depend on when each
    /// copy reports: a copy's first report after the window opened brings bytes it copied
    /// before, one that started late brings none until its second report, and with copies of
    /// hundreds of GB reporting every 2 % (minutes apart) the levels of the test vCenter's
    /// fast array read from −10 % to +28 % of the model's throughput, enough to hold 7 copies
    /// where 8 move 3 % more. Rates between a copy's own samples do not depend on when the
    /// window opened; copies that started or ended inside it count for the time they ran.
    /// Falls back to the bytes counted when no copy reported twice in the window (copies
    /// measured by their ends alone).
    func throughput(_ name: String, _ g: Group, _ w: Window, span: TimeInterval, now: Date) -> Double {
        var bytes = 0.0
        var time = 0.0
        for s in w.samples.values where s.lastTime > s.firstTime {
            bytes += Double(s.lastBytes - s.firstBytes)
            time += s.lastTime.timeIntervalSince(s.firstTime)
        }
        guard time >= span / 4 else { return (estimate(name, g, now: now) - w.bytes) / span }
        return Double(g.limit) * bytes / time
    }

    /// The bytes the group's copies have copied by `now`: the samples, plus each running
    /// copy's bytes since its last sample at the rate between its last two (at most one more
    /// step). vCenter reports whole percents: over a window of a few steps per copy, counting
    /// only the samples would be off by up to a step per copy, more than the 5% that decides.
    func estimate(_ name: String, _ g: Group, now: Date) -> Double {
        var bytes = g.copied
        for t in tasks.values where t.rate > 0 && t.groups.contains(name) {
            bytes += min(t.rate * max(0, now.timeIntervalSince(t.sampled)), t.step)
        }
        return bytes
    }

    mutating func set(_ g: inout Group, _ name: String, to limit: Int, _ reason: Reason, _ m: Level, _ compared: Double?, now: Date) {
        let to = min(max(limit, 1), g.configuration.max)
        guard to != g.limit else { return }
        changes.append(Change(group: name, time: now, from: g.limit, to: to, reason: reason, throughput: m.throughput, compared: compared))
        g.limit = to
        g.window = nil
        g.settleUntil = now.addingTimeInterval(g.configuration.settle)
    }
}
