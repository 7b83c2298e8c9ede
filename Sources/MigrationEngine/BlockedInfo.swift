import VCenterModel

/// Why a job is blocked, for `Strategy.onBlocked`.
public struct BlockedInfo: Sendable, Hashable {
    /// The VM's current host, the resource that is full.
    public var host: MoRef
    /// The host's name.
    public var hostName: String
    /// One line: what is full and by how much.
    public var reason: String
    /// Hosts of the same cluster with room for a vMotion and the job after it, most room first.
    public var candidateHosts: [MoRef]
    /// Jobs of this run running on the host.
    public var runningOnHost: Int

    /// Creates a description of a blocked job.
    public init(host: MoRef, hostName: String, reason: String, candidateHosts: [MoRef], runningOnHost: Int) {
        self.host = host
        self.hostName = hostName
        self.reason = reason
        self.candidateHosts = candidateHosts
        self.runningOnHost = runningOnHost
    }
}
