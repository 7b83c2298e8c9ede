/// A vSphere managed object reference: the object's type and its server-side id,
/// for example `VirtualMachine:vm-42` or `Task:task-1017`.
public struct MoRef: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The managed object type, for example `VirtualMachine`, `HostSystem`, `Datastore`, `Task`.
    public var type: String
    /// The server-side id, for example `vm-42`.
    public var value: String

    /// Creates a reference from its type and id.
    public init(_ type: String, _ value: String) {
        self.type = type
        self.value = value
    }

    /// Parses `Type:value` (the form `description` prints and govc accepts).
    /// A bare id such as `task-12` or `vm-7` gets its type from its prefix when the prefix is known.
    public init?(parsing text: String) {
        if let colon = text.firstIndex(of: ":") {
            let type = String(text[..<colon])
            let value = String(text[text.index(after: colon)...])
            guard !type.isEmpty, !value.isEmpty else { return nil }
            self.init(type, value)
            return
        }
        let prefixes: [(String, String)] = [
            ("task-", "Task"), ("vm-", "VirtualMachine"), ("host-", "HostSystem"),
            ("datastore-", "Datastore"), ("domain-c", "ClusterComputeResource"),
            ("resgroup-", "ResourcePool"), ("datacenter-", "Datacenter"), ("snapshot-", "VirtualMachineSnapshot"),
        ]
        for (prefix, type) in prefixes where text.hasPrefix(prefix) {
            self.init(type, text)
            return
        }
        return nil
    }

    /// `Type:value`, with the session key of a session-scoped object cut (`redactedValue`).
    public var description: String { "\(type):\(redactedValue)" }

    /// `value` with its session key cut: vCenter names the objects a session creates
    /// (property collectors, views, filters) `session[<session key>]<id>`.
    public var redactedValue: String { Self.redactingSessionKeys(value) }

    /// `text` with the key of every session-scoped reference in it cut to `session[…]`.
    ///
    /// Why: vCenter names the objects a session creates `session[<session key>]<id>` and puts
    /// those names in fault messages (`ManagedObjectNotFound`: "The object
    /// 'vim.PropertyCollector:session[52…]52…' has already been deleted"). The key identifies
    /// the login session — the test vCenter's is the session cookie itself — and nothing may
    /// leave the process with it: `description` and every `VCenterFault` pass through here.
    public static func redactingSessionKeys(_ text: String) -> String {
        guard text.contains("session[") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "session[") {
            out += rest[..<open.upperBound]
            out += "…"
            guard let close = rest[open.upperBound...].firstIndex(of: "]") else { return out }
            rest = rest[close...]
        }
        return out + rest
    }

    public static func < (lhs: MoRef, rhs: MoRef) -> Bool {
        (lhs.type, lhs.value) < (rhs.type, rhs.value)
    }
}

/// A reference as its `Type:value` text.
extension MoRef: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let ref = MoRef(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a reference: '\(text)'"))
        }
        self = ref
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        // The whole value: a reference is read back from this text.
        try c.encode("\(type):\(value)")
    }
}
