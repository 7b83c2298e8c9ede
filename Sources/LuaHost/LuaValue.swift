/// A Lua value copied into Swift: plain data only (no functions, userdata or threads).
///
/// Reading a value from the stack uses raw access, so a metatable can never raise through
/// Swift. Strings are decoded as UTF-8; invalid bytes become U+FFFD.
public enum LuaValue: Sendable, Hashable {
    /// Lua `nil`.
    case `nil`
    /// A Lua boolean.
    case boolean(Bool)
    /// A Lua integer (64-bit).
    case integer(Int)
    /// A Lua float.
    case number(Double)
    /// A Lua string.
    case string(String)
    /// A Lua table with an array part and string keys.
    case table(LuaTable)
}

/// A Lua table as Swift sees it: the sequence `1...n` and the string-keyed fields.
public struct LuaTable: Sendable, Hashable {
    /// Values at keys `1...array.count`. Holes are `.nil`.
    public var array: [LuaValue]
    /// Values at string keys.
    public var fields: [String: LuaValue]
    /// The registry key of a metatable the pushed table gets (one registered once per state
    /// with `registryValue`, e.g. `__tostring` for error tables); nil, or a key with nothing
    /// registered: none. Reading a table back never fills it.
    public var metatable: String?

    /// Creates a table from an array part and string-keyed fields.
    public init(array: [LuaValue] = [], fields: [String: LuaValue] = [:], metatable: String? = nil) {
        self.array = array
        self.fields = fields
        self.metatable = metatable
    }

    /// The value at a string key, `.nil` when absent.
    public subscript(key: String) -> LuaValue {
        get { fields[key] ?? .nil }
        set { fields[key] = newValue == .nil ? nil : newValue }
    }

    /// The value at a 1-based array index, `.nil` when out of range.
    public subscript(index: Int) -> LuaValue {
        index >= 1 && index <= array.count ? array[index - 1] : .nil
    }
}

extension LuaValue {
    /// The Lua type name (`"nil"`, `"boolean"`, `"number"`, `"string"`, `"table"`).
    public var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .table: "table"
        }
    }

    /// `true` for `.nil`.
    public var isNil: Bool { self == .nil }

    /// Lua truthiness: everything except `nil` and `false` is true.
    public var isTruthy: Bool {
        switch self {
        case .nil, .boolean(false): false
        default: true
        }
    }

    /// The string, or a number converted the way Lua converts it; otherwise nil.
    public var stringValue: String? {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .number(let d): LuaValue.format(d)
        default: nil
        }
    }

    /// The integer, or a float with an exact integer value; otherwise nil.
    public var intValue: Int? {
        switch self {
        case .integer(let i): i
        case .number(let d): d.rounded() == d && abs(d) < 9.2e18 ? Int(d) : nil
        case .string(let s): Int(s.trimmingSpaces)
        default: nil
        }
    }

    /// The number as a Double (integers convert); otherwise nil.
    public var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        case .string(let s): Double(s.trimmingSpaces)
        default: nil
        }
    }

    /// The boolean, or nil for other types.
    public var boolValue: Bool? {
        if case .boolean(let b) = self { return b }
        return nil
    }

    /// The table, or nil for other types.
    public var tableValue: LuaTable? {
        if case .table(let t) = self { return t }
        return nil
    }

    /// Field of a table value; `.nil` for other types or missing keys.
    public subscript(key: String) -> LuaValue {
        tableValue?[key] ?? .nil
    }

    /// Array element of a table value (1-based); `.nil` for other types or out of range.
    public subscript(index: Int) -> LuaValue {
        tableValue?[index] ?? .nil
    }

    /// Formats a float like Lua's `%.14g` (`1.0` stays `1.0`, as Lua 5.4 prints it).
    static func format(_ d: Double) -> String {
        if d.isNaN { return d.sign == .minus ? "-nan" : "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d.rounded() == d && abs(d) < 1e15 { return String(Int(d)) + ".0" }
        var text = String(d)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}

extension LuaValue: CustomStringConvertible {
    /// A Lua-like rendering: strings quoted, tables as constructors.
    public var description: String {
        switch self {
        case .nil: "nil"
        case .boolean(let b): b ? "true" : "false"
        case .integer(let i): String(i)
        case .number(let d): LuaValue.format(d)
        case .string(let s): "\"" + s + "\""
        case .table(let t):
            "{" + (t.array.map(\.description) + t.fields.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" })
                .joined(separator: ", ") + "}"
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
