import Foundation
import VCenterModel

/// The copy rates a run has measured so far, for the forecast (`ForecastSimulation`):
/// per source → destination datastore pair, per datastore (any pair touching it), over
/// all storage moves, per host for vMotions, and per job kind for the rest.
///
/// A sample is one finished task: the bytes it wrote and the seconds it took, less the
/// fixed setup time (`overhead`, the scheduler's `predictedOverhead`), so that a small VM's
/// setup does not read as a slow datastore. Samples decay with run time, not with their
/// number: a sample `halfLife` seconds old weighs half as much as a new one
/// (weight = 2^(−age ÷ halfLife), applied to both the bytes and the seconds, so the rate is
/// bytes ÷ seconds of the weighted sums). With the default 30 minutes a change of the
/// array's speed (another tenant, a slow datastore reached) dominates the rate within an
/// hour, while one odd task does not swing it. A value; no clock of its own.
public struct RateBook: Sendable, Hashable {
    /// Decaying sums of bytes and seconds.
    public struct Samples: Sendable, Hashable {
        /// Weighted bytes, as of `at`.
        public var bytes: Double = 0
        /// Weighted seconds, as of `at`.
        public var seconds: Double = 0
        /// Weighted count of samples (how much evidence there is), as of `at`.
        public var weight: Double = 0
        /// When the sums were last decayed.
        public var at: Date?

        /// The rate, bytes per second (nil before any sample).
        public var rate: Double? { seconds > 0 && bytes > 0 ? bytes / seconds : nil }

        mutating func add(bytes b: Double, seconds s: Double, now: Date, halfLife: TimeInterval) {
            if let at, now > at {
                let factor = pow(0.5, now.timeIntervalSince(at) / halfLife)
                bytes *= factor
                seconds *= factor
                weight *= factor
                self.at = now
            } else if at == nil {
                at = now
            }
            bytes += b
            seconds += s
            weight += 1
        }
    }

    /// A source → destination datastore pair.
    public struct Pair: Sendable, Hashable {
        /// The source datastore (nil when the journal did not say).
        public var from: MoRef?
        /// The destination datastore.
        public var to: MoRef

        /// The pair.
        public init(from: MoRef?, to: MoRef) {
            self.from = from
            self.to = to
        }
    }

    /// Which rate a sample changed (what `ForecastTrigger` compares between forecasts).
    public enum Key: Sendable, Hashable {
        case pair(Pair)
        case host(MoRef)
        case kind(String)
    }

    /// Seconds after which a sample weighs half.
    public var halfLife: TimeInterval
    /// Setup seconds of every task, not counted in its copy rate.
    public var overhead: TimeInterval
    /// The rate assumed before any measurement (the plan's), bytes per second.
    public var assumedRate: Double

    public private(set) var pairs: [Pair: Samples] = [:]
    public private(set) var datastores: [MoRef: Samples] = [:]
    /// Each datastore's best pair rate (`capability(of:)`), kept as samples arrive: decay
    /// scales a pair's bytes and seconds alike, so only a new sample changes a pair's rate.
    private var capabilities: [MoRef: Double] = [:]
    /// The datastores some measured pair shows to be its slow end (`isBottleneck(_:)`).
    private var bottlenecks: Set<MoRef> = []
    /// The best rate of any measured pair: what a datastore never seen to be a copy's slow end
    /// is assumed able to do.
    private var bestCapability: Double?
    public private(set) var storage = Samples()
    public private(set) var hosts: [MoRef: Samples] = [:]
    public private(set) var kinds: [String: Samples] = [:]

    /// An empty book.
    public init(halfLife: TimeInterval = 1800, overhead: TimeInterval = 15, assumedRate: Double = 150 * 1_048_576) {
        self.halfLife = max(1, halfLife)
        self.overhead = overhead
        self.assumedRate = assumedRate
    }

    /// A storage move ended well after `seconds`, having written `moves` (each file's
    /// from → to and bytes). Returns the keys whose rate changed.
    @discardableResult
    public mutating func recordStorageMove(_ moves: [FileMove], seconds: TimeInterval, now: Date) -> [Key] {
        var touched: Set<MoRef> = []
        let keys = addStorageSample(moves, seconds: seconds, now: now, touched: &touched)
        refreshCapabilities(of: touched)
        return keys
    }

