/// What each kind of operation costs on each resource, in the units of vSphere's
/// "Limits on Simultaneous Migrations" (vSphere 6.5/6.7 documentation):
///
/// | resource | limit | vMotion | Storage vMotion |
/// |---|---|---|---|
/// | host | 8 | 1 | 4 |
/// | datastore | 128 | 1 | 16 (source and destination) |
/// | vMotion network | 4 (1 GbE) / 8 (10 GbE) | 1 | — |
///
/// A Storage vMotion is charged to the VM's current host, and also to the
/// destination host when the host changes at the same time. Consolidation and
/// snapshot removal have no vSphere cost class; by default they are charged like
/// the disk I/O of a Storage vMotion on each of the VM's datastores (16) and
/// nothing on the host, so together with Storage vMotions at most 8 run per datastore.
public struct CostModel: Sendable, Hashable {
    /// Host cost of a vMotion (on source and destination host).
    public var vmotionHost: Int = 1
    /// Datastore cost of a vMotion (on each datastore of the VM).
    public var vmotionDatastore: Int = 1
    /// vMotion-network cost of a vMotion (on source and destination host).
    public var vmotionNetwork: Int = 1
    /// Host cost of a Storage vMotion.
    public var storageVMotionHost: Int = 4
    /// Datastore cost of a Storage vMotion (on each source datastore and on the destination).
    public var storageVMotionDatastore: Int = 16
    /// Host cost of a consolidation or snapshot removal.
    public var snapshotHost: Int = 0
    /// Datastore cost of a consolidation or snapshot removal (on each datastore of the VM).
    public var snapshotDatastore: Int = 16

    /// vSphere's documented costs.
    public init() {}
}
