import Foundation
import LuaHost
import MigrationEngine
import VCenterModel

/// A strategy's `retries` and `backoff` fields (docs/LUA.md, "Retries"), checked, as changes
/// to the engine's `RetryPolicy`:
///
///     retries = { FileLocked = 2, HostCommunication = 5, default = 8, limit = 25 },
///     backoff = { first = 30, max = 600, factor = 2 },
///
/// A fault name covers its subtypes (`FileFault` covers `FileLocked`); `default` is the
/// retries of a retriable fault no name covers, `limit` the most attempts a job gets whatever
/// `on_failure` answers. Unset fields keep the engine's values. Checked once, where the
/// strategy is loaded (and by `strategy.new` at the script's line), so a typo in a fault name
/// — which would otherwise match nothing, silently — is an error with "did you mean".
struct LuaStrategyRetries: Sendable, Hashable {
    var perFault: [VCenterFault.Code: Int] = [:]
    var defaultRetries: Int?
    var attemptLimit: Int?
    var first: Double?
    var max: Double?
    var factor: Double?

    /// The strategy-table fields that are settings, not hooks.
    static let settingNames = ["retries", "backoff"]
    /// The keys of `retries` that are not fault names.
    static let retriesKeys = ["default", "limit"]
    /// The fields of `backoff`.
    static let backoffFields = ["first", "max", "factor"]

    /// Whether nothing is changed.
    var isEmpty: Bool { self == LuaStrategyRetries() }

    /// `base` with these changes; throws when the result is not a usable policy (a `max`
    /// shorter than `first`, with one of them the engine's).
    func applied(to base: RetryPolicy) throws(LuaStrategyError) -> RetryPolicy {
        var policy = base
        for (code, count) in perFault { policy.retries[code] = count }
        if let defaultRetries { policy.defaultRetries = defaultRetries }
        if let attemptLimit { policy.attemptLimit = attemptLimit }
        if let first { policy.initialDelay = first }
        if let max { policy.maxDelay = max }
        if let factor { policy.multiplier = factor }
        guard policy.maxDelay >= policy.initialDelay else {
            throw LuaStrategyError("backoff.max (\(Self.seconds(policy.maxDelay))) is shorter than backoff.first (\(Self.seconds(policy.initialDelay))); the wait grows from first to max")
        }
        return policy
    }

    /// Reads the setting `name` (`retries` or `backoff`) from the value at `index` into `self`.
    /// The error message names the field and says what a valid value looks like.
    mutating func read(_ name: String, at index: Int32, on stack: some LuaStackAccess) throws(LuaStrategyError) {
        switch name {
        case "retries": try readRetries(at: index, on: stack)
        case "backoff": try readBackoff(at: index, on: stack)
        default: throw LuaStrategyError("'\(name)' is not a strategy setting; settings: \(Self.settingNames.joined(separator: ", "))")
        }
    }

    private mutating func readRetries(at index: Int32, on stack: some LuaStackAccess) throws(LuaStrategyError) {
        guard stack.type(index) == .table else {
            throw LuaStrategyError("retries must be a table such as { FileLocked = 2, default = 8, limit = 25 }, not a \(stack.typeName(index))")
        }
        var problem: LuaStrategyError?
        do {
            try stack.forEachRawPair(of: index) { key, value in
                guard stack.type(key) == .string, let name = stack.string(at: key) else {
                    throw LuaStrategyError("retries has a \(stack.typeName(key)) key; its keys are fault types (FileLocked, HostCommunication, …), default and limit")
                }
                let count = try Self.count(at: value, on: stack, field: "retries.\(name)", minimum: name == "limit" ? 1 : 0)
                switch name {
                case "default": defaultRetries = count
                case "limit": attemptLimit = count
                default:
                    let code = VCenterFault.Code(rawValue: name)
                    guard code.isKnown else {
                        let hint = NameSuggestion.hint(for: name, among: Self.retriesKeys)
                        let faultHint = hint.isEmpty ? Self.faultHint(for: name) : hint
                        throw LuaStrategyError("retries has '\(name)'\(faultHint), which is not a fault type this build knows nor default or limit; fault types are vSphere's (FileLocked, HostCommunication, NoDiskSpace, …) and Moonmotion's (Timeout, ConnectionFailed, …)")
                    }
                    perFault[code] = count
                }
            }
        } catch let error as LuaStrategyError {
            problem = error
        } catch {
            problem = LuaStrategyError("retries: \(error)")
        }
        if let problem { throw problem }
    }

