import CLuaShim
import LuaHost

/// A Lua thread's stack as the bindings use it: inside a Swift function (`LuaCall`) or from
/// Swift code calling into Lua with a state and a thread (`LuaStackSlot`, for the strategy
/// hooks). Every read is raw (no metamethod runs, so nothing raises through a Swift frame)
/// and every push of many values checks the stack first.
protocol LuaStackAccess {
    /// The thread (`lua_State *`).
    var L: OpaquePointer { get }
    /// The state the thread belongs to.
    var state: LuaState { get }
}

extension LuaCall: LuaStackAccess {}

/// A thread of a state, for pushing bindings objects outside a Swift function call
/// (executor only).
struct LuaStackSlot: LuaStackAccess {
    let state: LuaState
    let L: OpaquePointer

    /// The state's main thread, or `thread`.
    init(state: LuaState, thread: OpaquePointer? = nil) {
        self.state = state
        self.L = thread ?? state.mainThread
    }
}

extension LuaStackAccess {
    // MARK: Pushing

    /// Ensures room for `count` more values on the stack, or throws.
    func reserveStack(_ count: Int) throws {
        guard lua_checkstack(L, Int32(clamping: count + 2)) != 0 else {
            throw LuaFailure("Lua stack overflow")
        }
    }

    func pushNilValue() { lua_pushnil(L) }
    func pushString(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            _ = lua_pushlstring(L, buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, buffer.count)
        }
    }
    func pushInteger(_ i: Int) { lua_pushinteger(L, lua_Integer(i)) }
    func pushInteger(_ i: Int64) { lua_pushinteger(L, lua_Integer(i)) }
    func pushNumber(_ d: Double) { lua_pushnumber(L, d) }
    func pushBoolean(_ b: Bool) { lua_pushboolean(L, b ? 1 : 0) }
    func pushObject<T: LuaUserdata>(_ object: T) { state.push(object, on: L) }
    func pushReference(_ ref: LuaRef) { ref.push(on: L) }
    /// Pushes a plain value (tables included).
    func pushPlain(_ value: LuaValue) {
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): pushBoolean(b)
        case .integer(let i): pushInteger(i)
        case .number(let d): pushNumber(d)
        case .string(let s): pushString(s)
        case .table(let t):
            lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.fields.count))
            for (i, element) in t.array.enumerated() where element != .nil {
                _ = lua_checkstack(L, 4)
                pushPlain(element)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            for (key, element) in t.fields where element != .nil {
                _ = lua_checkstack(L, 4)
                pushPlain(element)
                mm_rawsetfield(L, -2, key)
            }
        }
    }
    /// Pushes the optional string, or nil.
    func pushOptional(_ s: String?) { if let s { pushString(s) } else { lua_pushnil(L) } }

    /// Pops `count` values.
    func pop(_ count: Int32 = 1) { lua_settop(L, -count - 1) }

    /// The stack top index.
    var top: Int32 { lua_gettop(L) }

    // MARK: Building tables

    /// Pushes a new empty table sized for `array` elements and `fields` named fields.
    func newTable(array: Int = 0, fields: Int = 0) throws {
        try reserveStack(4)
        lua_createtable(L, Int32(clamping: array), Int32(clamping: fields))
    }

    /// Sets field `name` of the table just below the top to the value on top (popped).
    func setField(_ name: String) { mm_rawsetfield(L, -2, name) }

    /// Sets element `i` of the table just below the top to the value on top (popped).
    func setElement(_ i: Int) { lua_rawseti(L, -2, lua_Integer(i)) }

    /// Sets `table[name] = value` on the table at the top (nil leaves the field unset).
    func setField(_ name: String, _ value: LuaValue) {
        guard value != .nil else { return }
        pushPlain(value)
        setField(name)
    }

    /// Pushes an array built from `items`, each pushed by `pushOne` (exactly one value).
    func pushArray<C: Collection>(_ items: C, _ pushOne: (C.Element) throws -> Void) throws {
        try newTable(array: items.count)
        var i = 0
        for item in items {
            i += 1
            try reserveStack(4)
            try pushOne(item)
            setElement(i)
        }
    }

    /// Sets the metatable of the value at `index` to the referenced table.
    func setMetatable(of index: Int32, to metatable: LuaRef) {
        let absolute = lua_absindex(L, index)
        metatable.push(on: L)
        lua_setmetatable(L, absolute)
    }

    // MARK: Reading

    /// The type at stack index `i`.
    func typeAt(_ i: Int32) -> LuaType { LuaType(rawValue: lua_type(L, i)) ?? .none }

    /// Whether the value at `i` is absent or nil.
    func isNilAt(_ i: Int32) -> Bool { lua_type(L, i) <= LUA_TNIL }

    /// Runs `body` with field `name` of the table at `table` pushed (raw; index passed),
    /// then pops it. Absent fields come as nil.
    func withField<T>(_ name: String, of table: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        let absolute = lua_absindex(L, table)
        _ = lua_checkstack(L, 4)
        pushString(name)
        lua_rawget(L, absolute)
        let index = top
        defer { lua_settop(L, index - 1) }
        return try body(index)
    }

    /// The number of array elements (`#t`, raw) of the table at `table`.
    func rawLength(_ table: Int32) -> Int { Int(lua_rawlen(L, table)) }

    /// Runs `body` with element `i` (1-based, raw) of the table at `table` pushed, then pops it.
    func withElement<T>(_ i: Int, of table: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        let absolute = lua_absindex(L, table)
        _ = lua_checkstack(L, 4)
        lua_rawgeti(L, absolute, lua_Integer(i))
        let index = top
        defer { lua_settop(L, index - 1) }
        return try body(index)
    }

    /// The string at stack index `i` (strings and numbers), or nil for other types.
    func stringAt(_ i: Int32) -> String? {
        let t = lua_type(L, i)
        guard t == LUA_TSTRING || t == LUA_TNUMBER else { return nil }
        _ = lua_checkstack(L, 2)
        lua_pushvalue(L, i)  // lua_tolstring converts numbers in place: convert a copy
        defer { pop() }
        var length = 0
        guard let p = lua_tolstring(L, -1, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    /// The number at `i`, or nil.
    func numberAt(_ i: Int32) -> Double? {
        guard lua_type(L, i) == LUA_TNUMBER else { return nil }
        return lua_tonumberx(L, i, nil)
    }

    /// Lua truthiness of the value at `i`.
    func booleanAt(_ i: Int32) -> Bool { lua_toboolean(L, i) != 0 }

    /// The integer at `i` (an integer-valued number), or nil.
    func integerAt(_ i: Int32) -> Int? {
        guard lua_type(L, i) == LUA_TNUMBER else { return nil }
        var ok: Int32 = 0
        let v = lua_tointegerx(L, i, &ok)
        return ok != 0 ? Int(v) : nil
    }

    /// The `T` object at stack index `i`, or nil when the value is something else.
    func objectAt<T: LuaUserdata>(_ i: Int32, _ type: T.Type) -> T? {
        guard lua_type(L, i) == LUA_TUSERDATA else { return nil }
        return try? state.userdata(at: i, on: L, as: type)
    }

    /// Whether the value at `i` is a userdata of type `T`.
    func isUserdata<T: LuaUserdata>(_ i: Int32, _ type: T.Type) -> Bool { objectAt(i, type) != nil }

    /// The string keys of the table at `index` (raw traversal).
    func stringKeys(of index: Int32) throws -> [String] {
        let table = lua_absindex(L, index)
        try reserveStack(4)
        var keys: [String] = []
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let key = stringAt(-2) { keys.append(key) }
            pop()
        }
        return keys
    }

    /// `moonmotion.VM` etc. for a Moonmotion userdata, else Lua's type name.
    func valueTypeName(_ slot: Int32) -> String {
        if let (kind, _) = InventoryObjectKind.object(at: slot, access: self) { return "moonmotion." + kind.typeName }
        if isUserdata(slot, LuaTaskObject.self) { return LuaTaskObject.luaMetatableName }
        if isUserdata(slot, LuaConnection.self) { return LuaConnection.luaMetatableName }
        if isUserdata(slot, LuaInventoryView.self) { return LuaInventoryView.luaMetatableName }
        return typeAt(slot).name
    }
}

extension LuaState {
    /// A per-state value kept in the registry under `key`: pushed by `make` (exactly one
    /// value on `L`) the first time, then reused. Returns a reference to it.
    func registryValue(_ key: String, on L: OpaquePointer, make: () throws -> Void) rethrows -> LuaRef {
        let slot = LuaStackSlot(state: self, thread: L)
        let base = lua_gettop(L)
        _ = lua_checkstack(L, 4)
        slot.pushString(key)
        if lua_rawget(L, mm_registryindex()) != LUA_TNIL {
            return popReference(on: L)
        }
        lua_settop(L, base)
        try make()
        slot.pushString(key)
        lua_pushvalue(L, -2)
        lua_rawset(L, mm_registryindex())
        return popReference(on: L)
    }
}
