import CLuaShim
import Locking
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signature of a Swift function callable from Lua (the fast form).
///
/// The function reads its arguments through `LuaCall` (raw stack access, no arrays), pushes
/// its results and returns how many it pushed. A thrown error becomes a Lua error raised
/// at the caller's location; `LuaArgumentError` becomes `bad argument #n to 'name' (...)`.
public typealias LuaFunctionBody = (LuaCall) throws -> LuaReturn

/// One Lua universe (`lua_State`) and the Swift side of it: the Swift function table,
/// registry references, userdata types and modules.
///
/// A `LuaState` is confined to one thread: the thread that created it, or the executor
/// thread of the `LuaRuntime` that owns it. Only `LuaRef` may be released elsewhere (the
/// unref is deferred to the owner thread).
public final class LuaState {
    /// The main thread (`lua_State *`).
    public let mainThread: OpaquePointer
    /// The host block (`mm_host *`): owner pointer, interrupt flag, limits.
    let host: OpaquePointer

    /// Swift functions by index (the upvalue of their trampoline closure), each retained
    /// once; a raw buffer so the dispatcher reads it without bounds or exclusivity checks
    /// or reference counting.
    private var functionTable: UnsafeMutablePointer<Unmanaged<LuaFunctionBox>>
    private var functionCount = 0
    private var functionCapacity = 64
    /// Registry references currently held by `LuaRef`s.
    var liveReferences = 0
    /// Unrefs requested off the owner thread, applied on it.
    let deferredReleases = Locked<[Int32]>([])
    /// Called (from any thread) when a release was deferred, so the owner can drain soon.
    var deferredReleaseNotifier: (@Sendable () -> Void)?
    /// The owner thread (creator, or the runtime's executor thread).
    var ownerThread: pthread_t
    private let closed = Atomic<Bool>(false)

    /// Userdata types by Swift type.
    var types: [ObjectIdentifier: LuaTypeInfo] = [:]
    /// Userdata Lua type names by type id (for "got moonmotion.VM" in errors).
    var typeNamesByID: [UnsafeRawPointer: String] = [:]
    /// Registry reference of the weak-valued table mapping Swift objects to their userdata.
    var instanceCacheRef: Int32 = LUA_NOREF
    /// Contributions to modules found by `require`, applied in order.
    var moduleContributions: [String: [(LuaModuleBuilder) throws -> Void]] = [:]
    /// The scheduler of the owning runtime, if any (for suspending Swift functions).
    /// Unowned: the runtime owns both and clears this before the scheduler goes away (a weak
    /// reference would put every retain of the scheduler on the slow path).
    unowned(unsafe) var scheduler: LuaScheduler?
    /// The runtime that owns this state, if any.
    public internal(set) weak var runtime: LuaRuntime?
    /// Load mode for chunks: "bt" normally, "t" in the sandbox (binary chunks can crash Lua).
    var loadMode = "bt"

    /// Creates a state with the standard libraries open. Its allocator counts every byte
    /// (`memoryInUse`, `memoryPeak`) and enforces `memoryLimit` while Lua runs.
    public init() {
        // The allocator counts into the host block; an unprotected error (a bug) ends the
        // process with status 70 and a report, not abort().
        guard let L = mm_newstate() else {
            fatalError("LuaState: cannot create a Lua state (out of memory)")
        }
        installDispatcher
        mainThread = L
        functionTable = .allocate(capacity: functionCapacity)
        host = mm_host_of(L)
        ownerThread = pthread_self()
        mm_host_set_owner(host, Unmanaged.passUnretained(self).toOpaque())
        luaL_openlibs(L)
        // The userdata instance cache: light userdata (object address) -> userdata, weak values.
        lua_createtable(L, 0, 0)
        lua_createtable(L, 0, 1)
        lua_pushstring(L, "v")
        mm_rawsetfield(L, -2, "__mode")
        lua_setmetatable(L, -2)
        instanceCacheRef = luaL_ref(L, mm_registryindex())
    }

