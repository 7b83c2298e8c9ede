import CLuaShim

/// Fills a module table (`require "name"`): functions, values, userdata.
///
/// Contributions are registered with `LuaState.addModule(_:_:)`; several parts of the
/// program may contribute to the same module (LuaHost adds `sleep`/`spawn` to
/// `moonmotion`, LuaBindings adds `connect`, ...).
public struct LuaModuleBuilder {
    /// The state the module lives in.
    public let state: LuaState
    /// The module's name as passed to `require`.
    public let moduleName: String
    /// The thread whose stack holds the table.
    public let L: OpaquePointer
    /// Absolute stack index of the module table.
    public let tableIndex: Int32

    /// Sets `name` to a Swift function (fast form). Its registered name is `module.name`.
    public func function(_ name: String, _ body: @escaping LuaFunctionBody) {
        state.pushFunction(named: qualified(name), body, on: L)
        mm_rawsetfield(L, tableIndex, name)
    }

    /// Sets `name` to a Swift function taking and returning plain values.
    public func valueFunction(_ name: String, _ body: @escaping ([LuaValue]) throws -> [LuaValue]) {
        function(name, LuaState.valueFunctionBody(body))
    }

    /// Sets `name` to a plain value.
    public func set(_ name: String, _ value: LuaValue) {
        LuaStack.push(value, on: L)
        mm_rawsetfield(L, tableIndex, name)
    }

    /// Sets `name` to the userdata of a Swift object.
    public func set<T: LuaUserdata>(_ name: String, object: T) {
        state.push(object, on: L)
        mm_rawsetfield(L, tableIndex, name)
    }

    /// Sets `name` to the value the reference holds.
    public func set(_ name: String, reference: LuaRef) {
        reference.push(on: L)
        mm_rawsetfield(L, tableIndex, name)
    }

    /// Sets `name` to a function written in Lua (compiled in text mode). `source` is a
    /// chunk that returns the function, e.g. `return function(t) ... end`.
    public func luaFunction(_ name: String, source: String) throws {
        try state.loadOnStack(source, chunkName: "=[\(qualified(name))]", on: L)
        try state.protectedCall(argumentCount: 0, resultCount: 1, on: L)
        mm_rawsetfield(L, tableIndex, name)
    }

    private func qualified(_ name: String) -> String {
        let short = moduleName == "moonmotion" ? "mm" : moduleName
        return short + "." + name
    }
}

extension LuaState {
    /// Adds a contribution to module `name`, found by `require(name)` through
    /// `package.preload`. Contributions run in the order added when the module is first
    /// required; one added after that is applied to the loaded table at once.
    public func addModule(_ name: String, _ contribution: @escaping (LuaModuleBuilder) throws -> Void) throws {
        let L = mainThread
        let isNew = moduleContributions[name] == nil
        moduleContributions[name, default: []].append(contribution)
        // Already loaded? Apply to the live table.
        mm_rawgetfield(L, mm_registryindex(), LUA_LOADED_TABLE)
        mm_rawgetfield(L, -1, name)
        if lua_type(L, -1) == LUA_TTABLE {
            defer { lua_settop(L, -3) }
            try contribution(LuaModuleBuilder(state: self, moduleName: name, L: L, tableIndex: lua_gettop(L)))
            return
        }
        lua_settop(L, -3)
        guard isNew else { return }
        mm_rawgetfield(L, mm_registryindex(), LUA_PRELOAD_TABLE)
        pushFunction(named: "require:" + name, { call in
            let L = call.L
            let state = call.state
            lua_createtable(L, 0, 8)
            let table = lua_gettop(L)
            for part in state.moduleContributions[name] ?? [] {
                try part(LuaModuleBuilder(state: state, moduleName: name, L: L, tableIndex: table))
            }
            lua_settop(L, table)
            return .values(1)
        }, on: L)
        mm_rawsetfield(L, -2, name)
        lua_settop(L, -2)
    }
}
