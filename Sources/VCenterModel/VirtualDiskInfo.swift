import Foundation

/// One virtual disk of a VM (`VirtualDisk` in `config.hardware.device`), with the bytes it
/// really occupies (its files in `layoutEx`): what a storage move of the disk copies.
public struct VirtualDiskInfo: Sendable, Hashable {
    /// The device key (`2000`, `2001`, …): what a disk locator (`RelocateSpec.disks`) names.
    public var key: Int
    /// `deviceInfo.label`: `Hard disk 1`, `Hard disk 2`, …
    public var label: String
    /// `backing.fileName`: `[legacy-01] db-01/db-01_1.vmdk`.
    public var fileName: String
    /// `backing.datastore`: where the disk's descriptor (and, for a flat disk, its data) lives.
    public var datastore: MoRef?
    /// `capacityInBytes`: the disk's size as the guest sees it.
    public var capacityBytes: Int64
    /// The bytes the disk's files occupy on the datastore (`layoutEx.file[].size` of its chain;
    /// for an RDM only the mapping file): what copying the disk as it is writes.
    public var usedBytes: Int64
    /// The backing kind: a flat VMDK or a raw device mapping in either mode.
    public var backing: DiskBacking
    /// `backing.thinProvisioned`.
    public var thinProvisioned: Bool
    /// `backing.eagerlyScrub`: thick, eager-zeroed.
    public var eagerlyScrub: Bool
    /// `backing.sharing`: `sharingNone` or `sharingMultiWriter` (nil when vCenter did not say).
    public var sharing: String?
    /// `backing.diskMode`: `persistent`, `independent_persistent`, `independent_nonpersistent`, …
    public var diskMode: String

    /// Creates a disk record.
    public init(
        key: Int, label: String = "", fileName: String = "", datastore: MoRef? = nil, capacityBytes: Int64 = 0, usedBytes: Int64 = 0,
        backing: DiskBacking = .flat, thinProvisioned: Bool = false, eagerlyScrub: Bool = false, sharing: String? = nil,
        diskMode: String = "persistent"
    ) {
        self.key = key
        self.label = label.isEmpty ? "disk \(key)" : label
        self.fileName = fileName
        self.datastore = datastore
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.backing = backing
        self.thinProvisioned = thinProvisioned
        self.eagerlyScrub = eagerlyScrub
        self.sharing = sharing
        self.diskMode = diskMode
    }

    /// Whether several VMs may write the disk at once (multi-writer sharing): vSphere does not
    /// Storage-vMotion such disks.
    public var isMultiWriter: Bool { sharing == "sharingMultiWriter" }

    /// Whether the disk is independent (not affected by snapshots).
    public var isIndependent: Bool { diskMode.hasPrefix("independent") }

    /// The disk's format as `DiskFormat` names it (nil for an RDM).
    public var format: DiskFormat? {
        guard backing == .flat else { return nil }
        return thinProvisioned ? .thin : eagerlyScrub ? .eager : .thick
    }

    /// The bytes a copy of this disk writes when it lands in `format` (nil: as it is), and the
    /// space it takes on the destination. A thin destination writes and takes what the disk uses;
    /// lazy-zeroed thick writes what it uses but reserves its whole capacity; eager-zeroed thick
    /// writes (zeroes) its whole capacity. An RDM's copy writes only its mapping file, unless a
    /// virtual-mode RDM is given a format: it then becomes a flat disk of the LUN's capacity.
    public func copy(to format: DiskFormat?) -> (written: Int64, space: Int64) {
        // A virtual-mode RDM given a format becomes a flat disk: its LUN's whole capacity is
        // copied (vSphere cannot tell what the guest uses on a LUN).
        if backing == .rdmVirtual, format != nil { return (max(capacityBytes, usedBytes), max(capacityBytes, usedBytes)) }
        guard backing == .flat else { return (usedBytes, usedBytes) }
        let used = usedBytes, capacity = max(capacityBytes, usedBytes)
        switch format ?? self.format ?? .thin {
        case .thin: return (used, used)
        case .thick: return (used, capacity)
        case .eager: return (capacity, capacity)
        }
    }

    /// The label's number (`Hard disk 2` → 2), for short displays; nil when it has none.
    public var number: Int? {
        guard let last = label.split(separator: " ").last else { return nil }
        return Int(last)
    }
}

