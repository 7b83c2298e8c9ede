import VCenterModel

/// One resource's accounting at a moment, for displays, `plan` and tests.
public struct ResourceUsage: Sendable, Hashable {
    /// What kind of resource.
    public var kind: ResourceKind
    /// The host, datastore or cluster it belongs to (nil for the vCenter).
    public var object: MoRef?
    /// Cost (or count) in use now, including tasks started outside this run.
    public var used: Int
    /// The limit (`Int.max` when unlimited).
    public var capacity: Int
    /// The highest `used` seen so far.
    public var peak: Int
    /// The highest `used` seen so far counting only this run's jobs.
    public var peakOwn: Int

    /// Creates a usage record.
    public init(kind: ResourceKind, object: MoRef?, used: Int, capacity: Int, peak: Int, peakOwn: Int) {
        self.kind = kind
        self.object = object
        self.used = used
        self.capacity = capacity
        self.peak = peak
        self.peakOwn = peakOwn
    }
}
