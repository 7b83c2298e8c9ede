import CLuaShim

extension LuaState {
    /// Calls the function below the top `argumentCount` values on thread `L` in protected
    /// mode — the one pcall helper every call into Lua goes through. Its message handler
    /// adds a traceback and the script location; a failure is thrown as `LuaError` with
    /// the function and arguments popped. On success `resultCount` results (or all, with
    /// `LUA_MULTRET`) replace them.
    ///
    /// Lua runs with the allocator's window open: past `memoryLimit` an allocation fails
    /// with a memory error that this call catches (see CLuaShim/memory.c).
    public func protectedCall(argumentCount: Int32, resultCount: Int32, on L: OpaquePointer? = nil) throws(LuaError) {
        try protectedCall(argumentCount: argumentCount, resultCount: resultCount, on: L, limited: true)
    }

    /// `protectedCall`; with `limited` false the allocator's window stays as it is (closed
    /// on the host's own work): for the host's helpers that build error reports, which must
    /// work when the script has used every byte it may.
    func protectedCall(argumentCount: Int32, resultCount: Int32, on L: OpaquePointer?, limited: Bool) throws(LuaError) {
        let L = L ?? mainThread
        drainDeferredReleases()
        let base = lua_gettop(L) - argumentCount  // the function's slot
        lua_pushcclosure(L, mm_msghandler, 0)
        mm_insert(L, base)
        let window = limited ? mm_memory_enter_lua(host) : mm_memory_enter_host(host)
        let status = lua_pcallk(L, argumentCount, resultCount, base, 0, nil)
        mm_memory_restore(host, window)
        mm_remove(L, base)
        if status != LUA_OK {
            let error = makeError(status: status, reportAt: -1, on: L)
            lua_settop(L, -2)
            throw error
        }
    }

    /// Builds a `LuaError` from a pcall/resume failure whose error object (a report table
    /// from `mm_msghandler`, or a plain value) is at `idx` of thread `L`.
    func makeError(status: Int32, reportAt idx: Int32, on L: OpaquePointer) -> LuaError {
        let idx = lua_absindex(L, idx)
        var kind = LuaError.Kind.runtime
        switch status {
        case LUA_ERRMEM: kind = .memory
        case LUA_ERRSYNTAX: kind = .syntax
        case LUA_ERRFILE: kind = .file
        default:
            kind = stopKind ?? .runtime
        }
        guard lua_type(L, idx) == LUA_TTABLE, reportField("message", of: idx, on: L) == LUA_TSTRING else {
            // Not a report (memory error, error in error handling, or a plain value).
            let message: String
            if lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER {
                lua_pushvalue(L, idx)
                message = LuaStack.string(at: -1, on: L) ?? ""
                lua_settop(L, -2)
            } else {
                message = "(error object is a \(String(cString: luaL_typename_shim(L, idx))) value)"
            }
            return memoryLimitMapped(LuaError(kind, message: message), status: status)
        }
        let message = LuaStack.string(at: -1, on: L) ?? ""
        lua_settop(L, -2)
        var traceback: String?
        if reportField("traceback", of: idx, on: L) == LUA_TSTRING { traceback = LuaStack.string(at: -1, on: L) }
        lua_settop(L, -2)
        var chunk: String?
        var line: Int?
        if reportField("source", of: idx, on: L) == LUA_TSTRING { chunk = LuaStack.string(at: -1, on: L) }
        lua_settop(L, -2)
        if reportField("line", of: idx, on: L) == LUA_TNUMBER { line = Int(lua_tointegerx(L, -1, nil)) }
        lua_settop(L, -2)
        // Prefer the location the message itself names (it is what the user reads).
        if let (c, l) = LuaError.location(in: message) {
            chunk = c
            line = l
        }
        return memoryLimitMapped(LuaError(kind, message: message, traceback: traceback, chunk: chunk, line: line), status: status)
    }

    /// Why the hook stopped the script, if it did (interrupt, instruction or time limit).
    var stopKind: LuaError.Kind? {
        switch mm_host_stop_reason(host) {
        case MM_STOP_INTERRUPT: .interrupted
        case MM_STOP_INSTRUCTIONS: .instructionLimit
        case MM_STOP_DEADLINE: .timeLimit
        default: mm_host_interrupt_requested(host) != 0 ? .interrupted : nil
        }
    }

    private func reportField(_ name: String, of idx: Int32, on L: OpaquePointer) -> Int32 {
        lua_pushstring(L, name)
        return lua_rawget(L, idx)
    }

    // MARK: Loading

