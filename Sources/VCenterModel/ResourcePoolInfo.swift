/// A resource pool (`ResourcePool`; every cluster has its root pool, `Resources`).
public struct ResourcePoolInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    /// The cluster (or standalone host's compute resource) whose resources the pool shares.
    public var owner: MoRef?
    /// The parent pool, nil for a root pool.
    public var parent: MoRef?

    public init(ref: MoRef, name: String, owner: MoRef? = nil, parent: MoRef? = nil) {
        self.ref = ref
        self.name = name
        self.owner = owner
        self.parent = parent
    }
}