    /// Adds one storage move's samples without re-deriving capabilities (`withProgress` adds
    /// many, then derives once); collects the datastores it touched.
    private mutating func addStorageSample(_ moves: [FileMove], seconds: TimeInterval, now: Date, touched: inout Set<MoRef>) -> [Key] {
        let copy = seconds - overhead
        let total = moves.reduce(0.0) { $0 + Double($1.bytes) }
        guard copy > 0, total > 0 else { return [] }
        storage.add(bytes: total, seconds: copy, now: now, halfLife: halfLife)
        var keys: [Key] = []
        // Files copy in one task: each pair is charged its share of the task's time.
        var byPair: [Pair: Double] = [:]
        for m in moves where m.bytes > 0 { byPair[Pair(from: m.from, to: m.to), default: 0] += Double(m.bytes) }
        for (pair, bytes) in byPair {
            let share = copy * bytes / total
            pairs[pair, default: Samples()].add(bytes: bytes, seconds: share, now: now, halfLife: halfLife)
            for ds in Set([pair.from, pair.to].compactMap { $0 }) {
                datastores[ds, default: Samples()].add(bytes: bytes, seconds: share, now: now, halfLife: halfLife)
            }
            keys.append(.pair(pair))
            touched.formUnion([pair.from, pair.to].compactMap { $0 })
        }
        return keys
    }

    /// A pair's rate can fall as well as rise: recomputes the touched datastores' best, then
    /// which datastores the measured pairs show to be slow.
    ///
    /// A copy runs at its slower end, so a pair measured at rate r says one of its two
    /// datastores can do no more than r. Which one: the end whose partner has done clearly
    /// better (by more than `Self.tolerance`) with another datastore is not it, so the other
    /// is. When neither partner has (the first moves of a run: each datastore seen in one pair),
    /// the evidence cannot tell; the source is taken as the slow end, since a migration reads
    /// from the storage being retired, the older array, and writes to its replacement. The
    /// next pair either datastore joins settles it. When both have done better elsewhere, the
    /// pair itself was slow (a busy link, another tenant) and marks neither.
    ///
    /// Without this, `rate(from:to:)` took the slower of the two ends' best pairs: on the test
    /// vCenter's ETA run the half-speed `legacy-02`'s first move, to `new-03`, made `new-03`
    /// look half-speed to every other source as well, and the forecasts made from 1 to 1.5 h
    /// said 6.1–6.3 h for a 5.72 h run (12.8 % of the time left at 10 % done).
    private mutating func refreshCapabilities(of touched: Set<MoRef>) {
        guard !touched.isEmpty else { return }
        for ds in touched {
            capabilities[ds] = pairs.lazy.filter { $0.key.from == ds || $0.key.to == ds }.compactMap(\.value.rate).max()
        }
        var slow: Set<MoRef> = []
        for (pair, samples) in pairs {
            guard let r = samples.rate else { continue }
            guard let from = pair.from else {
                slow.insert(pair.to)
                continue
            }
            let fromDidBetter = (capabilities[from] ?? 0) > r * (1 + Self.tolerance)
            let toDidBetter = (capabilities[pair.to] ?? 0) > r * (1 + Self.tolerance)
            switch (fromDidBetter, toDidBetter) {
            case (true, false): slow.insert(pair.to)
            case (false, _): slow.insert(from)  // the destination did better, or neither: the source
            case (true, true): break
            }
        }
        bottlenecks = slow
        bestCapability = capabilities.values.max()
    }

    /// How much faster than a pair a datastore's best must be to clear it of the pair's
    /// slowness: measured rates of one datastore vary by a few percent from move to move.
    static let tolerance = 0.1

    /// A vMotion (memory `bytes`) from `host` ended well after `seconds`.
    @discardableResult
    public mutating func recordHostMove(from host: MoRef, bytes: Int64, seconds: TimeInterval, now: Date) -> Key? {
        guard seconds > 0, bytes > 0 else { return nil }
        hosts[host, default: Samples()].add(bytes: Double(bytes), seconds: seconds, now: now, halfLife: halfLife)
        return .host(host)
    }

    /// Another task (consolidation, snapshot removal, custom) of `kind` ended well.
    @discardableResult
    public mutating func recordOther(kind: String, bytes: Int64, seconds: TimeInterval, now: Date) -> Key? {
        guard seconds > 0 else { return nil }
        kinds[kind, default: Samples()].add(bytes: Double(max(bytes, 1)), seconds: seconds, now: now, halfLife: halfLife)
        return .kind(kind)
    }

