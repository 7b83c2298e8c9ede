/// ESXi's *Limits on Simultaneous Migrations* as costs against a maximum per resource
/// (vSphere 6.5–8 documentation). Work beyond a limit is queued (task state `queued`)
/// and starts when enough cost frees, as ESXi and vCenter do; nothing is refused.
///
/// Charges: a vMotion costs `hostVMotionCost` on the source and destination hosts,
/// `networkVMotionCost` on both hosts' vMotion networks and `datastoreVMotionCost` on the
/// VM's datastores. A Storage vMotion costs `hostStorageVMotionCost` on the VM's host and
/// `datastoreStorageVMotionCost` on the source and destination datastores. A move of
/// both host and storage takes, per resource, the larger of the two charges. A Storage
/// vMotion charges each datastore it touches once: every source of a file that moves and
/// every destination (a datastore holding only files that stay is not charged).
///
/// A powered-off, suspended or template VM's relocation is a cold migration, one of the
/// "other provisioning operations" (with cloning and deployment): `hostColdMigrationCost`
/// on the source host and on the destination host when it changes, nothing on datastores
/// or vMotion networks — vSphere's datastore limits apply to migrations with vMotion and
/// Storage vMotion, its network limits to vMotion only.
///
/// A task whose charge alone is above a maximum runs when the resource is otherwise idle.
public struct SimulatorLimits: Sendable, Hashable {
    /// Maximum cost per host (8).
    public var hostMaxCost = 8
    /// A vMotion's cost on each host (1).
    public var hostVMotionCost = 1
    /// A Storage vMotion's cost on the VM's host (4: two per host).
    public var hostStorageVMotionCost = 4
    /// A cold migration's (and any other provisioning operation's) cost on each host (1).
    public var hostColdMigrationCost = 1
    /// Maximum cost per datastore (128).
    public var datastoreMaxCost = 128
    /// A vMotion's cost on each of the VM's datastores (1).
    public var datastoreVMotionCost = 1
    /// A Storage vMotion's cost on the source and on the destination datastore (16: eight per datastore).
    public var datastoreStorageVMotionCost = 16
    /// Maximum vMotion network cost per host on 10 GbE or faster (8).
    public var networkMaxCost10GbE = 8
    /// Maximum vMotion network cost per host on 1 GbE (4).
    public var networkMaxCost1GbE = 4
    /// A vMotion's cost on each host's vMotion network (1).
    public var networkVMotionCost = 1
    /// Link speed assumed for hosts whose `vmotionLinkSpeedMbps` is unknown.
    public var defaultLinkSpeedMbps = 10_000
    /// When false, nothing queues: costs are only counted (to see what an uncontrolled run would do).
    public var enforced = true

    /// The documented defaults.
    public init() {}

    /// The vMotion network maximum for a host whose link runs at `mbps` (nil: `defaultLinkSpeedMbps`).
    public func networkMaxCost(linkSpeedMbps mbps: Int?) -> Int {
        (mbps ?? defaultLinkSpeedMbps) >= 10_000 ? networkMaxCost10GbE : networkMaxCost1GbE
    }
}
