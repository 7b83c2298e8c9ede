/// The strategy's overrides of the engine's per-vCenter limits, from
/// `Strategy.vcenterLimits(inventory)` (called once per run). nil keeps the engine's value;
/// `SchedulerConfiguration.vcenterMaxJobsOverride` (`--max-concurrent`) wins over both.
public struct VCenterLimitOverrides: Sendable, Hashable {
    /// Maximum concurrent jobs in the whole vCenter (the engine's default: `Limits.vcenterMaxJobs`, 256).
    public var maxConcurrent: Int?

    /// The largest per-vCenter cap accepted: vCenter 6.x keeps about 2,000 tasks in flight
    /// (600 active); more would only queue in vCenter, out of the engine's control.
    public static let maxConcurrentLimit = 2_000

    /// Creates overrides; nil keeps the engine's limit.
    public init(maxConcurrent: Int? = nil) {
        self.maxConcurrent = maxConcurrent
    }

    /// No override.
    public static let none = VCenterLimitOverrides()

    /// Why `value` is not a usable per-vCenter cap (nil when it is): a whole number from 1 to `maxConcurrentLimit`.
    public static func problem(withMaxConcurrent value: Int) -> String? {
        guard value >= 1, value <= maxConcurrentLimit else {
            return "\(value) is not a usable number of concurrent jobs per vCenter: give a whole number from 1 to \(maxConcurrentLimit) (vCenter keeps about 2,000 tasks in flight; beyond its limits it queues them out of Moonmotion's control)"
        }
        return nil
    }
}
