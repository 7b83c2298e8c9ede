/// Builds XML into a byte buffer, escaping text and attribute values.
///
/// Escaping follows XML 1.0: `&`, `<`, `>` are escaped everywhere, `"` and `'` in
/// attribute values, and carriage return (plus tab and line feed inside attributes)
/// as character references so a parser gives back exactly the same string.
/// Characters XML 1.0 cannot carry at all (C0 controls other than tab, line feed and
/// carriage return, U+FFFE, U+FFFF) are written as U+FFFD REPLACEMENT CHARACTER.
///
/// The writer does not check nesting: `end` must be given the name `start` was given.
public struct XMLWriter: Sendable {
    /// The bytes written so far (UTF-8).
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer with room for `capacity` bytes.
    public init(capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends raw, already well-formed markup (for fixed envelope parts). Never pass user data here.
    public mutating func raw(_ markup: String) {
        bytes.append(contentsOf: markup.utf8)
    }

    /// Opens `<name …>` with an optional `xsi:type` and further attributes (values escaped).
    public mutating func start(_ name: String, xsiType: String? = nil, attributes: [(name: String, value: String)] = []) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(contentsOf: name.utf8)
        if let xsiType {
            bytes.append(contentsOf: #" xsi:type=""#.utf8)
            appendEscaped(xsiType, inAttribute: true)
            bytes.append(UInt8(ascii: "\""))
        }
        for attribute in attributes {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: attribute.name.utf8)
            bytes.append(contentsOf: #"=""#.utf8)
            appendEscaped(attribute.value, inAttribute: true)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: ">"))
    }

    /// Closes `</name>`.
    public mutating func end(_ name: String) {
        bytes.append(contentsOf: "</".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ">"))
    }

    /// Appends escaped character data.
    public mutating func text(_ value: String) {
        appendEscaped(value, inAttribute: false)
    }

    /// Writes `<name>value</name>` (with `xsi:type` when given).
    public mutating func element(_ name: String, _ value: String, xsiType: String? = nil) {
        start(name, xsiType: xsiType)
        text(value)
        end(name)
    }

    /// Writes a `ManagedObjectReference`: `<name type="Type">value</name>`. Pass `xsiType: true`
    /// where the schema declares the element as `anyType` (for example inside an `ArrayOfAnyType`).
    public mutating func moRef(_ name: String, type: String, value: String, xsiType: Bool = false) {
        start(name, xsiType: xsiType ? "ManagedObjectReference" : nil, attributes: [("type", type)])
        text(value)
        end(name)
    }

    /// Appends `value` escaped for text (`inAttribute == false`) or for a double-quoted attribute.
    public mutating func appendEscaped(_ value: String, inAttribute: Bool) {
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            var i = 0
            let count = utf8.count
            while i < count {
                let byte = utf8[i]
                let replacement: StaticString?
                var width = 1
                switch byte {
                case UInt8(ascii: "&"): replacement = "&amp;"
                case UInt8(ascii: "<"): replacement = "&lt;"
                case UInt8(ascii: ">"): replacement = "&gt;"
                case UInt8(ascii: "\""): replacement = inAttribute ? "&quot;" : nil
                case UInt8(ascii: "'"): replacement = inAttribute ? "&apos;" : nil
                case 0x0D: replacement = "&#13;"
                case 0x0A: replacement = inAttribute ? "&#10;" : nil
                case 0x09: replacement = inAttribute ? "&#9;" : nil
                case 0x00..<0x20: replacement = "\u{FFFD}"
                case 0xEF where i + 2 < count && utf8[i + 1] == 0xBF && (utf8[i + 2] == 0xBE || utf8[i + 2] == 0xBF):
                    // U+FFFE and U+FFFF are not XML characters.
                    replacement = "\u{FFFD}"
                    width = 3
                default: replacement = nil
                }
                if let replacement {
                    if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                    replacement.withUTF8Buffer { bytes.append(contentsOf: $0) }
                    i += width
                    runStart = i
                } else {
                    i += 1
                }
            }
            if runStart < count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<count])) }
        }
    }
}