    /// This book with what running storage moves have shown so far, for pairs no finished move
    /// has measured yet: each task's reported share of its bytes over the time it took to get
    /// there (less the setup). A datastore that copies slowly shows in the first progress
    /// reports of its first moves, long before one of them ends. Not kept: the task's end
    /// is its sample.
    public func withProgress(of running: [(job: Job, mark: TaskProgressMark)]) -> RateBook {
        var book = self
        var touched: Set<MoRef> = []
        for (job, mark) in running where job.kind.movesStorage && mark.percent >= 10 && mark.percent < 100 {
            guard let started = job.startedAt, !job.moves.isEmpty else { continue }
            guard job.moves.contains(where: { pairs[Pair(from: $0.from, to: $0.to)] == nil }) else { continue }
            let share = Double(mark.percent) / 100
            let moves = job.moves.map { m in
                FileMove(file: m.file, label: m.label, from: m.from, to: m.to, bytes: Int64(Double(m.bytes) * share))
            }
            _ = book.addStorageSample(moves, seconds: mark.at.timeIntervalSince(started), now: mark.at, touched: &touched)
        }
        // Not in a `defer`: that would run after `book` had been copied out as the result.
        book.refreshCapabilities(of: touched)
        return book
    }

    /// The rate for copying from `from` to `to`: the pair's when measured, else the slower of
    /// the two datastores' estimates, else every move's, else the assumed rate. A datastore
    /// some pair shows to be its slow end (`isBottleneck(_:)`) is estimated at its capability
    /// (a slow datastore is slow with any partner); one never seen to be the slow end at the
    /// best rate any pair has reached, since its own pairs only bound it from below.
    ///
    /// A datastore's capability is the best rate of the pairs that touch it, not the mean of
    /// its moves: a copy runs at its slower end, so a fast datastore's moves from a slow one
    /// say only that it can do at least that much. The mean made every new datastore that had
    /// received from the half-speed `legacy-02` look half-fast for pairs not yet measured, and
    /// the forecast late (the test vCenter's ETA run: 12.8 % at 10 % done, 15.6 % at 50 %).
    public func rate(from: MoRef?, to: MoRef) -> Double {
        if let r = pairs[Pair(from: from, to: to)]?.rate { return r }
        let each = [from, to].compactMap { $0 }.compactMap { ds -> Double? in
            guard let capability = capabilities[ds] else { return nil }
            return bottlenecks.contains(ds) ? capability : bestCapability ?? capability
        }
        if let slowest = each.min() { return slowest }
        return storage.rate ?? assumedRate
    }

    /// Whether a measured pair shows `datastore` to be the slow end of its copies
    /// (`refreshCapabilities(of:)` says how that is decided).
    public func isBottleneck(_ datastore: MoRef) -> Bool { bottlenecks.contains(datastore) }

    /// The best rate of any measured pair touching `datastore` (nil before one).
    public func capability(of datastore: MoRef) -> Double? { capabilities[datastore] }

    /// The current rate of `key` (nil before its first sample).
    public func rate(of key: Key) -> Double? {
        switch key {
        case .pair(let p): pairs[p]?.rate
        case .host(let h): hosts[h]?.rate
        case .kind(let k): kinds[k]?.rate
        }
    }

    /// Whether anything has been measured yet.
    public var isEmpty: Bool { storage.weight == 0 && hosts.isEmpty && kinds.isEmpty }

    /// Predicted seconds for a job, from start to end: the setup time plus its copy at the
    /// measured rates (`moves` for a storage move: each pair's share; a vMotion's memory at
    /// its source host's rate; any other kind at its kind's rate).
    public func duration(of job: Job) -> TimeInterval {
        if job.kind.movesStorage {
            let moves = job.moves
            if moves.isEmpty {
                return overhead + Double(job.size) / max(1, job.target.map { rate(from: job.sourceDatastores.first, to: $0) } ?? storage.rate ?? assumedRate)
            }
            var seconds = 0.0
            for m in moves where m.bytes > 0 { seconds += Double(m.bytes) / max(1, rate(from: m.from, to: m.to)) }
            return overhead + seconds
        }
        if job.kind.movesHost {
            let r = job.sourceHost.flatMap { hosts[$0]?.rate } ?? Self.mean(hosts.values) ?? assumedRate
            return Double(max(job.size, 0)) / max(1, r)
        }
        let r = kinds[job.kind.name]?.rate
        return r.map { Double(max(job.size, 1)) / max($0, 1e-9) } ?? overhead + Double(max(job.size, 0)) / max(1, assumedRate)
    }

    private static func mean(_ samples: Dictionary<MoRef, Samples>.Values) -> Double? {
        var bytes = 0.0, seconds = 0.0
        for s in samples { bytes += s.bytes; seconds += s.seconds }
        return seconds > 0 && bytes > 0 ? bytes / seconds : nil
    }
}
