import Foundation
import VCenterModel

/// What happened in a simulator so far: peak concurrency per resource, what queued
/// because of a limit, how often each VM moved, and every task's times. `moonmotion
/// plan` prints it; the engine's tests use it to prove no limit was ever exceeded.
public struct SimulatorStats: Sendable {
    /// Use of one resource over the whole run.
    public struct ResourceUsage: Sendable, Hashable {
        /// The resource.
        public var resource: SimulatedResource
        /// Its display name (`esx-c1-01`, `legacy-03`, `cluster-2`, `vCenter`).
        public var name: String
        /// The maximum cost, nil for clusters and the vCenter (accounted, not limited).
        public var limit: Int?
        /// Highest total cost at any instant (for clusters and the vCenter: running tasks).
        public var peakCost: Int
        /// Highest number of tasks charging it at any instant.
        public var peakTasks: Int
        /// Total simulated time with at least one task charging it, seconds.
        public var busySeconds: Double
        /// Integral of its cost over time, cost × seconds (divide by `limit` × span for utilisation).
        public var costSeconds: Double
        /// Tasks that had to wait in state `queued` because this resource was full.
        public var tasksQueued: Int

        /// Whether the peak cost went above the limit (only possible for a single task
        /// whose own charge is above the limit, which then runs alone).
        public var exceedsLimit: Bool { limit.map { peakCost > $0 } ?? false }
    }

    /// One task's life.
    public struct TaskRecord: Sendable, Hashable {
        public var ref: MoRef
        /// `VirtualMachine.relocate`, `VirtualMachine.migrate`, …
        public var name: String
        public var kind: SimulatedTaskKind
        /// The VM.
        public var entity: MoRef
        public var entityName: String
        public var state: TaskState
        public var error: VCenterFault?
        public var queueTime: Date
        public var startTime: Date?
        public var completeTime: Date?
        /// Whether the task waited for a limit before it started.
        public var queuedByLimit: Bool
        /// The VM's host when the task was created, and the destination host of a vMotion.
        public var sourceHost: MoRef?
        public var destinationHost: MoRef?
        /// The VM's datastores when the task was created, and the destination of a Storage vMotion.
        public var sourceDatastores: [MoRef]
        public var destinationDatastore: MoRef?
        /// Bytes the task copies: what its file copies write for a storage relocation (see
        /// `VirtualDiskInfo.copy(to:)`), memory for a vMotion.
        public var bytes: Int64
        /// The datastores a storage relocation reads (sources of the files that move) and writes
        /// (their destinations): those it is charged on and shares bandwidth with. Empty otherwise.
        public var copiedFrom: [MoRef] = []
        public var copiedTo: [MoRef] = []
        /// Whether the task is a cold migration (a powered-off, suspended or template VM),
        /// charged as a provisioning operation.
        public var isColdMigration = false
        /// Once its copy (the bytes after the setup) has ended: the bytes it copied and the
        /// simulated seconds it took — under shared bandwidth, what the copy achieved.
        public var bytesCopied: Double? = nil
        public var copySeconds: Double? = nil

        /// The copy's achieved MB/s (MB = 2^20 bytes), nil before it ended.
        public var copyMBps: Double? {
            guard let bytesCopied, let copySeconds, copySeconds > 0 else { return nil }
            return bytesCopied / copySeconds / 1_048_576
        }
    }

    /// Use of one storage array over the run (`SimulatorConfiguration.arrays`, or a
    /// datastore's own `datastoreBandwidthMBps`).
    public struct ArrayUsage: Sendable, Hashable {
        /// The array (for a datastore's own bandwidth: named after the datastore, no knee).
        public var array: StorageArray
        /// Whether it stands for one datastore's `datastoreBandwidthMBps`.
        public var isDatastoreBandwidth: Bool
        /// Its datastores, in inventory order.
        public var datastores: [MoRef]
        /// Most copies on it at once.
        public var maxCopies: Int
        /// Bytes copies read from it and wrote to it.
        public var bytesRead: Double
        public var bytesWritten: Double
        /// Simulated seconds with at least one copy on it.
        public var busySeconds: Double
        /// ∫ copies dt, copy × seconds.
        public var copySeconds: Double

        /// Time-weighted concurrency while busy: copySeconds ÷ busySeconds.
        public var meanCopies: Double { busySeconds > 0 ? copySeconds / busySeconds : 0 }
        /// MB/s served while busy, reads plus writes.
        public var meanMBps: Double { busySeconds > 0 ? (bytesRead + bytesWritten) / busySeconds / 1_048_576 : 0 }
    }

