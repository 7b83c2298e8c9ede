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

    public var description: String { "\(type):\(value)" }

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
        try c.encode(description)
    }
}
