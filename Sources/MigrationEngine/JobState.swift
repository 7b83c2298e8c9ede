/// Where a job is in its life: `pending → dispatching → running → done / failed / skipped`.
/// A retried job goes back from `dispatching` or `running` to `pending`.
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting for its turn, for room, or for a retry's backoff to pass.
    case pending
    /// The engine decided to start it; the vCenter call is being made.
    case dispatching
    /// vCenter accepted it and returned a task that has not ended.
    case running
    /// It ended well (or there was nothing to do: the VM was already on its target).
    case done
    /// It ended badly and will not be tried again in this run.
    case failed
    /// The strategy (or the engine, for a VM that must not move twice) chose not to run it.
    case skipped

    /// Whether the job has ended for this run.
    public var isTerminal: Bool { self == .done || self == .failed || self == .skipped }

    /// Whether a vCenter call for the job is in flight or its task is running.
    public var isActive: Bool { self == .dispatching || self == .running }
}
