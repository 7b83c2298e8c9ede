import Foundation
import VCenterModel

/// One unit of work on one VM, as the engine tracks it through its life.
///
/// A job's fields live in a copy-on-write box: every event and strategy hook takes a whole
/// job, about 14 copies per job in a run, and copying some 25 fields (a dozen of them
/// reference-counted: strings, arrays, the storage move) was a dozen retains and releases
/// each. With the box a copy is one retain; a write copies the box only while another copy
/// still shares it (an event not yet drained, a hook's argument kept).
public struct Job: Sendable, Hashable, Identifiable {
    /// The fields, shared by copies of this job until one of them writes.
    private var box: Box

    /// The job's id within the run.
    public var id: JobID { box.fields.id }
    /// The VM the job works on.
    public var vm: MoRef { box.fields.vm }
    /// The VM's name when the job was created.
    public var vmName: String {
        get { box.fields.vmName }
        _modify { makeUnique(); yield &box.fields.vmName }
    }
    /// The VM's cluster when the job was created (nil for a standalone host).
    public var cluster: MoRef? {
        get { box.fields.cluster }
        _modify { makeUnique(); yield &box.fields.cluster }
    }
    /// What the job does. Fixed for the strategy's jobs; for a pro-active vMotion the
    /// destination host is chosen when it is dispatched (until then it names the host
    /// that had the most room when the strategy decided).
    public var kind: JobKind {
        get { box.fields.kind }
        _modify { makeUnique(); yield &box.fields.kind }
    }
    /// A free-form label from the strategy (or the engine, for a pro-active vMotion).
    public var label: String? {
        get { box.fields.label }
        _modify { makeUnique(); yield &box.fields.label }
    }
    /// Committed bytes of the VM (what a Storage vMotion copies); memory bytes for a host move.
    public var size: Int64 {
        get { box.fields.size }
        _modify { makeUnique(); yield &box.fields.size }
    }
    /// Where the job is in its life.
    public var state: JobState {
        get { box.fields.state }
        _modify { makeUnique(); yield &box.fields.state }
    }
    /// How many times the engine called vCenter for it (1 on the first try).
    public var attempts: Int {
        get { box.fields.attempts }
        _modify { makeUnique(); yield &box.fields.attempts }
    }
    /// The last error, one line (a fault's `Type: message`, or a hook's error text).
    public var lastError: String? {
        get { box.fields.lastError }
        _modify { makeUnique(); yield &box.fields.lastError }
    }
    /// The code of the fault behind `lastError` when it was one (nil for a hook's error, a
    /// reason a VM cannot move, …): what `--resume` decides from, never the text.
    public var lastFault: VCenterFault.Code? {
        get { box.fields.lastFault }
        _modify { makeUnique(); yield &box.fields.lastFault }
    }
    /// The vCenter task of the current (or last) attempt.
    public var taskRef: MoRef? {
        get { box.fields.taskRef }
        _modify { makeUnique(); yield &box.fields.taskRef }
    }
    /// The datastore chosen for a storage move (set at dispatch): where the VM's home goes, or
    /// the first destination when the home stays. `moves` has every file's.
    public var target: MoRef? {
        get { box.fields.target }
        _modify { makeUnique(); yield &box.fields.target }
    }
    /// The files the current (or last) attempt of a storage move copies, from where to where
    /// (set at dispatch).
    public var moves: [FileMove] {
        get { box.fields.moves }
        _modify { makeUnique(); yield &box.fields.moves }
    }
    /// The VM's host when the current attempt was dispatched (or when the job was created).
    public var sourceHost: MoRef? {
        get { box.fields.sourceHost }
        _modify { makeUnique(); yield &box.fields.sourceHost }
    }
    /// The VM's datastores when the current attempt was dispatched (or when the job was created).
    public var sourceDatastores: [MoRef] {
        get { box.fields.sourceDatastores }
        _modify { makeUnique(); yield &box.fields.sourceDatastores }
    }
    /// Task progress in percent, when vCenter reports it.
    public var progress: Int? {
        get { box.fields.progress }
        _modify { makeUnique(); yield &box.fields.progress }
    }
    /// When the job was created.
    public var createdAt: Date {
        get { box.fields.createdAt }
        _modify { makeUnique(); yield &box.fields.createdAt }
    }
    /// When the current attempt was dispatched.
    public var dispatchedAt: Date? {
        get { box.fields.dispatchedAt }
        _modify { makeUnique(); yield &box.fields.dispatchedAt }
    }
    /// When vCenter accepted the current attempt.
    public var startedAt: Date? {
        get { box.fields.startedAt }
        _modify { makeUnique(); yield &box.fields.startedAt }
    }
    /// When the job ended.
    public var finishedAt: Date? {
        get { box.fields.finishedAt }
        _modify { makeUnique(); yield &box.fields.finishedAt }
    }
    /// While pending after a failure: not before this time.
    public var notBefore: Date? {
        get { box.fields.notBefore }
        _modify { makeUnique(); yield &box.fields.notBefore }
    }
    /// For an engine-inserted pro-active vMotion: the storage move it clears the way for.
    public var parent: JobID? {
        get { box.fields.parent }
        _modify { makeUnique(); yield &box.fields.parent }
    }
    /// Whether the job was skipped before it started because the VM cannot move as asked
    /// (`lastError` says why and what to do): an RDM, a shared disk, Fault Tolerance, …
    public var cannotMove: Bool {
        get { box.fields.cannotMove }
        _modify { makeUnique(); yield &box.fields.cannotMove }
    }
    /// The job's wave (`Strategy.wave`): it starts once every job of an earlier wave in its
    /// scope has ended. Nil: in no wave.
    public var wave: Int? {
        get { box.fields.wave }
        _modify { makeUnique(); yield &box.fields.wave }
    }
    /// Whether the strategy holds the job: its target hook answered "wait" while datastores
    /// had room. A held job waits (it is re-asked when something changes); it never fails for it.
    public var heldByStrategy: Bool {
        get { box.fields.heldByStrategy }
        _modify { makeUnique(); yield &box.fields.heldByStrategy }
    }
    /// With change windows (`SchedulerConfiguration.windows`): when the scheduler predicted, as
    /// it started the job, that the job would end — the prediction the window rule admitted it
    /// on. Not a journal column: the job's events carry it (`EventRecord.predictedEnd`), so the
    /// report and the windows benchmark set each move's real end beside it.
    public var predictedEnd: Date? {
        get { box.fields.predictedEnd }
        _modify { makeUnique(); yield &box.fields.predictedEnd }
    }

