import LuaHost
import MigrationEngine
import VCenterModel

/// What the lazy object fields of a job table resolve (kept current by `pushJob`).
struct JobRecord {
    var vm: MoRef
    var cluster: MoRef?
    /// The VM's host when the job was created or last dispatched.
    var host: MoRef?
    /// The datastore chosen for a storage move.
    var target: MoRef?
    /// The destination host of a host move.
    var toHost: MoRef?
    var present = false

    static let empty = JobRecord(vm: MoRef("VirtualMachine", ""))
}

extension LuaStrategy {
    /// Fields every job table has (plain values, refreshed before each hook call).
    static let plainJobFields = ["id", "kind", "size", "attempts", "label", "state", "error", "vm_name", "proactive"]
    /// Fields resolved on first read (objects of the inventory).
    static let objectJobFields = ["vm", "cluster", "host", "target", "to_host"]

    /// Pushes the job table for `job`: the cached one (its changing fields refreshed) while
    /// Lua still holds it, else a new one. Executor only.
    func pushJob(_ job: Job, on slot: LuaThreadStack) throws {
        try slot.reserveStack(8)
        let id = job.id.rawValue
        remember(job)
        slot.push(jobCache)
        if slot.pushRawElement(id + 1, of: -1) == .table {
            slot.remove(at: -2)
            setChangingFields(of: job, on: slot)
            for key in ["host", "target", "to_host"] {
                slot.pushNil()
                slot.setRawField(key)
            }
            return
        }
        slot.pop()
        try slot.newTable(fields: 12)
        slot.push(id)
        slot.setRawField("id")
        slot.push(job.kind.name)
        slot.setRawField("kind")
        slot.push(job.size)
        slot.setRawField("size")
        slot.push(job.vmName)
        slot.setRawField("vm_name")
        slot.push(job.isProactive)
        slot.setRawField("proactive")
        setChangingFields(of: job, on: slot)
        if let jobMetatable { slot.setMetatable(of: -1, to: jobMetatable) }
        slot.pushCopy(of: -1)
        slot.setRawElement(id + 1, of: -3)
        slot.remove(at: -2)
    }

    /// Sets the fields that change over a job's life on the table at the top.
    private func setChangingFields(of job: Job, on slot: LuaThreadStack) {
        slot.push(job.attempts)
        slot.setRawField("attempts")
        slot.push(job.state.rawValue)
        slot.setRawField("state")
        slot.pushOptional(job.label)
        slot.setRawField("label")
        slot.pushOptional(job.lastError)
        slot.setRawField("error")
    }

    private func remember(_ job: Job) {
        let id = job.id.rawValue
        if records.count <= id {
            records.append(contentsOf: repeatElement(.empty, count: id + 1 - records.count))
        }
        records[id] = JobRecord(
            vm: job.vm, cluster: job.cluster, host: job.sourceHost, target: job.target,
            toHost: job.kind.destinationHost, present: true)
    }

    /// The metatable of job tables: `__index` resolves the object fields (and rejects
    /// misspelt ones), `__tostring` describes the job. Registered once per strategy.
    func makeJobMetatable(state: LuaState) throws -> LuaRef {
        let slot = LuaThreadStack(state: state)
        try slot.newTable(fields: 4)
        slot.push(function: "job.__index") { [weak self] call in
            guard let self else { throw LuaFailure("this job belongs to a strategy that no longer runs") }
            return try self.jobField(call)
        }
        slot.setRawField("__index")
        slot.push(function: "job.__tostring") { call in
            call.push(LuaStrategy.describeJob(table: 1, on: call))
            return .values(1)
        }
        slot.setRawField("__tostring")
        slot.push("moonmotion.Job")
        slot.setRawField("__name")
        // Protected: setmetatable(job, …) raises, so the engine's __index stays.
        slot.push("moonmotion.Job")
        slot.setRawField("__metatable")
        return slot.popReference()
    }

    /// `job.vm`, `job.cluster`, `job.host`, `job.target`, `job.to_host` (objects, nil when
    /// unknown); nil for an unset label or error; an error for any other missing field.
    private func jobField(_ call: LuaCall) throws -> LuaReturn {
        // Argument 1 is a job table unless a script reached this function through the debug
        // library; raw access to anything else would be undefined.
        guard call.type(1) == .table, call.type(2) == .string, let key = call.string(at: 2) else {
            call.pushNil()
            return .values(1)
        }
        let record: JobRecord? = call.withRawField("id", of: 1) { i in
            guard let id = call.integer(at: i), records.indices.contains(id), records[id].present else { return nil }
            return records[id]
        }
        func push(_ kind: InventoryObjectKind, _ ref: MoRef?, cache: Bool) {
            guard let ref, let view else {
                call.pushNil()
                return
            }
            view.push(kind, ref, on: call)
            if cache, call.type(-1) != .nil {
                call.pushCopy(of: -1)
                call.setRawField(key, of: 1)
            }
        }
        switch key {
        case "vm": push(.vm, record?.vm, cache: true)
        case "cluster": push(.cluster, record?.cluster, cache: true)
        case "host": push(.host, record?.host, cache: false)
        case "target": push(.datastore, record?.target, cache: false)
        case "to_host": push(.host, record?.toHost, cache: false)
        case "label", "error": call.pushNil()
        default:
            let fields = (LuaStrategy.plainJobFields + LuaStrategy.objectJobFields).sorted()
            let hint = NameSuggestion.hint(for: key, among: fields)
            throw LuaFailure("a job has no field '\(key)'\(hint); its fields: \(fields.joined(separator: ", "))")
        }
        return .values(1)
    }

    /// `job 12: storage app-c1-0001, 120.0 GB, pending (attempt 1)`.
    static func describeJob(table: Int32, on stack: some LuaStackAccess) -> String {
        guard stack.type(table) == .table else { return "job" }
        func field(_ name: String) -> String? { stack.withRawField(name, of: table) { stack.string(at: $0) } }
        var text = "job \(field("id") ?? "?"): \(field("kind") ?? "?") \(field("vm_name") ?? "?")"
        if let size = stack.withRawField("size", of: table, { stack.integer(at: $0) }) {
            text += ", " + ByteCount.format(Int64(size))
        }
        if let state = field("state") { text += ", " + state }
        if let attempts = stack.withRawField("attempts", of: table, { stack.integer(at: $0) }), attempts > 0 {
            text += " (attempt \(attempts))"
        }
        if let label = field("label") { text += " — " + label }
        return text
    }
}
