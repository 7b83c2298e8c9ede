import Foundation

/// What Moonmotion needs from a vCenter. Two backends implement it:
/// `VSphereSOAP.SOAPVCenter` (a real vCenter, or the test vCenter, over vim25 SOAP)
/// and `VCenterSimulator.SimulatedVCenter` (in-process, virtual or scaled time).
///
/// Every operation that starts a vCenter task returns its `LiveTask` already
/// tracked by the backend's single poller: its `info` stays current with no
/// further calls, and `completion()` returns when it ends. Errors are thrown as
/// `VCenterFault`.
public protocol VCenter: AnyObject, Sendable {
    /// A one-line description for humans: `vCenter 8.0.2 at https://vc01/sdk`, `simulated vCenter (generated)`.
    var displayName: String { get }

    /// `ServiceContent.about`.
    func about() async throws -> AboutInfo

    /// The whole inventory: at most one batched retrieval per object type.
    func inventory() async throws -> Inventory

    /// Fresh records for these VMs, in one batched retrieval.
    func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo]

    /// `RelocateVM_Task`: Storage vMotion, vMotion or both.
    func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask

    /// `StorageResourceManager.RecommendDatastores` for relocating `vm` into the datastore
    /// cluster `pod` (a `StoragePlacementSpec` of type `relocate`, with `spec` as its
    /// `relocateSpec`): Storage DRS's recommendations, best first. Nothing moves yet.
    func recommendDatastores(_ vm: MoRef, pod: MoRef, spec: RelocateSpec) async throws -> [StorageRecommendation]

    /// `ApplyStorageDrsRecommendation_Task` with one recommendation's key: the relocation
    /// Storage DRS recommended, as a task.
    func applyStorageRecommendation(_ key: String, vm: MoRef) async throws -> LiveTask

    /// `MigrateVM_Task`: vMotion to `host` (and optionally `pool`).
    func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask

    /// `ConsolidateVMDisks_Task`.
    func consolidateDisks(_ vm: MoRef) async throws -> LiveTask

    /// `RemoveAllSnapshots_Task` or `RemoveSnapshot_Task` on the selected snapshot.
    func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask

    /// Calls any method by name with named arguments. When the result is a task
    /// reference it comes back as a tracked `LiveTask`.
    func invoke(_ method: String, on object: MoRef, arguments: [PropertyValue.Field]) async throws -> InvokeResult

    /// Tracks an existing task (started by anyone) and returns it live.
    func task(_ ref: MoRef) async throws -> LiveTask

    /// `CancelTask`.
    func cancelTask(_ ref: MoRef) async throws

    /// Tasks vCenter knows about: the recent tasks (`TaskManager.recentTask`), or an
    /// entity's own `recentTask` list when `query.entity` is set. One batched retrieval.
    func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo]

    /// Ends the session (Logout) and stops the poller. Idempotent.
    func close() async

    /// The server's clock now (`CurrentTime`), which task times (`queueTime`, `startTime`, …)
    /// are in: compare those with it, not with the local clock, which may be skewed.
    func currentTime() async throws -> Date

    /// Every request this connection sent to vCenter so far (log-in, inventory, each
    /// operation and the task poller's calls): what the server counts. Nil for a backend
    /// that makes no requests (the simulator).
    var requestCount: Int? { get }

    /// The requests sent so far by SOAP method, and the transparent re-logins (after an
    /// expired session): what `/metrics` reports. Nil for a backend that makes no requests.
    var callStatistics: VCenterCallStatistics? { get }
}

/// A connection's requests by method and its re-logins.
public struct VCenterCallStatistics: Sendable, Hashable {
    /// Requests by SOAP method (`RelocateVM_Task`, `WaitForUpdatesEx`, …).
    public var byMethod: [String: Int]
    /// Log-ins after the first (the session had expired or was terminated).
    public var relogins: Int

    /// Creates statistics.
    public init(byMethod: [String: Int], relogins: Int) {
        self.byMethod = byMethod
        self.relogins = relogins
    }
}

extension VCenter {
    /// A backend without Storage DRS: `NotSupported`.
    public func recommendDatastores(_ vm: MoRef, pod: MoRef, spec: RelocateSpec) async throws -> [StorageRecommendation] {
        throw VCenterFault(type: "NotSupported", message: "\(displayName) has no Storage DRS (RecommendDatastores)")
    }

    /// A backend without Storage DRS: `NotSupported`.
    public func applyStorageRecommendation(_ key: String, vm: MoRef) async throws -> LiveTask {
        throw VCenterFault(type: "NotSupported", message: "\(displayName) has no Storage DRS (ApplyStorageDrsRecommendation_Task)")
    }

    /// Nil: the backend does not count requests.
    public var requestCount: Int? { nil }

    /// Nil: the backend does not count requests.
    public var callStatistics: VCenterCallStatistics? { nil }

    /// The local clock, for a backend whose task times are local times.
    public func currentTime() async throws -> Date { Date() }
}
