import Dispatch
import LuaHost
import Locking

/// Counts deinits of test userdata objects.
final class DeinitCounter: Sendable {
    private struct Waiter {
        var target: Int
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }
    private struct State {
        var count = 0
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }
    private let state = Locked(State())

    func increment() {
        let reached = state.withLock { s -> [Waiter] in
            s.count += 1
            let count = s.count
            let reached = s.waiters.filter { $0.target <= count }
            s.waiters.removeAll { $0.target <= count }
            return reached
        }
        for waiter in reached { waiter.continuation.resume(returning: true) }
    }

    var value: Int { state.withLock { $0.count } }

    /// Waits until the count reaches `target`: resumed by the `increment()` that gets it
    /// there, not by polling `value`. False after `seconds`, a bound on a count that never
    /// comes (the caller records it).
    func reaching(_ target: Int, within seconds: Double) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let id: UInt64? = state.withLock { s in
                if s.count >= target { return nil }
                s.nextID += 1
                s.waiters.append(Waiter(target: target, id: s.nextID, continuation: c))
                return s.nextID
            }
            guard let id else { return c.resume(returning: true) }
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
                let late = state.withLock { s -> Waiter? in
                    guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return s.waiters.remove(at: i)
                }
                late?.continuation.resume(returning: false)
            }
        }
    }
}

final class TestTask: LuaUserdata {
    static let luaTypeName = "Task"
    let id: String
    let counter: DeinitCounter?

    init(id: String, counter: DeinitCounter? = nil) {
        self.id = id
        self.counter = counter
    }

    deinit { counter?.increment() }

    static func describeLuaType(_ type: inout LuaTypeBuilder<TestTask>) {
        type.method("wait") { call, task in
            call.push("waited " + task.id)
            return .values(1)
        }
        type.field("id") { call, task in
            call.push(task.id)
            return .values(1)
        }
        type.tostring { "Task(\($0.id))" }
    }
}

final class TestVM: LuaUserdata {
    static let luaTypeName = "VM"
    let name: String
    let counter: DeinitCounter?

    init(name: String, counter: DeinitCounter? = nil) {
        self.name = name
        self.counter = counter
    }

    deinit { counter?.increment() }

    static func describeLuaType(_ type: inout LuaTypeBuilder<TestVM>) {
        type.method("name") { call, vm in
            call.push(vm.name)
            return .values(1)
        }
        type.field("powered") { call, _ in
            call.push(true)
            return .values(1)
        }
    }
}

/// Runs `body` with a fresh state and closes it afterwards.
func withState<T>(_ body: (LuaState) throws -> T) rethrows -> T {
    let state = LuaState()
    defer { state.close() }
    return try body(state)
}

/// A runtime without module path configuration (tests do not need stdlib).
func makeRuntime(_ sandbox: SandboxOptions = .none) throws -> LuaRuntime {
    try LuaRuntime(options: .init(sandbox: sandbox, configuresModulePath: false))
}
