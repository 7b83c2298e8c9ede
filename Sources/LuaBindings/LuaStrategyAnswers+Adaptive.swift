import LuaHost
import MigrationEngine

extension LuaStrategyAnswers {
    /// The fields of `strategy.adaptive{…}`'s table (besides its `adaptive = true` mark).
    static let adaptiveNames = ["min", "max", "window", "settle", "threshold", "reprobe", "arrays"]

    /// `limits`' `max_concurrent` when it asks for pacing by throughput: the string `"auto"` or
    /// the table `strategy.adaptive{…}` returns (`adaptive = true`, optional `min`, `max`,
    /// `window`, `settle`, `threshold`, `reprobe`, `arrays = { [pattern] = name }`). nil for a
    /// number or nil (the caller reads those); throws for anything else. Raw access only:
    /// the table comes from the script.
    static func adaptive(at index: Int32, on stack: LuaThreadStack, cluster: String, location: String) throws -> AdaptivePacing? {
        let where_ = "the limits hook (\(location)) returned max_concurrent = \(shown(index, on: stack)) for cluster \(cluster)"
        switch stack.type(index) {
        case .nil, .none, .number:
            return nil
        case .string:
            guard stack.string(at: index) == "auto" else {
                throw LuaStrategyError("\(where_); give a whole number ≥ 1, \"auto\" or strategy.adaptive{ … }")
            }
            return AdaptivePacing()
        case .table:
            break
        default:
            throw LuaStrategyError("\(where_); give a whole number ≥ 1, \"auto\" or strategy.adaptive{ … }")
        }
        let table = stack.absoluteIndex(index)
        let marked = stack.withRawField("adaptive", of: table) { stack.type($0) == .boolean && stack.boolean($0) }
        guard marked else {
            throw LuaStrategyError("\(where_) (a table that is not strategy.adaptive{ … }); give a whole number ≥ 1, \"auto\" or strategy.adaptive{ … }")
        }
        var c = AdaptivePacer.Configuration()
        func number(_ name: String, _ valid: (Double) -> Bool, _ what: String) throws -> Double? {
            try stack.withRawField(name, of: table) { i -> Double? in
                if stack.isNoneOrNil(i) { return nil }
                guard stack.type(i) == .number, let n = stack.number(at: i), n.isFinite, valid(n) else {
                    throw LuaStrategyError("strategy.adaptive from the limits hook (\(location)) for cluster \(cluster): \(name) = \(shown(i, on: stack)); it must be \(what)")
                }
                return n
            }
        }
        let whole = { (n: Double) in n >= 1 && n == n.rounded() && n <= 100_000 }
        let minimum = try number("min", whole, "a whole number ≥ 1").map { Int($0) }
        let maximum = try number("max", whole, "a whole number ≥ 1").map { Int($0) }
        if let minimum, let maximum, maximum < minimum {
            throw LuaStrategyError("strategy.adaptive from the limits hook (\(location)) for cluster \(cluster): max (\(maximum)) is below min (\(minimum))")
        }
        c = AdaptivePacer.Configuration(min: minimum ?? c.min, max: maximum ?? Swift.max(c.max, minimum ?? c.min))
        if let v = try number("window", { $0 > 0 }, "a number of seconds > 0") { c.window = v }
        if let v = try number("settle", { $0 >= 0 }, "a number of seconds ≥ 0") { c.settle = v }
        if let v = try number("reprobe", { $0 > 0 }, "a number of seconds > 0") { c.reprobeAfter = v }
        if let v = try number("threshold", { $0 >= 0 && $0 < 1 }, "a fraction from 0 to below 1 (0.05: 5%)") { c.threshold = v }
        let arrays = try stack.withRawField("arrays", of: table) { i -> [AdaptivePacing.Array] in
            if stack.isNoneOrNil(i) { return [] }
            guard stack.type(i) == .table else {
                throw LuaStrategyError("strategy.adaptive from the limits hook (\(location)) for cluster \(cluster): arrays = \(shown(i, on: stack)); give { [\"pattern\"] = \"array name\" }")
            }
            return try arrayDeclarations(at: i, on: stack, cluster: cluster, location: location)
        }
        return AdaptivePacing(configuration: c, arrays: arrays)
    }

    /// `arrays = { ["legacy-*"] = "old-array", … }`, read raw; the longest pattern is tried
    /// first (the more specific one), then in text order, so the answer never depends on
    /// Lua's table order.
    static func arrayDeclarations(at index: Int32, on stack: LuaThreadStack, cluster: String, location: String) throws -> [AdaptivePacing.Array] {
        var out: [AdaptivePacing.Array] = []
        try stack.forEachRawPair(of: index) { key, value in
            let pattern = stack.type(key) == .string ? stack.string(at: key) : nil
            let name = stack.type(value) == .string ? stack.string(at: value) : nil
            guard let pattern, let name, !pattern.isEmpty, !name.isEmpty else {
                throw LuaStrategyError("strategy.adaptive from the limits hook (\(location)) for cluster \(cluster): arrays maps datastore-name patterns to array names (text to text)")
            }
            out.append(AdaptivePacing.Array(pattern: pattern, name: name))
        }
        return out.sorted { ($0.pattern.count, $1.pattern) > ($1.pattern.count, $0.pattern) }
    }
}