    /// Compiles `source` into a function. `chunkName` follows Lua's convention: `@file.lua`
    /// for files, `=name` for a literal name, otherwise the source is quoted in messages.
    public func load(_ source: String, chunkName: String, on L: OpaquePointer? = nil) throws(LuaError) -> LuaRef {
        let L = L ?? mainThread
        try loadOnStack(source, chunkName: chunkName, on: L)
        return popReference(on: L)
    }

    /// Compiles `source` and leaves the function on the stack top of `L`.
    func loadOnStack(_ source: String, chunkName: String, on L: OpaquePointer) throws(LuaError) {
        var text = source
        let status = text.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                mm_loadbuffer(L, chars.baseAddress, chars.count, chunkName, loadMode)
            }
        }
        if status != LUA_OK {
            let error = makeError(status: status, reportAt: -1, on: L)
            lua_settop(L, -2)
            throw error
        }
    }

    /// Compiles the file at `path` (a first line starting with `#` is skipped, as `lua` does).
    public func loadFile(_ path: String, on L: OpaquePointer? = nil) throws(LuaError) -> LuaRef {
        let L = L ?? mainThread
        let status = luaL_loadfilex(L, path, loadMode)
        if status != LUA_OK {
            let error = makeError(status: status, reportAt: -1, on: L)
            lua_settop(L, -2)
            throw error
        }
        return popReference(on: L)
    }

    // MARK: Calling

    /// Calls `function` with plain arguments on thread `L` and returns its results as plain
    /// values. Not for functions that wait on native work (use `LuaRuntime`).
    public func call(_ function: LuaRef, _ arguments: [LuaValue] = [], on L: OpaquePointer? = nil) throws -> [LuaValue] {
        let L = L ?? mainThread
        guard lua_checkstack(L, Int32(clamping: arguments.count + 2)) != 0 else {
            throw LuaError(message: "too many arguments (\(arguments.count))")
        }
        let base = lua_gettop(L)
        function.push(on: L)
        for a in arguments { LuaStack.push(a, on: L) }
        try protectedCall(argumentCount: Int32(arguments.count), resultCount: LUA_MULTRET, on: L)
        defer { lua_settop(L, base) }
        return try LuaState.values(from: base + 1, on: L)
    }

    /// Calls `function` with the referenced values as arguments (any type) and returns its
    /// results as plain values.
    public func call(_ function: LuaRef, referenceArguments: [LuaRef], on L: OpaquePointer? = nil) throws -> [LuaValue] {
        let L = L ?? mainThread
        guard lua_checkstack(L, Int32(clamping: referenceArguments.count + 2)) != 0 else {
            throw LuaError(message: "too many arguments (\(referenceArguments.count))")
        }
        let base = lua_gettop(L)
        function.push(on: L)
        for a in referenceArguments { a.push(on: L) }
        try protectedCall(argumentCount: Int32(referenceArguments.count), resultCount: LUA_MULTRET, on: L)
        defer { lua_settop(L, base) }
        return try LuaState.values(from: base + 1, on: L)
    }

    /// Calls `function` and returns its results as references (any type).
    public func callReturningReferences(_ function: LuaRef, _ arguments: [LuaValue] = [], on L: OpaquePointer? = nil) throws -> [LuaRef] {
        let L = L ?? mainThread
        let base = lua_gettop(L)
        function.push(on: L)
        for a in arguments { LuaStack.push(a, on: L) }
        try protectedCall(argumentCount: Int32(arguments.count), resultCount: LUA_MULTRET, on: L)
        defer { lua_settop(L, base) }
        return (base + 1..<lua_gettop(L) + 1).map { reference(at: $0, on: L) }
    }

    /// Compiles and runs `source` on the main thread, returning its results as plain values.
    /// For setup code and tests; scripts that wait on native work run through `LuaRuntime`.
    @discardableResult
    public func run(_ source: String, chunkName: String = "=(swift)", arguments: [LuaValue] = []) throws -> [LuaValue] {
        let L = mainThread
        let base = lua_gettop(L)
        try loadOnStack(source, chunkName: chunkName, on: L)
        for a in arguments { LuaStack.push(a, on: L) }
        try protectedCall(argumentCount: Int32(arguments.count), resultCount: LUA_MULTRET, on: L)
        defer { lua_settop(L, base) }
        return try LuaState.values(from: base + 1, on: L)
    }

    /// Reads stack slots `from...top` as plain values.
    static func values(from first: Int32, on L: OpaquePointer) throws -> [LuaValue] {
        let top = lua_gettop(L)
        guard top >= first else { return [] }
        var results: [LuaValue] = []
        results.reserveCapacity(Int(top - first + 1))
        for i in first...top { results.append(try LuaStack.value(at: i, on: L)) }
        return results
    }
}
