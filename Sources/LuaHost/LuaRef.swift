import CLuaShim

/// An owned reference to a Lua value in the registry (`luaL_ref`); unref'd on deinit.
///
/// Use it (push, call) only on the state's owner thread. It may be released on any thread:
/// off the owner thread the unref is deferred and applied there. The state counts live
/// references (`LuaState.liveReferenceCount`) so leaks show in tests.
public final class LuaRef: @unchecked Sendable {
    /// The state the value lives in.
    public let state: LuaState
    /// The registry slot (`LUA_REFNIL` for nil, which owns no slot).
    public let slot: Int32

    init(state: LuaState, slot: Int32) {
        self.state = state
        self.slot = slot
    }

    deinit {
        if slot != LUA_REFNIL && slot != LUA_NOREF {
            state.releaseReference(slot)
        }
    }

    /// Pushes the referenced value on thread `L` (default: the main thread).
    public func push(on L: OpaquePointer? = nil) {
        lua_rawgeti(L ?? state.mainThread, mm_registryindex(), lua_Integer(slot))
    }

    /// The referenced value's type.
    public var type: LuaType {
        let L = state.mainThread
        push(on: L)
        defer { lua_settop(L, -2) }
        return LuaStack.type(at: -1, on: L)
    }

    /// The referenced value as plain data.
    public func value() throws -> LuaValue {
        let L = state.mainThread
        push(on: L)
        defer { lua_settop(L, -2) }
        return try LuaStack.value(at: -1, on: L)
    }
}

extension LuaState {
    /// A reference to the value at `idx` on thread `L` (the value stays on the stack).
    public func reference(at idx: Int32, on L: OpaquePointer? = nil) -> LuaRef {
        let L = L ?? mainThread
        lua_pushvalue(L, idx)
        return popReference(on: L)
    }

    /// A reference to the value on the stack top of thread `L`, which is popped.
    public func popReference(on L: OpaquePointer? = nil) -> LuaRef {
        let L = L ?? mainThread
        drainDeferredReleases()
        let slot = luaL_ref(L, mm_registryindex())
        if slot != LUA_REFNIL && slot != LUA_NOREF { liveReferences += 1 }
        return LuaRef(state: self, slot: slot)
    }

    /// Number of `LuaRef`s currently holding a registry slot (deferred releases applied first).
    /// Call on the owner thread.
    public var liveReferenceCount: Int {
        drainDeferredReleases()
        return liveReferences
    }

    /// Releases a registry slot now (owner thread) or later (any other thread).
    func releaseReference(_ slot: Int32) {
        if isClosed { return }
        if isOnOwnerThread {
            luaL_unref(mainThread, mm_registryindex(), slot)
            liveReferences -= 1
            return
        }
        deferredReleases.withLock { $0.append(slot) }
        deferredReleaseNotifier?()
    }

    /// Applies releases requested off the owner thread. Call on the owner thread.
    public func drainDeferredReleases() {
        if isClosed { return }
        let slots = deferredReleases.withLock { pending -> [Int32] in
            if pending.isEmpty { return [] }
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        for slot in slots {
            luaL_unref(mainThread, mm_registryindex(), slot)
            liveReferences -= 1
        }
    }
}
