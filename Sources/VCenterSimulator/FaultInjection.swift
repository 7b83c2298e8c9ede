import Foundation
import VCenterModel

/// Failures and delays the simulator injects, to rehearse how a strategy reacts.
/// Hosts, datastores and VMs are named by display name or by MoRef id (`vm-123`).
public struct FaultInjection: Sendable, Hashable {
    /// Fail every `n`th task of the given kinds (counted from the first such task).
    public struct EveryNth: Sendable, Hashable {
        /// 1 fails every task, 3 fails the 3rd, 6th, 9th, …
        public var n: Int
        /// The kinds counted; empty counts every kind.
        public var kinds: Set<SimulatedTaskKind>
        /// The fault the task ends with.
        public var fault: VCenterFault
        /// Creates the rule.
        public init(_ n: Int, kinds: Set<SimulatedTaskKind> = [], fault: VCenterFault) {
            self.n = n
            self.kinds = kinds
            self.fault = fault
        }
    }

    /// Counting rules: every Nth task of some kinds fails.
    public var everyNth: [EveryNth] = []
    /// The next task of each of these VMs fails once with the given fault.
    public var failNextTask: [String: VCenterFault] = [:]
    /// Probability (0–1) that any task of `probabilityKinds` fails with `probabilityFault`.
    public var failureProbability: Double = 0
    /// The kinds `failureProbability` applies to; empty means every kind.
    public var probabilityKinds: Set<SimulatedTaskKind> = []
    /// The fault a probabilistic failure ends with.
    public var probabilityFault = FaultInjection.fault("FileLocked", "Unable to access file: the file is locked (injected by the simulator)")
    /// Seed of the probabilistic failures.
    public var seed: UInt64 = 1
    /// How far through its copy an injected failure strikes (0: as soon as the transfer begins, 0.5: halfway).
    public var failurePoint: Double = 0.5
    /// Hosts working slower (or faster): rate multiplier by host, 0.5 = half speed. A copy's
    /// cap is its rate × the smallest multiplier of its hosts and datastores; shared
    /// bandwidth it cannot use goes to the other copies.
    public var slowHosts: [String: Double] = [:]
    /// Datastores working slower (or faster): rate multiplier by datastore, 0.5 = half speed
    /// (the test vCenter's `-slow-datastore NAME:0.5`).
    public var slowDatastores: [String: Double] = [:]
    /// Every task waits this long (simulated seconds) in state `queued` before it may start.
    public var startDelay: TimeInterval = 0
    /// Extra start delay for the tasks of these VMs, in simulated seconds.
    public var startDelayByVM: [String: TimeInterval] = [:]

    /// No injected failures or delays.
    public init() {}

    /// A fault value marked as injected: `fault("FileLocked")`.
    public static func fault(_ type: String, _ message: String? = nil) -> VCenterFault {
        VCenterFault(type: type, message: message ?? "injected by the simulator")
    }
}