    /// One file a successful relocation copied.
    public struct FileCopy: Sendable, Hashable {
        /// The relocation's task.
        public var task: MoRef
        public var vm: MoRef
        public var vmName: String
        /// The VM's home (`config`) or a disk by key. A VM without a file layout moves as
        /// `config` pieces, one per datastore it was on.
        public var file: VMFileID
        /// Where it was (nil when the record did not say) and where it went.
        public var from: MoRef?
        public var to: MoRef
        /// The format it was converted to (nil: as it was).
        public var format: DiskFormat?
        /// What it occupied at `from`, given back there.
        public var bytesFreed: Int64
        /// What the copy wrote.
        public var bytesWritten: Int64
        /// What it takes at `to`.
        public var spaceTaken: Int64
    }

    /// The simulated time the simulator started at.
    public var startTime: Date
    /// The simulated time of this snapshot.
    public var now: Date
    /// Every host, datastore, vMotion network, cluster and the vCenter, in inventory order.
    public var resources: [ResourceUsage]
    /// Tasks that waited in state `queued` because a limit was reached (each counted once).
    public var tasksQueuedByLimit: Int
    /// Tasks held back by an injected start delay.
    public var tasksDelayed: Int
    /// Completed moves (relocate / migrate successes) per VM.
    public var movesPerVM: [MoRef: Int]
    /// Every task, in creation order.
    public var tasks: [TaskRecord]
    /// Every file copied by a successful relocation, in completion order.
    public var fileCopies: [FileCopy] = []
    /// Every storage array, declared ones first (empty without shared bandwidth).
    public var arrays: [ArrayUsage] = []

    /// The usage of one resource.
    public func usage(_ resource: SimulatedResource) -> ResourceUsage? {
        resources.first { $0.resource == resource }
    }

    /// Resources whose peak cost went above their limit.
    public var exceededLimits: [ResourceUsage] { resources.filter(\.exceedsLimit) }

    /// Highest number of completed moves of any one VM (1 when no VM moved twice).
    public var maxMovesPerVM: Int { movesPerVM.values.max() ?? 0 }

    /// Highest number of copies of any one VM's storage: 1 when no file of any VM was copied
    /// twice (`maxCopiesPerFile`). Moving a VM's disks in several relocations, each file once,
    /// is not copying twice; nor is a pro-active vMotion before a copy.
    public var maxCopiesPerVM: Int { maxCopiesPerFile }

    /// Tasks in each state.
    public var tasksByState: [TaskState: Int] {
        tasks.reduce(into: [:]) { $0[$1.state, default: 0] += 1 }
    }

    /// From the first task's queue time to the last completion, seconds; nil before any task ended.
    public var makespan: TimeInterval? {
        guard let first = tasks.map(\.queueTime).min(), let last = tasks.compactMap(\.completeTime).max() else { return nil }
        return last.timeIntervalSince(first)
    }

    /// Bytes that left each datastore (files copied away from it, now freed there).
    public var bytesOutByDatastore: [MoRef: Int64] {
        fileCopies.reduce(into: [:]) { acc, c in if let from = c.from { acc[from, default: 0] += c.bytesFreed } }
    }

    /// Bytes written to each datastore by file copies.
    public var bytesInByDatastore: [MoRef: Int64] {
        fileCopies.reduce(into: [:]) { $0[$1.to, default: 0] += $1.bytesWritten }
    }

    /// Space the copied files take on each destination datastore.
    public var spaceTakenByDatastore: [MoRef: Int64] {
        fileCopies.reduce(into: [:]) { $0[$1.to, default: 0] += $1.spaceTaken }
    }

    /// How many times each file of each VM was copied (counted once per relocation, so a
    /// VM without a file layout spread over several datastores counts one copy).
    public var fileCopiesPerVM: [MoRef: [VMFileID: Int]] {
        struct Copy: Hashable { var task: MoRef; var file: VMFileID }
        var seen: Set<Copy> = []
        var out: [MoRef: [VMFileID: Int]] = [:]
        for c in fileCopies where seen.insert(Copy(task: c.task, file: c.file)).inserted {
            out[c.vm, default: [:]][c.file, default: 0] += 1
        }
        return out
    }

    /// Most copies of any one file (1 when no file was copied twice, 0 when none was copied).
    public var maxCopiesPerFile: Int {
        fileCopiesPerVM.values.flatMap(\.values).max() ?? 0
    }

    /// Bytes copied by successful Storage vMotions.
    public var bytesMoved: Int64 {
        tasks.reduce(0) { $0 + ($1.state == .success && $1.kind.copiesDisks ? $1.bytes : 0) }
    }
}
