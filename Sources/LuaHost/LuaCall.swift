import CLuaShim

/// The view a Swift function has of its call: argument accessors on the raw stack of the
/// calling thread (no arrays allocated); results are pushed with the stack operations of
/// `LuaStackAccess`, which `LuaCall` conforms to.
///
/// Argument indices are 1-based as in Lua's C API; a method's `self` is argument 1.
/// Accessors throw `LuaArgumentError`, which the dispatcher turns into the message
/// `luaL_argerror` would raise.
public struct LuaCall {
    /// The calling thread (`lua_State *`): the main thread or a coroutine.
    public let L: OpaquePointer
    /// The state this call belongs to.
    public unowned(unsafe) let state: LuaState
    /// Index of the called function in the state's function table.
    @usableFromInline let functionIndex: lua_Integer

    @usableFromInline
    init(L: OpaquePointer, state: LuaState, functionIndex: lua_Integer) {
        self.L = L
        self.state = state
        self.functionIndex = functionIndex
    }

    /// The name the function was registered with (e.g. `mm.sleep`).
    public var functionName: String { state.functionName(functionIndex) }

    /// Number of arguments (the stack top at entry, minus values pushed since).
    @inlinable
    public var argumentCount: Int32 { lua_gettop(L) }

    // MARK: Arguments

    /// Argument `i` as an integer (`luaL_checkinteger`).
    @inlinable
    public func integer(_ i: Int32) throws -> Int {
        var isNumber: Int32 = 0
        let v = lua_tointegerx(L, i, &isNumber)
        if isNumber != 0 { return Int(v) }
        if lua_isnumber(L, i) != 0 { throw LuaArgumentError(i, "number has no integer representation") }
        throw LuaArgumentError(i, expected: "number")
    }

    /// Argument `i` as an integer, or nil when absent/nil (`luaL_optinteger`).
    public func optionalInteger(_ i: Int32) throws -> Int? {
        isNoneOrNil(i) ? nil : try integer(i)
    }

    /// Argument `i` as a number (`luaL_checknumber`).
    @inlinable
    public func number(_ i: Int32) throws -> Double {
        var isNumber: Int32 = 0
        let v = lua_tonumberx(L, i, &isNumber)
        if isNumber != 0 { return v }
        throw LuaArgumentError(i, expected: "number")
    }

    /// Argument `i` as a number, or nil when absent/nil.
    public func optionalNumber(_ i: Int32) throws -> Double? {
        isNoneOrNil(i) ? nil : try number(i)
    }

    /// Argument `i` as a string; numbers are converted (`luaL_checkstring`).
    public func string(_ i: Int32) throws -> String {
        let t = lua_type(L, i)
        guard t == LUA_TSTRING || t == LUA_TNUMBER, let s = LuaStack.string(at: i, on: L) else {
            throw LuaArgumentError(i, expected: "string")
        }
        return s
    }

    /// Argument `i` as a string, or nil when absent/nil.
    public func optionalString(_ i: Int32) throws -> String? {
        isNoneOrNil(i) ? nil : try string(i)
    }

    /// Argument `i` as plain data; functions, userdata and threads are argument errors.
    public func value(_ i: Int32) throws -> LuaValue {
        do {
            return try LuaStack.value(at: i, on: L)
        } catch let error as LuaConversionError {
            throw LuaArgumentError(i, error.description)
        }
    }

    /// Argument `i`, which must be a table, as plain data.
    public func table(_ i: Int32) throws -> LuaTable {
        guard lua_type(L, i) == LUA_TTABLE else { throw LuaArgumentError(i, expected: "table") }
        guard case .table(let t) = try value(i) else { return LuaTable(array: []) }
        return t
    }

    /// Argument `i` as a table, or nil when absent/nil.
    public func optionalTable(_ i: Int32) throws -> LuaTable? {
        isNoneOrNil(i) ? nil : try table(i)
    }

    /// Every argument as plain data.
    public func allArguments() throws -> [LuaValue] {
        let n = argumentCount
        guard n > 0 else { return [] }
        var values: [LuaValue] = []
        values.reserveCapacity(Int(n))
        for i in 1...n { values.append(try value(i)) }
        return values
    }

    /// A registry reference to argument `i`, which must be a function.
    public func function(_ i: Int32) throws -> LuaRef {
        guard lua_type(L, i) == LUA_TFUNCTION else { throw LuaArgumentError(i, expected: "function") }
        return reference(i)
    }

    /// Argument `i` as the Swift object behind a userdata of type `T`. Wrong types, forged
    /// userdata and closed objects are Lua errors.
    public func userdata<T: LuaUserdata>(_ i: Int32, as type: T.Type = T.self) throws -> T {
        try state.userdata(at: i, on: L, as: type)
    }

    /// Argument `i` as a `T` userdata, or nil when absent/nil.
    public func optionalUserdata<T: LuaUserdata>(_ i: Int32, as type: T.Type = T.self) throws -> T? {
        isNoneOrNil(i) ? nil : try userdata(i, as: type)
    }

    // MARK: Results

    /// Pushes `values` and returns their count.
    public func returning(_ values: [LuaValue]) throws -> LuaReturn {
        guard lua_checkstack(L, Int32(clamping: values.count + 1)) != 0 else {
            throw LuaRaise("too many results (\(values.count))")
        }
        for v in values { LuaStack.push(v, on: L) }
        return .values(Int32(values.count))
    }

    /// Pushes `values` and returns their count.
    public func returning(_ values: LuaValue...) throws -> LuaReturn {
        try returning(values)
    }

    // MARK: Calling back into Lua

    /// Calls `function` with plain arguments through the state's pcall helper (traceback
    /// handler). A Lua error is thrown as `LuaError`; rethrowing it raises it unchanged.
    public func call(_ function: LuaRef, _ arguments: [LuaValue] = []) throws -> [LuaValue] {
        try state.call(function, arguments, on: L)
    }
}
