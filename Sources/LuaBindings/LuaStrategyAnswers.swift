import LuaHost
import MigrationEngine
import VCenterModel

/// Reads what the per-job hooks and `limits` returned into the engine's types, with an
/// error that names the hook, its location, what came back and what is valid.
enum LuaStrategyAnswers {
    /// The `limits(cluster)` fields, in documentation order.
    static let limitFields = ["max_concurrent", "per_host", "per_datastore", "host_cost", "datastore_cost", "network_cost", "min_free"]

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
    static func target(at index: Int32, on stack: LuaThreadStack, candidates: [DatastoreInfo], location: String) throws -> MoRef? {
        switch stack.type(index) {
        case .nil, .none:
            return nil
        case .string:
            let name = stack.string(at: index) ?? ""
            let matches = candidates.filter { $0.name == name }
            if matches.count > 1 {
                throw LuaStrategyError("the target hook (\(location)) returned '\(name)', but several candidates have that name (\(matches.map(\.ref.value).joined(separator: ", "))); return the Datastore object instead")
            }
            if let match = matches.first { return match.ref }
            throw LuaStrategyError("the target hook (\(location)) returned '\(name)', which is not one of the candidates (\(candidates.map(\.name).joined(separator: ", "))); return one of them, or nil to wait")
        default:
            if let ref = InventoryObjectKind.datastore.ref(ofObjectAt: index, access: stack) { return ref }
            throw LuaStrategyError("the target hook (\(location)) returned a \(stack.typeName(index)); return one of the candidates (a Datastore or its name), or nil to wait")
        }
    }

