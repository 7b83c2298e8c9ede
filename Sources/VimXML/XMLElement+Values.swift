/// Typed readings of an element's text, as vim25 writes XML Schema values.
extension XMLElement {
    /// The text as a 64-bit integer (`xsd:long`, `xsd:int`, `xsd:short`), or nil when it is not one.
    public var int64: Int64? { Int64(text.trimmedXMLWhitespace) }

    /// The text as an `Int`, or nil.
    public var int: Int? { Int(text.trimmedXMLWhitespace) }

    /// The text as a `Double` (`xsd:double`, `xsd:float`), or nil.
    public var double: Double? { Double(text.trimmedXMLWhitespace) }

    /// The text as an `xsd:boolean` (`true`/`false`/`1`/`0`), or nil.
    public var bool: Bool? {
        switch text.trimmedXMLWhitespace {
        case "true", "1": return true
        case "false", "0": return false
        default: return nil
        }
    }

    /// The text as an `xsd:dateTime`, in seconds since 1970-01-01T00:00:00Z, or nil.
    public var dateTime: Double? { XSDDateTime.parse(text) }

    /// The element as a `ManagedObjectReference`: its `type` attribute and its text, or nil
    /// when it carries no `type`.
    public var managedObjectReference: (type: String, value: String)? {
        guard let type = typeAttribute else { return nil }
        return (type, text)
    }
}

extension String {
    /// The string without leading and trailing XML whitespace (space, tab, CR, LF).
    var trimmedXMLWhitespace: Substring {
        // vim25 writes numbers and booleans bare: when neither end byte is whitespace, the
        // string is its own trim, found without walking it as Characters (grapheme breaking
        // made this 2 % of a VM retrieval's CPU).
        if let first = utf8.first, let last = utf8.last, !Self.isXMLSpace(first), !Self.isXMLSpace(last) { return self[...] }
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }

    private static func isXMLSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }
}
