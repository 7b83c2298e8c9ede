import CLuaShim

/// A Lua thread's stack as Swift code outside LuaHost uses it: inside a Swift function
/// (`LuaCall`) or from Swift code that calls into Lua (`LuaThreadStack`). Owner thread only.
///
/// Every operation is safe to run outside a protected call, which is where Swift code
/// runs (the threat model in docs/ARCHITECTURE.md):
///
/// * tables are read and written raw: no `__index`, `__newindex`, `__len` or `__pairs`
///   of a script's table ever runs, so nothing a script defines can raise through a
///   Swift frame;
/// * reads never convert a value in place (a number key read as a string stays a
///   number, so a raw traversal stays valid);
/// * a push of many values checks the stack first.
///
/// Indices are Lua's: positive from the bottom (a Swift function's argument 1 is 1),
/// negative from the top. Code that needs the C API itself belongs in LuaHost.
public protocol LuaStackAccess {
    /// The thread (`lua_State *`): the main thread or a coroutine.
    var L: OpaquePointer { get }
    /// The state the thread belongs to.
    var state: LuaState { get }
}

extension LuaCall: LuaStackAccess {}

/// A thread's stack for Swift code that is not a Swift function called from Lua: the
/// migration engine calling a strategy's hooks, a value pushed for a global. Owner thread
/// only (the runtime's executor).
public struct LuaThreadStack: LuaStackAccess {
    /// The state the thread belongs to.
    public let state: LuaState
    /// The thread.
    public let L: OpaquePointer

    /// The stack of `thread`, or of the state's main thread.
    public init(state: LuaState, thread: OpaquePointer? = nil) {
        self.state = state
        self.L = thread ?? state.mainThread
    }
}

extension LuaStackAccess {
    // MARK: The stack

    /// The index of the top value (the number of values on the stack).
    @inlinable public var top: Int32 { lua_gettop(L) }

    /// Sets the top to `index`: pops values above it, or pushes nils up to it.
    @inlinable public func setTop(_ index: Int32) { lua_settop(L, index) }

    /// Pops `count` values.
    @inlinable public func pop(_ count: Int32 = 1) { lua_settop(L, -count - 1) }

    /// `index` as an index from the bottom (unchanged for positive ones), so it stays
    /// valid while values are pushed.
    @inlinable public func absoluteIndex(_ index: Int32) -> Int32 { lua_absindex(L, index) }

    /// Ensures room for `count` more values, or throws (a deep recursion of Swift and Lua).
    public func reserveStack(_ count: Int) throws {
        guard lua_checkstack(L, Int32(clamping: count + 2)) != 0 else {
            throw LuaFailure("Lua stack overflow")
        }
    }

    /// Runs `body`, then restores the stack top it found, whether `body` returns or throws.
    @inlinable
    public func preservingTop<T>(_ body: () throws -> T) rethrows -> T {
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        return try body()
    }

    /// Pushes a copy of the value at `index`.
    @inlinable public func pushCopy(of index: Int32) { lua_pushvalue(L, index) }

    /// Removes the value at `index`, shifting the ones above it down.
    public func remove(at index: Int32) { mm_remove(L, index) }

    // MARK: Pushing values

    /// Pushes nil.
    @inlinable public func pushNil() { lua_pushnil(L) }
    /// Pushes an integer.
    @inlinable public func push(_ value: Int) { lua_pushinteger(L, lua_Integer(value)) }
    /// Pushes an integer.
    @inlinable public func push(_ value: Int64) { lua_pushinteger(L, lua_Integer(value)) }
    /// Pushes a float.
    @inlinable public func push(_ value: Double) { lua_pushnumber(L, value) }
    /// Pushes a boolean.
    @inlinable public func push(_ value: Bool) { lua_pushboolean(L, value ? 1 : 0) }
    /// Pushes a string (embedded NULs preserved).
    @inlinable public func push(_ value: String) { LuaStack.push(string: value, on: L) }
    /// Pushes the string, or nil.
    public func pushOptional(_ value: String?) {
        if let value { push(value) } else { lua_pushnil(L) }
    }
    /// Pushes a plain value: tables are built raw and nest up to `LuaStack.maxDepth`.
    public func push(_ value: LuaValue) { LuaStack.push(value, on: L) }
    /// Pushes the value a reference holds.
    public func push(_ ref: LuaRef) { ref.push(on: L) }
    /// Pushes the userdata for a Swift object (the same userdata while it is alive in Lua).
    public func push<T: LuaUserdata>(_ object: T) { state.push(object, on: L) }
    /// Pushes a Swift function. It is registered anew on every call, for the state's
    /// lifetime: do not call this per call in hot paths (see `registryValue`).
    public func push(function name: String, _ body: @escaping LuaFunctionBody) {
        state.pushFunction(named: name, body, on: L)
    }

    // MARK: References and the registry

    /// A registry reference to the value at `index` (any type; the value stays).
    public func reference(_ index: Int32) -> LuaRef {
        state.reference(at: index, on: L)
    }

    /// A registry reference to the top value, which is popped.
    public func popReference() -> LuaRef {
        state.popReference(on: L)
    }

    /// A per-state value kept in the registry under `key`: `make` pushes it (exactly one
    /// value) the first time; later calls reuse it. Returns a reference to it. For
    /// metatables and helper functions the bindings build once per state.
    public func registryValue(_ key: String, make: () throws -> Void) rethrows -> LuaRef {
        let base = lua_gettop(L)
        _ = lua_checkstack(L, 4)
        push(key)
        if lua_rawget(L, mm_registryindex()) != LUA_TNIL {
            return popReference()
        }
        lua_settop(L, base)
        try make()
        push(key)
        lua_pushvalue(L, -2)
        lua_rawset(L, mm_registryindex())
        return popReference()
    }

    /// Pushes `package.loaded[name]` (raw: scripts can reach that table) and returns its
    /// type: nil when the module was not required yet.
    @discardableResult
    public func pushLoadedModule(_ name: String) -> LuaType {
        _ = lua_checkstack(L, 4)
        guard mm_rawgetfield(L, mm_registryindex(), LUA_LOADED_TABLE) == LUA_TTABLE else {
            lua_settop(L, -2)
            lua_pushnil(L)
            return .nil
        }
        push(name)
        let type = lua_rawget(L, -2)
        mm_remove(L, -2)
        return LuaType(rawValue: type) ?? .none
    }

    // MARK: Calling into Lua

    /// Calls the function below the top `argumentCount` values through the state's pcall
    /// helper (`LuaState.protectedCall`): a Lua error is thrown as `LuaError`, with the
    /// function and arguments popped; on success `resultCount` results replace them.
    public func protectedCall(argumentCount: Int32, resultCount: Int32) throws(LuaError) {
        try state.protectedCall(argumentCount: argumentCount, resultCount: resultCount, on: L)
    }

    /// Compiles `source` into a function (see `LuaState.load`).
    public func load(_ source: String, chunkName: String) throws(LuaError) -> LuaRef {
        try state.load(source, chunkName: chunkName, on: L)
    }
}
