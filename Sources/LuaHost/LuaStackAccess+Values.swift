import CLuaShim

// Typed reads of one stack slot. None of them raises or runs a metamethod, and none
// converts a value in place; a slot of another type reads as nil (argument checking that
// throws `LuaArgumentError` is `LuaCall`'s: `integer(_:)`, `string(_:)`, …).

extension LuaStackAccess {
    /// The type of the value at `index` (`.none` beyond the top).
    @inlinable
    public func type(_ index: Int32) -> LuaType { LuaType(rawValue: lua_type(L, index)) ?? .none }

    /// `true` if `index` is beyond the top or holds nil.
    @inlinable
    public func isNoneOrNil(_ index: Int32) -> Bool { lua_type(L, index) <= LUA_TNIL }

    /// The value at `index` by Lua truthiness (only nil and false are false).
    @inlinable
    public func boolean(_ index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

    /// The string at `index`, or a number as Lua writes it; nil for other types. A number
    /// is converted on a copy, so a key being traversed stays a number.
    @inlinable
    public func string(at index: Int32) -> String? {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            return LuaStack.string(at: index, on: L)
        case LUA_TNUMBER:
            guard lua_checkstack(L, 2) != 0 else { return nil }
            lua_pushvalue(L, index)
            defer { lua_settop(L, -2) }
            return LuaStack.string(at: -1, on: L)
        default:
            return nil
        }
    }

    /// The number at `index`, or nil (strings are not converted).
    @inlinable
    public func number(at index: Int32) -> Double? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        return lua_tonumberx(L, index, nil)
    }

    /// The integer at `index` (an integer, or a float with an integral value), or nil.
    @inlinable
    public func integer(at index: Int32) -> Int? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        var isInteger: Int32 = 0
        let value = lua_tointegerx(L, index, &isInteger)
        return isInteger != 0 ? Int(value) : nil
    }

    /// The Swift object behind the `T` userdata at `index`; nil for anything else, a
    /// forged userdata or a closed one. Never registers `T` (no object of an unregistered
    /// type can be on the stack).
    public func object<T: LuaUserdata>(at index: Int32, as type: T.Type = T.self) -> T? {
        guard let block = mm_udata_at(L, index), block.pointee.type_id == LuaState.typeID(of: T.self),
              let pointer = block.pointee.object else { return nil }
        return Unmanaged<T>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// What to call the value at `index` in a message: the type name of a Moonmotion
    /// userdata (`moonmotion.VM`), else Lua's type name (`table`, `userdata`, …).
    public func typeName(_ index: Int32) -> String {
        if let block = mm_udata_at(L, index), block.pointee.object != nil,
           let name = state.typeNamesByID[block.pointee.type_id] {
            return name
        }
        return type(index).name
    }

    /// The identity of the table, function, userdata or thread at `index` (`lua_topointer`),
    /// for caches keyed by a table a script passed; nil for plain values.
    public func identity(at index: Int32) -> UnsafeRawPointer? {
        lua_topointer(L, index)
    }

    /// Whether the value at `index` can be called: a function, or a value whose metatable's
    /// `__call` (read raw) is one.
    public func isCallable(_ index: Int32) -> Bool {
        if lua_type(L, index) == LUA_TFUNCTION { return true }
        _ = lua_checkstack(L, 2)
        guard luaL_getmetafield(L, index, "__call") != LUA_TNIL else { return false }
        defer { lua_settop(L, -2) }
        return lua_type(L, -1) == LUA_TFUNCTION
    }

    /// `file.lua:12` where the Lua function at `index` is defined; nil for C and Swift
    /// functions and for anything else.
    public func functionLocation(_ index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TFUNCTION, lua_checkstack(L, 2) != 0 else { return nil }
        var info = lua_Debug()
        lua_pushvalue(L, index)
        guard lua_getinfo(L, ">S", &info) != 0, info.linedefined > 0 else { return nil }
        let source = withUnsafeBytes(of: info.short_src) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return "\(source):\(info.linedefined)"
    }
}
