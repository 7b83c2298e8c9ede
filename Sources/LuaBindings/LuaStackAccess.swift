import LuaHost

// The bindings' former stack helpers under their old names, forwarding to LuaHost's
// `LuaStackAccess` while the files move to LuaHost's names one by one; deleted after.

typealias LuaStackSlot = LuaThreadStack

extension LuaStackAccess {
    func pushNilValue() { pushNil() }
    func pushString(_ s: String) { push(s) }
    func pushInteger(_ i: Int) { push(i) }
    func pushInteger(_ i: Int64) { push(i) }
    func pushNumber(_ d: Double) { push(d) }
    func pushBoolean(_ b: Bool) { push(b) }
    func pushObject<T: LuaUserdata>(_ object: T) { push(object) }
    func pushReference(_ ref: LuaRef) { push(ref) }
    func pushPlain(_ value: LuaValue) { push(value) }
    func setField(_ name: String) { setRawField(name) }
    func setField(_ name: String, _ value: LuaValue) { setRawField(name, value) }
    func setElement(_ i: Int) { setRawElement(i) }
    func typeAt(_ i: Int32) -> LuaType { type(i) }
    func isNilAt(_ i: Int32) -> Bool { isNoneOrNil(i) }
    func withField<T>(_ name: String, of table: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        try withRawField(name, of: table, body)
    }
    func withElement<T>(_ i: Int, of table: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        try withRawElement(i, of: table, body)
    }
    func stringAt(_ i: Int32) -> String? { string(at: i) }
    func numberAt(_ i: Int32) -> Double? { number(at: i) }
    func booleanAt(_ i: Int32) -> Bool { boolean(i) }
    func integerAt(_ i: Int32) -> Int? { integer(at: i) }
    func objectAt<T: LuaUserdata>(_ i: Int32, _ type: T.Type) -> T? { object(at: i, as: type) }
    func valueTypeName(_ slot: Int32) -> String { typeName(slot) }
}

extension LuaState {
    func registryValue(_ key: String, on L: OpaquePointer, make: () throws -> Void) rethrows -> LuaRef {
        try LuaThreadStack(state: self, thread: L).registryValue(key, make: make)
    }
}