    /// `limits(cluster)`: nil (no change) or a table of the `limitFields`, each a whole number ≥ 1
    /// (but `min_free`: a fraction below 1, a number of bytes, or text such as "10%" or "500 GiB").
    static func limits(at index: Int32, on stack: LuaThreadStack, cluster: String, location: String) throws -> LimitOverrides {
        var minFree: FreeSpaceFloor?
        if stack.type(index) == .table {
            minFree = try stack.withRawField("min_free", of: index) { i -> FreeSpaceFloor? in
                if stack.isNoneOrNil(i) { return nil }
                let bad = LuaStrategyError("the limits hook (\(location)) returned min_free = \(shown(i, on: stack)) for cluster \(cluster); give a fraction of the capacity (0.1 or \"10%\") or a size (536870912000 or \"500 GiB\")")
                if let n = stack.number(at: i) {
                    if n >= 0, n < 1 { return .fraction(n) }
                    guard n >= 1, n == n.rounded() else { throw bad }
                    return .bytes(Int64(n))
                }
                guard stack.type(i) == .string, let text = stack.string(at: i), let floor = FreeSpaceFloor(parsing: text) else { throw bad }
                return floor
            }
        }
        var adaptive: AdaptivePacing?
        if stack.type(index) == .table {
            adaptive = try stack.withRawField("max_concurrent", of: index) { try Self.adaptive(at: $0, on: stack, cluster: cluster, location: location) }
        }
        let values = try wholeNumbers(at: index, on: stack, valid: limitFields, hook: "limits", subject: " for cluster \(cluster)",
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
    static func placement(at index: Int32, on stack: LuaThreadStack, files: [VMFile], candidates: [DatastoreInfo], location: String) throws -> TargetAnswer {
        guard stack.type(index) == .table else {
            return try target(at: index, on: stack, candidates: candidates, location: location).map(TargetAnswer.together) ?? .wait
        }
        var map: [VMFileID: MoRef] = [:]
        try stack.forEachRawPair(of: index) { key, value in
            let id: VMFileID?
            if let number = stack.integer(at: key) {
                id = .disk(number)
            } else if stack.type(key) == .string, let text = stack.string(at: key) {
                id = VMFileID(parsing: text)
            } else {
                id = nil
            }
            guard let id, files.contains(where: { $0.id == id }) else {
                let shown = stack.string(at: key).map { "'\($0)'" } ?? "a \(stack.typeName(key))"
                throw LuaStrategyError("the target hook (\(location)) placed \(shown), which is not one of the files it was given (\(files.map(\.id.description).joined(separator: ", "))); key the table by \"config\" and disk keys")
            }
            guard let ref = try target(at: value, on: stack, candidates: candidates, location: location) else {
                throw LuaStrategyError("the target hook (\(location)) placed \(id) on nil; name a candidate for every file, or return nil for all to wait")
            }
            map[id] = ref
        }
        return .perFile(map)
    }

    /// The `vcenter_limits(inv)` fields.
    static let vcenterLimitFields = ["max_concurrent"]

    /// `vcenter_limits(inv)`: nil (no change) or `{ max_concurrent = n }`, n a whole number
    /// from 1 to `VCenterLimitOverrides.maxConcurrentLimit`.
    static func vcenterLimits(at index: Int32, on stack: LuaThreadStack, location: String) throws -> VCenterLimitOverrides {
        let values = try wholeNumbers(at: index, on: stack, valid: vcenterLimitFields, hook: "vcenter_limits", subject: "",
                                      example: "{ max_concurrent = 64 }", location: location)
        guard let value = values.first(where: { $0.0 == "max_concurrent" })?.1 else { return .none }
        if let problem = VCenterLimitOverrides.problem(withMaxConcurrent: value) {
            throw LuaStrategyError("max_concurrent from the vcenter_limits hook (\(location)): \(problem)")
        }
        return VCenterLimitOverrides(maxConcurrent: value)
    }

    /// Reads a limits table: nil → no values; otherwise only `valid` keys, each nil or a
    /// whole number ≥ 1, returned in `valid`'s order. Errors name the hook and what to return.
    static func wholeNumbers(at index: Int32, on stack: LuaThreadStack, valid: [String], hook: String, subject: String,
                             example: String, location: String, skip: Set<String> = []) throws -> [(String, Int)] {
        switch stack.type(index) {
        case .nil, .none:
            return []
        case .table:
            break
        default:
            throw LuaStrategyError("the \(hook) hook (\(location)) returned a \(stack.typeName(index))\(subject); return a table such as \(example) (fields: \(valid.joined(separator: ", "))) or nil")
        }
        try stack.forEachRawPair(of: index) { k, _ in
            let key = stack.type(k) == .string ? stack.string(at: k) : nil
            guard let key, valid.contains(key) else {
                let shown = key.map { "'\($0)'" } ?? "a non-string key"
                let hint = NameSuggestion.hint(for: key, among: valid)
                throw LuaStrategyError("the \(hook) hook (\(location)) returned \(shown)\(hint)\(subject); valid fields: \(valid.joined(separator: ", "))")
            }
        }
        var values: [(String, Int)] = []
        for key in valid where !skip.contains(key) {
            let value: Int? = try stack.withRawField(key, of: index) { slot in
                if stack.isNoneOrNil(slot) { return nil }
                guard let n = stack.integer(at: slot), n >= 1 else {
                    let shown = stack.string(at: slot) ?? "a \(stack.typeName(slot))"
                    throw LuaStrategyError("the \(hook) hook (\(location)) returned \(key) = \(shown)\(subject); it must be a whole number ≥ 1")
                }
                return n
            }
            if let value { values.append((key, value)) }
        }
        return values
    }

    /// `on_blocked(job, info)`: "vmotion" or "wait" (nil: wait).
    static func blocked(at index: Int32, on stack: LuaThreadStack, location: String) throws -> BlockedDecision {
        if stack.isNoneOrNil(index) { return .wait }
        if stack.type(index) == .string, let text = stack.string(at: index), let decision = BlockedDecision(rawValue: text) {
            return decision
        }
        throw LuaStrategyError("the on_blocked hook (\(location)) returned \(shown(index, on: stack)); return \"vmotion\" or \"wait\"")
    }

    /// `on_failure(job, err)`: "retry", "skip" or "abort"; nil lets the retry rule decide.
    static func failure(at index: Int32, on stack: LuaThreadStack, location: String) throws -> FailureDecision? {
        if stack.isNoneOrNil(index) { return nil }
        if stack.type(index) == .string, let text = stack.string(at: index), let decision = FailureDecision(rawValue: text) {
            return decision
        }
        throw LuaStrategyError("the on_failure hook (\(location)) returned \(shown(index, on: stack)); return \"retry\", \"skip\", \"abort\" or nil (the retry rule decides)")
    }

    /// `"text"` for a string, the type name otherwise.
    static func shown(_ index: Int32, on stack: LuaThreadStack) -> String {
        if stack.type(index) == .string, let s = stack.string(at: index) { return "\"\(s)\"" }
        if stack.type(index) == .number, let s = stack.string(at: index) { return s }
        return "a \(stack.typeName(index))"
    }
}
