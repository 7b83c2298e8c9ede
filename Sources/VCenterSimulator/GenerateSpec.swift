/// What `--generate` asks for: the shape of a generated inventory, parsed from
/// `clusters=3,hosts=8,vms=3000,from=legacy,to=new` (every key optional).
///
/// Keys: `clusters`, `hosts` (per cluster), `vms` (total, spread over clusters),
/// `from` / `to` (datastore name prefixes: `legacy-01…`, `new-01…`), `datastores`
/// (per side per cluster, or in all when `shared`), `shared` (every host mounts every
/// datastore), `seed`, `size` (mean committed size, GB unless a unit is given),
/// `sigma` (log-normal spread), `minsize`, `maxsize`, `memory` (mean memory, GB),
/// `snapshots` and `consolidate` (fractions of VMs), `capacity` (per datastore, TB
/// unless a unit is given), `link` (vMotion network, Gbit/s: 1 or 10).
///
/// Files (every VM has a home and virtual disks, as `VMInfo.files` describes): `disks`
/// (disks per VM: `N` or a range `A-B`, default 1 — one disk holding the committed bytes
/// minus a small home), `flash` (N extra datastores per cluster — or in all when `shared` —
/// named `flash-NN`, holding some disks, never a migration target), `spread` (fraction of a
/// VM's disks beyond the first placed on another datastore than its home: another `from`
/// datastore or a `flash` one; default 0.5), `thin` (fraction of thin disks, default 0.5),
/// `rdm` / `vrdm` (fractions of VMs with a physical- / virtual-mode RDM disk), `multiwriter`
/// (VMs with a multi-writer shared disk), `iso` (VMs with a CD/DVD ISO on a `from`
/// datastore), `templates` (VMs that are templates), `off` (powered-off VMs, default 0.05),
/// `ft` (VMs protected by Fault Tolerance), `pods` (1: each cluster's `to` datastores form a
/// datastore cluster with Storage DRS enabled, named `<to>-pod`, or `<to>-pod-<cluster>` when
/// the datastores are not shared). The home and the first disk are on a `from` datastore.
///
/// What strategies select by, given to the VMs in turn (VM i gets value i mod count, no
/// random draw, so these keys change nothing else): `folders` (VM folders under the
/// datacenter's `vm` folder, `|`-separated: `folders=prod|prod/db|test` → `/dc-sim/vm/prod`, …;
/// default: every VM directly in `/dc-sim/vm`), `attr.NAME` (a custom attribute and its values:
/// `attr.wave=1|2|3`; repeatable with other names), `guests` (guest OS ids,
/// `guests=windows2019srv_64Guest|rhel9_64Guest`; default a mix of Windows Server 2019, RHEL 9
/// and Ubuntu; `GuestOSNames` gives the full names).
public struct GenerateSpec: Sendable, Hashable, CustomStringConvertible {
    /// Number of clusters.
    public var clusters: Int = 3
    /// Hosts in each cluster.
    public var hostsPerCluster: Int = 8
    /// Total number of VMs, spread evenly over the clusters.
    public var vms: Int = 3000
    /// Name prefix of the datastores the VMs start on (`legacy` → `legacy-01`).
    public var fromPrefix: String = "legacy"
    /// Name prefix of the empty target datastores.
    public var toPrefix: String = "new"
    /// Datastores on each side per cluster (or in total when `sharedDatastores`).
    public var datastoresPerSide: Int = 4
    /// Whether every host of every cluster mounts every datastore.
    public var sharedDatastores: Bool = false
    /// Seed of every random choice: the same spec gives the same inventory.
    public var seed: UInt64 = 1
    /// Mean committed size of a VM, in bytes (default 170 GiB: 3,000 VMs ≈ 500 TiB).
    public var meanSizeBytes: Int64 = 170 * GenerateSpec.gib
    /// Shape of the log-normal size distribution (larger: heavier tail).
    public var sizeSigma: Double = 1.0
    /// Smallest VM, in bytes.
    public var minSizeBytes: Int64 = 5 * GenerateSpec.gib
    /// Largest VM, in bytes.
    public var maxSizeBytes: Int64 = 4 * GenerateSpec.tib
    /// Mean memory of a VM, in MB.
    public var meanMemoryMB: Int = 8192
    /// Fraction of VMs with snapshots (created over the 60 days before the start).
    public var snapshotFraction: Double = 0.1
    /// Fraction of VMs whose disks need consolidation.
    public var consolidateFraction: Double = 0.05
    /// Capacity of each datastore in bytes; nil sizes them so the source side is about 75% full.
    public var capacityBytes: Int64? = nil
    /// Speed of every host's vMotion network, in Gbit/s (1 GbE: 4 concurrent vMotions, 10 GbE: 8).
    public var vmotionLinkGbps: Int = 10

