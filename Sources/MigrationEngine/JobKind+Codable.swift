import Foundation
import VCenterModel

/// The journal's JSON form of a `JobKind` (and of the `PropertyValue` arguments of a
/// custom task). References are written as `Type:value`.
struct KindRecord: Codable, Hashable {
    var type: String
    var candidates: [String]?
    var host: String?
    var pool: String?
    var method: String?
    var selector: String?
    var removeChildren: Bool?
    var consolidate: Bool?
    var object: String?
    var arguments: [FieldRecord]?
    var cost: [Int]?
    // Storage moves beyond "the whole VM to one of candidates" (absent in older journals).
    var sources: [String]?
    var map: [MapRecord]?
    var fixed: [MapRecord]?
    var keepTogether: Bool?
    var format: String?
    var storageDRS: String?

    /// One source (or file) and where it may go.
    struct MapRecord: Codable, Hashable {
        var from: String
        var to: [String]
    }

    private mutating func encodeStorage(_ m: StorageMove) {
        candidates = m.targets.map(\.description)
        sources = m.sources?.map(\.description)
        map = m.map.isEmpty ? nil : m.map.map { MapRecord(from: $0.source.description, to: $0.targets.map(\.description)) }
        fixed = m.fixed.isEmpty ? nil : m.fixed.map { MapRecord(from: $0.file.description, to: [$0.datastore.description]) }
        keepTogether = m.keepTogether ? nil : false
        format = m.format?.rawValue
        storageDRS = m.storageDRS?.description
    }

    private func storage() throws -> StorageMove {
        func ref(_ s: String) throws -> MoRef {
            guard let r = MoRef(parsing: s) else { throw JournalError.corrupt("bad reference '\(s)' in a storage move") }
            return r
        }
        var m = StorageMove(targets: try (candidates ?? []).map(ref))
        m.sources = try sources.map { try $0.map(ref) }
        m.map = try (map ?? []).map { SourceMapping(source: try ref($0.from), targets: try $0.to.map(ref)) }
        m.fixed = try (fixed ?? []).map { r in
            guard let file = VMFileID(parsing: r.from), let to = r.to.first else { throw JournalError.corrupt("bad file placement '\(r.from)' in a storage move") }
            return FilePlacement(file: file, datastore: try ref(to))
        }
        m.keepTogether = keepTogether ?? true
        if let format {
            guard let f = DiskFormat(rawValue: format) else { throw JournalError.corrupt("unknown disk format '\(format)' in a storage move") }
            m.format = f
        }
        m.storageDRS = try storageDRS.map(ref)
        return m
    }

    init(_ kind: JobKind) {
        switch kind {
        case .storageMove(let m):
            type = "storage"
            encodeStorage(m)
        case .hostMove(let h, let p, let m):
            type = "host"
            host = h.description
            pool = p?.description
            method = m.rawValue
        case .storageAndHostMove(let m, let h, let p):
            type = "storage+host"
            encodeStorage(m)
            host = h.description
            pool = p?.description
        case .consolidate:
            type = "consolidate"
        case .removeSnapshot(let s, let children, let consolidate):
            type = "remove-snapshot"
            switch s {
            case .all: selector = "all"
            case .named(let n): selector = "named:" + n
            case .ref(let r): selector = "ref:" + r.description
            }
            removeChildren = children
            self.consolidate = consolidate
        case .custom(let t):
            type = "custom"
            method = t.method
            object = t.object?.description
            arguments = t.arguments.map(FieldRecord.init)
            cost = [t.cost.host, t.cost.datastore, t.cost.network]
        }
    }

    func kind() throws -> JobKind {
        func ref(_ s: String?) throws -> MoRef {
            guard let s, let r = MoRef(parsing: s) else { throw JournalError.corrupt("bad reference '\(s ?? "nil")' in a job kind") }
            return r
        }
        switch type {
        case "storage":
            return .storageMove(try storage())
        case "host":
            return .hostMove(host: try ref(host), pool: try pool.map { try ref($0) }, method: HostMoveMethod(rawValue: method ?? "") ?? .relocate)
        case "storage+host":
            return .storageAndHostMove(try storage(), host: try ref(host), pool: try pool.map { try ref($0) })
        case "consolidate":
            return .consolidate
        case "remove-snapshot":
            let s = selector ?? "all"
            let sel: SnapshotSelector
            if s.hasPrefix("named:") { sel = .named(String(s.dropFirst(6))) } else if s.hasPrefix("ref:") { sel = .ref(try ref(String(s.dropFirst(4)))) } else { sel = .all }
            return .removeSnapshot(sel, removeChildren: removeChildren ?? false, consolidate: consolidate ?? true)
        case "custom":
            let c = cost ?? [0, 0, 0]
            return .custom(CustomTask(method: method ?? "", object: try object.map { try ref($0) },
                                      arguments: try (arguments ?? []).map { try $0.field() },
                                      cost: DeclaredCost(host: c.count > 0 ? c[0] : 0, datastore: c.count > 1 ? c[1] : 0, network: c.count > 2 ? c[2] : 0)))
        default:
            throw JournalError.corrupt("unknown job kind '\(type)'")
        }
    }
}

/// A named `PropertyValue`, as JSON.
struct FieldRecord: Codable, Hashable {
    var name: String
    var value: ValueRecord
    init(_ f: PropertyValue.Field) {
        name = f.name
        value = ValueRecord(f.value)
    }
    func field() throws -> PropertyValue.Field { PropertyValue.Field(name, try value.value()) }
}

/// A `PropertyValue`, as JSON: one key naming the case.
indirect enum ValueRecord: Codable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case moRef(String)
    case array([ValueRecord])
    case object(type: String?, fields: [FieldRecord])

    init(_ v: PropertyValue) {
        switch v {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .moRef(let r): self = .moRef(r.description)
        case .array(let a): self = .array(a.map(ValueRecord.init))
        case .object(let t, let f): self = .object(type: t, fields: f.map(FieldRecord.init))
        }
    }

    func value() throws -> PropertyValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .moRef(let s):
            guard let r = MoRef(parsing: s) else { throw JournalError.corrupt("bad reference '\(s)' in an argument") }
            return .moRef(r)
        case .array(let a): return .array(try a.map { try $0.value() })
        case .object(let t, let f): return .object(type: t, fields: try f.map { try $0.field() })
        }
    }
}