    private mutating func readBackoff(at index: Int32, on stack: some LuaStackAccess) throws(LuaStrategyError) {
        guard stack.type(index) == .table else {
            throw LuaStrategyError("backoff must be a table such as { first = 30, max = 600, factor = 2 } (seconds), not a \(stack.typeName(index))")
        }
        var problem: LuaStrategyError?
        do {
            try stack.forEachRawPair(of: index) { key, value in
                let name = stack.type(key) == .string ? stack.string(at: key) : nil
                guard let name, Self.backoffFields.contains(name) else {
                    let shown = name.map { "'\($0)'" } ?? "a \(stack.typeName(key)) key"
                    throw LuaStrategyError("backoff has \(shown)\(NameSuggestion.hint(for: name, among: Self.backoffFields)); its fields: first (seconds before the first retry), max (the longest wait), factor (the growth per retry)")
                }
                guard let number = stack.number(at: value), number.isFinite else {
                    throw LuaStrategyError("backoff.\(name) must be a number, not \(Self.shown(value, on: stack))")
                }
                switch name {
                case "first":
                    guard number >= 0 else { throw LuaStrategyError("backoff.first must be ≥ 0 seconds, not \(Self.seconds(number))") }
                    first = number
                case "max":
                    guard number > 0 else { throw LuaStrategyError("backoff.max must be > 0 seconds, not \(Self.seconds(number))") }
                    max = number
                default:
                    guard number >= 1 else { throw LuaStrategyError("backoff.factor must be ≥ 1 (1: the same wait every time), not \(Self.seconds(number))") }
                    factor = number
                }
            }
        } catch let error as LuaStrategyError {
            problem = error
        } catch {
            problem = LuaStrategyError("backoff: \(error)")
        }
        if let problem { throw problem }
        if let first, let max, max < first {
            throw LuaStrategyError("backoff.max (\(Self.seconds(max))) is shorter than backoff.first (\(Self.seconds(first))); the wait grows from first to max")
        }
    }

    /// A non-negative integer (≥ `minimum`) at `index`.
    private static func count(at index: Int32, on stack: some LuaStackAccess, field: String, minimum: Int) throws(LuaStrategyError) -> Int {
        guard let n = stack.integer(at: index), n >= minimum else {
            let what = minimum == 0 ? "a whole number ≥ 0 (retries after the first attempt)" : "a whole number ≥ \(minimum) (attempts in all)"
            throw LuaStrategyError("\(field) must be \(what), not \(shown(index, on: stack))")
        }
        return n
    }

    /// ` (did you mean 'FileLocked'?)` for a fault name in another case or spelling.
    static func faultHint(for name: String) -> String {
        func folded(_ s: String) -> String { s.lowercased().filter { $0 != "_" && $0 != "-" } }
        let known = VCenterFault.Code.known.map(\.rawValue)
        let target = folded(name)
        if let same = known.first(where: { folded($0) == target }) { return " (did you mean '\(same)'?)" }
        var best: (String, Int)?
        for k in known {
            let d = NameSuggestion.editDistance(target, folded(k))
            if d <= 2, d < (best?.1 ?? Int.max) { best = (k, d) }
        }
        return best.map { " (did you mean '\($0.0)'?)" } ?? ""
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value)) s" : "\(value) s"
    }

    static func shown(_ index: Int32, on stack: some LuaStackAccess) -> String {
        switch stack.type(index) {
        case .string: "\"\(stack.string(at: index) ?? "")\""
        case .number: stack.number(at: index).map { $0 == $0.rounded() && abs($0) < 1e15 ? "\(Int($0))" : "\($0)" } ?? "a number"
        default: "a \(stack.typeName(index))"
        }
    }
}
