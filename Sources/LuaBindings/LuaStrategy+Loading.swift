import LuaHost
import MigrationEngine
import VCenterModel

extension LuaStrategy {
    /// The strategy a script's main chunk returned: nil when its first result is not a
    /// table (a plain script, which has already done its work), a `LuaStrategy` for a
    /// valid table of hooks. Throws `LuaStrategyError` for a table that is not one (an
    /// unknown key, a hook that is not a function, no `select`). `name` (the script path)
    /// appears in messages and is the run's strategy name.
    public static func load(runtime: LuaRuntime, scriptResult: [LuaRef], name: String) async throws -> LuaStrategy? {
        guard let first = scriptResult.first else { return nil }
        return try await runtime.perform { state in
            try load(runtime: runtime, state: state, value: first, name: name)
        }
    }

    /// `load(runtime:scriptResult:name:)` for a caller already on the executor.
    public static func load(runtime: LuaRuntime, state: LuaState, value: LuaRef, name: String) throws -> LuaStrategy? {
        guard value.type == .table else { return nil }
        return try LuaStrategy(runtime: runtime, state: state, table: value, name: name)
    }

    /// Runs the script at `path` with `parameters` as its `params` table (strings, as
    /// `moonmotion run name=value` gives them) and returns the strategy it returned, or nil
    /// for a plain script. The runtime should already hold the bindings
    /// (`LuaBindings.install`). Script errors are thrown as `LuaError`.
    public static func fromScript(path: String, parameters: [String: String] = [:], runtime: LuaRuntime) async throws -> LuaStrategy? {
        let table = LuaValue.table(LuaTable(fields: parameters.mapValues { .string($0) }))
        try await runtime.perform { state in state.setGlobal("params", table) }
        let results = try await runtime.run(file: path)
        return try await load(runtime: runtime, scriptResult: results, name: path)
    }

    /// A runner for this strategy on the Lua executor (hooks are plain calls there). The
    /// run's strategy name defaults to the script's.
    public func makeRunner(
        vcenter: any VCenter, configuration: RunConfiguration = RunConfiguration(), journal: Journal? = nil,
        onEvent: (@Sendable (EngineEvent) -> Void)? = nil
    ) -> MigrationRunner {
        var configuration = configuration
        if configuration.strategyName == RunConfiguration().strategyName { configuration.strategyName = name }
        return MigrationRunner(vcenter: vcenter, strategy: self, configuration: configuration, journal: journal,
                               executor: runtime.executor, onEvent: onEvent)
    }
}
