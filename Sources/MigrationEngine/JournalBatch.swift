import Foundation
import VCenterModel

/// What one runner step writes to the journal, in one transaction: the latest
/// state of every job it touched, new jobs' ranks, the events, the intents of the
/// calls about to be made, and the task references of calls that returned.
public struct JournalBatch: Sendable {
    /// An intent: the call the runner is about to make for a job.
    public struct Intent: Sendable, Hashable {
        /// The job.
        public var job: JobID
        /// The vSphere method, for example `RelocateVM_Task`.
        public var operation: String
        /// The attempt number the call is (1-based).
        public var attempt: Int
        /// When it was written.
        public var at: Date
    }

    /// A task reference returned by a call.
    public struct TaskRef: Sendable, Hashable {
        /// The job.
        public var job: JobID
        /// The task reference.
        public var ref: MoRef
        /// The attempt number (1-based).
        public var attempt: Int
        /// When it was written.
        public var at: Date
    }

    /// Jobs to insert or update, latest state.
    public var jobs: [JobID: Job] = [:]
    /// Ranks of newly added jobs.
    public var ranks: [JobID: Int] = [:]
    /// Events, in order.
    public var events: [EngineEvent] = []
    /// Intents, written before their calls are made.
    public var intents: [Intent] = []
    /// Task references, written after their calls returned.
    public var taskRefs: [TaskRef] = []

    /// Creates an empty batch.
    public init() {}

    /// Whether the batch writes nothing.
    public var isEmpty: Bool { jobs.isEmpty && events.isEmpty && intents.isEmpty && taskRefs.isEmpty }
}
