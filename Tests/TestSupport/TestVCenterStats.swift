import Foundation

/// What the test vCenter counted (`GET /_mm/stats`): SOAP calls, peak migration cost per
/// host and datastore, every task with its times, and moves per VM.
public struct TestVCenterStats: Decodable, Sendable {
    /// Calls and cumulative server time for one SOAP method.
    public struct MethodStat: Decodable, Sendable {
        /// Number of calls.
        public var calls: Int
        /// Cumulative server time in seconds (a long poll counts its whole wait).
        public var seconds: Double
        /// Longest single call in seconds.
        public var maxSeconds: Double
    }

    /// Migration cost accounting for one host or datastore.
    public struct ResourceStat: Decodable, Sendable {
        /// The cost limit (host 8, datastore 128 by default).
        public var limit: Int
        /// The highest total cost ever running at once.
        public var maxCost: Int
        /// The cost running now.
        public var cost: Int
        /// How many times a task was queued because this resource was full.
        public var limitQueued: Int
        /// Hosts only: the highest number of concurrent vMotions on its network.
        public var maxVmotions: Int?
        /// Hosts only: the network limit on concurrent vMotions.
        public var vmotionLimit: Int?
        /// Hosts only: tasks queued because of the network limit.
        public var networkLimitQueued: Int?
    }

    /// One task the engine ran (RelocateVM_Task, MigrateVM_Task, …).
    public struct TaskRecord: Decodable, Sendable {
        /// Task MoRef value, e.g. `task-123`.
        public var id: String
        /// vSphere method name, e.g. `RelocateVM_Task`.
        public var method: String
        /// The VM's name.
        public var vm: String
        /// `queued`, `running`, `success` or `error`.
        public var state: String
        /// Fault type when the task ended in error.
        public var errorType: String?
        /// Fault message when the task ended in error.
        public var errorMessage: String?
        /// Simulated seconds since the server started.
        public var createdSim: Double
        /// Simulated start time (nil while queued).
        public var startedSim: Double?
        /// Simulated completion time (nil while not done).
        public var completedSim: Double?
        /// Wall clock (Unix seconds) of creation.
        public var createdWall: Double
        /// Wall clock of start.
        public var startedWall: Double?
        /// Wall clock of completion.
        public var completedWall: Double?
        /// Resources that held the task queued (e.g. `host esx-c1-01`).
        public var queuedBy: [String]?
        /// Source datastores/host of a migration, by name.
        public var from: [String]?
        /// Destination datastores/host of a migration, by name.
        public var to: [String]?
        /// A relocation's copy once it ended: bytes copied, simulated seconds it took and
        /// their ratio in MB/s (what the copy achieved under shared bandwidth).
        public var copyBytes: Double?
        public var copySeconds: Double?
        public var copyMbps: Double?
    }

    /// One storage array (`-array`) since the start or the last reset.
    public struct ArrayStat: Decodable, Sendable {
        /// The `-array` value, canonical.
        public var spec: String
        /// B, MB/s.
        public var bandwidthMbps: Double
        /// Its datastores by name.
        public var datastores: [String]
        /// Copies on it now, and the most at once.
        public var copies: Int
        public var maxCopies: Int
        /// Bytes its copies read from it and wrote to it.
        public var bytesRead: Double
        public var bytesWritten: Double
        /// Simulated seconds with a copy on it, and ∫ copies dt.
        public var busySeconds: Double
        public var copySeconds: Double
        /// Time-weighted concurrency while busy, and MB/s served while busy (reads plus writes).
        public var meanCopies: Double
        public var meanMbps: Double
    }

    /// SOAP calls per method name (the SOAP body's first element).
    public var soapCalls: [String: MethodStat]
    /// All SOAP calls.
    public var soapCallsTotal: Int
    /// Automation REST API calls by kind (`GET tagging/tag/{id}`), counted apart from SOAP's
    /// (nil from a server without the counter).
    public var restCalls: [String: MethodStat]?
    /// All Automation REST API calls.
    public var restCallsTotal: Int?
    /// Per host name.
    public var hosts: [String: ResourceStat]
    /// Per datastore name.
    public var datastores: [String: ResourceStat]
    /// Tasks queued because of any limit.
    public var limitQueuedTotal: Int
    /// Every task since the last reset (omitted when asked with `includeTasks: false`).
    public var tasks: [TaskRecord]
    /// Tasks per state.
    public var taskCounts: [String: Int]
    /// Successful relocations/migrations per VM name.
    public var moves: [String: Int]
    /// Per storage array name (empty without `-array`).
    public var arrays: [String: ArrayStat]
    /// Simulated seconds since the server started.
    public var simNow: Double
    /// Server wall clock (Unix seconds).
    public var wallNow: Double

    /// Calls of one SOAP method (0 when never called).
    public func calls(_ method: String) -> Int { soapCalls[method]?.calls ?? 0 }

    /// Hosts and datastores whose peak cost went above their limit (should be empty).
    public var limitViolations: [String] {
        hosts.filter { $0.value.maxCost > $0.value.limit }.map { "host \($0.key): \($0.value.maxCost) > \($0.value.limit)" }
            + datastores.filter { $0.value.maxCost > $0.value.limit }.map { "datastore \($0.key): \($0.value.maxCost) > \($0.value.limit)" }
    }

    enum CodingKeys: String, CodingKey {
        case soapCalls, soapCallsTotal, restCalls, restCallsTotal, hosts, datastores, limitQueuedTotal, tasks, taskCounts, moves, arrays, simNow, wallNow
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        soapCalls = try c.decodeIfPresent([String: MethodStat].self, forKey: .soapCalls) ?? [:]
        soapCallsTotal = try c.decodeIfPresent(Int.self, forKey: .soapCallsTotal) ?? 0
        restCalls = try c.decodeIfPresent([String: MethodStat].self, forKey: .restCalls)
        restCallsTotal = try c.decodeIfPresent(Int.self, forKey: .restCallsTotal)
        hosts = try c.decodeIfPresent([String: ResourceStat].self, forKey: .hosts) ?? [:]
        datastores = try c.decodeIfPresent([String: ResourceStat].self, forKey: .datastores) ?? [:]
        limitQueuedTotal = try c.decodeIfPresent(Int.self, forKey: .limitQueuedTotal) ?? 0
        tasks = try c.decodeIfPresent([TaskRecord].self, forKey: .tasks) ?? []
        taskCounts = try c.decodeIfPresent([String: Int].self, forKey: .taskCounts) ?? [:]
        moves = try c.decodeIfPresent([String: Int].self, forKey: .moves) ?? [:]
        arrays = try c.decodeIfPresent([String: ArrayStat].self, forKey: .arrays) ?? [:]
        simNow = try c.decodeIfPresent(Double.self, forKey: .simNow) ?? 0
        wallNow = try c.decodeIfPresent(Double.self, forKey: .wallNow) ?? 0
    }
}

extension TestVCenter {
    /// Shorter name for `TestVCenterStats`.
    public typealias Stats = TestVCenterStats
}
