import Foundation
import VCenterModel

/// How the engine retries a failed job on its own, and the bound no answer can pass.
///
/// Each failure is matched to a rule: the most specific fault type named in `retries` that
/// the fault is (`FileFault = 3` covers `FileLocked`; vSphere's inheritance, see
/// `VCenterFault.Code.isA`), else `defaultRetries` for a retriable fault
/// (`VCenterFault.isRetriable`: another task holds the VM, a file is locked, …) or a call
/// lost in transport, else none. While the rule's retries are not used up the engine
/// retries with exponential backoff (`initialDelay` × `multiplier`ⁿ, capped at `maxDelay`);
/// `Strategy.onFailure` hears every failure and may answer otherwise. Whatever it answers, a
/// job gets at most `attemptLimit` attempts: then it fails, naming its faults — a strategy
/// that always answers "retry" to a permanent fault cannot make a run (or a plan) last forever.
public struct RetryPolicy: Sendable, Hashable {
    /// The wait before the second attempt.
    public var initialDelay: TimeInterval = 30
    /// The factor applied to the wait after each further attempt.
    public var multiplier: Double = 2
    /// The longest wait between attempts.
    public var maxDelay: TimeInterval = 600
    /// Retries of a retriable fault (or a lost call) that no rule in `retries` covers:
    /// 7, eight attempts in all.
    public var defaultRetries: Int = 7
    /// Retries per fault type, covering its subtypes (the most specific rule wins); a
    /// non-retriable fault is retried on its own only when named here.
    public var retries: [VCenterFault.Code: Int] = [:]
    /// The most attempts a job gets in all, whatever the strategy answers.
    public var attemptLimit: Int = 25

    /// The attempts a retriable fault without a rule gets in all (`defaultRetries` + 1).
    public var maxAttempts: Int {
        get { defaultRetries + 1 }
        set { defaultRetries = max(0, newValue - 1) }
    }

    /// 30 s doubling to 10 min; 7 retries of a retriable fault; at most 25 attempts.
    public init() {}

    /// Creates a policy (`maxAttempts`: attempts in all for a retriable fault without a rule).
    public init(initialDelay: TimeInterval, multiplier: Double = 2, maxDelay: TimeInterval, maxAttempts: Int) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.maxAttempts = maxAttempts
    }

    /// The wait after attempt number `attempt` (1-based) failed.
    public func delay(afterAttempt attempt: Int) -> TimeInterval {
        let exponent = Double(max(attempt - 1, 0))
        return min(maxDelay, initialDelay * pow(multiplier, exponent))
    }

    /// The rule a failure with `code` falls under, and how many retries it allows.
    /// `retriable` overrides the code's own classification (a lost call is retriable).
    public func rule(for code: VCenterFault.Code, retriable: Bool) -> (rule: RetryRule, retries: Int) {
        var best: (code: VCenterFault.Code, depth: Int, count: Int)?
        for (named, count) in retries where code.isA(named) {
            let depth = Self.depth(of: named)
            if best.map({ depth > $0.depth }) ?? true { best = (named, depth, count) }
        }
        if let best { return (.fault(best.code), max(0, best.count)) }
        return retriable ? (.default, defaultRetries) : (.none, 0)
    }

    /// How far a type is from the root of the hierarchy (a deeper rule is more specific).
    static func depth(of code: VCenterFault.Code) -> Int {
        var depth = 0
        var current = code.parent
        while let c = current, depth < 32 {
            depth += 1
            current = c.parent
        }
        return depth
    }
}

/// The rule a failure was counted under (`RetryPolicy.rule(for:retriable:)`).
public enum RetryRule: Sendable, Hashable, CustomStringConvertible {
    /// A fault type named in `RetryPolicy.retries`.
    case fault(VCenterFault.Code)
    /// `RetryPolicy.defaultRetries`: a retriable fault or a lost call without a rule.
    case `default`
    /// Not retried on its own.
    case none

    public var description: String {
        switch self {
        case .fault(let code): code.rawValue
        case .default: "default"
        case .none: "none"
        }
    }
}
