import Foundation

/// How the engine retries a job after a retriable fault (`VCenterFault.isRetriable`:
/// another task holds the VM, a file is locked, …) without asking the strategy:
/// exponential backoff from `initialDelay`, multiplied by `multiplier` each time,
/// capped at `maxDelay`, for at most `maxAttempts` attempts in all. After the last
/// attempt the fault goes to `Strategy.onFailure` like any other.
public struct RetryPolicy: Sendable, Hashable {
    /// The wait before the second attempt.
    public var initialDelay: TimeInterval = 30
    /// The factor applied to the wait after each further attempt.
    public var multiplier: Double = 2
    /// The longest wait between attempts.
    public var maxDelay: TimeInterval = 600
    /// The most attempts (calls to vCenter) a job gets for retriable faults.
    public var maxAttempts: Int = 8

    /// 30 s doubling to 10 min, 8 attempts.
    public init() {}

    /// Creates a policy.
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
}
