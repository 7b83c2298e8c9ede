import VCenterModel

/// One job a strategy asks for in `Strategy.select`. The engine turns each
/// request into a `Job` (one storage move per VM per run: a second storage move
/// of the same VM is recorded as skipped).
public struct JobRequest: Sendable, Hashable {
    /// The VM the job works on.
    public var vm: MoRef
    /// What to do.
    public var kind: JobKind
    /// A free-form label shown in displays and the journal.
    public var label: String?

    /// Creates a request.
    public init(vm: MoRef, kind: JobKind, label: String? = nil) {
        self.vm = vm
        self.kind = kind
        self.label = label
    }

    /// A Storage vMotion of the whole `vm` to one of `targets`.
    public static func storageMove(_ vm: MoRef, to targets: [MoRef], label: String? = nil) -> JobRequest {
        JobRequest(vm: vm, kind: .storageMove(.to(targets)), label: label)
    }

    /// A Storage vMotion of `vm`'s files as `move` says.
    public static func storageMove(_ vm: MoRef, _ move: StorageMove, label: String? = nil) -> JobRequest {
        JobRequest(vm: vm, kind: .storageMove(move), label: label)
    }

    /// A vMotion of `vm` to `host`.
    public static func hostMove(_ vm: MoRef, to host: MoRef, pool: MoRef? = nil, method: HostMoveMethod = .relocate, label: String? = nil) -> JobRequest {
        JobRequest(vm: vm, kind: .hostMove(host: host, pool: pool, method: method), label: label)
    }
}
