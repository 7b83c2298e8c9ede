import MigrationEngine

/// `--max-concurrent N` of `moonmotion run` and `moonmotion plan`: the per-vCenter cap on
/// concurrent jobs, winning over the strategy's `vcenter_limits` (the engine's
/// `SchedulerConfiguration.vcenterMaxJobsOverride`).
enum MaxConcurrentOption {
    /// The largest value accepted.
    static let limit = VCenterLimitOverrides.maxConcurrentLimit

    /// Why `value` cannot be used, or nil.
    static func problem(_ value: Int) -> String? {
        VCenterLimitOverrides.problem(withMaxConcurrent: value)
    }
}
