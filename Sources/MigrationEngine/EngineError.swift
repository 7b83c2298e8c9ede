/// A failure of the engine itself (as opposed to a job's fault), with what to do about it.
public enum EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A strategy hook that runs before anything moves (`select`, `order`, `limits`) threw.
    case hookFailed(hook: String, message: String)
    /// The journal could not be read or written; nothing further was started.
    case journal(String)
    /// The journal belongs to a different run or is in a state that cannot continue.
    case cannotResume(String)
    /// The backend failed in a way that stops the run (for example reading the inventory).
    case backend(String)
    /// A limit given to the engine (not by the strategy) cannot be used.
    case badLimit(String)

    public var description: String {
        switch self {
        case .hookFailed(let hook, let message):
            "the strategy's \(hook) hook failed before anything started: \(message)"
        case .journal(let message):
            "journal error: \(message) (nothing further was started; fix the journal's disk or path and run again with --resume)"
        case .cannotResume(let message):
            "cannot resume: \(message)"
        case .backend(let message):
            "vCenter error: \(message)"
        case .badLimit(let message):
            "\(message); nothing was started"
        }
    }
}
