import LuaHost
import Synchronization

/// Counts deinits of test userdata objects.
final class DeinitCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
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
