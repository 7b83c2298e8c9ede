import DequeModule
import Foundation
import VCenterModel

/// The scheduler's private bookkeeping for one job.
struct JobMeta {
    var vm: Int32
    var rank: Int = .max
    /// Bumped whenever the job leaves a waiting list, so entries it left elsewhere go stale.
    var token: UInt32 = 0
    /// Whether a valid entry for the job sits in the ready heap or a parked bucket.
    var queued = false
    /// What the job holds while dispatching or running.
    var charges: [Charge] = []
    /// Allowed target datastores (datastore slots), for storage moves.
    var candidates: [Int32] = []
    /// The target group's wait resource, for storage moves with several candidates.
    var group: Int32 = -1
    /// The destination host slot of a host move.
    var destHost: Int32 = -1
    /// For a storage move: whether the engine already inserted a pro-active vMotion for it
    /// (at most one per job, across resumes too).
    var proactiveTried = false
    /// For a storage move: the strategy's `onBlocked` answer, cached for `blockedHost`
    /// (the host it was asked about; -1: not asked) until the VM changes host or the job
    /// fails, so a waiting job is not asked again at every wake.
    var blockedAnswer: BlockedDecision?
    var blockedHost: Int32 = -1
    /// For a pro-active vMotion: the storage move it clears the way for, and the host it
    /// takes the VM off (the vMotion is moot once the VM is elsewhere).
    var parentJob: Int32 = -1
    var fromHost: Int32 = -1
    /// Free space reserved on `reservedOn` while the move is in flight.
    var reservedBytes: Int64 = 0
    var reservedOn: Int32 = -1
    /// Source datastores counted in `inflightFrom` while the move is in flight.
    var inflightFrom: [Int32] = []
    /// The resource the job last waited on, for the message when it never got room.
    var blockedOn: Int32 = -1
    /// Whether the next dispatch must first check that the VM is not already on its target.
    var verifyNext = false
}

/// One VM the run touches.
struct VMSlot {
    var ref: MoRef
    var name: String
    var cluster: MoRef?
    /// Whether `host`/`datastores` changed since they were last written to the inventory.
    var locationDirty = false
    var host: Int32
    var datastores: [Int32]
    var committed: Int64
    var memoryBytes: Int64
    /// This run's jobs for the VM, in the order they run; the head is the only one dispatchable.
    var queue: Deque<Int32> = []
    /// The job of this run dispatching or running on the VM, or -1.
    var active: Int32 = -1
    /// Tasks started outside this run that are running on the VM.
    var external = 0
    var hasStorageMove = false
}

/// One host.
struct HostSlot {
    var ref: MoRef
    var cluster: Int32
    var usable: Bool
    var cost: Int32
    var network: Int32
    var storageMoves: Int32
    /// Jobs of this run holding cost on the host.
    var running = 0
}

/// One datastore.
struct DatastoreSlot {
    var ref: MoRef
    var info: DatastoreInfo
    var cost: Int32
    var storageMoves: Int32
    var free: Int64
    var capacity: Int64
    var accessible: Bool
    /// Host slots that mount it; nil when unknown (any host may use it).
    var mounts: Set<Int32>?
    /// Target-group wait resources that include it.
    var groups: [Int32] = []
    var inflightFrom = 0
    var inflightTo = 0
}

/// One cluster.
struct ClusterSlot {
    var ref: MoRef
    var jobs: Int32
    var hostWait: Int32
    var hosts: [Int32]
    var limits: Limits
}

/// A retry's due time.
struct TimerEntry: Comparable {
    var date: Date
    var job: Int32
    static func < (a: TimerEntry, b: TimerEntry) -> Bool { a.date != b.date ? a.date < b.date : a.job < b.job }
}

/// A task started outside this run, holding resources until it ends.
struct ExternalTask {
    var vm: Int32
    var charges: [Charge]
}

/// Where a job waits: a resource and the cost it needs there.
struct ParkSpot: Equatable {
    var resource: Int32
    var cost: Int32
}

/// Why the scheduler stopped dispatching.
enum StopReason {
    case requested
    case aborted(String)

    var outcome: RunOutcome {
        switch self {
        case .requested: .stopped
        case .aborted(let reason): .aborted(reason: reason)
        }
    }
}
