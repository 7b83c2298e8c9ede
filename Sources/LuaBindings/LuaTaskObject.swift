import Foundation
import LuaHost
import VCenterModel

/// `moonmotion.Task`: a vCenter task, always live. Every field reads `LiveTask.info`, which
/// the backend's single poller keeps current, so a script never polls: `t.progress` is the
/// latest value and `t:wait()` parks only the calling coroutine until the poller sees the
/// end. Executor-confined (the `LiveTask` itself is thread-safe).
final class LuaTaskObject: LuaUserdata, @unchecked Sendable {
    static let luaTypeName = "Task"

    /// The live record.
    let live: LiveTask
    /// The connection it belongs to (for `cancel` and the entity's object).
    weak var connection: LuaConnection?

    init(_ live: LiveTask, connection: LuaConnection?) {
        self.live = live
        self.connection = connection
    }

    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaTaskObject>) {
        type.field("id") { call, t in call.push(t.live.ref.value); return .values(1) }
        type.field("moref") { call, t in call.push(t.live.ref.description); return .values(1) }
        type.field("name") { call, t in call.push(t.live.info.name); return .values(1) }
        type.field("description_id") { call, t in call.pushOptional(t.live.info.descriptionId); return .values(1) }
        type.field("entity") { call, t in call.pushOptional(t.live.info.entity?.description); return .values(1) }
        type.field("entity_name") { call, t in call.pushOptional(t.entityName); return .values(1) }
        type.field("vm") { call, t in
            if let entity = t.live.info.entity, entity.type == "VirtualMachine", let view = t.connection?.view {
                view.push(.vm, entity, on: call)
            } else {
                call.pushNil()
            }
            return .values(1)
        }
        type.field("state") { call, t in call.push(t.live.info.state.rawValue); return .values(1) }
        type.field("progress") { call, t in
            let info = t.live.info
            if let p = info.progress { call.push(p) } else if info.state == .success { call.push(100) } else { call.pushNil() }
            return .values(1)
        }
        type.field("result") { call, t in
            call.push(t.live.info.result.map(PropertyValueBridge.luaValue) ?? .nil)
            return .values(1)
        }
        type.field("error") { call, t in
            if let fault = t.live.info.error { call.push(.table(fault.luaTable)) } else { call.pushNil() }
            return .values(1)
        }
        type.field("queued") { call, t in call.pushOptionalTime(t.live.info.queueTime); return .values(1) }
        type.field("started") { call, t in call.pushOptionalTime(t.live.info.startTime); return .values(1) }
        type.field("completed") { call, t in call.pushOptionalTime(t.live.info.completeTime); return .values(1) }
        type.field("done") { call, t in call.push(t.live.isDone); return .values(1) }
        type.field("cancelable") { call, t in call.push(t.live.info.cancelable); return .values(1) }

        type.method("wait") { call, t in
            let timeout = try TaskWaits.timeoutOption(call, at: 2)
            return try TaskWaits.wait(t, timeout: timeout, call: call)
        }
        type.method("cancel") { call, t in try t.cancel(call: call) }
        type.method("on_done") { call, t in
            guard call.type(2) == .function else { throw LuaArgumentError(2, expected: "function", actual: call.typeName(2)) }
            // mm.spawn(function() t:wait(); fn(t) end): a managed coroutine that runs fn once
            // (or fails with ConnectionClosed when the connection closes before the task ends).
            let helper = try onDoneHelper(call)
            try call.reserveStack(4)
            call.push(helper)
            call.pushCopy(of: 1)
            call.pushCopy(of: 2)
            try call.protectedCall(argumentCount: 2, resultCount: 0)
            return .none
        }
        type.tostring { t in t.summary }
    }

    /// The entity's name: from the task, else from the connection's inventory.
    var entityName: String? {
        let info = live.info
        if let name = info.entityName { return name }
        guard let entity = info.entity, let view = connection?.view else { return nil }
        let name = view.inventory.name(of: entity)
        return name == entity.value ? nil : name
    }

    /// `Task task-12 RelocateVM_Task on db-01: running 40%`.
    var summary: String {
        let info = live.info
        var text = "Task \(info.ref.value) \(info.name)"
        if let name = entityName ?? info.entity?.value { text += " on \(name)" }
        text += ": \(info.state.rawValue)"
        if info.state == .running, let p = info.progress { text += " \(p)%" }
        if let fault = info.error { text += " (\(fault))" }
        return text
    }

    /// `t:cancel()` → `true`, or `false, err` when vCenter refuses (the task already ended …).
    private func cancel(call: LuaCall) throws -> LuaReturn {
        guard let connection else { throw LuaFailure("task \(live.ref.value): its connection is gone; cannot cancel") }
        try connection.checkOpen()
        let vcenter = connection.vcenter
        let ref = live.ref
        return try call.suspend { completion in
            let task = Task {
                do {
                    try await vcenter.cancelTask(ref)
                    completion.resume(returning: [.boolean(true)])
                } catch let fault as VCenterFault {
                    completion.resume(returning: [.boolean(false), .table(fault.luaTable)])
                } catch {
                    completion.resume(throwing: error)
                }
            }
            return { task.cancel() }
        }
    }

    private static let onDoneSource = """
        local spawn = (require "moonmotion").spawn
        return function(task, fn)
          spawn(function()
            local _, err = task:wait()
            if not task.done and err then
              -- The connection closed first: fn cannot be told the end; say so.
              error("on_done of " .. task.id .. ": " .. err.type .. ": " .. err.message, 0)
            end
            fn(task)
          end)
        end
        """

    private static func onDoneHelper(_ call: LuaCall) throws -> LuaRef {
        try call.registryValue("moonmotion.bindings.on_done") {
            let chunk = try call.load(onDoneSource, chunkName: "=[moonmotion.Task:on_done]")
            call.push(chunk)
            try call.protectedCall(argumentCount: 0, resultCount: 1)
        }
    }
}

extension VCenterFault {
    /// `{type=, message=}` for Lua; `tostring(err)` reads `Type: message` (the metatable
    /// `LuaBindings.installFaultMetatable` registers), not `table: 0x…`.
    var luaTable: LuaTable {
        var fields: [String: LuaValue] = ["type": .string(type), "message": .string(message)]
        if let faultString, faultString != message { fields["fault_string"] = .string(faultString) }
        return LuaTable(fields: fields, metatable: LuaBindings.faultMetatableKey)
    }
}

extension LuaStackAccess {
    /// Pushes a date as epoch seconds, or nil.
    func pushOptionalTime(_ date: Date?) {
        if let date { push(date.timeIntervalSince1970) } else { pushNil() }
    }
}
