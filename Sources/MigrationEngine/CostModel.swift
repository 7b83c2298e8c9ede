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
/// destination host when the host changes at the same time, and to every datastore it
/// touches: each source datastore of a file that moves and each destination, once each (a
/// datastore holding only files that stay is not touched).
///
/// Moving a powered-off or suspended VM or a template is a cold migration, which vSphere
/// counts among "other provisioning operations such as cloning, deployment, and cold
/// migration": host cost 1 (derived limit 8 per host), and no datastore or network cost —
/// "Datastore limits apply to migrations with vMotion and with Storage vMotion", network
/// limits to vMotion only (vSphere 6.5/6.7, *vCenter Server and Host Management*, "Limits on
/// Simultaneous Migrations"). The engine's own counts (`per_host`, `per_datastore`) still
/// count a cold copy, so a strategy's cap on copies holds for them too. Consolidation and
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
    /// Host cost of a cold migration ("other provisioning operations"), on the VM's host and on
    /// the destination host when it changes.
    public var coldMigrationHost: Int = 1
    /// Datastore cost of a cold migration: none in vSphere's tables.
    public var coldMigrationDatastore: Int = 0
    /// Host cost of a consolidation or snapshot removal.
    public var snapshotHost: Int = 0
    /// Datastore cost of a consolidation or snapshot removal (on each datastore of the VM).
    public var snapshotDatastore: Int = 16

    /// vSphere's documented costs.
    public init() {}
}
