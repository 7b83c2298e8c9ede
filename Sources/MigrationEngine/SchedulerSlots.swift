import DequeModule
import Foundation
import VCenterModel

/// The scheduler's private bookkeeping for one job.
struct JobMeta {
    var vm: Int32
    /// The wave gate the job waits on (-1: in no wave) and its wave's index there.
    var waveGate: Int32 = -1
    var waveIndex: Int32 = 0
    var rank: Int = .max
    /// Bumped whenever the job leaves a waiting list, so entries it left elsewhere go stale.
    var token: UInt32 = 0
    /// Whether a valid entry for the job sits in the ready heap or a parked bucket.
    var queued = false
    /// What the job holds while dispatching or running.
    var charges: [Charge] = []
    /// Every datastore slot a storage move may put a file on.
    var candidates: [Int32] = []
    /// The storage move resolved to slots (shared by the jobs that ask for the same move).
    var move: ResolvedMove?
    /// The target group's wait resource, for storage moves: woken when any candidate frees room.
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
    /// Where each moving file of the attempt in flight goes (storage moves).
    var placed: [PlacedFile] = []
    /// Free space reserved on destinations while the move is in flight (slot, bytes).
    var reserved: [(Int32, Int64)] = []
    /// Source datastores counted in `inflightFrom` while the move is in flight, with the bytes
    /// that leave each (free again there when the move succeeds).
    var leaving: [(Int32, Int64)] = []
    /// The resource the job last waited on, for the message when it never got room.
    var blockedOn: Int32 = -1
    /// Whether the next dispatch must first check that the VM is not already on its target.
    var verifyNext = false
    /// A storage move by Storage DRS: waiting for `recommendations`, and the key of the
    /// recommendation being applied.
    var awaitingRecommendation = false
    var recommendationKey: String?
    /// The verify flag held while a Storage DRS recommendation is asked.
    var verifyAfterRecommendation = false
    /// The job's calls: intent, a lost call's search, an adopted task (Scheduler+LostCalls).
    var call = CallState()
    /// Retries used per retry rule (`RetryPolicy.rule`), and every fault met (for messages).
    var retriesUsed: [RetryRule: Int] = [:]
    var faults: [VCenterFault.Code: Int] = [:]
}

/// What the scheduler knows about a job's calls beyond its state (see Scheduler+LostCalls).
struct CallState {
    /// When the intent of the job's current call was taken (the `.start` action's time).
    var intentAt: Date?
    /// The intent time of a call lost in transport whose task has not been found: every
    /// later call of the job looks for that task first.
    var lostAt: Date?
    /// The fault that lost it (the retry's reason when the search cannot be made).
    var lostFault: VCenterFault?
    /// While the job runs a task adopted for a lost call: that call's intent time (a move's
    /// success is confirmed by the VM's place before the job is done).
    var adoptedFor: Date?
    /// The adopted task's final info while its VM is read (`confirmPlacement`).
    var confirming: TaskInfo?
}

/// One VM the run touches.
struct VMSlot {
    var ref: MoRef
    var name: String
    var cluster: MoRef?
    /// Whether `host`/`datastores` changed since they were last written to the inventory.
    var locationDirty = false
    var host: Int32
    /// Every datastore holding a file or an image of the VM.
    var datastores: [Int32]
    var committed: Int64
    var memoryBytes: Int64
    /// The VM's movable files (home and disks) with where each is; for a VM without a file
    /// layout, one file (its home) holding `committed`, and `datastores` all count as its place.
    var files: [FileSlot] = []
    var hasLayout = false
    /// Datastores of connected ISO images (they stay where they are).
    var media: [Int32] = []
    /// Powered off, suspended or a template: its moves are cold migrations.
    var cold = false
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
    /// Bytes a destination keeps free after every copy (`Limits.minFree`; the largest of the
    /// clusters that mount it).
    var keep: Int64 = 0
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
    /// The task's reference and name, for messages.
    var ref: MoRef
    var name: String
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
    case windowClosed(next: Date?)

    var outcome: RunOutcome {
        switch self {
        case .requested: .stopped
        case .aborted(let reason): .aborted(reason: reason)
        case .windowClosed(let next): .windowClosed(next: next)
        }
    }
}

/// One file of a VM, as the scheduler tracks it.
struct FileSlot {
    var id: VMFileID
    var label: String
    /// The datastore slot it is on (-1: unknown).
    var ds: Int32
    /// The bytes it occupies.
    var bytes: Int64
    /// The disk's record, for format conversions (nil for the home).
    var disk: VirtualDiskInfo?
}

/// A file the current attempt of a storage move copies.
struct PlacedFile {
    var id: VMFileID
    var label: String
    var from: Int32
    var to: Int32
    /// Bytes the copy writes, and the space it takes on `to`.
    var written: Int64
    var space: Int64
    /// The bytes it leaves behind on `from` (free again there once the move succeeds).
    var leaves: Int64
}

/// A resolved storage move with the datastore slots any of its files may go to and the
/// wait resource of that target group (what `Scheduler.resolveKind` gives each job).
struct ResolvedMoveEntry {
    var move: ResolvedMove
    var slots: [Int32]
    var group: Int32
}

/// A `StorageMove` resolved to datastore slots; jobs asking for the same move share one.
final class ResolvedMove {
    let move: StorageMove
    /// Default targets.
    let targets: [Int32]
    /// Only files on these datastores move; nil: every file.
    let sources: Set<Int32>?
    /// Per source datastore, its targets.
    let map: [Int32: [Int32]]
    /// Files with a fixed destination.
    let fixed: [VMFileID: Int32]
    /// References the inventory does not know.
    let unknown: [MoRef]

    init(_ move: StorageMove, slot: (MoRef) -> Int32?, sourceSlot: (MoRef) -> Int32) {
        self.move = move
        var unknown: [MoRef] = []
        func resolve(_ refs: [MoRef]) -> [Int32] {
            refs.compactMap { r in
                if let d = slot(r) { return d }
                unknown.append(r)
                return nil
            }
        }
        targets = resolve(move.targets)
        sources = move.sources.map { Set($0.map(sourceSlot)) }
        var map: [Int32: [Int32]] = [:]
        for m in move.map { map[sourceSlot(m.source)] = resolve(m.targets) }
        self.map = map
        var fixed: [VMFileID: Int32] = [:]
        for f in move.fixed { if let d = resolve([f.datastore]).first { fixed[f.file] = d } }
        self.fixed = fixed
        self.unknown = unknown
    }

    /// The datastore slots file `f` (on `ds`) may go to, or nil when it stays.
    func allowed(_ f: VMFileID, on ds: Int32) -> [Int32]? {
        if let d = fixed[f] { return [d] }
        if let sources, !sources.contains(ds) { return nil }
        return map[ds] ?? targets
    }
}
