#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A storage array whose bandwidth the copies touching it share — the same model, text and
/// defaults as the test vCenter's `-array` flag (`scripts/vcsim/bandwidth.go`):
/// `NAME=GLOB[|GLOB…]:MBPS[:knee=K][:loss=L][:floor=F]`, for example
/// `old-array=legacy-*:400:knee=4:loss=0.1`.
///
/// Every datastore whose name matches one of the globs (`*`, `?`, `[a-z]`) is in the array.
/// With n copies touching it (each copy counted once) the array serves
///
///     C(n) = B × max(floor, 1 − loss × max(0, n − knee))      (no knee: C(n) = B)
///
/// MB/s in total, reads plus writes: beyond `knee` concurrent copies, seek and cache thrash
/// cost `loss` of B per extra copy, never below `floor` × B. The knee is what gives a real
/// best concurrency; without it more copies never hurt. How copies share C(n) is
/// `FairShare`'s max-min allocation.
public struct StorageArray: Sendable, Hashable, CustomStringConvertible {
    /// The array's name (statistics and reports).
    public var name: String
    /// Datastore name patterns; a datastore matching any of them is in the array.
    public var patterns: [String]
    /// B: MB/s the array serves in total (reads plus writes) at or below the knee.
    public var bandwidthMBps: Double
    /// Copies the array serves at full bandwidth; nil: no knee.
    public var knee: Int?
    /// Fraction of B lost per copy beyond the knee.
    public var loss: Double
    /// Fraction of B the array never drops below.
    public var floor: Double

    /// `loss` when a knee is given without one.
    public static let defaultLoss = 0.1
    /// `floor` when none is given.
    public static let defaultFloor = 0.2

    /// An array of `bandwidthMBps` over the datastores matching `patterns`.
    public init(name: String, patterns: [String], bandwidthMBps: Double, knee: Int? = nil, loss: Double? = nil, floor: Double = StorageArray.defaultFloor) {
        self.name = name
        self.patterns = patterns
        self.bandwidthMBps = bandwidthMBps
        self.knee = knee
        self.loss = knee == nil ? 0 : (loss ?? Self.defaultLoss)
        self.floor = floor
    }

    /// Parses `NAME=GLOB[|GLOB…]:MBPS[:knee=K][:loss=L][:floor=F]`; throws a
    /// `SimulatorConfigurationError` that quotes the text and says what is wrong.
    public init(parsing text: String) throws {
        func bad(_ why: String) -> SimulatorConfigurationError {
            SimulatorConfigurationError("array '\(text)': \(why) (format NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F], for example old-array=legacy-*:400:knee=4:loss=0.1)")
        }
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { throw bad("no NAME=") }
        let name = text[..<eq].trimmingWhitespace()
        let parts = text[text.index(after: eq)...].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { throw bad("no :MBPS after the globs") }
        let globs = parts[0].split(separator: "|").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !globs.isEmpty else { throw bad("no datastore glob") }
        for g in globs where !Self.isWellFormed(g) { throw bad("glob '\(g)' has an unclosed '['") }
        guard let b = Double(parts[1].trimmingWhitespace()), b > 0, b.isFinite else {
            throw bad("bandwidth '\(parts[1])' is not a positive number of MB/s")
        }
        var knee: Int?, loss: Double?, floor = Self.defaultFloor
        for kv in parts.dropFirst(2) {
            let pair = kv.trimmingWhitespace()
            guard let e = pair.firstIndex(of: "=") else { throw bad("'\(kv)' is not key=value") }
            let key = String(pair[..<e]), value = String(pair[pair.index(after: e)...])
            switch key {
            case "knee":
                guard let n = Int(value), n >= 1 else { throw bad("knee=\(value) is not a whole number of copies >= 1") }
                knee = n
            case "loss", "floor":
                guard let f = Double(value), f >= 0, f <= 1 else { throw bad("\(key)=\(value) is not a fraction from 0 to 1") }
                if key == "loss" { loss = f } else { floor = f }
            default:
                throw bad("unknown key '\(key)' (knee, loss, floor)")
            }
        }
        if knee == nil, loss != nil { throw bad("loss= needs knee=") }
        if knee != nil, !(floor > 0) { throw bad("floor must be > 0 (an array always serves something)") }
        self.init(name: name, patterns: globs, bandwidthMBps: b, knee: knee, loss: loss, floor: floor)
    }

    /// The canonical text (parses back to the same array; the test vCenter's `-array` value).
    public var description: String {
        var s = "\(name)=\(patterns.joined(separator: "|")):\(Self.number(bandwidthMBps))"
        if let knee { s += ":knee=\(knee):loss=\(Self.number(loss)):floor=\(Self.number(floor))" }
        return s
    }

    /// C(n): MB/s the array serves in total to `copies` concurrent copies.
    public func capacityMBps(copies: Int) -> Double {
        guard let knee, copies > knee else { return bandwidthMBps }
        return bandwidthMBps * max(floor, 1 - loss * Double(copies - knee))
    }

    /// Whether a datastore of this name is in the array.
    public func contains(datastore name: String) -> Bool {
        patterns.contains { fnmatch($0, name, 0) == 0 }
    }

    /// `400`, `0.1`: a number as Go's `strconv.FormatFloat(x, 'g', -1, 64)` writes the usual ones.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }

    /// Whether every `[` of a glob is closed (an unclosed one is an error, as in the test vCenter).
    static func isWellFormed(_ glob: String) -> Bool {
        var open = false, escaped = false
        for c in glob {
            if escaped { escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "[" && !open { open = true } else if c == "]" && open { open = false }
        }
        return !open
    }
}
