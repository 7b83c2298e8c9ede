import Foundation
import VCenterModel

/// Something that happened in a run: every job and task transition, task progress,
/// retries, pro-active vMotions, warnings, the run's start and end. The scheduler
/// produces them; the runner journals them and hands them to observers (progress
/// display, `--events` JSON lines).
public struct EngineEvent: Sendable {
    /// When it happened (virtual time under `plan`).
    public var time: Date
    /// What happened.
    public var kind: Kind

    /// Creates an event.
    public init(time: Date, kind: Kind) {
        self.time = time
        self.kind = kind
    }

    /// What happened.
    public enum Kind: Sendable {
        /// The run began (or resumed) with these jobs.
        case runStarted(RunStart)
        /// A job was created (by the strategy, or by the engine for a pro-active vMotion).
        case jobAdded(Job)
        /// A job changed state; the job as it is now, and its previous state.
        case jobChanged(Job, from: JobState)
        /// A running task reported progress.
        case taskProgress(JobID, task: MoRef, percent: Int)
        /// A job failed with a retriable fault and will be tried again at `at`.
        case retryScheduled(Job, at: Date, fault: VCenterFault)
        /// The engine vMotions a VM off its full host before a storage move.
        case proactiveVMotion(job: JobID, vmotion: JobID, from: MoRef, to: MoRef)
        /// A task started outside this run occupies resources of a VM this run knows.
        case externalTask(TaskInfo)
        /// Pacing by throughput changed a group's limit (`max_concurrent = "auto"`), and why.
        case pacingChanged(AdaptivePacer.Change)
        /// A problem that did not stop anything, one line.
        case warning(String, job: JobID?)
        /// The run's end was forecast again from the rates measured so far (`RunForecast`).
        case forecast(RunForecast)
        /// A change window opened (until `end`) or closed (the next opens at `next`).
        case window(open: Bool, end: Date?, next: Date?)
        /// The run ended.
        case runFinished(RunOutcome)
    }
}

/// The facts announced when a run starts.
public struct RunStart: Sendable, Hashable {
    /// Jobs in the run (all states).
    public var jobs: Int
    /// Bytes the run's storage moves will copy.
    public var bytes: Int64
    /// Whether the run continues an earlier one from its journal.
    public var resumed: Bool
    /// Display names of the inventory's clusters, hosts and datastores (not VMs: jobs carry theirs).
    public var names: [MoRef: String]

    /// Creates the record.
    public init(jobs: Int, bytes: Int64, resumed: Bool, names: [MoRef: String] = [:]) {
        self.jobs = jobs
        self.bytes = bytes
        self.resumed = resumed
        self.names = names
    }
}

/// How a run ended.
public enum RunOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Every job ended (done, failed or skipped).
    case completed
    /// Stopped on request (Ctrl-C once): running tasks finished, pending jobs left for `--resume`.
    case stopped
    /// The strategy aborted after a failure: running tasks finished, pending jobs left.
    case aborted(reason: String)
    /// Abandoned (Ctrl-C twice): running tasks were left running in vCenter.
    case abandoned
    /// Nothing was left running and the strategy held every job still pending (its target
    /// hook answered "wait"): they stay pending; `--resume` asks the strategy again.
    case held(jobs: Int)
    /// A simulated run reached its time limit (`RunConfiguration.simulatedTimeLimit`): what
    /// still ran or waited is unfinished. Only `plan` and simulations set a limit.
    case timeLimit(seconds: TimeInterval)
    /// The change window closed and, as asked (`--until-window-end`), the run ended once its
    /// running tasks finished; `--resume` continues in the next window (`next`).
    case windowClosed(next: Date?)

    /// The journal's word for it: `completed`, `stopped`, `aborted`, `abandoned`, `held`.
    public var name: String {
        switch self {
        case .completed: "completed"
        case .stopped: "stopped"
        case .aborted: "aborted"
        case .abandoned: "abandoned"
        case .held: "held"
        case .timeLimit: "time-limit"
        case .windowClosed: "window-closed"
        }
    }

    public var description: String {
        if case .aborted(let reason) = self { return "aborted: \(reason)" }
        if case .timeLimit(let s) = self {
            return "cut short: the simulated time limit (\(ProgressRenderer.duration(s))) was reached with jobs unfinished"
        }
        if case .held(let n) = self { return "held: the strategy holds \(n) job\(n == 1 ? "" : "s") with nothing running; --resume asks it again" }
        return name
    }
}