    deinit {
        close()
    }

    /// Closes the Lua state: runs every pending `__gc` (releasing Swift objects held by
    /// userdata) and frees it. Later `LuaRef` releases are ignored. Idempotent.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        lua_close(mainThread)
        mm_host_free(host)
        for i in 0..<functionCount { functionTable[i].release() }
        functionCount = 0
        functionTable.deallocate()
        moduleContributions.removeAll()
        types.removeAll()
        deferredReleases.withLock { $0.removeAll() }
        liveReferences = 0
    }

    /// `true` after `close()`.
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// `true` when called on the thread that owns this state.
    public var isOnOwnerThread: Bool { pthread_equal(pthread_self(), ownerThread) != 0 }

    /// Hands the state to another thread (the runtime's executor). Call before that thread
    /// uses it and never concurrently with any other use.
    func transferOwnership(to thread: pthread_t) {
        ownerThread = thread
    }

    // MARK: Globals

    /// Sets global `name` to a plain value.
    public func setGlobal(_ name: String, _ value: LuaValue) {
        LuaStack.push(value, on: mainThread)
        mm_rawsetglobal(mainThread, name)
    }

    /// Sets global `name` to a Swift function.
    public func setGlobal(_ name: String, function body: @escaping LuaFunctionBody) {
        pushFunction(named: name, body, on: mainThread)
        mm_rawsetglobal(mainThread, name)
    }

    /// Sets global `name` to the userdata of a Swift object.
    public func setGlobal<T: LuaUserdata>(_ name: String, object: T) {
        push(object, on: mainThread)
        mm_rawsetglobal(mainThread, name)
    }

    /// Reads global `name` (raw access to the globals table).
    public func global(_ name: String) throws -> LuaValue {
        let L = mainThread
        lua_rawgeti(L, mm_registryindex(), mm_ridx_globals())
        lua_pushstring(L, name)
        lua_rawget(L, -2)
        defer { lua_settop(L, -3) }
        return try LuaStack.value(at: -1, on: L)
    }

    // MARK: Swift functions

    /// Adds a Swift function to the function table and returns its index.
    func addFunction(named name: String, _ body: @escaping LuaFunctionBody) -> lua_Integer {
        precondition(!isClosed, "LuaState: function registered after close()")
        if functionCount == functionCapacity {
            let bigger = UnsafeMutablePointer<Unmanaged<LuaFunctionBox>>.allocate(capacity: functionCapacity * 2)
            bigger.moveInitialize(from: functionTable, count: functionCount)
            functionTable.deallocate()
            functionTable = bigger
            functionCapacity *= 2
        }
        (functionTable + functionCount).initialize(to: .passRetained(LuaFunctionBox(name: name, body: body)))
        functionCount += 1
        return lua_Integer(functionCount - 1)
    }

    /// Pushes a Swift function on thread `L`. Each call adds an entry to the function table
    /// for the state's lifetime: register functions once, not per call.
    public func pushFunction(named name: String, _ body: @escaping LuaFunctionBody, on L: OpaquePointer? = nil) {
        let index = addFunction(named: name, body)
        mm_push_swift_function(L ?? mainThread, index)
    }

    /// Pushes a Swift function of the convenient form: arguments and results as plain values.
    /// An argument that is not plain data (function, userdata, thread) is an argument error.
    public func pushValueFunction(named name: String, _ body: @escaping ([LuaValue]) throws -> [LuaValue], on L: OpaquePointer? = nil) {
        pushFunction(named: name, LuaState.valueFunctionBody(body), on: L)
    }

    /// Wraps a `[LuaValue] -> [LuaValue]` function as a fast function body.
    static func valueFunctionBody(_ body: @escaping ([LuaValue]) throws -> [LuaValue]) -> LuaFunctionBody {
        { call in
            let values = try call.allArguments()
            let results = try body(values)
            return try call.returning(results)
        }
    }

    /// The name a Swift function was registered with, by index.
    func functionName(_ index: lua_Integer) -> String {
        index >= 0 && index < functionCount ? functionTable[Int(index)].takeUnretainedValue().name : "?"
    }

    // MARK: Dispatch

    /// Runs Swift function `index` for a call from Lua on thread `L`. Returns a result count,
    /// `MM_RAISE` (error value pushed) or `MM_YIELD`.
    @inline(__always)
    func dispatch(_ L: OpaquePointer, _ index: lua_Integer) -> Int32 {
        guard index >= 0, index < functionCount else {
            mm_push_error_where(L, 1, "invalid Swift function index \(index)")
            return MM_RAISE
        }
        return functionTable[Int(index)]._withUnsafeGuaranteedRef { box in
            do {
                return try box.body(LuaCall(L: L, state: self, functionIndex: index)).rawValue
            } catch {
                return LuaState.pushError(error, on: L)
            }
        }
    }

    /// Pushes the Lua form of a Swift error (with the caller's location unless the error is
    /// already a Lua message) and returns `MM_RAISE`.
    static func pushError(_ error: any Error, on L: OpaquePointer) -> Int32 {
        switch error {
        case let e as LuaArgumentError:
            switch e.problem {
            case .message(let text):
                mm_push_argerror(L, e.index, text)
            case .type(let expected, let actual):
                if let actual {
                    mm_push_typeerror(L, e.index, expected, actual)
                } else {
                    mm_push_typeerror(L, e.index, expected, nil)
                }
            }
        case let e as LuaError:
            lua_pushstring(L, e.message)
        case let e as LuaRaise:
            lua_pushstring(L, e.message)
        default:
            mm_push_error_where(L, 1, String(describing: error))
        }
        return MM_RAISE
    }
}

