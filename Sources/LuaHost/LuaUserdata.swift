/// A Swift class Lua scripts hold as a typed userdata.
///
/// Each type gets one metatable (`luaL_newmetatable`) whose `__name` is
/// `moonmotion.<luaTypeName>`, so Lua's own messages name it; `__index` serves the methods
/// and field getters `describeLuaType` declares; `__tostring`, `__gc` and `__close` are set.
/// `__gc`/`__close` release the Swift object and are idempotent; using a closed userdata is
/// a Lua error. The type is registered with a state the first time an object is pushed.
public protocol LuaUserdata: AnyObject {
    /// The type's name in Lua after `moonmotion.`, e.g. `"Task"`.
    static var luaTypeName: String { get }
    /// Declares methods, fields and `__tostring`.
    static func describeLuaType(_ type: inout LuaTypeBuilder<Self>)
}

extension LuaUserdata {
    /// No methods or fields.
    public static func describeLuaType(_ type: inout LuaTypeBuilder<Self>) {}

    /// The metatable name, `moonmotion.<luaTypeName>`.
    public static var luaMetatableName: String { "moonmotion." + luaTypeName }
}

/// Collects the Lua-visible surface of a userdata type.
public struct LuaTypeBuilder<T: LuaUserdata> {
    /// A method: `call` argument 1 is `self` (already checked and passed as `object`).
    public typealias Method = (_ call: LuaCall, _ object: T) throws -> LuaReturn
    /// A field getter: pushes exactly one value and returns `.values(1)`.
    public typealias Getter = (_ call: LuaCall, _ object: T) throws -> LuaReturn

    var methods: [(String, Method)] = []
    var getters: [String: Getter] = [:]
    var describe: ((T) -> String)?
    var onClose: ((T) -> Void)?
    var aliasTable: [String: String] = [:]

    init() {}

    /// Adds method `name` (`obj:name(...)`).
    public mutating func method(_ name: String, _ body: @escaping Method) {
        methods.append((name, body))
    }

    /// Adds a read-only field `name` (`obj.name`), computed on each access.
    public mutating func field(_ name: String, _ getter: @escaping Getter) {
        getters[name] = getter
    }

    /// Other words people use for field `field` (`size` for `committed`): reading one of
    /// them is still an error, whose "did you mean" names `field` (`NameSuggestion`).
    public mutating func aliases(_ names: [String], for field: String) {
        for name in names { aliasTable[name] = field }
    }

    /// Sets the text `tostring(obj)` returns (default `moonmotion.T: 0x...`).
    public mutating func tostring(_ body: @escaping (T) -> String) {
        describe = body
    }

    /// Runs when Lua closes the userdata (`__close` or `__gc`), once, before the Swift
    /// object is released.
    public mutating func onClose(_ body: @escaping (T) -> Void) {
        onClose = body
    }
}

/// A userdata type registered with a state.
final class LuaTypeInfo {
    let name: String
    let typeID: UnsafeRawPointer
    let metatableRef: Int32
    let fieldNames: [String]
    let methodNames: [String]

    init(name: String, typeID: UnsafeRawPointer, metatableRef: Int32, fieldNames: [String], methodNames: [String]) {
        self.name = name
        self.typeID = typeID
        self.metatableRef = metatableRef
        self.fieldNames = fieldNames
        self.methodNames = methodNames
    }
}