/// What backs a virtual disk.
public enum DiskBacking: String, Sendable, Hashable, CaseIterable {
    /// A VMDK (`VirtualDiskFlatVer2BackingInfo`, or another file-based backing).
    case flat
    /// A raw device mapping in virtual compatibility mode: a Storage vMotion moves its mapping
    /// file, or converts it to a VMDK when a format is given.
    case rdmVirtual = "rdm_virtual"
    /// A raw device mapping in physical compatibility mode: only its mapping file can move; the
    /// LUN's data stays on the array.
    case rdmPhysical = "rdm_physical"

    /// Whether the disk maps a LUN.
    public var isRDM: Bool { self != .flat }
}

/// The format a storage move converts a disk to (the disk locator's backing).
public enum DiskFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// Thin provisioned: allocates what the guest writes.
    case thin
    /// Thick, lazily zeroed: reserves the whole capacity, zeroes blocks on first write.
    case thick
    /// Thick, eagerly zeroed: reserves and zeroes the whole capacity (Fault Tolerance, clustering).
    case eager

    /// Parses a user's spelling: `thin`, `thick` (`lazy`, `lazyzeroedthick`), `eager`
    /// (`eagerzeroedthick`); nil for anything else.
    public init?(userText text: String) {
        switch text.lowercased().replacingOccurrences(of: "_", with: "").replacingOccurrences(of: "-", with: "") {
        case "thin": self = .thin
        case "thick", "lazy", "lazyzeroedthick", "thicklazy", "lazyzeroed": self = .thick
        case "eager", "eagerzeroedthick", "thickeager", "eagerzeroed": self = .eager
        default: return nil
        }
    }
}

/// A CD/DVD (or floppy) image a VM has connected: a file that stays on its datastore when the
/// VM moves, so a datastore being emptied keeps it.
public struct VirtualMediaInfo: Sendable, Hashable {
    /// The device key.
    public var key: Int
    /// `deviceInfo.label`: `CD/DVD drive 1`.
    public var label: String
    /// `backing.fileName`: `[legacy-01] iso/win2019.iso`.
    public var fileName: String
    /// `backing.datastore`.
    public var datastore: MoRef?

    /// Creates a media record.
    public init(key: Int, label: String, fileName: String, datastore: MoRef?) {
        self.key = key
        self.label = label
        self.fileName = fileName
        self.datastore = datastore
    }
}

/// Which of a VM's files: its configuration (the VM's home: `.vmx`, `.nvram`, logs, swap) or one
/// of its virtual disks (by device key).
public enum VMFileID: Sendable, Hashable, Comparable, CustomStringConvertible {
    case config
    case disk(Int)

    /// `config`, `disk 2001`.
    public var description: String {
        switch self {
        case .config: "config"
        case .disk(let key): "disk \(key)"
        }
    }

    /// The disk's device key, nil for the configuration.
    public var diskKey: Int? {
        if case .disk(let k) = self { return k }
        return nil
    }

    /// Parses `config` or `disk 2001` / `2001`.
    public init?(parsing text: String) {
        if text == "config" { self = .config; return }
        let digits = text.hasPrefix("disk ") ? String(text.dropFirst(5)) : text
        guard let key = Int(digits) else { return nil }
        self = .disk(key)
    }

    public static func < (a: VMFileID, b: VMFileID) -> Bool {
        switch (a, b) {
        case (.config, .config): false
        case (.config, .disk): true
        case (.disk, .config): false
        case (.disk(let x), .disk(let y)): x < y
        }
    }
}

/// One movable unit of a VM's storage: its configuration files or one disk, where it is and
/// how many bytes it occupies.
public struct VMFile: Sendable, Hashable {
    public var id: VMFileID
    /// `config`, or the disk's label (`Hard disk 2`).
    public var label: String
    /// Where the file lives (nil when vCenter did not say).
    public var datastore: MoRef?
    /// The bytes it occupies (what a copy as it is writes).
    public var bytes: Int64

    public init(id: VMFileID, label: String, datastore: MoRef?, bytes: Int64) {
        self.id = id
        self.label = label
        self.datastore = datastore
        self.bytes = bytes
    }

    /// `config` or `disk 2` (from the label's number), for one-line displays.
    public var shortName: String {
        switch id {
        case .config: return "config"
        case .disk(let key):
            if let last = label.split(separator: " ").last, let n = Int(last) { return "disk \(n)" }
            return "disk \(key)"
        }
    }
}

/// A file id as text (`config`, `disk 2001`), as the journal and JSON keep it.
extension VMFileID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = VMFileID(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a file id: '\(text)'"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
