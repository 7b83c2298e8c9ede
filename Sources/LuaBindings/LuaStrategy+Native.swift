import LuaHost
import MigrationEngine

/// The stdlib hooks `LuaStrategy` answers in Swift: `moonmotion.strategy` lists in its
/// `native` table the functions whose answers equal the engine's own (largest first, most
/// free space, wait, skip, …), so a strategy built from them pays no Lua call per job.
/// Only those exact function values count; a wrapper or a copy is called as Lua.
enum LuaStrategyNative: String, Sendable {
    case largestFirst = "largest_first"
    case smallestFirst = "smallest_first"
    case mostFreeSpace = "most_free_space"
    case noLimits = "no_limits"
    case wait
    case vmotion
    case skip
    case abort
    case retry
    case nothing

    /// The hooks each native function may stand for (its name elsewhere is just a Lua call).
    func serves(_ hook: LuaStrategyHook) -> Bool {
        switch self {
        case .largestFirst, .smallestFirst: hook == .order
        case .mostFreeSpace: hook == .target
        case .noLimits: hook == .limits || hook == .vcenterLimits
        case .wait, .vmotion: hook == .onBlocked
        case .skip, .abort, .retry: hook == .onFailure
        case .nothing: hook == .onDone
        }
    }

    /// The native function at `index`, if it is one of `package.loaded["moonmotion.strategy"].native`.
    static func function(at index: Int32, on stack: some LuaStackAccess) -> LuaStrategyNative? {
        guard stack.type(index) == .function, (try? stack.reserveStack(4)) != nil else { return nil }
        let function = stack.absoluteIndex(index)
        return stack.preservingTop {
            guard stack.pushLoadedModule("moonmotion.strategy") == .table,
                  stack.pushRawField("native", of: -1) == .table,
                  stack.pushRawValue(of: -1, forKeyAt: function) == .string,
                  let name = stack.string(at: -1) else { return nil }
            return LuaStrategyNative(rawValue: name)
        }
    }
}

extension DefaultOrder {
    /// Smallest committed size first; ties by job id (what `strategy.smallest_first` gives).
    static func smallestFirst(_ jobs: [Job]) -> [Job] {
        let keys = jobs.map { ($0.size, $0.id) }
        let order = keys.indices.sorted { a, b in keys[a].0 != keys[b].0 ? keys[a].0 < keys[b].0 : keys[a].1 < keys[b].1 }
        return order.map { jobs[$0] }
    }
}
