import LuaHost
import Locking
import VCenterModel

/// `moonmotion.Connection` (`mm.connect{...}`): one backend session, its inventory read
/// once (one batched retrieval per object type) and cached, and the live tasks it
/// started or wraps. Every call that talks to vCenter parks only the calling coroutine.
/// Executor-confined, except `vcenter`, which is thread-safe.
final class LuaConnection: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "Connection"

    /// The backend.
    let vcenter: any VCenter
    /// Where it is connected (no credentials), or `simulated`.
    let url: String
    /// Whether it is the built-in simulator.
    let isSimulated: Bool
    /// The runtime's executor.
    let executor: LuaExecutor
    /// The bindings' list of open connections.
    private weak var registry: ConnectionRegistry?

    /// The inventory, once read.
    private(set) var view: LuaInventoryView?
    var inventoryWaiters: [(Result<LuaInventoryView, any Error>) -> Void] = []
    /// `refresh()` callers that arrived while a retrieval was under way: they get the next one.
    private var nextLoadWaiters: [(Result<LuaInventoryView, any Error>) -> Void] = []
    private var isLoadingInventory = false
    /// Set by `close()` or when Lua collects the connection.
    private(set) var isClosed = false
    /// One task userdata per task reference.
    var taskObjects = WeakCache<LuaTaskObject>()

    init(_ connected: ConnectedVCenter, executor: LuaExecutor, registry: ConnectionRegistry?) {
        self.vcenter = connected.vcenter
        self.url = connected.url
        self.isSimulated = connected.isSimulated
        self.executor = executor
        self.registry = registry
        registry?.add(self)
    }

    /// Throws unless the connection is open.
    func checkOpen() throws {
        if isClosed { throw LuaFailure("the connection to \(url) is closed") }
    }

    // MARK: Inventory

    /// Runs `body` with the inventory view: at once when it was read, else after the one
    /// shared retrieval (every coroutine asking meanwhile waits for the same one).
    func withInventory(_ call: LuaCall, _ body: @escaping (LuaInventoryView, LuaCall) throws -> LuaReturn) throws -> LuaReturn {
        try checkOpen()
        if let view { return try body(view, call) }
        let work = ExecutorBound(body)
        return try call.suspend { completion in
            inventoryWaiters.append { result in
                let outcome = ExecutorBound(result)
                completion.resume(pushing: { call in try work.value(try outcome.value.get(), call) })
            }
            startInventoryLoad()
            return nil
        }
    }

    func startInventoryLoad() {
        guard !isLoadingInventory else { return }
        isLoadingInventory = true
        let vcenter = self.vcenter
        Task {
            let result: Result<Inventory, any Error>
            do { result = .success(try await vcenter.inventory()) } catch { result = .failure(error) }
            executor.execute { [self] in finishInventoryLoad(result) }
        }
    }

    private func finishInventoryLoad(_ result: Result<Inventory, any Error>) {
        isLoadingInventory = false
        let viewResult = result.map { inventory -> LuaInventoryView in
            if let view {
                view.replace(inventory)
                return view
            }
            let view = LuaInventoryView(inventory, connection: self)
            self.view = view
            return view
        }
        let waiters = inventoryWaiters
        inventoryWaiters = nextLoadWaiters
        nextLoadWaiters = []
        for waiter in waiters { waiter(viewResult) }
        if !inventoryWaiters.isEmpty { startInventoryLoad() }
    }

    /// `conn:refresh()` and friends: re-reads the whole inventory, then pushes through `pushing`.
    func refreshInventory(call: LuaCall, pushing: @escaping (LuaCall, LuaInventoryView) throws -> Void) throws -> LuaReturn {
        try checkOpen()
        let work = ExecutorBound(pushing)
        return try call.suspend { completion in
            let waiter: (Result<LuaInventoryView, any Error>) -> Void = { result in
                let outcome = ExecutorBound(result)
                completion.resume(pushing: { call in
                    try work.value(call, try outcome.value.get())
                    return .values(1)
                })
            }
            if isLoadingInventory {
                // The retrieval under way may have started before the caller's change.
                nextLoadWaiters.append(waiter)
            } else {
                inventoryWaiters.append(waiter)
                startInventoryLoad()
            }
            return nil
        }
    }

    /// `vm:refresh()`: one batched retrieval of this VM.
    func refreshVM(_ vm: LuaVMObject, call: LuaCall) throws -> LuaReturn {
        try checkOpen()
        let vcenter = self.vcenter
        let ref = vm.ref
        let name = vm.info.name
        let object = ExecutorBound(vm)
        return try call.suspend { completion in
            let task = Task {
                do {
                    let records = try await vcenter.refreshVMs([ref])
                    completion.resume(pushing: { call in
                        guard let record = records.first(where: { $0.ref == ref }) else {
                            throw LuaFailure("VM \(name) (\(ref.value)) no longer exists")
                        }
                        object.value.view.update(record)
                        call.push(object.value)
                        return .values(1)
                    })
                } catch {
                    completion.resume(throwing: error)
                }
            }
            return { task.cancel() }
        }
    }

    // MARK: Closing

    /// Marks the connection closed and logs out in the background (for `__gc`/`__close`).
    func closeInBackground() {
        guard !isClosed else { return }
        isClosed = true
        registry?.remove(self)
        let vcenter = self.vcenter
        Task { await vcenter.close() }
    }

    /// `conn:close()`: logs out, parking the caller until done. Idempotent.
    func close(call: LuaCall) throws -> LuaReturn {
        guard !isClosed else { return .none }
        isClosed = true
        registry?.remove(self)
        let vcenter = self.vcenter
        return try call.suspend { completion in
            Task {
                await vcenter.close()
                completion.resume()
            }
            return nil
        }
    }
}

/// The connections `mm.connect` opened in one runtime, so the executable can log them all
/// out when the script ends (`LuaBindings.closeAll()`). Thread-safe.
final class ConnectionRegistry: Sendable {
    private let open = Locked<[ObjectIdentifier: any VCenter]>([:])

    func add(_ connection: LuaConnection) {
        open.withLock { $0[ObjectIdentifier(connection)] = connection.vcenter }
    }

    func remove(_ connection: LuaConnection) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Every backend still open, removed from the registry.
    func takeAll() -> [any VCenter] {
        open.withLock { map in
            defer { map.removeAll() }
            return Array(map.values)
        }
    }
}
