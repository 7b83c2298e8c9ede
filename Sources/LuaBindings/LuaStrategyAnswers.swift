import CLuaShim
import LuaHost
import MigrationEngine
import VCenterModel

/// Reads what the per-job hooks and `limits` returned into the engine's types, with an
/// error that names the hook, its location, what came back and what is valid.
enum LuaStrategyAnswers {
    /// The `limits(cluster)` fields, in documentation order.
    static let limitNames = ["max_concurrent", "per_host", "per_datastore", "host_cost", "datastore_cost", "network_cost", "min_free"]

    /// Sets the `LimitOverrides` field a `limits` field names.
    static func set(_ name: String, _ value: Int, in overrides: inout LimitOverrides) {
        switch name {
        case "max_concurrent": overrides.maxConcurrent = value
        case "per_host": overrides.storageMovesPerHost = value
        case "per_datastore": overrides.storageMovesPerDatastore = value
        case "host_cost": overrides.hostMaxCost = value
        case "datastore_cost": overrides.datastoreMaxCost = value
        case "network_cost": overrides.networkMaxCost = value
        default: break
        }
    }

    /// `target(job, candidates)`: one of the candidates (object or name), or nil to wait.
    static func target(at index: Int32, on stack: LuaStackSlot, candidates: [DatastoreInfo], location: String) throws -> MoRef? {
        switch stack.typeAt(index) {
        case .nil, .none:
            return nil
        case .string:
            let name = stack.stringAt(index) ?? ""
            let matches = candidates.filter { $0.name == name }
            if matches.count > 1 {
                throw LuaStrategyError("the target hook (\(location)) returned '\(name)', but several candidates have that name (\(matches.map(\.ref.value).joined(separator: ", "))); return the Datastore object instead")
            }
            if let match = matches.first { return match.ref }
            throw LuaStrategyError("the target hook (\(location)) returned '\(name)', which is not one of the candidates (\(candidates.map(\.name).joined(separator: ", "))); return one of them, or nil to wait")
        default:
            if let ref = InventoryObjectKind.datastore.ref(ofObjectAt: index, access: stack) { return ref }
            throw LuaStrategyError("the target hook (\(location)) returned a \(stack.valueTypeName(index)); return one of the candidates (a Datastore or its name), or nil to wait")
        }
    }

    /// `limits(cluster)`: nil (no change) or a table of the `limitFields`, each a whole number ≥ 1
    /// (but `min_free`: a fraction below 1, a number of bytes, or text such as "10%" or "500 GiB").
    static func limits(at index: Int32, on stack: LuaStackSlot, cluster: String, location: String) throws -> LimitOverrides {
        var minFree: FreeSpaceFloor?
        if stack.typeAt(index) == .table {
            minFree = try stack.withField("min_free", of: index) { i -> FreeSpaceFloor? in
                if stack.isNilAt(i) { return nil }
                let bad = LuaStrategyError("the limits hook (\(location)) returned min_free = \(shown(i, on: stack)) for cluster \(cluster); give a fraction of the capacity (0.1 or \"10%\") or a size (536870912000 or \"500 GiB\")")
                if let n = stack.numberAt(i) {
                    if n >= 0, n < 1 { return .fraction(n) }
                    guard n >= 1, n == n.rounded() else { throw bad }
                    return .bytes(Int64(n))
                }
                guard stack.typeAt(i) == .string, let text = stack.stringAt(i), let floor = FreeSpaceFloor(parsing: text) else { throw bad }
                return floor
            }
        }
        var adaptive: AdaptivePacing?
        if stack.typeAt(index) == .table {
            adaptive = try stack.withField("max_concurrent", of: index) { try Self.adaptive(at: $0, on: stack, cluster: cluster, location: location) }
        }
        let values = try wholeNumbers(at: index, on: stack, valid: limitNames, hook: "limits", subject: " for cluster \(cluster)",
                                      example: "{ max_concurrent = 4, per_host = 2 }", location: location,
                                      skip: adaptive == nil ? ["min_free"] : ["min_free", "max_concurrent"])
        var overrides = LimitOverrides()
        for (key, value) in values { set(key, value, in: &overrides) }
        overrides.minFree = minFree
        overrides.adaptive = adaptive
        return overrides
    }