    /// Fewest and most virtual disks per VM (each VM draws a count in this range).
    public var disksMin: Int = 1
    public var disksMax: Int = 1
    /// Extra `flash-NN` datastores per cluster (or in all when `sharedDatastores`): they hold
    /// some disks and are never a migration target.
    public var flashPerCluster: Int = 0
    /// Fraction of a VM's disks beyond the first placed elsewhere than its home.
    public var spreadFraction: Double = 0.5
    /// Fraction of flat disks that are thin provisioned (the others are lazily zeroed thick).
    public var thinFraction: Double = 0.5
    /// Fraction of VMs with a physical-mode RDM disk.
    public var rdmFraction: Double = 0
    /// Fraction of VMs with a virtual-mode RDM disk.
    public var vrdmFraction: Double = 0
    /// Fraction of VMs with a multi-writer (shared) disk.
    public var multiWriterFraction: Double = 0
    /// Fraction of VMs with a CD/DVD ISO connected from a `from` datastore.
    public var isoFraction: Double = 0
    /// Fraction of VMs that are templates.
    public var templateFraction: Double = 0
    /// Fraction of VMs powered off.
    public var poweredOffFraction: Double = 0.05
    /// Fraction of VMs protected by Fault Tolerance (primary role).
    public var faultToleranceFraction: Double = 0
    /// Whether each cluster's `to` datastores form a datastore cluster with Storage DRS on.
    public var datastoreClusters: Bool = false
    /// VM folders under the datacenter's `vm` folder (`prod/db`), given in turn; empty: none.
    public var folders: [String] = []
    /// Custom attributes (name → values given in turn), sorted by name when printed.
    public var attributes: [String: [String]] = [:]
    /// vSphere tags (category → tag names given in turn, as the test vCenter's `-tag`), sorted
    /// by category when printed. Every generated VM has its tags read (none without this).
    public var tags: [String: [String]] = [:]
    /// Guest OS ids given in turn.
    public var guests: [String] = GenerateSpec.defaultGuests

    /// The default guest OS mix.
    public static let defaultGuests = ["windows2019srv_64Guest", "rhel9_64Guest", "ubuntu64Guest"]
    /// Prefix of the custom attribute keys (`attr.wave`).
    public static let attributePrefix = "attr."
    /// Prefix of the tag category keys (`tag.migration-wave`).
    public static let tagPrefix = "tag."

    /// Name prefix of the `flash` datastores.
    public static let flashPrefix = "flash"

    /// Most virtual disks a generated VM may have (vSphere: 4 SCSI controllers × 15).
    public static let maxDisks = 60

    /// One GiB in bytes.
    public static let gib: Int64 = 1 << 30
    /// One TiB in bytes.
    public static let tib: Int64 = 1 << 40

    /// The keys `init(parsing:)` accepts, in canonical order.
    public static let keys = [
        "clusters", "hosts", "vms", "from", "to", "datastores", "shared", "seed", "size", "sigma",
        "minsize", "maxsize", "memory", "snapshots", "consolidate", "capacity", "link",
        "disks", "flash", "spread", "thin", "rdm", "vrdm", "multiwriter", "iso", "templates", "off", "ft", "pods",
        "folders", "guests", "attr.NAME", "tag.CATEGORY",
    ]

    /// The default spec: 3 clusters × 8 hosts, 3,000 VMs from `legacy-*` to `new-*`.
    public init() {}

