import HeapModule
import VCenterModel

/// One task inside the simulator: what it charges, how much it copies, where it is.
struct SimTask {
    /// What a successful task changes in the inventory.
    enum Effect {
        case none
        /// A vMotion and/or a storage relocation: the new host (-1: same), pool, and the files
        /// copied (empty for a host-only move).
        case move(host: Int, pool: MoRef?, files: [FileMove])
        case consolidate
        case removeSnapshots(all: Bool, refs: Set<MoRef>, consolidate: Bool)
        case power(on: Bool)
    }

    /// A cost charged to one resource while the task runs.
    struct Charge {
        var resource: Int32
        var cost: Int32
    }

    let ref: MoRef
    let kind: SimulatedTaskKind
    let name: String
    let vm: Int
    let cancelable: Bool
    let queueTime: Double
    let live: LiveTask
    let charges: [Charge]
    let srcHost: Int
    let dstHost: Int
    let srcDS: [Int]
    /// The destination of the VM's home when it moves, else of the first file that moves (-1: none).
    let dstDS: Int
    /// Whether the task is a cold migration (a powered-off, suspended or template VM): charged
    /// as a provisioning operation.
    let cold: Bool
    /// Fixed time before the copy begins.
    let overhead: Double
    /// Bytes to copy after the overhead.
    let totalBytes: Double
    /// Copy rate on its own, bytes per second.
    let baseRate: Double
    /// Rate multiplier of slow hosts and datastores: the copy's cap is `baseRate × multiplier`.
    let multiplier: Double
    /// The storage arrays whose bandwidth the copy shares (empty when not shared).
    let loads: [ArrayLoad]
    let effect: Effect

    var state: TaskState = .queued
    var progress: Int?
    var error: VCenterFault?
    var startTime: Double?
    var completeTime: Double?
    /// Bytes at which the task ends: `totalBytes`, or less when an injected failure strikes.
    var endBytes: Double
    var injected: VCenterFault?
    var bytesDone = 0.0
    var rate = 0.0
    var lastUpdate = 0.0
    /// Bytes at the pending milestone event.
    var target = 0.0
    var transferring = false
    /// When the copy began and ended (simulated seconds; nil before).
    var copyStart: Double?
    var copyEnd: Double?
    var acquired = false
    /// Bumped whenever the pending event is replaced; events with an older epoch are stale.
    var epoch: UInt32 = 0
    var waitingOn: Int32 = -1
    var queuedByLimit = false
    var delayUntil = 0.0
    /// Bytes reserved on each destination datastore while the copy runs.
    var reservations: [(datastore: Int, bytes: Int64)] = []

    /// The files the task copies (empty unless it relocates storage).
    var fileMoves: [FileMove] {
        if case .move(_, _, let files) = effect { return files }
        return []
    }
}

/// One file a relocation copies: from which datastore to which, in which format, and what the
/// copy writes and takes there (`VirtualDiskInfo.copy(to:)`).
struct FileMove: Hashable {
    var file: VMFileID
    /// Datastore indices; `from` is -1 when the record did not say where the file was.
    var from: Int
    var to: Int
    /// The locator's format (nil: as it is).
    var format: DiskFormat?
    /// What the file occupied where it was: freed there when the move succeeds.
    var bytesBefore: Int64
    /// What the copy writes (the task's bytes).
    var written: Int64
    /// What the copy takes on the destination.
    var space: Int64
    /// A virtual-mode RDM converted to a flat disk (it then writes the LUN's capacity).
    var rdmToFlat = false
}

/// What an operation asks the core to run (validated, not yet a task).
struct TaskPlan {
    var kind: SimulatedTaskKind
    var name: String
    var vm: Int
    var cancelable: Bool
    var charges: [SimTask.Charge] = []
    var srcHost = -1
    var dstHost = -1
    var srcDS: [Int] = []
    var dstDS = -1
    var cold = false
    var overhead: Double
    var totalBytes: Double = 0
    var baseRate: Double = 1
    var multiplier: Double = 1
    var loads: [ArrayLoad] = []
    var effect: SimTask.Effect = .none
    /// A fault the task ends with right away (busy VM, wrong power state).
    var immediateFault: VCenterFault?

    /// Adds `cost` on `resource`, keeping the larger charge when the resource is already charged.
    mutating func charge(_ resource: Int, _ cost: Int) {
        if let i = charges.firstIndex(where: { $0.resource == Int32(resource) }) {
            charges[i].cost = max(charges[i].cost, Int32(cost))
        } else {
            charges.append(SimTask.Charge(resource: Int32(resource), cost: Int32(cost)))
        }
    }
}

/// Accounting and queue of one limited (or counted) resource.
struct ResourceState {
    var limit: Int
    var cost = 0
    var count = 0
    var peakCost = 0
    var peakCount = 0
    var busy = 0.0
    var costTime = 0.0
    var last = 0.0
    var queued = 0
    /// Tasks waiting for this resource, oldest first (a task's index is its creation order).
    var waiters = Heap<Int32>()
}
