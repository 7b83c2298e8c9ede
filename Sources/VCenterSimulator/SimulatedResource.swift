import VCenterModel

/// A resource whose concurrent use the simulator limits or accounts for.
public enum SimulatedResource: Sendable, Hashable, CustomStringConvertible {
    /// A host's migration cost (max 8).
    case host(MoRef)
    /// A datastore's migration cost (max 128).
    case datastore(MoRef)
    /// A host's vMotion network (max 8 on 10 GbE, 4 on 1 GbE).
    case vMotionNetwork(host: MoRef)
    /// A cluster: tasks running on its VMs or hosts (accounted, not limited).
    case cluster(MoRef)
    /// The whole vCenter: every running task (accounted, not limited).
    case vCenter

    public var description: String {
        switch self {
        case .host(let r): "host \(r.value)"
        case .datastore(let r): "datastore \(r.value)"
        case .vMotionNetwork(let r): "vMotion network of \(r.value)"
        case .cluster(let r): "cluster \(r.value)"
        case .vCenter: "vCenter"
        }
    }
}
