import CLuaShim
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
    func pushJob(_ job: Job, on slot: LuaStackSlot) throws {
        let L = slot.L
        try slot.reserveStack(8)
        let id = job.id.rawValue
        remember(job)
        jobCache.push(on: L)
        if lua_rawgeti(L, -1, lua_Integer(id + 1)) == LUA_TTABLE {
            mm_remove(L, -2)
            setChangingFields(of: job, on: slot)
            for key in ["host", "target", "to_host"] {
                slot.pushString(key)
                lua_pushnil(L)
                lua_rawset(L, -3)
            }
            return
        }
        lua_settop(L, -2)
        lua_createtable(L, 0, 12)
        slot.pushInteger(id)
        mm_rawsetfield(L, -2, "id")
        slot.pushString(job.kind.name)
        mm_rawsetfield(L, -2, "kind")
        slot.pushInteger(job.size)
        mm_rawsetfield(L, -2, "size")
        slot.pushString(job.vmName)
        mm_rawsetfield(L, -2, "vm_name")
        slot.pushBoolean(job.isProactive)
        mm_rawsetfield(L, -2, "proactive")
        setChangingFields(of: job, on: slot)
        if let jobMetatable {
            jobMetatable.push(on: L)
            lua_setmetatable(L, -2)
        }
        lua_pushvalue(L, -1)
        lua_rawseti(L, -3, lua_Integer(id + 1))
        mm_remove(L, -2)
    }

    /// Sets the fields that change over a job's life on the table at the top.
    private func setChangingFields(of job: Job, on slot: LuaStackSlot) {
        let L = slot.L
        slot.pushInteger(job.attempts)
        mm_rawsetfield(L, -2, "attempts")
        slot.pushString(job.state.rawValue)
        mm_rawsetfield(L, -2, "state")
        slot.pushOptional(job.label)
        mm_rawsetfield(L, -2, "label")
        slot.pushOptional(job.lastError)
        mm_rawsetfield(L, -2, "error")
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
        let L = state.mainThread
        let slot = LuaStackSlot(state: state)
        try slot.reserveStack(4)
        lua_createtable(L, 0, 3)
        state.pushFunction(named: "job.__index", { [weak self] call in
            guard let self else { throw LuaFailure("this job belongs to a strategy that no longer runs") }
            return try self.jobField(call)
        }, on: L)
        mm_rawsetfield(L, -2, "__index")
        state.pushFunction(named: "job.__tostring", { call in
            call.pushString(LuaStrategy.describeJob(table: 1, on: call))
            return .values(1)
        }, on: L)
        mm_rawsetfield(L, -2, "__tostring")
        slot.pushString("moonmotion.Job")
        mm_rawsetfield(L, -2, "__name")
        // Protected: setmetatable(job, …) raises, so the engine's __index stays.
        slot.pushString("moonmotion.Job")
        mm_rawsetfield(L, -2, "__metatable")
        return state.popReference(on: L)
    }

    /// `job.vm`, `job.cluster`, `job.host`, `job.target`, `job.to_host` (objects, nil when
    /// unknown); nil for an unset label or error; an error for any other missing field.
    private func jobField(_ call: LuaCall) throws -> LuaReturn {
        guard call.typeAt(2) == .string, let key = call.stringAt(2) else {
            call.pushNilValue()
            return .values(1)
        }
        let record: JobRecord? = call.withField("id", of: 1) { i in
            guard let id = call.integerAt(i), records.indices.contains(id), records[id].present else { return nil }
            return records[id]
        }
        func push(_ kind: InventoryObjectKind, _ ref: MoRef?, cache: Bool) {
            guard let ref, let view else {
                call.pushNilValue()
                return
            }
            view.push(kind, ref, on: call)
            if cache, call.typeAt(-1) != .nil {
                call.pushString(key)
                lua_pushvalue(call.L, -2)
                lua_rawset(call.L, 1)
            }
        }
        switch key {
        case "vm": push(.vm, record?.vm, cache: true)
        case "cluster": push(.cluster, record?.cluster, cache: true)
        case "host": push(.host, record?.host, cache: false)
        case "target": push(.datastore, record?.target, cache: false)
        case "to_host": push(.host, record?.toHost, cache: false)
        case "label", "error": call.pushNilValue()
        default:
            let fields = (LuaStrategy.plainJobFields + LuaStrategy.objectJobFields).sorted()
            let hint = NameSuggestion.hint(for: key, among: fields)
            throw LuaFailure("a job has no field '\(key)'\(hint); its fields: \(fields.joined(separator: ", "))")
        }
        return .values(1)
    }

    /// `job 12: storage app-c1-0001, 120.0 GB, pending (attempt 1)`.
    static func describeJob(table: Int32, on stack: some LuaStackAccess) -> String {
        func field(_ name: String) -> String? { stack.withField(name, of: table) { stack.stringAt($0) } }
        var text = "job \(field("id") ?? "?"): \(field("kind") ?? "?") \(field("vm_name") ?? "?")"
        if let size = stack.withField("size", of: table, { stack.integerAt($0) }) {
            text += ", " + ByteCount.format(Int64(size))
        }
        if let state = field("state") { text += ", " + state }
        if let attempts = stack.withField("attempts", of: table, { stack.integerAt($0) }), attempts > 0 {
            text += " (attempt \(attempts))"
        }
        if let label = field("label") { text += " — " + label }
        return text
    }
}
