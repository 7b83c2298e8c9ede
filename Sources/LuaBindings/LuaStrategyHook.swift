/// The hooks a strategy table may hold (docs/LUA.md, "Strategies"), by their Lua names.
enum LuaStrategyHook: String, CaseIterable, Sendable {
    case select
    case order
    case target
    case limits
    case vcenterLimits = "vcenter_limits"
    case onBlocked = "on_blocked"
    case onFailure = "on_failure"
    case onDone = "on_done"
    /// Not a function: a list of `check(vm, job)` functions (or one), each answering nil or
    /// why the VM cannot move as asked.
    case checks

    /// Every hook name, in the order the engine first calls them.
    static let names = allCases.map(\.rawValue)
}
