extension LuaValue: ExpressibleByNilLiteral {
    /// `nil` becomes `.nil`.
    public init(nilLiteral: ()) { self = .nil }
}

extension LuaValue: ExpressibleByBooleanLiteral {
    /// A boolean literal becomes `.boolean`.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
}

extension LuaValue: ExpressibleByIntegerLiteral {
    /// An integer literal becomes `.integer`.
    public init(integerLiteral value: Int) { self = .integer(value) }
}

extension LuaValue: ExpressibleByFloatLiteral {
    /// A float literal becomes `.number`.
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension LuaValue: ExpressibleByStringLiteral {
    /// A string literal becomes `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension LuaValue: ExpressibleByArrayLiteral {
    /// An array literal becomes a table with only an array part.
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
}

extension LuaValue: ExpressibleByDictionaryLiteral {
    /// A dictionary literal becomes a table with only string keys.
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        self = .table(LuaTable(fields: Dictionary(elements, uniquingKeysWith: { _, last in last })))
    }
}

extension LuaTable: ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    /// An array literal becomes the array part.
    public init(arrayLiteral elements: LuaValue...) { self.init(array: elements) }

    /// A dictionary literal becomes the string-keyed fields.
    public init(dictionaryLiteral elements: (String, LuaValue)...) {
        self.init(fields: Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
