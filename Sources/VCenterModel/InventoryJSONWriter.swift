import Foundation

/// Writes the inventory's VMs as compact JSON straight from `VMInfo`, byte for byte as
/// Foundation's `JSONEncoder` writes `InventoryDocument.VM` with `.sortedKeys` and
/// `.withoutEscapingSlashes` (swift-foundation's `JSONWriter`): keys in UTF-8 order, absent
/// optionals left out, integers in decimal, dates in ISO 8601, strings escaped as it escapes them.
///
/// Why not the encoder: for 10,000 VMs with their disks, encoding a VM at a time through
/// `JSONEncoder` (a tree of boxed values per VM, then every object's keys sorted) was a fifth of
/// `moonmotion inventory --json`'s CPU. The keys here are written in the order the encoder sorts
/// them to, fixed in the code; `InventoryJSONWriterTests` compares the bytes with the encoder's.
struct InventoryJSONWriter {
    /// The JSON written so far.
    var bytes: [UInt8] = []
    /// Whether the next key or array element needs a comma before it.
    private var needsComma = false

    /// A writer with room for `capacity` bytes.
    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: The inventory's objects

    /// Appends `v`, the way `InventoryDocument.VM(v, in: inv)` encodes.
    mutating func vm(_ v: VMInfo, in inv: Inventory) {
        beginObject()
        if !v.customAttributes.isEmpty {
            key("attributes")
            beginObject()
            // The encoder sorts a dictionary's keys by their UTF-8 bytes, as it does a struct's.
            for name in v.customAttributes.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                field(name, v.customAttributes[name]!)
            }
            endObject()
        }
        if let cluster = v.cluster {
            field("cluster", inv.name(of: cluster))
            field("cluster_moref", cluster.value)
        }
        field("committed", v.committedBytes)
        if v.hasFileLayout { field("config_bytes", v.configBytes) }
        field("connection_state", v.connectionState)
        field("consolidation_needed", v.consolidationNeeded)
        // `_` (0x5F) sorts before `s`: `datastore_morefs` comes before `datastores`.
        key("datastore_morefs")
        stringArray(v.datastores) { $0.value }
        key("datastores")
        stringArray(v.datastores) { inv.name(of: $0) }
        if !v.disks.isEmpty {
            key("disks")
            beginArray()
            for d in v.disks { disk(d, in: inv) }
            endArray()
        }
        if let role = v.faultToleranceRole { field("fault_tolerance", InventoryDocument.VM.faultTolerance(role: role)) }
        if let folder = v.folderPath { field("folder", folder) }
        if let guestId = v.guestId { field("guest_id", guestId) }
        if let guestOS = v.guestOS { field("guest_os", guestOS) }
        if let home = v.configDatastore {
            field("home", inv.name(of: home))
            field("home_moref", home.value)
        }
        if let host = v.host {
            field("host", inv.name(of: host))
            field("host_moref", host.value)
        }
        if !v.media.isEmpty {
            key("media")
            beginArray()
            for m in v.media { media(m, in: inv) }
            endArray()
        }
        field("memory_mb", Int64(v.memoryMB))
        field("moref", v.ref.value)
        field("name", v.name)
        if let pool = v.resourcePool { field("pool", pool.value) }
        field("power", v.powerState)
        key("snapshots")
        beginArray()
        for s in v.snapshots { snapshot(s) }
        endArray()
        if let tags = v.tags {
            key("tags")
            stringArray(tags) { $0.description }
        }
        field("template", v.isTemplate)
        if let tools = v.toolsRunningStatus { field("tools", tools) }
        field("uncommitted", v.uncommittedBytes)
        if !v.vmPathName.isEmpty { field("vm_path", v.vmPathName) }
        endObject()
    }

    /// Appends `d`, the way `InventoryDocument.Disk` encodes.
    private mutating func disk(_ d: VirtualDiskInfo, in inv: Inventory) {
        beginObject()
        field("backing", d.backing.rawValue)
        field("capacity", d.capacityBytes)
        if let ds = d.datastore {
            field("datastore", inv.name(of: ds))
            field("datastore_moref", ds.value)
        }
        field("eager_scrub", d.eagerlyScrub)
        field("file", d.fileName)
        field("key", Int64(d.key))
        field("label", d.label)
        field("mode", d.diskMode)
        if let sharing = d.sharing { field("sharing", sharing) }
        field("thin", d.thinProvisioned)
        field("used", d.usedBytes)
        endObject()
    }

    /// Appends `m`, the way `InventoryDocument.Media` encodes.
    private mutating func media(_ m: VirtualMediaInfo, in inv: Inventory) {
        beginObject()
        if let ds = m.datastore {
            field("datastore", inv.name(of: ds))
            field("datastore_moref", ds.value)
        }
        field("file", m.fileName)
        field("key", Int64(m.key))
        field("label", m.label)
        endObject()
    }

    /// Appends `s`, the way `InventoryDocument.Snapshot` encodes.
    private mutating func snapshot(_ s: SnapshotInfo) {
        beginObject()
        // The encoder's `.iso8601` date strategy is `date.formatted(.iso8601)`.
        if let created = s.createTime { field("create_time", created.formatted(.iso8601)) }
        field("moref", s.ref.value)
        field("name", s.name)
        if let parent = s.parent { field("parent", parent.value) }
        endObject()
    }

    // MARK: JSON pieces

    /// Appends `{`, after a comma if a value came before.
    mutating func beginObject() { open(UInt8(ascii: "{")) }

    /// Appends `}`.
    mutating func endObject() { close(UInt8(ascii: "}")) }

    /// Appends `[`, after a comma if a value came before.
    mutating func beginArray() { open(UInt8(ascii: "[")) }

    /// Appends `]`.
    mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Appends an opening bracket after a comma if a value came before; its first member needs none.
    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        needsComma = false
    }

    /// Appends a closing bracket; the value it ends is followed by a comma.
    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma = true
    }

    /// Appends `"name":`, after a comma if a member came before.
    mutating func key(_ name: String) {
        separate()
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Appends `"name":value` (and the same for the other kinds of value below).
    mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: String, _ value: Int64) {
        key(name)
        integer(value)
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: value ? Self.trueBytes : Self.falseBytes)
        needsComma = true
    }

    /// Appends an array of the strings `text` gives for `items`.
    mutating func stringArray<T>(_ items: [T], _ text: (T) -> String) {
        beginArray()
        for item in items { string(text(item)) }
        endArray()
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)

    /// Appends `value` in decimal, as `value.description` (what the encoder writes).
    mutating func integer(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // The magnitude is a UInt64, so Int64.min has one too. The digits come out last first,
        // into the end of a 20-byte buffer (UInt64.max has 20 digits).
        var rest = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var i = 20
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i...]))
        }
        needsComma = true
    }

    /// Appends `text` quoted and escaped as the encoder escapes it with
    /// `.withoutEscapingSlashes`: `"` and `\` with a backslash; backspace, form feed, newline,
    /// return and tab as `\b \f \n \r \t`; the other bytes below 0x20 as `\u00XX` (lowercase
    /// hex); everything else, non-ASCII included, as its UTF-8 bytes.
    mutating func string(_ text: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            // Copy runs of bytes that need no escape in one go.
            var runStart = 0
            for (i, byte) in utf8.enumerated() where byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0xF)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes the comma a value needs after an earlier member or element.
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }
}
