import Foundation
import VCenterModel

/// One unit of work on one VM, as the engine tracks it through its life.
public struct Job: Sendable, Hashable, Identifiable {
    /// The job's id within the run.
    public let id: JobID
    /// The VM the job works on.
    public let vm: MoRef
    /// The VM's name when the job was created.
    public var vmName: String
    /// The VM's cluster when the job was created (nil for a standalone host).
    public var cluster: MoRef?
    /// What the job does. Fixed for the strategy's jobs; for a pro-active vMotion the
    /// destination host is chosen when it is dispatched (until then it names the host
    /// that had the most room when the strategy decided).
    public var kind: JobKind
    /// A free-form label from the strategy (or the engine, for a pro-active vMotion).
    public var label: String?
    /// Committed bytes of the VM (what a Storage vMotion copies); memory bytes for a host move.
    public var size: Int64
    /// Where the job is in its life.
    public var state: JobState
    /// How many times the engine called vCenter for it (1 on the first try).
    public var attempts: Int
    /// The last error, one line (a fault's `Type: message`, or a hook's error text).
    public var lastError: String?
    /// The code of the fault behind `lastError` when it was one (nil for a hook's error, a
    /// reason a VM cannot move, …): what `--resume` decides from, never the text.
    public var lastFault: VCenterFault.Code?
    /// The vCenter task of the current (or last) attempt.
    public var taskRef: MoRef?
    /// The datastore chosen for a storage move (set at dispatch): where the VM's home goes, or
    /// the first destination when the home stays. `moves` has every file's.
    public var target: MoRef?
    /// The files the current (or last) attempt of a storage move copies, from where to where
    /// (set at dispatch).
    public var moves: [FileMove]
    /// The VM's host when the current attempt was dispatched (or when the job was created).
    public var sourceHost: MoRef?
    /// The VM's datastores when the current attempt was dispatched (or when the job was created).
    public var sourceDatastores: [MoRef]
    /// Task progress in percent, when vCenter reports it.
    public var progress: Int?
    /// When the job was created.
    public var createdAt: Date
    /// When the current attempt was dispatched.
    public var dispatchedAt: Date?
    /// When vCenter accepted the current attempt.
    public var startedAt: Date?
    /// When the job ended.
    public var finishedAt: Date?
    /// While pending after a failure: not before this time.
    public var notBefore: Date?
    /// For an engine-inserted pro-active vMotion: the storage move it clears the way for.
    public var parent: JobID?
    /// Whether the job was skipped before it started because the VM cannot move as asked
    /// (`lastError` says why and what to do): an RDM, a shared disk, Fault Tolerance, …
    public var cannotMove: Bool
    /// The job's wave (`Strategy.wave`): it starts once every job of an earlier wave in its
    /// scope has ended. Nil: in no wave.
    public var wave: Int? = nil
    /// Whether the strategy holds the job: its target hook answered "wait" while datastores
    /// had room. A held job waits (it is re-asked when something changes); it never fails for it.
    public var heldByStrategy: Bool = false
    /// With change windows (`SchedulerConfiguration.windows`): when the scheduler predicted, as
    /// it started the job, that the job would end — the prediction the window rule admitted it
    /// on. Not a journal column: the job's events carry it (`EventRecord.predictedEnd`), so the
    /// report and the windows benchmark set each move's real end beside it.
    public var predictedEnd: Date? = nil

    /// Creates a job record.
    public init(
        id: JobID, vm: MoRef, vmName: String, cluster: MoRef?, kind: JobKind, label: String? = nil,
        size: Int64, state: JobState = .pending, attempts: Int = 0, lastError: String? = nil, lastFault: VCenterFault.Code? = nil,
        taskRef: MoRef? = nil, target: MoRef? = nil, sourceHost: MoRef? = nil, sourceDatastores: [MoRef] = [],
        progress: Int? = nil, createdAt: Date, dispatchedAt: Date? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil, notBefore: Date? = nil, parent: JobID? = nil, moves: [FileMove] = [], cannotMove: Bool = false
    ) {
        self.id = id
        self.vm = vm
        self.vmName = vmName
        self.cluster = cluster
        self.kind = kind
        self.label = label
        self.size = size
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.lastFault = lastFault
        self.taskRef = taskRef
        self.target = target
        self.sourceHost = sourceHost
        self.sourceDatastores = sourceDatastores
        self.progress = progress
        self.createdAt = createdAt
        self.dispatchedAt = dispatchedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.notBefore = notBefore
        self.parent = parent
        self.moves = moves
        self.cannotMove = cannotMove
    }

    /// Whether the engine inserted this job (a pro-active vMotion) rather than the strategy.
    public var isProactive: Bool { parent != nil }
}
