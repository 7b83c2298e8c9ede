import Foundation

extension TestVCenter {
    /// Every flag of the test vCenter (see `scripts/vcsim/README.md`). `nil` leaves the
    /// server's default, shown in each comment.
    public struct Options: Sendable {
        // MARK: Topology
        /// Datacenters to generate (1).
        public var datacenters: Int?
        /// Clusters per datacenter (3).
        public var clusters: Int?
        /// Hosts per cluster (8).
        public var hosts: Int?
        /// VMs per cluster (60), named `vm-c<cluster>-<nnnn>`.
        public var vms: Int?
        /// Datastores per datacenter as `prefix:count,…` ("legacy:4,new:4"); VMs start on the first prefix.
        public var datastores: String?
        /// Capacity of each datastore in GB (automatic).
        public var datastoreCapacityGB: Double?
        /// Seed of the deterministic sizes (1).
        public var seed: Int?
        /// Fraction of VMs with snapshots (0.1).
        public var snapshotFraction: Double?
        /// Fraction of VMs needing consolidation (0.05).
        public var consolidateFraction: Double?
        /// Fraction of VMs powered off (0).
        public var poweredOffFraction: Double?
        /// Load the topology from Moonmotion's inventory JSON instead of generating it.
        public var inventoryFile: String?

        // MARK: Transport
        /// Serve HTTPS with a self-signed certificate (false: HTTP).
        public var tls: Bool
        /// PEM certificate and key for TLS (generated when nil).
        public var certFile: String?
        /// PEM private key for `certFile`.
        public var keyFile: String?
        /// The only accepted user name ("user").
        public var username: String?
        /// The only accepted password ("pass").
        public var password: String?
        /// Listen address ("127.0.0.1:0", a free port).
        public var listen: String?
        /// `about.instanceUuid`, the vCenter's identity (a fresh random one per server).
        public var instanceUUID: String?
        /// Link speed of every host's NICs in Mb/s, with vmk0 enabled for vMotion (vcsim's 10,000, no vMotion vmknic).
        public var vmotionLinkMbps: Int?

        // MARK: Time model
        /// Simulated MB/s of one Storage vMotion (100).
        public var rateMBps: Double?
        /// Simulated MB/s of memory for a vMotion (1000).
        public var vmotionRateMBps: Double?
        /// Simulated seconds per real second (1).
        public var speed: Double?
        /// `info.progress` updates per task (4).
        public var progressSteps: Int?
        /// Minimum simulated task duration in seconds (0).
        public var minTaskSeconds: Double?
        /// Storage arrays whose bandwidth their copies share, one `-array` each:
        /// `NAME=GLOB[|GLOB…]:MBPS[:knee=K][:loss=L][:floor=F]` (none: nothing shared).
        public var arrays: [String]?
        /// Datastores whose copies are capped at a fraction of the rate, `NAME:FACTOR`
        /// (`new-03:0.5`: half speed), one `-slow-datastore` each (none).
        public var slowDatastores: [String]?

        // MARK: Limits
        /// Per-host migration cost limit (8).
        public var hostMaxCost: Int?
        /// Per-datastore migration cost limit (128).
        public var datastoreMaxCost: Int?
        /// Concurrent vMotions per host network (8).
        public var networkMaxVMotions: Int?

        // MARK: Faults
        /// Every Nth task of `failMethods` ends in error (0: never).
        public var failEvery: Int?
        /// Fault type of those errors ("FileLocked").
        public var failFault: String?
        /// Task methods `failEvery` applies to (["RelocateVM_Task"]).
        public var failMethods: [String]?

        // MARK: Process
        /// Further raw flags appended after the others.
        public var extraArgs: [String]
        /// Pass `-verbose` (the simulator's own chatty log on stderr).
        public var verbose: Bool
        /// Copy the server's stderr to this process's stderr as it comes.
        public var echoStderr: Bool
        /// Seconds to wait for the ready line (building the inventory included).
        public var startupTimeout: Double

