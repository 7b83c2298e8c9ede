import Foundation

/// The limits the engine never exceeds: vSphere's maximum costs per host,
/// datastore and vMotion network, plus caps on concurrent jobs per cluster and
/// per vCenter, and optional caps on the number of Storage vMotions per host or
/// datastore. `Strategy.limits(cluster)` may override them per cluster.
public struct Limits: Sendable, Hashable {
    /// Maximum cost per host (vSphere: 8).
    public var hostMaxCost: Int = 8
    /// Maximum cost per datastore (vSphere: 128).
    public var datastoreMaxCost: Int = 128
    /// Maximum vMotion-network cost on a host with a vMotion link slower than 10 GbE, or
    /// an unknown one (vSphere: 4 on 1 GbE).
    public var networkMaxCost1GbE: Int = 4
    /// Maximum vMotion-network cost on a host with a 10 GbE or faster vMotion link (vSphere: 8).
    public var networkMaxCost10GbE: Int = 8
    /// Maximum concurrent jobs per cluster; nil: only the resource costs limit a cluster.
    public var clusterMaxJobs: Int?
    /// Maximum concurrent jobs in the whole vCenter. vCenter 6.x keeps about 600 active
    /// tasks; the default stays well below. The strategy's `vcenterLimits` and
    /// `SchedulerConfiguration.vcenterMaxJobsOverride` (`--max-concurrent`) change it.
    public var vcenterMaxJobs: Int = 256
    /// Maximum concurrent Storage vMotions per host (a count, on top of the cost); nil: cost only.
    public var storageMovesPerHost: Int?
    /// Maximum concurrent Storage vMotions touching one datastore (a count); nil: cost only.
    public var storageMovesPerDatastore: Int?
    /// The free space a destination datastore keeps after every copy that lands on it, so a
    /// migration never fills a datastore to the brim (default: 10% of its capacity).
    public var minFree: FreeSpaceFloor = .fraction(0.10)
    /// Pacing by throughput for the cluster's storage moves (`max_concurrent = "auto"`); nil: none.
    public var adaptive: AdaptivePacing?

    /// vSphere's documented limits, 256 concurrent jobs per vCenter, no cluster cap, 10% kept free.
    public init() {}

    /// The vMotion-network limit for a host whose vMotion link runs at `mbps`. Unknown
    /// (nil) counts as 1 GbE: assuming 10 GbE on a 1 GbE network would start twice the
    /// vMotions vSphere allows there, and vCenter would queue the excess; assuming 1 GbE on
    /// a faster one only runs fewer at once. (The SOAP client reads the speed with the
    /// inventory — `VSphereSOAP.VMotionLink` —, so it is unknown only when vCenter shows no
    /// link at all.)
    public func networkMaxCost(linkSpeedMbps mbps: Int?) -> Int {
        guard let mbps else { return networkMaxCost1GbE }
        return mbps >= 10_000 ? networkMaxCost10GbE : networkMaxCost1GbE
    }

    /// These limits with a cluster's overrides applied.
    public func applying(_ o: LimitOverrides) -> Limits {
        var l = self
        if let v = o.hostMaxCost { l.hostMaxCost = v }
        if let v = o.datastoreMaxCost { l.datastoreMaxCost = v }
        if let v = o.networkMaxCost { l.networkMaxCost1GbE = v; l.networkMaxCost10GbE = v }
        if let v = o.maxConcurrent { l.clusterMaxJobs = v }
        if let v = o.storageMovesPerHost { l.storageMovesPerHost = v }
        if let v = o.storageMovesPerDatastore { l.storageMovesPerDatastore = v }
        if let v = o.minFree { l.minFree = v }
        if let v = o.adaptive { l.adaptive = v; l.clusterMaxJobs = nil }
        return l
    }
}

