import Foundation
import VCenterModel

/// One bar of the chart: a task from its queueing (or dispatch) to its end.
public struct GanttBar: Sendable, Hashable {
    /// The kind's index in the chart's kind list.
    public var kind: Int
    /// The VM the task works on.
    public var vm: MoRef
    /// The VM's name.
    public var vmName: String
    /// When it was queued (or dispatched).
    public var queued: Date
    /// When it started running; nil while queued.
    public var started: Date?
    /// When it ended; nil while it runs.
    public var ended: Date?
    /// Bytes it copies.
    public var bytes: Int64
    /// Why it failed; nil unless it failed.
    public var fault: String?
    /// The VM's host when it started.
    public var sourceHost: MoRef?
    /// The host it moves the VM to.
    public var destinationHost: MoRef?
    /// The datastores it copies from.
    public var sourceDatastores: [MoRef]
    /// The datastore it copies to.
    public var destinationDatastore: MoRef?
    /// The VM's cluster.
    public var cluster: MoRef?

    /// Creates a bar.
    public init(kind: Int, vm: MoRef, vmName: String, queued: Date, started: Date?, ended: Date?, bytes: Int64, fault: String?,
                sourceHost: MoRef?, destinationHost: MoRef?, sourceDatastores: [MoRef], destinationDatastore: MoRef?, cluster: MoRef?) {
        self.kind = kind
        self.vm = vm
        self.vmName = vmName
        self.queued = queued
        self.started = started
        self.ended = ended
        self.bytes = bytes
        self.fault = fault
        self.sourceHost = sourceHost
        self.destinationHost = destinationHost
        self.sourceDatastores = sourceDatastores
        self.destinationDatastore = destinationDatastore
        self.cluster = cluster
    }
}

/// The rows' names, in the order the chart lists them: clusters, each host with its
/// cluster, datastores. Objects a bar names that are missing here are added by reference.
public struct GanttNames: Sendable, Hashable {
    /// Clusters, in order.
    public var clusters: [(ref: MoRef, name: String)]
    /// Hosts with their cluster (nil: a standalone host).
    public var hosts: [(ref: MoRef, name: String, cluster: MoRef?)]
    /// Datastores, in order.
    public var datastores: [(ref: MoRef, name: String)]

    /// Creates the tables.
    public init(clusters: [(ref: MoRef, name: String)], hosts: [(ref: MoRef, name: String, cluster: MoRef?)], datastores: [(ref: MoRef, name: String)]) {
        self.clusters = clusters
        self.hosts = hosts
        self.datastores = datastores
    }

    public static func == (a: GanttNames, b: GanttNames) -> Bool {
        a.clusters.elementsEqual(b.clusters) { $0 == $1 }
            && a.hosts.elementsEqual(b.hosts) { $0.ref == $1.ref && $0.name == $1.name && $0.cluster == $1.cluster }
            && a.datastores.elementsEqual(b.datastores) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(clusters.count)
        hasher.combine(hosts.count)
        hasher.combine(datastores.count)
    }
}
