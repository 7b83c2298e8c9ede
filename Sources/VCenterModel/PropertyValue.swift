/// A vSphere data value of any shape, for the generic parts of the API:
/// `conn:invoke` arguments and results, task results, properties without a typed binding.
public indirect enum PropertyValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case moRef(MoRef)
    case array([PropertyValue])
    /// A data object: its vSphere type (the `xsi:type`, when known) and its fields in order.
    case object(type: String?, fields: [Field])

    /// One named field of a data object.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: PropertyValue
        public init(_ name: String, _ value: PropertyValue) {
            self.name = name
            self.value = value
        }
    }

    /// The field called `name` of an `.object`, or nil.
    public subscript(field name: String) -> PropertyValue? {
        guard case .object(_, let fields) = self else { return nil }
        return fields.first(where: { $0.name == name })?.value
    }

    /// The reference carried by a `.moRef`, or nil.
    public var moRef: MoRef? {
        if case .moRef(let ref) = self { return ref }
        return nil
    }

    /// The text of a `.string`, or nil.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
