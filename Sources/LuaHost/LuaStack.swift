import CLuaShim

/// The Lua type of a stack slot.
public enum LuaType: Int32, Sendable {
    /// Beyond the stack top.
    case none = -1
    /// `nil`.
    case `nil` = 0
    /// A boolean.
    case boolean = 1
    /// A light userdata (a C pointer).
    case lightUserdata = 2
    /// A number.
    case number = 3
    /// A string.
    case string = 4
    /// A table.
    case table = 5
    /// A Lua or C function.
    case function = 6
    /// A full userdata.
    case userdata = 7
    /// A coroutine.
    case thread = 8

    /// Lua's name for the type (`luaL_typename`).
    public var name: String {
        switch self {
        case .none: "no value"
        case .nil: "nil"
        case .boolean: "boolean"
        case .lightUserdata: "userdata"
        case .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        case .userdata: "userdata"
        case .thread: "thread"
        }
    }
}

/// A value on the stack that is not plain data, or a table that cannot be copied.
public struct LuaConversionError: Error, Sendable, CustomStringConvertible {
    /// What could not be converted, e.g. "function" or "table with a cycle".
    public var reason: String
    /// Creates a conversion error.
    public init(_ reason: String) { self.reason = reason }
    /// The reason.
    public var description: String { "cannot convert \(reason) to a plain value" }
}

/// Pushing and reading plain values on any thread of a state.
@usableFromInline
enum LuaStack {
    /// Deepest table nesting converted in either direction.
    static let maxDepth = 200

    /// Pushes a Swift string as a Lua string (embedded NULs preserved).
    @inlinable @inline(__always)
    static func push(string: String, on L: OpaquePointer) {
        var s = string
        s.withUTF8 { buffer in
            _ = lua_pushlstring(L, buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, buffer.count)
        }
    }

    /// Reads the string at `idx` (which must be a string or number: numbers are converted
    /// in place, as `lua_tolstring` does).
    @inlinable @inline(__always)
    static func string(at idx: Int32, on L: OpaquePointer) -> String? {
        var length = 0
        guard let p = lua_tolstring(L, idx, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: length), as: UTF8.self)
    }

    /// Pushes a plain value. Tables nest up to `maxDepth`.
    static func push(_ value: LuaValue, on L: OpaquePointer) {
        push(value, on: L, depth: 0)
    }

    private static func push(_ value: LuaValue, on L: OpaquePointer, depth: Int) {
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, lua_Integer(i))
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s): push(string: s, on: L)
        case .table(let t):
            guard depth < maxDepth, lua_checkstack(L, 4) != 0 else {
                lua_pushnil(L)
                return
            }
            lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.fields.count))
            for (i, element) in t.array.enumerated() where element != .nil {
                push(element, on: L, depth: depth + 1)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            for (key, element) in t.fields where element != .nil {
                push(string: key, on: L)
                push(element, on: L, depth: depth + 1)
                lua_rawset(L, -3)
            }
            if let key = t.metatable {
                // Raw read of the registry (scripts cannot reach it): no metamethod runs here.
                push(string: key, on: L)
                if lua_rawget(L, mm_registryindex()) == LUA_TTABLE {
                    lua_setmetatable(L, -2)
                } else {
                    lua_settop(L, -2)
                }
            }
        }
    }

    /// Reads the value at `idx` as plain data, using raw access only (no metamethods run).
    /// Throws `LuaConversionError` for functions, userdata, threads, non-string table keys
    /// outside the array part, cycles and excessive nesting.
    static func value(at idx: Int32, on L: OpaquePointer) throws -> LuaValue {
        var visiting: Set<UnsafeRawPointer> = []
        return try value(at: lua_absindex(L, idx), on: L, depth: 0, visiting: &visiting)
    }

    private static func value(at idx: Int32, on L: OpaquePointer, depth: Int, visiting: inout Set<UnsafeRawPointer>) throws -> LuaValue {
        switch lua_type(L, idx) {
        case LUA_TNONE, LUA_TNIL: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .integer(Int(lua_tointegerx(L, idx, nil))) }
            return .number(lua_tonumberx(L, idx, nil))
        case LUA_TSTRING:
            return .string(string(at: idx, on: L) ?? "")
        case LUA_TTABLE:
            return .table(try table(at: idx, on: L, depth: depth, visiting: &visiting))
        default:
            throw LuaConversionError(String(cString: luaL_typename_shim(L, idx)))
        }
    }

    private static func table(at idx: Int32, on L: OpaquePointer, depth: Int, visiting: inout Set<UnsafeRawPointer>) throws -> LuaTable {
        guard depth < maxDepth else { throw LuaConversionError("a table nested more than \(maxDepth) levels deep") }
        guard let identity = lua_topointer(L, idx) else { return LuaTable(array: []) }
        guard visiting.insert(identity).inserted else { throw LuaConversionError("a table with a cycle") }
        defer { visiting.remove(identity) }
        guard lua_checkstack(L, 4) != 0 else { throw LuaConversionError("a table (Lua stack overflow)") }
        var result = LuaTable(array: [])
        let count = Int(lua_rawlen(L, idx))
        if count > 0 {
            result.array.reserveCapacity(count)
            for i in 1...count {
                lua_rawgeti(L, idx, lua_Integer(i))
                defer { lua_settop(L, -2) }
                result.array.append(try value(at: lua_gettop(L), on: L, depth: depth + 1, visiting: &visiting))
            }
        }
        lua_pushnil(L)
        while lua_next(L, idx) != 0 {
            // key at -2, value at -1
            let keyType = lua_type(L, -2)
            if keyType == LUA_TNUMBER, lua_isinteger(L, -2) != 0 {
                let k = Int(lua_tointegerx(L, -2, nil))
                if k >= 1 && k <= count {
                    lua_settop(L, -2)
                    continue
                }
                lua_settop(L, -3)
                throw LuaConversionError("a table with integer key \(k) outside its sequence 1..\(count)")
            }
            guard keyType == LUA_TSTRING else {
                let name = String(cString: luaL_typename_shim(L, -2))
                lua_settop(L, -3)
                throw LuaConversionError("a table with a \(name) key")
            }
            // Copy the key before reading it: lua_tolstring on the original is safe for
            // strings, but reading the value may push and pop.
            let key = string(at: -2, on: L) ?? ""
            let element: LuaValue
            do {
                element = try value(at: lua_gettop(L), on: L, depth: depth + 1, visiting: &visiting)
            } catch {
                lua_settop(L, -3)
                throw error
            }
            result.fields[key] = element
            lua_settop(L, -2)
        }
        return result
    }

    /// The Lua type at `idx`.
    @inline(__always)
    static func type(at idx: Int32, on L: OpaquePointer) -> LuaType {
        LuaType(rawValue: lua_type(L, idx)) ?? .none
    }
}

/// `luaL_typename` (a macro) as a function.
@inline(__always)
func luaL_typename_shim(_ L: OpaquePointer, _ idx: Int32) -> UnsafePointer<CChar> {
    mm_typename_at(L, idx)
}
