import LuaHost

extension LuaStrategy {
    /// Gives the stdlib the engine's names, so they are defined once (here): the stdlib's
    /// `moonmotion.strategy` checks a strategy table where the script builds it (raising at
    /// the script's line) with the names and hints the engine uses when it receives it.
    /// Adds to the `moonmotion` module:
    ///
    /// * `mm.hook_names`: the hooks a strategy table may hold, in the order the engine first
    ///   calls them (`LuaStrategyHook`);
    /// * `mm.limit_fields`, `mm.vcenter_limit_fields`: the fields `limits(cluster)` and
    ///   `vcenter_limits(inv)` may return (`LuaStrategyAnswers`);
    /// * `mm.did_you_mean(name, names)`: the name in the list `names` that the misspelt
    ///   `name` most likely meant, or nil (`NameSuggestion`);
    /// * `mm.strategy_settings`: the fields of a strategy table that are settings, not hooks
    ///   (`retries`, `backoff`), and `mm.check_strategy_setting(name, value)`: nil when the
    ///   value is valid, else the engine's message (`LuaStrategyRetries`).
    ///
    /// `LuaBindings.install` calls it; a runtime that loads the stdlib without the bindings
    /// must call it itself.
    public static func installNames(into runtime: LuaRuntime) throws {
        try runtime.extendMoonmotionModule { module in
            func list(_ names: [String]) -> LuaValue { .table(LuaTable(array: names.map(LuaValue.string))) }
            module.set("hook_names", list(LuaStrategyHook.names))
            module.set("limit_fields", list(LuaStrategyAnswers.limitFields))
            module.set("vcenter_limit_fields", list(LuaStrategyAnswers.vcenterLimitFields))
            module.function("did_you_mean") { call in
                let name = try call.string(1)
                guard call.type(2) == .table else {
                    throw LuaArgumentError(2, expected: "list of names", actual: call.typeName(2))
                }
                var names: [String] = []
                for i in stride(from: 1, through: call.rawLength(2), by: 1) {
                    if let n = call.withRawElement(i, of: 2, { call.type($0) == .string ? call.string(at: $0) : nil }) {
                        names.append(n)
                    }
                }
                call.pushOptional(NameSuggestion.suggestion(for: name, among: names))
                return .values(1)
            }
            module.set("strategy_settings", list(LuaStrategyRetries.settingNames))
            module.function("check_strategy_setting") { call in
                let name = try call.string(1)
                var settings = LuaStrategyRetries()
                do throws(LuaStrategyError) {
                    try settings.read(name, at: 2, on: call)
                    call.pushNil()
                } catch {
                    call.push(error.message)
                }
                return .values(1)
            }
        }
    }
}
