import CLuaShim

// Raw table access: reading fields and elements, traversing, building. A script's table
// may carry any metatable; none of these consult it (a script's `__index` that raises
// would otherwise end the process: Swift code runs outside every protected call).
// Reads take any value (anything but a table has no fields: nil, no pairs), so a value a
// script passed needs no type check first; writes need a table (the ones Swift builds).

extension LuaStackAccess {
    // MARK: Reading

    /// The length of the table (or string) at `table` without `__len` (`lua_rawlen`); 0
    /// for other values.
    @inlinable
    public func rawLength(_ table: Int32) -> Int { Int(lua_rawlen(L, table)) }

    /// Pushes `t[name]` of the table at `table`, raw, and returns its type (nil when
    /// `table` is not a table).
    @discardableResult
    public func pushRawField(_ name: String, of table: Int32) -> LuaType {
        let t = lua_absindex(L, table)
        _ = lua_checkstack(L, 3)
        guard lua_type(L, t) == LUA_TTABLE else {
            lua_pushnil(L)
            return .nil
        }
        push(name)
        return LuaType(rawValue: lua_rawget(L, t)) ?? .none
    }

    /// Pushes `t[i]` of the table at `table`, raw, and returns its type (nil when `table`
    /// is not a table).
    @discardableResult
    public func pushRawElement(_ i: Int, of table: Int32) -> LuaType {
        _ = lua_checkstack(L, 2)
        guard lua_type(L, table) == LUA_TTABLE else {
            lua_pushnil(L)
            return .nil
        }
        return LuaType(rawValue: lua_rawgeti(L, table, lua_Integer(i))) ?? .none
    }

    /// Pushes `t[k]` of the table at `table`, raw, for the key at `key` (any value: a
    /// function, a userdata …), and returns its type (nil when `table` is not a table).
    @discardableResult
    public func pushRawValue(of table: Int32, forKeyAt key: Int32) -> LuaType {
        let t = lua_absindex(L, table)
        _ = lua_checkstack(L, 2)
        guard lua_type(L, t) == LUA_TTABLE else {
            lua_pushnil(L)
            return .nil
        }
        lua_pushvalue(L, key)
        return LuaType(rawValue: lua_rawget(L, t)) ?? .none
    }

    /// Runs `body` with field `name` of the table at `table` pushed (raw; its index is
    /// passed; an absent field is nil), then pops it.
    @inlinable
    public func withRawField<T>(_ name: String, of table: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        pushRawField(name, of: table)
        let index = lua_gettop(L)
        defer { lua_settop(L, index - 1) }
        return try body(index)
    }

    /// Runs `body` with element `i` (1-based, raw) of the table at `table` pushed, then pops it.
    @inlinable
    public func withRawElement<T>(_ i: Int, of table: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        pushRawElement(i, of: lua_absindex(L, table))
        let index = lua_gettop(L)
        defer { lua_settop(L, index - 1) }
        return try body(index)
    }

    /// Runs `body` on every key/value pair of the table at `table` (raw `next`, so in no
    /// defined order), with the key's and the value's indices. `body` may push and pop but
    /// must not change the key; the stack is as it was after each pair and after a throw.
    /// Anything but a table has no pairs.
    @inlinable
    public func forEachRawPair(of table: Int32, _ body: (_ key: Int32, _ value: Int32) throws -> Void) throws {
        let t = lua_absindex(L, table)
        guard lua_type(L, t) == LUA_TTABLE else { return }
        try reserveStack(6)
        let base = lua_gettop(L)
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            do {
                try body(base + 1, base + 2)
            } catch {
                lua_settop(L, base)
                throw error
            }
            lua_settop(L, base + 1)
        }
    }

    /// The string keys of the table at `table` (raw traversal, in no defined order).
    public func stringKeys(of table: Int32) throws -> [String] {
        var keys: [String] = []
        try forEachRawPair(of: table) { key, _ in
            if lua_type(L, key) == LUA_TSTRING, let name = string(at: key) { keys.append(name) }
        }
        return keys
    }

    // MARK: Building

    /// Pushes a new empty table sized for `array` elements and `fields` named fields.
    public func newTable(array: Int = 0, fields: Int = 0) throws {
        try reserveStack(4)
        lua_createtable(L, Int32(clamping: array), Int32(clamping: fields))
    }

    /// Pushes a new table whose values are weak (`__mode = "v"`): a cache that keeps
    /// nothing alive.
    public func newWeakValuedTable() throws {
        try newTable()
        lua_createtable(L, 0, 1)
        push("v")
        mm_rawsetfield(L, -2, "__mode")
        lua_setmetatable(L, -2)
    }

    /// Sets field `name` of the table at `table` (by default the one just below the top)
    /// to the value on the top, which is popped. Raw: no `__newindex` runs.
    @inlinable
    public func setRawField(_ name: String, of table: Int32 = -2) {
        let t = lua_absindex(L, table)
        push(name)
        lua_rotate(L, -2, 1)
        lua_rawset(L, t)
    }

    /// Sets field `name` of the table on the top to a plain value (raw; nil leaves the
    /// field as it is).
    public func setRawField(_ name: String, _ value: LuaValue) {
        guard value != .nil else { return }
        _ = lua_checkstack(L, 4)
        push(value)
        setRawField(name)
    }

    /// Sets element `i` of the table at `table` (by default the one just below the top) to
    /// the value on the top, which is popped. Raw.
    @inlinable
    public func setRawElement(_ i: Int, of table: Int32 = -2) {
        lua_rawseti(L, table, lua_Integer(i))
    }

    /// Pushes an array built from `items`, each pushed by `pushOne` (exactly one value).
    public func pushArray<C: Collection>(_ items: C, _ pushOne: (C.Element) throws -> Void) throws {
        try newTable(array: items.count)
        var i = 0
        for item in items {
            i += 1
            try reserveStack(4)
            try pushOne(item)
            lua_rawseti(L, -2, lua_Integer(i))
        }
    }

    /// Sets the metatable of the value at `index` to the referenced table.
    public func setMetatable(of index: Int32, to metatable: LuaRef) {
        let absolute = lua_absindex(L, index)
        _ = lua_checkstack(L, 2)
        metatable.push(on: L)
        lua_setmetatable(L, absolute)
    }

    /// Sets the metatable of the value at `index` to the table on the top, which is popped.
    public func setMetatable(of index: Int32) {
        lua_setmetatable(L, lua_absindex(L, index))
    }
}