/// A registered Swift function.
final class LuaFunctionBox {
    let name: String
    let body: LuaFunctionBody
    init(name: String, body: @escaping LuaFunctionBody) {
        self.name = name
        self.body = body
    }
}

/// The result of a Swift function: how many values it pushed, or that it suspended.
public struct LuaReturn: Sendable, Equatable {
    /// The raw trampoline code: n >= 0 results, or `MM_YIELD`.
    public let rawValue: Int32
    @usableFromInline init(rawValue: Int32) { self.rawValue = rawValue }

    /// No results.
    public static let none = LuaReturn(rawValue: 0)
    /// `count` values were pushed.
    @inlinable public static func values(_ count: Int32) -> LuaReturn { LuaReturn(rawValue: count) }
    /// The coroutine parks (returned by `LuaCall.suspend`).
    static let suspend = LuaReturn(rawValue: MM_YIELD)
}

/// Installs the process-wide dispatcher once.
private let installDispatcher: Void = {
    mm_set_dispatcher(luaHostDispatch, luaHostForeignResume)
}()

private func luaHostDispatch(_ L: OpaquePointer?, _ owner: UnsafeMutableRawPointer?, _ index: lua_Integer) -> Int32 {
    let L = L.unsafelyUnwrapped
    return Unmanaged<LuaState>.fromOpaque(owner.unsafelyUnwrapped)._withUnsafeGuaranteedRef { $0.dispatch(L, index) }
}

private func luaHostForeignResume(_ L: OpaquePointer?, _ index: lua_Integer) {
    let L = L.unsafelyUnwrapped
    let state = Unmanaged<LuaState>.fromOpaque(mm_owner(L)).takeUnretainedValue()
    let name = state.functionName(index)
    state.scheduler?.coroutineResumedByLua(L)
    mm_push_error_where(
        L, 1,
        "\(name) was waiting for native work and was resumed by coroutine.resume; a coroutine that waits in Moonmotion is resumed only by Moonmotion (use mm.spawn and handle:join() instead)")
}
