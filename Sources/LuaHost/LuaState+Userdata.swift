import CLuaShim

/// Thrown by a Swift function: raises `message` prefixed with the Lua caller's location
/// (`script.lua:12: message`), like `luaL_error`.
public struct LuaFailure: Error, Sendable, CustomStringConvertible {
    /// The message without location.
    public var message: String
    /// Creates a failure.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

extension LuaState {
    /// The type id stored in userdata blocks: the address of the Swift type's metadata.
    static func typeID<T: AnyObject>(of type: T.Type) -> UnsafeRawPointer {
        UnsafeRawPointer(bitPattern: UInt(bitPattern: ObjectIdentifier(type)))!
    }

    /// Registers `T`'s metatable now (it is otherwise registered on first push).
    public func registerType<T: LuaUserdata>(_ type: T.Type) {
        _ = typeInfo(for: type, on: mainThread)
    }

    func typeInfo<T: LuaUserdata>(for type: T.Type, on L: OpaquePointer) -> LuaTypeInfo {
        if let info = types[ObjectIdentifier(type)] { return info }
        return makeType(type, on: L)
    }

    private func makeType<T: LuaUserdata>(_ type: T.Type, on L: OpaquePointer) -> LuaTypeInfo {
        var builder = LuaTypeBuilder<T>()
        T.describeLuaType(&builder)
        let name = T.luaMetatableName
        let typeID = LuaState.typeID(of: T.self)
        guard luaL_newmetatable(L, name) != 0 else {
            fatalError("LuaHost: two Swift types use the Lua type name \(name); give one a different luaTypeName")
        }
        let metatable = lua_gettop(L)

        // Methods, each checking `self` before running.
        lua_createtable(L, 0, Int32(builder.methods.count))
        for (methodName, body) in builder.methods {
            pushFunction(named: methodName, { call in
                let object = try call.state.checkedObject(at: 1, on: call.L, as: T.self, typeID: typeID, name: name)
                return try body(call, object)
            }, on: L)
            mm_rawsetfield(L, -2, methodName)
        }
        let methodsRef = luaL_ref(L, mm_registryindex())

        // __index: methods first (no Swift string made), then field getters.
        let getters = builder.getters
        let knownNames = (Array(builder.getters.keys) + builder.methods.map(\.0)).sorted()
        let aliases = builder.aliasTable
        pushFunction(named: "__index", { call in
            let L = call.L
            lua_rawgeti(L, mm_registryindex(), lua_Integer(methodsRef))
            lua_pushvalue(L, 2)
            if lua_rawget(L, -2) != LUA_TNIL { return .values(1) }
            lua_settop(L, -3)
            guard lua_type(L, 2) == LUA_TSTRING, let key = LuaStack.string(at: 2, on: L) else {
                return .none
            }
            guard let getter = getters[key] else {
                throw LuaFailure("\(name) has no field or method '\(key)'" + NameSuggestion.hint(for: key, among: knownNames, aliases: aliases))
            }
            let object: T
            do {
                object = try call.state.checkedObject(at: 1, on: L, as: T.self, typeID: typeID, name: name)
            } catch let error as LuaArgumentError {
                guard case .type(let expected, let actual) = error.problem else { throw error }
                throw LuaFailure("cannot read '\(key)' (\(expected) expected, got \(actual ?? "userdata"))")
            }
            return try getter(call, object)
        }, on: L)
        mm_rawsetfield(L, metatable, "__index")

        pushFunction(named: "__newindex", { call in
            let key = LuaStack.string(at: 2, on: call.L) ?? "?"
            throw LuaFailure("cannot set '\(key)': fields of \(name) are read-only")
        }, on: L)
        mm_rawsetfield(L, metatable, "__newindex")

        let describe = builder.describe
        pushFunction(named: "__tostring", { call in
            let L = call.L
            guard let block = mm_udata_at(L, 1), block.pointee.type_id == typeID else {
                call.push("userdata (forged \(name))")
                return .values(1)
            }
            guard let pointer = block.pointee.object else {
                call.push("\(name) (closed)")
                return .values(1)
            }
            if let describe {
                call.push(describe(Unmanaged<T>.fromOpaque(pointer).takeUnretainedValue()))
            } else {
                let address = UInt(bitPattern: lua_topointer(L, 1))
                call.push("\(name): 0x\(String(address, radix: 16))")
            }
            return .values(1)
        }, on: L)
        mm_rawsetfield(L, metatable, "__tostring")

        let onClose = builder.onClose
        pushFunction(named: "__gc", { call in
            // Never raises: a forged or already closed userdata is left alone.
            guard let block = mm_udata_at(call.L, 1), block.pointee.type_id == typeID,
                  let pointer = block.pointee.object else { return .none }
            block.pointee.object = nil
            let object = Unmanaged<T>.fromOpaque(pointer)
            onClose?(object.takeUnretainedValue())
            object.release()
            return .none
        }, on: L)
        lua_pushvalue(L, -1)
        mm_rawsetfield(L, metatable, "__gc")
        mm_rawsetfield(L, metatable, "__close")
        // getmetatable(obj) returns this string, not the table: a script cannot swap the
        // type's __index, __gc or __close for its own (which every object shares).
        LuaStack.push(string: name, on: L)
        mm_rawsetfield(L, metatable, "__metatable")

        let metatableRef = luaL_ref(L, mm_registryindex())  // pops the metatable
        let info = LuaTypeInfo(
            name: name, typeID: typeID, metatableRef: metatableRef,
            fieldNames: builder.getters.keys.sorted(), methodNames: builder.methods.map(\.0).sorted())
        types[ObjectIdentifier(T.self)] = info
        typeNamesByID[typeID] = name
        return info
    }