        /// Options with the server's defaults, overriding what is given.
        public init(
            datacenters: Int? = nil, clusters: Int? = nil, hosts: Int? = nil, vms: Int? = nil,
            datastores: String? = nil, datastoreCapacityGB: Double? = nil, seed: Int? = nil,
            snapshotFraction: Double? = nil, consolidateFraction: Double? = nil, poweredOffFraction: Double? = nil,
            inventoryFile: String? = nil,
            tls: Bool = false, certFile: String? = nil, keyFile: String? = nil,
            username: String? = nil, password: String? = nil, listen: String? = nil,
            instanceUUID: String? = nil, vmotionLinkMbps: Int? = nil,
            rateMBps: Double? = nil, vmotionRateMBps: Double? = nil, speed: Double? = nil,
            progressSteps: Int? = nil, minTaskSeconds: Double? = nil,
            arrays: [String]? = nil, slowDatastores: [String]? = nil,
            hostMaxCost: Int? = nil, datastoreMaxCost: Int? = nil, networkMaxVMotions: Int? = nil,
            failEvery: Int? = nil, failFault: String? = nil, failMethods: [String]? = nil,
            extraArgs: [String] = [], verbose: Bool = false, echoStderr: Bool = false, startupTimeout: Double = 180
        ) {
            self.datacenters = datacenters; self.clusters = clusters; self.hosts = hosts; self.vms = vms
            self.datastores = datastores; self.datastoreCapacityGB = datastoreCapacityGB; self.seed = seed
            self.snapshotFraction = snapshotFraction; self.consolidateFraction = consolidateFraction
            self.poweredOffFraction = poweredOffFraction; self.inventoryFile = inventoryFile
            self.tls = tls; self.certFile = certFile; self.keyFile = keyFile
            self.username = username; self.password = password; self.listen = listen
            self.instanceUUID = instanceUUID; self.vmotionLinkMbps = vmotionLinkMbps
            self.rateMBps = rateMBps; self.vmotionRateMBps = vmotionRateMBps; self.speed = speed
            self.progressSteps = progressSteps; self.minTaskSeconds = minTaskSeconds
            self.arrays = arrays; self.slowDatastores = slowDatastores
            self.hostMaxCost = hostMaxCost; self.datastoreMaxCost = datastoreMaxCost; self.networkMaxVMotions = networkMaxVMotions
            self.failEvery = failEvery; self.failFault = failFault; self.failMethods = failMethods
            self.extraArgs = extraArgs; self.verbose = verbose; self.echoStderr = echoStderr; self.startupTimeout = startupTimeout
        }

        /// The command-line flags these options stand for.
        public func arguments() -> [String] {
            var a: [String] = []
            func add(_ flag: String, _ value: CustomStringConvertible?) {
                if let value { a += ["-\(flag)", value.description] }
            }
            add("datacenters", datacenters); add("clusters", clusters); add("hosts", hosts); add("vms", vms)
            add("datastores", datastores); add("ds-capacity-gb", datastoreCapacityGB); add("seed", seed)
            add("snapshot-fraction", snapshotFraction); add("consolidate-fraction", consolidateFraction)
            add("powered-off-fraction", poweredOffFraction); add("inventory", inventoryFile)
            if tls { a.append("-tls") }
            add("cert", certFile); add("key", keyFile)
            add("username", username); add("password", password); add("listen", listen)
            add("instance-uuid", instanceUUID); add("vmotion-link-mbps", vmotionLinkMbps)
            add("rate-mbps", rateMBps); add("vmotion-rate-mbps", vmotionRateMBps); add("speed", speed)
            add("progress-steps", progressSteps); add("min-task-seconds", minTaskSeconds)
            for spec in arrays ?? [] { add("array", spec) }
            for spec in slowDatastores ?? [] { add("slow-datastore", spec) }
            add("host-max-cost", hostMaxCost); add("datastore-max-cost", datastoreMaxCost)
            add("network-max-vmotions", networkMaxVMotions)
            add("fail-every", failEvery); add("fail-fault", failFault)
            add("fail-methods", failMethods?.joined(separator: ","))
            if verbose { a.append("-verbose") }
            return a + extraArgs
        }
    }
}
