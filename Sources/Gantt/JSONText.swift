import Foundation

/// A minimal JSON writer for large columnar data, escaping for embedding in HTML: the
/// timeline data is written into a `<script type="application/json">` block.
public struct JSONText: Sendable {
    /// The text so far.
    public var text = ""

    /// An empty writer.
    public init() {}

    /// Appends JSON text as it is.
    public mutating func raw(_ s: String) { text += s }

    /// A number with one decimal at most (0 for a non-finite one).
    public mutating func number(_ x: Double) {
        guard x.isFinite else { text += "0"; return }
        let r = (x * 10).rounded() / 10
        text += r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r)
    }

    /// An array of integers.
    public mutating func ints(_ values: [Int]) {
        text += "["
        var first = true
        for v in values {
            if !first { text += "," }
            first = false
            text += String(v)
        }
        text += "]"
    }

    /// An array of strings.
    public mutating func strings(_ values: [String]) {
        text += "["
        for (i, v) in values.enumerated() {
            if i > 0 { text += "," }
            string(v)
        }
        text += "]"
    }

    /// A JSON string with `"`, `\`, control characters, `<`, `>`, `&`, U+2028 and U+2029 escaped.
    public mutating func string(_ s: String) {
        text += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "<": text += "\\u003c"
            case ">": text += "\\u003e"
            case "&": text += "\\u0026"
            case "\u{2028}": text += "\\u2028"
            case "\u{2029}": text += "\\u2029"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    text += String(format: "\\u%04x", u.value)
                } else {
                    text.unicodeScalars.append(u)
                }
            }
        }
        text += "\""
    }
}
