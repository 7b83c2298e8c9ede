/// How the simulator's time passes.
public enum SimulatorClock: Sendable, Hashable {
    /// Nothing happens until the caller calls `advance(to:)` (`moonmotion plan`, engine tests):
    /// a migration of days runs in milliseconds.
    case virtual
    /// Simulated time runs `speed` simulated seconds per real second, and a background
    /// thread applies each event when it is due (`moonmotion run` with no server: a demo
    /// that finishes in about a minute). `speed` must be positive.
    case scaled(speed: Double)

    /// Whether time only moves when the caller advances it.
    public var isVirtual: Bool { if case .virtual = self { true } else { false } }
}