    /// The target hook's answer for files landing together: a candidate (object or name) for all,
    /// a table naming one per file (`config`, a disk key, or `disk 2001`), or nil to wait.
    static func placement(at index: Int32, on stack: LuaStackSlot, files: [VMFile], candidates: [DatastoreInfo], location: String) throws -> TargetAnswer {
        guard stack.typeAt(index) == .table else {
            return try target(at: index, on: stack, candidates: candidates, location: location).map(TargetAnswer.together) ?? .wait
        }
        var map: [VMFileID: MoRef] = [:]
        let L = stack.L
        let table = lua_absindex(L, index)
        try stack.reserveStack(6)
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            let id: VMFileID?
            if let key = stack.integerAt(-2) {
                id = .disk(key)
            } else if stack.typeAt(-2) == .string, let text = stack.stringAt(-2) {
                id = VMFileID(parsing: text)
            } else {
                id = nil
            }
            guard let id, files.contains(where: { $0.id == id }) else {
                let shown = stack.stringAt(-2).map { "'\($0)'" } ?? "a \(stack.valueTypeName(-2))"
                lua_settop(L, -3)
                throw LuaStrategyError("the target hook (\(location)) placed \(shown), which is not one of the files it was given (\(files.map(\.id.description).joined(separator: ", "))); key the table by \"config\" and disk keys")
            }
            do {
                guard let ref = try target(at: lua_gettop(L), on: stack, candidates: candidates, location: location) else {
                    lua_settop(L, -3)
                    throw LuaStrategyError("the target hook (\(location)) placed \(id) on nil; name a candidate for every file, or return nil for all to wait")
                }
                map[id] = ref
            } catch {
                lua_settop(L, table)
                throw error
            }
            lua_settop(L, -2)
        }
        return .perFile(map)
    }

    /// The `vcenter_limits(inv)` fields.
    static let vcenterLimitNames = ["max_concurrent"]

    /// `vcenter_limits(inv)`: nil (no change) or `{ max_concurrent = n }`, n a whole number
    /// from 1 to `VCenterLimitOverrides.maxConcurrentLimit`.
    static func vcenterLimits(at index: Int32, on stack: LuaStackSlot, location: String) throws -> VCenterLimitOverrides {
        let values = try wholeNumbers(at: index, on: stack, valid: vcenterLimitNames, hook: "vcenter_limits", subject: "",
                                      example: "{ max_concurrent = 64 }", location: location)
        guard let value = values.first(where: { $0.0 == "max_concurrent" })?.1 else { return .none }
        if let problem = VCenterLimitOverrides.problem(withMaxConcurrent: value) {
            throw LuaStrategyError("max_concurrent from the vcenter_limits hook (\(location)): \(problem)")
        }
        return VCenterLimitOverrides(maxConcurrent: value)
    }

    /// Reads a limits table: nil → no values; otherwise only `valid` keys, each nil or a
    /// whole number ≥ 1, returned in `valid`'s order. Errors name the hook and what to return.
    static func wholeNumbers(at index: Int32, on stack: LuaStackSlot, valid: [String], hook: String, subject: String,
                             example: String, location: String, skip: Set<String> = []) throws -> [(String, Int)] {
        switch stack.typeAt(index) {
        case .nil, .none:
            return []
        case .table:
            break
        default:
            throw LuaStrategyError("the \(hook) hook (\(location)) returned a \(stack.valueTypeName(index))\(subject); return a table such as \(example) (fields: \(valid.joined(separator: ", "))) or nil")
        }
        let L = stack.L
        let table = lua_absindex(L, index)
        try stack.reserveStack(4)
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            let key = stack.typeAt(-2) == .string ? stack.stringAt(-2) : nil
            lua_settop(L, -2)
            guard let key, valid.contains(key) else {
                lua_settop(L, -2)
                let shown = key.map { "'\($0)'" } ?? "a non-string key"
                let hint = key.flatMap { LuaStrategyHook.suggestion(for: $0, among: valid) }.map { " (did you mean '\($0)'?)" } ?? ""
                throw LuaStrategyError("the \(hook) hook (\(location)) returned \(shown)\(hint)\(subject); valid fields: \(valid.joined(separator: ", "))")
            }
        }
        var values: [(String, Int)] = []
        for key in valid where !skip.contains(key) {
            let value: Int? = try stack.withField(key, of: table) { slot in
                if stack.isNilAt(slot) { return nil }
                guard let n = stack.integerAt(slot), n >= 1 else {
                    let shown = stack.stringAt(slot) ?? "a \(stack.valueTypeName(slot))"
                    throw LuaStrategyError("the \(hook) hook (\(location)) returned \(key) = \(shown)\(subject); it must be a whole number ≥ 1")
                }
                return n
            }
            if let value { values.append((key, value)) }
        }
        return values
    }

    /// `on_blocked(job, info)`: "vmotion" or "wait" (nil: wait).
    static func blocked(at index: Int32, on stack: LuaStackSlot, location: String) throws -> BlockedDecision {
        if stack.isNilAt(index) { return .wait }
        if stack.typeAt(index) == .string, let text = stack.stringAt(index), let decision = BlockedDecision(rawValue: text) {
            return decision
        }
        throw LuaStrategyError("the on_blocked hook (\(location)) returned \(shown(index, on: stack)); return \"vmotion\" or \"wait\"")
    }

    /// `on_failure(job, err)`: "retry", "skip" or "abort" (nil: skip).
    static func failure(at index: Int32, on stack: LuaStackSlot, location: String) throws -> FailureDecision {
        if stack.isNilAt(index) { return .skip }
        if stack.typeAt(index) == .string, let text = stack.stringAt(index), let decision = FailureDecision(rawValue: text) {
            return decision
        }
        throw LuaStrategyError("the on_failure hook (\(location)) returned \(shown(index, on: stack)); return \"retry\", \"skip\" or \"abort\"")
    }

    /// `"text"` for a string, the type name otherwise.
    static func shown(_ index: Int32, on stack: LuaStackSlot) -> String {
        if stack.typeAt(index) == .string, let s = stack.stringAt(index) { return "\"\(s)\"" }
        if stack.typeAt(index) == .number, let s = stack.stringAt(index) { return s }
        return "a \(stack.valueTypeName(index))"
    }
}