    /// Parses `key=value` pairs separated by commas. An empty string gives the defaults.
    /// Throws `GenerateSpecError` naming the offending pair for an unknown key, a bad
    /// value or an inconsistent combination.
    public init(parsing text: String) throws {
        self.init()
        var seen: Set<String> = []
        for rawPair in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pair = rawPair.trimmingWhitespace()
            if pair.isEmpty { continue }
            guard let eq = pair.firstIndex(of: "=") else {
                throw GenerateSpecError("'\(pair)' is not key=value (known keys: \(Self.keys.joined(separator: ", ")))")
            }
            let rawKey = String(pair[..<eq].trimmingWhitespace())
            // An attribute's or tag category's name keeps its case (`attr.MigrationWave`), as vSphere's does.
            let named = [Self.attributePrefix, Self.tagPrefix].first { rawKey.lowercased().hasPrefix($0) }
            let key = named.map { $0 + rawKey.dropFirst($0.count) } ?? rawKey.lowercased()
            let value = pair[pair.index(after: eq)...].trimmingWhitespace()
            guard Self.keys.contains(key) || named.map({ key.count > $0.count }) == true else {
                throw GenerateSpecError("unknown key '\(key)' (known keys: \(Self.keys.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw GenerateSpecError("key '\(key)' is given twice") }
            try set(key, value)
        }
        try validate()
    }

    private mutating func set(_ key: String, _ value: String) throws {
        func int(_ min: Int, _ max: Int = Int.max) throws -> Int {
            guard let n = Int(value), n >= min, n <= max else {
                throw GenerateSpecError("'\(key)=\(value)' must be a whole number from \(min)\(max == Int.max ? " up" : " to \(max)")")
            }
            return n
        }
        func fraction() throws -> Double {
            guard let x = Double(value), x >= 0, x <= 1 else {
                throw GenerateSpecError("'\(key)=\(value)' must be a fraction from 0 to 1, for example 0.1")
            }
            return x
        }
        func bytes(defaultUnit: Int64, unitName: String) throws -> Int64 {
            guard let b = Self.parseBytes(value, defaultUnit: defaultUnit), b > 0 else {
                throw GenerateSpecError("'\(key)=\(value)' must be a positive size such as 170, 170GB or 1.5TB (a bare number is in \(unitName))")
            }
            return b
        }
        func prefix() throws -> String {
            let ok = !value.isEmpty && value.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
            guard ok else { throw GenerateSpecError("'\(key)=\(value)' must be a datastore name prefix of letters, digits, '-', '_' or '.'") }
            return value
        }
        func list() throws -> [String] {
            let items = value.split(separator: "|").map { $0.trimmingWhitespace() }
            guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty }) else {
                throw GenerateSpecError("'\(key)=\(value)' must be one or more values separated by '|', such as a|b")
            }
            return items
        }
        func flag() throws -> Bool {
            switch value.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw GenerateSpecError("'\(key)=\(value)' must be true or false")
            }
        }
        switch key {
        case "clusters": clusters = try int(1, 10_000)
        case "hosts": hostsPerCluster = try int(1, 10_000)
        case "vms": vms = try int(0, 10_000_000)
        case "from": fromPrefix = try prefix()
        case "to": toPrefix = try prefix()
        case "datastores": datastoresPerSide = try int(1, 10_000)
        case "shared": sharedDatastores = try flag()
        case "seed":
            guard let s = UInt64(value) else { throw GenerateSpecError("'seed=\(value)' must be a whole number ≥ 0") }
            seed = s
        case "size": meanSizeBytes = try bytes(defaultUnit: Self.gib, unitName: "GB")
        case "sigma":
            guard let s = Double(value), s >= 0, s <= 4 else { throw GenerateSpecError("'sigma=\(value)' must be a number from 0 (all VMs the same size) to 4") }
            sizeSigma = s
        case "minsize": minSizeBytes = try bytes(defaultUnit: Self.gib, unitName: "GB")
        case "maxsize": maxSizeBytes = try bytes(defaultUnit: Self.gib, unitName: "GB")
        case "memory":
            let b = try bytes(defaultUnit: Self.gib, unitName: "GB")
            meanMemoryMB = max(1, Int(b >> 20))
        case "snapshots": snapshotFraction = try fraction()
        case "consolidate": consolidateFraction = try fraction()
        case "capacity": capacityBytes = try bytes(defaultUnit: Self.tib, unitName: "TB")
        case "link":
            let n = try int(1)
            guard n == 1 || n == 10 || n == 25 || n == 40 || n == 100 else {
                throw GenerateSpecError("'link=\(value)' must be a vMotion network speed in Gbit/s: 1, 10, 25, 40 or 100")
            }
            vmotionLinkGbps = n
        case "disks":
            let bounds = value.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingWhitespace()) }
            guard (1...2).contains(bounds.count), let a = bounds.first ?? nil, let b = bounds.last ?? nil,
                  a >= 1, b >= a, b <= Self.maxDisks else {
                throw GenerateSpecError("'disks=\(value)' must be a number of disks per VM from 1 to \(Self.maxDisks), or a range such as 1-4")
            }
            disksMin = a
            disksMax = b
        case "flash": flashPerCluster = try int(0, 10_000)
        case "spread": spreadFraction = try fraction()
        case "thin": thinFraction = try fraction()
        case "rdm": rdmFraction = try fraction()
        case "vrdm": vrdmFraction = try fraction()
        case "multiwriter": multiWriterFraction = try fraction()
        case "iso": isoFraction = try fraction()
        case "templates": templateFraction = try fraction()
        case "off": poweredOffFraction = try fraction()
        case "ft": faultToleranceFraction = try fraction()
        case "pods": datastoreClusters = try flag()
        case "folders":
            folders = try list()
            for f in folders where f.hasPrefix("/") || f.hasSuffix("/") || f.contains("//") {
                throw GenerateSpecError("'folders=\(value)': '\(f)' must be a path below the datacenter's vm folder, such as prod/db")
            }
        case "guests": guests = try list()
        case _ where key.hasPrefix(Self.attributePrefix):
            attributes[String(key.dropFirst(Self.attributePrefix.count))] = try list()
        case _ where key.hasPrefix(Self.tagPrefix):
            let category = String(key.dropFirst(Self.tagPrefix.count))
            // `category:tag` is how a tag is written: a ':' in the category could not be told apart.
            guard !category.contains(":") else { throw GenerateSpecError("'\(key)': a tag category name cannot contain ':'") }
            tags[category] = try list()
        default: throw GenerateSpecError("unknown key '\(key)'")
        }
    }

    private func validate() throws {
        if fromPrefix == toPrefix { throw GenerateSpecError("'from' and 'to' must differ (both are '\(fromPrefix)')") }
        if flashPerCluster > 0, fromPrefix == Self.flashPrefix || toPrefix == Self.flashPrefix {
            throw GenerateSpecError("with flash=\(flashPerCluster), 'from' and 'to' must not be '\(Self.flashPrefix)' (the flash datastores' names)")
        }
        if minSizeBytes > maxSizeBytes {
            throw GenerateSpecError("minsize (\(Self.formatBytes(minSizeBytes))) is larger than maxsize (\(Self.formatBytes(maxSizeBytes)))")
        }
        if meanSizeBytes < minSizeBytes || meanSizeBytes > maxSizeBytes {
            throw GenerateSpecError("size (mean \(Self.formatBytes(meanSizeBytes))) must lie between minsize (\(Self.formatBytes(minSizeBytes))) and maxsize (\(Self.formatBytes(maxSizeBytes)))")
        }
        if Int64(clusters) * Int64(hostsPerCluster) > 1_000_000 {
            throw GenerateSpecError("clusters × hosts = \(clusters * hostsPerCluster) is more than 1,000,000 hosts")
        }
    }

    /// Total hosts.
    public var hostCount: Int { clusters * hostsPerCluster }

    /// "3 clusters, 24 hosts, 3000 VMs".
    public var summary: String {
        "\(clusters) cluster\(clusters == 1 ? "" : "s"), \(hostCount) host\(hostCount == 1 ? "" : "s"), \(vms) VM\(vms == 1 ? "" : "s")"
    }

    /// The spec in canonical `key=value,…` form; parsing it gives this spec back.
    public var description: String {
        var parts = [
            "clusters=\(clusters)", "hosts=\(hostsPerCluster)", "vms=\(vms)", "from=\(fromPrefix)", "to=\(toPrefix)",
            "datastores=\(datastoresPerSide)", "shared=\(sharedDatastores)", "seed=\(seed)",
            "size=\(Self.formatBytes(meanSizeBytes, exact: true))", "sigma=\(sizeSigma)",
            "minsize=\(Self.formatBytes(minSizeBytes, exact: true))", "maxsize=\(Self.formatBytes(maxSizeBytes, exact: true))",
            "memory=\(meanMemoryMB)MB", "snapshots=\(snapshotFraction)", "consolidate=\(consolidateFraction)",
        ]
        if let capacityBytes { parts.append("capacity=\(Self.formatBytes(capacityBytes, exact: true))") }
        parts.append("link=\(vmotionLinkGbps)")
        // The file keys only when they differ from the defaults, so older specs print as before.
        let defaults = GenerateSpec()
        if disksMin != defaults.disksMin || disksMax != defaults.disksMax {
            parts.append(disksMin == disksMax ? "disks=\(disksMin)" : "disks=\(disksMin)-\(disksMax)")
        }
        if flashPerCluster != defaults.flashPerCluster { parts.append("flash=\(flashPerCluster)") }
        let fractions: [(String, Double, Double)] = [
            ("spread", spreadFraction, defaults.spreadFraction), ("thin", thinFraction, defaults.thinFraction),
            ("rdm", rdmFraction, defaults.rdmFraction), ("vrdm", vrdmFraction, defaults.vrdmFraction),
            ("multiwriter", multiWriterFraction, defaults.multiWriterFraction), ("iso", isoFraction, defaults.isoFraction),
            ("templates", templateFraction, defaults.templateFraction), ("off", poweredOffFraction, defaults.poweredOffFraction),
            ("ft", faultToleranceFraction, defaults.faultToleranceFraction),
        ]
        for (key, value, def) in fractions where value != def { parts.append("\(key)=\(value)") }
        if datastoreClusters { parts.append("pods=1") }
        if !folders.isEmpty { parts.append("folders=" + folders.joined(separator: "|")) }
        if guests != defaults.guests { parts.append("guests=" + guests.joined(separator: "|")) }
        for name in attributes.keys.sorted() { parts.append(Self.attributePrefix + name + "=" + attributes[name, default: []].joined(separator: "|")) }
        for name in tags.keys.sorted() { parts.append(Self.tagPrefix + name + "=" + tags[name, default: []].joined(separator: "|")) }
        return parts.joined(separator: ",")
    }

    /// Parses `170`, `170GB`, `1.5T`, `512MiB` (binary units; a bare number is in `defaultUnit`).
    public static func parseBytes(_ text: String, defaultUnit: Int64) -> Int64? {
        let t = text.trimmingWhitespace()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        let unit = t.dropFirst(digits.count).trimmingWhitespace().lowercased()
        guard let number = Double(digits), number.isFinite, number >= 0 else { return nil }
        let multiplier: Int64
        switch unit {
        case "": multiplier = defaultUnit
        case "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        case "t", "tb", "tib": multiplier = 1 << 40
        case "p", "pb", "pib": multiplier = 1 << 50
        default: return nil
        }
        let value = number * Double(multiplier)
        guard value < 9.0e18 else { return nil }
        return Int64(value.rounded())
    }

    /// `170GB`, `1.5TB`: a size for people (`exact` keeps every digit needed to parse it back).
    public static func formatBytes(_ bytes: Int64, exact: Bool = false) -> String {
        let units: [(Int64, String)] = [(1 << 50, "PB"), (1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")]
        for (size, name) in units where bytes >= size {
            if exact {
                if bytes % size == 0 { return "\(bytes / size)\(name)" }
                continue
            }
            let v = Double(bytes) / Double(size)
            let text = v >= 100 ? String(Int(v.rounded())) : String((v * 10).rounded() / 10)
            return text.hasSuffix(".0") ? String(text.dropLast(2)) + name : text + name
        }
        return "\(bytes)B"
    }
}

/// A `--generate` spec that cannot be used; `description` says which pair and why.
public struct GenerateSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, prefixed with `--generate:`.
    public var description: String
    init(_ message: String) { description = "--generate: \(message)" }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
