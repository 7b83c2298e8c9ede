import HeapModule
import VCenterModel

/// One charge of a job on one resource.
struct Charge: Hashable, Sendable {
    var resource: Int32
    var cost: Int32
}

/// A job's charges in one array: other resources, then from `hostStart` the VM's
/// current host, then from `targetStart` the target datastore.
struct ChargeList {
    var all: [Charge] = []
    var hostStart = 0
    var targetStart = 0

    mutating func add(_ r: Int32, _ cost: Int) {
        guard r >= 0, cost > 0 else { return }
        if let i = all.firstIndex(where: { $0.resource == r }) {
            all[i].cost += Int32(cost)
        } else {
            all.append(Charge(resource: r, cost: Int32(cost)))
        }
    }
}

/// A rank-ordered waiting list entry. `token` must match the job's current token
/// for the entry to be valid (a job may leave several entries behind; only one counts).
struct QueueEntry: Comparable {
    var rank: Int
    var job: Int32
    var token: UInt32
    static func < (a: QueueEntry, b: QueueEntry) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.job < b.job }
    static func == (a: QueueEntry, b: QueueEntry) -> Bool { a.rank == b.rank && a.job == b.job && a.token == b.token }
}

/// The jobs parked on one resource that need `cost` of it.
struct ParkBucket {
    var cost: Int32
    var heap = Heap<QueueEntry>()
}

/// A resource that freed room and has parked jobs that might now fit; ordered by
/// the best parked job's rank so that freed room goes to the best job first.
struct WakeEntry: Comparable {
    var rank: Int
    var job: Int32
    var resource: Int32
    var bucket: Int32
    static func < (a: WakeEntry, b: WakeEntry) -> Bool {
        if a.rank != b.rank { return a.rank < b.rank }
        if a.job != b.job { return a.job < b.job }
        return (a.resource, a.bucket) < (b.resource, b.bucket)
    }
}

/// The scheduler's resource table: capacity, use and peaks of every resource, and
/// the jobs parked on each. Resources are dense integers for speed.
struct ResourceLedger {
    var kind: [ResourceKind] = []
    var object: [MoRef?] = []
    var capacity: [Int] = []
    var used: [Int] = []
    /// Use by this run's own jobs (external tasks excluded).
    var own: [Int] = []
    var peak: [Int] = []
    var peakOwn: [Int] = []
    var parked: [[ParkBucket]] = []

    mutating func add(_ kind: ResourceKind, _ object: MoRef?, capacity: Int) -> Int32 {
        self.kind.append(kind)
        self.object.append(object)
        self.capacity.append(capacity)
        used.append(0)
        own.append(0)
        peak.append(0)
        peakOwn.append(0)
        parked.append([])
        return Int32(self.kind.count - 1)
    }

    var count: Int { kind.count }

    @inline(__always) func room(_ r: Int32) -> Int {
        let cap = capacity[Int(r)]
        return cap == Int.max ? Int.max : cap - used[Int(r)]
    }

    @inline(__always) func fits(_ c: Charge) -> Bool { room(c.resource) >= Int(c.cost) }

    mutating func charge(_ c: Charge, external: Bool) {
        let r = Int(c.resource)
        used[r] += Int(c.cost)
        if used[r] > peak[r] { peak[r] = used[r] }
        if !external {
            own[r] += Int(c.cost)
            if used[r] > peakOwn[r] { peakOwn[r] = used[r] }
        }
    }

    mutating func release(_ c: Charge, external: Bool) {
        let r = Int(c.resource)
        used[r] -= Int(c.cost)
        if !external { own[r] -= Int(c.cost) }
    }

    /// The bucket index for `cost` on resource `r`, created when missing.
    mutating func bucket(_ r: Int32, cost: Int32) -> Int {
        if let i = parked[Int(r)].firstIndex(where: { $0.cost == cost }) { return i }
        parked[Int(r)].append(ParkBucket(cost: cost))
        return parked[Int(r)].count - 1
    }

    func usage(_ r: Int) -> ResourceUsage {
        ResourceUsage(kind: kind[r], object: object[r], used: used[r], capacity: capacity[r], peak: peak[r], peakOwn: peakOwn[r])
    }
}
