import Foundation

/// How a `SimulatedVCenter` behaves: its clock, its rate model, ESXi's limits and
/// injected failures. Rates are in MB/s with MB = 2^20 bytes; times in simulated seconds.
///
/// Durations: a Storage vMotion takes `storageVMotionOverhead` then copies the bytes its
/// file copies write (the VM's files whose place or format changes; for a VM without a file
/// layout its committed bytes) at `storageVMotionRateMBps` × the slowest of its hosts and
/// datastores (`faults.slowHosts`, `faults.slowDatastores`) — or less when it shares
/// storage arrays (`arrays`, or each datastore's `datastoreBandwidthMBps`) with other
/// copies: its max-min fair share (`FairShare`), recomputed as copies start and end;
/// a vMotion takes `vMotionOverhead` plus memory ÷ `vMotionRateMBps` (by default from the hosts'
/// vMotion link speed; powered-off VMs:
/// the overhead only); removing snapshots and consolidating take `snapshotOverhead` plus
/// the delta (`snapshotDeltaFraction` of the committed size) ÷ `snapshotRateMBps`.
public struct SimulatorConfiguration: Sendable, Hashable {
    /// Virtual (instant) or scaled real time.
    public var clock: SimulatorClock = .virtual
    /// The simulated time at which the simulator starts.
    public var startTime: Date = Date(timeIntervalSinceReferenceDate: Date().timeIntervalSinceReferenceDate.rounded(.down))
    /// Copy rate of one Storage vMotion, MB/s.
    public var storageVMotionRateMBps: Double = 150
    /// When set, the bandwidth of each datastore that is in no `arrays` entry, shared by the
    /// Storage vMotions reading or writing it at the same moment: each such datastore is an
    /// array of its own (this bandwidth, no knee).
    public var datastoreBandwidthMBps: Double? = nil
    /// Storage arrays whose bandwidth the copies reading or writing their datastores share
    /// (`StorageArray`: total MB/s, an optional contention knee), as the test vCenter's
    /// `-array`. A datastore in no array (and without `datastoreBandwidthMBps`) is not shared.
    public var arrays: [StorageArray] = []
    /// Fixed setup time of a Storage vMotion, seconds.
    public var storageVMotionOverhead: TimeInterval = 15
    /// Memory copy rate of one vMotion, MB/s. nil (the default): a tenth of the slower
    /// vMotion link of the two hosts in Mbit/s — about 84% of the link: 1,000 MB/s on
    /// 10 GbE, 100 MB/s on 1 GbE (hosts of unknown speed count as `limits.defaultLinkSpeedMbps`).
    public var vMotionRateMBps: Double? = nil
    /// Fixed setup time of a vMotion, seconds.
    public var vMotionOverhead: TimeInterval = 5
    /// Rate of snapshot removal and disk consolidation, MB/s.
    public var snapshotRateMBps: Double = 250
    /// Fixed setup time of snapshot removal and consolidation, seconds.
    public var snapshotOverhead: TimeInterval = 5
    /// Size of a VM's snapshot deltas as a fraction of its committed size.
    public var snapshotDeltaFraction: Double = 0.05
    /// Duration of power operations, seconds.
    public var powerOperationDuration: TimeInterval = 3
    /// Progress updates per task: 4 reports 25, 50, 75 and 100%.
    public var progressUpdates: Int = 4
    /// ESXi's concurrency limits.
    public var limits = SimulatorLimits()
    /// Injected failures, slow resources and delays.
    public var faults = FaultInjection()
    /// How long a finished task stays in `recentTasks`, simulated seconds (vCenter: about 10 minutes).
    public var recentTaskWindow: TimeInterval = 600

    /// The defaults: virtual clock, 150 MB/s per Storage vMotion, ESXi's limits.
    public init() {}

    /// The defaults with another clock and rate.
    public init(clock: SimulatorClock, storageVMotionRateMBps: Double = 150) {
        self.clock = clock
        self.storageVMotionRateMBps = storageVMotionRateMBps
    }
}
