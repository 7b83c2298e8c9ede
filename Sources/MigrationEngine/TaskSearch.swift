import Foundation
import VCenterModel

/// Looks for the task a call of a job may have started although its reference never
/// reached the runner: the call made just before a crash (`--resume`), or one whose
/// connection dropped or timed out after vCenter may have received it. A match is a task
/// of the VM (its own recent-task list, one call) whose name matches the job's operation,
/// that started no earlier than the call's journaled intent less a clock-skew tolerance,
/// and that is none of the run's known tasks (every task reference the run ever had, and
/// outside tasks it counted). The most recent match wins.
public struct TaskSearch: Sendable, Hashable {
    /// The job's VM.
    public let vm: MoRef
    /// An operation of the job's kind (its targets do not matter for the match).
    public let operation: EngineOperation
    /// The earliest start time a match may have.
    public let earliest: Date
    /// Tasks that are not the lost call's.
    public let excluding: Set<MoRef>

    /// A search for `job`'s task started after `intentAt` (less `tolerance`), none of `excluding`.
    init(job: Job, intentAt: Date, tolerance: TimeInterval, excluding: Set<MoRef>) {
        vm = job.vm
        operation = Self.operationShape(job)
        earliest = intentAt.addingTimeInterval(-tolerance)
        self.excluding = excluding
    }

    /// The matching task's reference, or nil. Throws what reading the VM's tasks throws.
    public func run(on vcenter: any VCenter) async throws -> MoRef? {
        best(in: try await vcenter.recentTasks(TaskQuery(entity: vm)))
    }

    /// The match among `tasks` (the VM's recent tasks), or nil.
    public func best(in tasks: [TaskInfo]) -> MoRef? {
        Self.best(tasks, vm: vm, operation: operation, earliest: earliest, excluding: excluding)
    }

    static func best(_ tasks: [TaskInfo], vm: MoRef, operation: EngineOperation, earliest: Date, excluding: Set<MoRef>) -> MoRef? {
        let matches = tasks.filter { info in
            guard !excluding.contains(info.ref), operation.matchesTaskName(info.name) else { return false }
            if let entity = info.entity, entity != vm { return false }
            guard let t = info.startTime ?? info.queueTime ?? info.completeTime else { return true }
            return t >= earliest
        }
        return matches.max { ($0.queueTime ?? $0.startTime ?? .distantPast) < ($1.queueTime ?? $1.startTime ?? .distantPast) }?.ref
    }

    /// An operation of the job's kind, for matching task names (targets do not matter).
    static func operationShape(_ job: Job) -> EngineOperation {
        switch job.kind {
        case .storageMove, .storageAndHostMove:
            if job.kind.storage?.storageDRS != nil { return .applyStorageRecommendation(vm: job.vm, key: "") }
            return .relocate(vm: job.vm, spec: RelocateSpec(), priority: .defaultPriority)
        case .hostMove(let host, let pool, let method):
            return method == .migrate ? .migrate(vm: job.vm, host: host, pool: pool, priority: .defaultPriority)
                : .relocate(vm: job.vm, spec: RelocateSpec(host: host), priority: .defaultPriority)
        case .consolidate:
            return .consolidate(vm: job.vm)
        case .removeSnapshot(let s, let c, let k):
            return .removeSnapshot(vm: job.vm, selector: s, removeChildren: c, consolidate: k)
        case .custom(let t):
            return .invoke(method: t.method, object: t.object ?? job.vm, arguments: t.arguments)
        }
    }
}
