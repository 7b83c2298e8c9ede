import VCenterModel

/// Any vCenter method that returns a task, run as a job: the engine calls
/// `VCenter.invoke(method, on: object, arguments:)` and charges the declared cost.
public struct CustomTask: Sendable, Hashable {
    /// The vSphere method name, for example `UpgradeVM_Task`.
    public var method: String
    /// The object the method is called on; nil means the job's VM.
    public var object: MoRef?
    /// Named arguments, in order.
    public var arguments: [PropertyValue.Field]
    /// What one run of the task costs on the VM's host, datastores and vMotion network.
    public var cost: DeclaredCost

    /// Creates a custom task description.
    public init(method: String, object: MoRef? = nil, arguments: [PropertyValue.Field] = [], cost: DeclaredCost = DeclaredCost()) {
        self.method = method
        self.object = object
        self.arguments = arguments
        self.cost = cost
    }
}

/// The resource cost a custom task declares, in vSphere's cost units
/// (see `CostModel`): charged to the VM's current host, to each of its datastores,
/// and to its host's vMotion network. Every job also counts once against its
/// cluster's and the vCenter's concurrent-job caps.
public struct DeclaredCost: Sendable, Hashable {
    /// Cost on the VM's host (vMotion 1, Storage vMotion 4; the host limit is 8).
    public var host: Int
    /// Cost on each datastore of the VM (vMotion 1, Storage vMotion 16; the limit is 128).
    public var datastore: Int
    /// Cost on the host's vMotion network (vMotion 1; the limit is 4 or 8).
    public var network: Int

    /// Creates a declared cost; the default costs nothing but a job slot.
    public init(host: Int = 0, datastore: Int = 0, network: Int = 0) {
        self.host = host
        self.datastore = datastore
        self.network = network
    }
}