/// A cluster's overrides of the engine's `Limits`, from `Strategy.limits(cluster)`.
/// Every field is optional: nil keeps the engine's value. A datastore mounted by
/// hosts of several clusters takes the smallest override among them.
public struct LimitOverrides: Sendable, Hashable {
    /// Maximum cost per host of the cluster.
    public var hostMaxCost: Int?
    /// Maximum cost per datastore mounted by the cluster's hosts.
    public var datastoreMaxCost: Int?
    /// Maximum vMotion-network cost per host of the cluster, whatever the link speed.
    public var networkMaxCost: Int?
    /// Maximum concurrent jobs in the cluster (for example hosts / 2).
    public var maxConcurrent: Int?
    /// Maximum concurrent Storage vMotions per host of the cluster.
    public var storageMovesPerHost: Int?
    /// Maximum concurrent Storage vMotions per datastore mounted by the cluster's hosts.
    public var storageMovesPerDatastore: Int?
    /// The free space kept on destinations mounted by the cluster's hosts (`min_free`).
    public var minFree: FreeSpaceFloor?
    /// `max_concurrent = "auto"`: pace the cluster's storage moves by measured throughput
    /// (instead of `maxConcurrent`).
    public var adaptive: AdaptivePacing?

    /// Creates overrides; nil fields keep the engine's limits.
    public init(
        hostMaxCost: Int? = nil, datastoreMaxCost: Int? = nil, networkMaxCost: Int? = nil,
        maxConcurrent: Int? = nil, storageMovesPerHost: Int? = nil, storageMovesPerDatastore: Int? = nil,
        minFree: FreeSpaceFloor? = nil, adaptive: AdaptivePacing? = nil
    ) {
        self.hostMaxCost = hostMaxCost
        self.datastoreMaxCost = datastoreMaxCost
        self.networkMaxCost = networkMaxCost
        self.maxConcurrent = maxConcurrent
        self.storageMovesPerHost = storageMovesPerHost
        self.storageMovesPerDatastore = storageMovesPerDatastore
        self.minFree = minFree
        self.adaptive = adaptive
    }

    /// No override.
    public static let none = LimitOverrides()
}

/// How much free space a destination datastore keeps: a share of its capacity or a number of bytes.
public enum FreeSpaceFloor: Sendable, Hashable, CustomStringConvertible {
    /// A share of the capacity, 0 ≤ x < 1 (0.1: keep 10% free).
    case fraction(Double)
    /// A number of bytes.
    case bytes(Int64)

    /// The bytes kept free on a datastore of `capacity` bytes (an unknown capacity keeps nothing
    /// for a fraction).
    public func bytes(ofCapacity capacity: Int64) -> Int64 {
        switch self {
        case .fraction(let f): capacity == .max || capacity <= 0 ? 0 : Int64(f * Double(capacity))
        case .bytes(let b): b
        }
    }

    /// `10%` or `500 GiB`.
    public var description: String {
        switch self {
        case .fraction(let f): "\(Int((f * 100).rounded()))%"
        case .bytes(let b): ProgressRenderer.bytes(b)
        }
    }
}

extension FreeSpaceFloor {
    /// Parses `10%`, `0.1` (a fraction), or a size: `536870912000`, `500 GiB`, `1.5TiB`, `500GB`
    /// (IEC units are binary, SI units decimal); nil for anything else.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let p = Double(t.dropLast().trimmingCharacters(in: .whitespaces)), p >= 0, p < 100 else { return nil }
            self = .fraction(p / 100)
            return
        }
        if let x = Double(t), x >= 0, x < 1 {
            self = .fraction(x)
            return
        }
        guard let bytes = Self.bytes(t) else { return nil }
        self = .bytes(bytes)
    }

    /// `500 GiB` → bytes (B, KiB…PiB binary; KB…PB decimal); nil when not a size.
    static func bytes(_ text: String) -> Int64? {
        let digits = text.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value >= 0 else { return nil }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let units: [String: Double] = [
            "": 1, "b": 1,
            "kib": 0x1p10, "mib": 0x1p20, "gib": 0x1p30, "tib": 0x1p40, "pib": 0x1p50,
            "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
        ]
        guard let factor = units[unit] else { return nil }
        let bytes = value * factor
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        return Int64(bytes)
    }
}
