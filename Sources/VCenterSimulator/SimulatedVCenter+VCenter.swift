import Foundation
import VCenterModel

/// The `VCenter` protocol: every call acts at the current simulated time.
extension SimulatedVCenter {
    public func about() async throws -> AboutInfo {
        let about = aboutInfo
        return try perform { _ in about }
    }

    public func inventory() async throws -> Inventory {
        try perform { $0.inventoryWithPodTotals() }
    }

    public func refreshVMs(_ refs: [MoRef]) async throws -> [VMInfo] {
        try perform { try $0.refresh(refs) }
    }

    public func relocateVM(_ vm: MoRef, spec: RelocateSpec, priority: MovePriority) async throws -> LiveTask {
        try perform { try $0.relocate(vm, spec: spec, name: "VirtualMachine.relocate") }
    }

    public func recommendDatastores(_ vm: MoRef, pod: MoRef, spec: RelocateSpec) async throws -> [StorageRecommendation] {
        try perform { try $0.recommendDatastores(vm, pod: pod, spec: spec) }
    }

    public func applyStorageRecommendation(_ key: String, vm: MoRef) async throws -> LiveTask {
        try perform { try $0.applyRecommendation(key, vm: vm) }
    }

    public func migrateVM(_ vm: MoRef, host: MoRef, pool: MoRef?, priority: MovePriority) async throws -> LiveTask {
        try perform { try $0.relocate(vm, spec: RelocateSpec(host: host, pool: pool), name: "VirtualMachine.migrate") }
    }

    public func consolidateDisks(_ vm: MoRef) async throws -> LiveTask {
        try perform { try $0.consolidate(vm) }
    }

    public func removeSnapshot(_ vm: MoRef, _ which: SnapshotSelector, removeChildren: Bool, consolidate: Bool) async throws -> LiveTask {
        try perform { try $0.removeSnapshot(vm, which, removeChildren: removeChildren, consolidate: consolidate) }
    }

    public func task(_ ref: MoRef) async throws -> LiveTask {
        try perform { s in s.tasks[try s.taskIndex(of: ref)].live }
    }

    public func cancelTask(_ ref: MoRef) async throws {
        try perform { try $0.cancelTask(ref) }
    }

    public func recentTasks(_ query: TaskQuery) async throws -> [TaskInfo] {
        try perform { try $0.recentTasks(query) }
    }

    public func close() async {
        closeNow()
    }
}
