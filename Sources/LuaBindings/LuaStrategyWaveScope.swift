import LuaHost
import MigrationEngine

/// A strategy's `wave_scope` setting (docs/LUA.md, "Waves"): where its waves are counted,
/// `"cluster"` (each cluster goes through its waves on its own, the default) or `"vcenter"`
/// (a wave starts when the one before it has ended in every cluster). Checked where the
/// strategy is loaded and by `strategy.new`, with "did you mean" for a misspelling, because a
/// wrong scope would otherwise change when whole waves start without a word.
enum LuaStrategyWaveScope {
    /// The strategy-table field.
    static let settingName = "wave_scope"
    /// The accepted values.
    static let names = WaveScope.allCases.map(\.rawValue)

    /// The scope named by the value at `index`.
    static func read(at index: Int32, on stack: some LuaStackAccess) throws(LuaStrategyError) -> WaveScope {
        let text = stack.type(index) == .string ? stack.string(at: index) : nil
        guard let text else {
            throw LuaStrategyError("wave_scope must be \(names.map { "\"\($0)\"" }.joined(separator: " or ")), not \(LuaStrategyRetries.shown(index, on: stack))")
        }
        guard let scope = WaveScope(rawValue: text) ?? WaveScope(rawValue: text.lowercased()) else {
            let hint = NameSuggestion.hint(for: text.lowercased(), among: names)
            throw LuaStrategyError("wave_scope is \"\(text)\"\(hint); it must be \"cluster\" (each cluster goes through its waves on its own) or \"vcenter\" (a wave starts when the one before it has ended in every cluster)")
        }
        return scope
    }
}