    /// Pushes the userdata for `object` on thread `L`: the same userdata while it is alive
    /// in Lua, a new one (retaining the object) otherwise.
    public func push<T: LuaUserdata>(_ object: T, on L: OpaquePointer? = nil) {
        let L = L ?? mainThread
        let info = typeInfo(for: T.self, on: L)
        let address = Unmanaged.passUnretained(object).toOpaque()
        lua_rawgeti(L, mm_registryindex(), lua_Integer(instanceCacheRef))
        lua_rawgetp(L, -1, address)
        if let block = mm_udata_at(L, -1), block.pointee.object == address, block.pointee.type_id == info.typeID {
            mm_remove(L, -2)
            return
        }
        lua_settop(L, -2)
        _ = mm_udata_push(L, info.typeID, Unmanaged.passRetained(object).toOpaque())
        lua_rawgeti(L, mm_registryindex(), lua_Integer(info.metatableRef))
        lua_setmetatable(L, -2)
        lua_pushvalue(L, -1)
        lua_rawsetp(L, -3, address)
        mm_remove(L, -2)
    }

    /// The Swift object behind the `T` userdata at `idx` of thread `L`.
    public func userdata<T: LuaUserdata>(at idx: Int32, on L: OpaquePointer? = nil, as type: T.Type = T.self) throws -> T {
        let L = L ?? mainThread
        let info = typeInfo(for: T.self, on: L)
        return try checkedObject(at: idx, on: L, as: T.self, typeID: info.typeID, name: info.name)
    }

    /// Checks the userdata at `idx` (size, magic, type id, not closed) and returns its object.
    @inline(__always)
    func checkedObject<T: AnyObject>(at idx: Int32, on L: OpaquePointer, as: T.Type, typeID: UnsafeRawPointer, name: String) throws -> T {
        guard let block = mm_udata_at(L, idx) else {
            throw LuaArgumentError(idx, expected: name, actual: foreignTypeName(at: idx, on: L))
        }
        guard block.pointee.type_id == typeID else {
            throw LuaArgumentError(idx, expected: name, actual: typeNamesByID[block.pointee.type_id] ?? "userdata")
        }
        guard let pointer = block.pointee.object else {
            throw LuaFailure("attempt to use a closed \(name)")
        }
        return Unmanaged<T>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// For a value that is not a Moonmotion userdata: nil (let Lua name it) unless it
    /// carries a Moonmotion metatable it was given by hand, which would make Lua's name lie.
    private func foreignTypeName(at idx: Int32, on L: OpaquePointer) -> String? {
        guard lua_type(L, idx) == LUA_TUSERDATA else { return nil }
        let fieldType = luaL_getmetafield(L, idx, "__name")
        if fieldType == LUA_TNIL { return nil }
        defer { lua_settop(L, -2) }
        if fieldType == LUA_TSTRING, (LuaStack.string(at: -1, on: L) ?? "").hasPrefix("moonmotion.") {
            return "userdata"
        }
        return nil
    }

    /// Field and method names of the Moonmotion userdata at `idx` (for completion), or nil.
    public func userdataMemberNames(at idx: Int32, on L: OpaquePointer? = nil) -> [String]? {
        let L = L ?? mainThread
        guard let block = mm_udata_at(L, idx) else { return nil }
        guard let info = types.values.first(where: { $0.typeID == block.pointee.type_id }) else { return nil }
        return (info.fieldNames + info.methodNames).sorted()
    }
}