    /// Creates a job record.
    public init(
        id: JobID, vm: MoRef, vmName: String, cluster: MoRef?, kind: JobKind, label: String? = nil,
        size: Int64, state: JobState = .pending, attempts: Int = 0, lastError: String? = nil, lastFault: VCenterFault.Code? = nil,
        taskRef: MoRef? = nil, target: MoRef? = nil, sourceHost: MoRef? = nil, sourceDatastores: [MoRef] = [],
        progress: Int? = nil, createdAt: Date, dispatchedAt: Date? = nil, startedAt: Date? = nil,
        finishedAt: Date? = nil, notBefore: Date? = nil, parent: JobID? = nil, moves: [FileMove] = [], cannotMove: Bool = false
    ) {
        box = Box(Fields(
            id: id, vm: vm, vmName: vmName, cluster: cluster, kind: kind, label: label, size: size, state: state,
            attempts: attempts, lastError: lastError, lastFault: lastFault, taskRef: taskRef, target: target, moves: moves,
            sourceHost: sourceHost, sourceDatastores: sourceDatastores, progress: progress, createdAt: createdAt,
            dispatchedAt: dispatchedAt, startedAt: startedAt, finishedAt: finishedAt, notBefore: notBefore, parent: parent,
            cannotMove: cannotMove))
    }

    /// Whether the engine inserted this job (a pro-active vMotion) rather than the strategy.
    public var isProactive: Bool { parent != nil }

    /// Two jobs are equal when every field is (a copy shares its box: no field compared).
    public static func == (a: Job, b: Job) -> Bool { a.box === b.box || a.box.fields == b.box.fields }

    /// Hashes every field.
    public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }

    /// Gives this job a box of its own before a write, when a copy shares it.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
    }

    /// The stored fields, as the struct held them before the box.
    private struct Fields: Sendable, Hashable {
        let id: JobID
        let vm: MoRef
        var vmName: String
        var cluster: MoRef?
        var kind: JobKind
        var label: String?
        var size: Int64
        var state: JobState
        var attempts: Int
        var lastError: String?
        var lastFault: VCenterFault.Code?
        var taskRef: MoRef?
        var target: MoRef?
        var moves: [FileMove]
        var sourceHost: MoRef?
        var sourceDatastores: [MoRef]
        var progress: Int?
        var createdAt: Date
        var dispatchedAt: Date?
        var startedAt: Date?
        var finishedAt: Date?
        var notBefore: Date?
        var parent: JobID?
        var cannotMove: Bool
        var wave: Int? = nil
        var heldByStrategy: Bool = false
        var predictedEnd: Date? = nil
    }

    /// The fields' one shared home. Unchecked `Sendable`: it is written only through a job
    /// that holds the only reference (`makeUnique`), so a box that two holders (or threads)
    /// can reach is never written.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }
}
