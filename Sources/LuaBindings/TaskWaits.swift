import LuaHost
import Locking
import VCenterModel

/// `t:wait{timeout=}`, `mm.wait_all(tasks, {timeout=})`, `mm.wait_any(tasks, {timeout=})`.
///
/// A wait parks the calling coroutine with no Swift Task and no polling: it observes the
/// `LiveTask`s (the backend's poller updates them), and the first terminal update — or the
/// executor's timer — resumes the coroutine once. Every wait ends: the task ends (success or
/// error), the timeout fires, or the connection closes (`ConnectionClosed`: nothing will
/// report the task's end any more; it may still be running in vCenter).
enum TaskWaits {
    /// Reads `{timeout = seconds}` or a bare number at `index` (nil: no timeout).
    static func timeoutOption(_ call: LuaCall, at index: Int32) throws -> Double? {
        let seconds: Double?
        switch call.type(index) {
        case .none, .nil: return nil
        case .number: seconds = try call.number(index)
        case .table:
            for key in try call.stringKeys(of: index) where key != "timeout" {
                throw LuaArgumentError(index, "unknown option '\(key)' (wait takes timeout)")
            }
            seconds = try call.withRawField("timeout", of: index) { slot -> Double? in
                if call.isNoneOrNil(slot) { return nil }
                guard let n = call.number(at: slot) else { throw LuaArgumentError(index, "timeout must be a number of seconds") }
                return n
            }
        default:
            throw LuaArgumentError(index, expected: "table of options", actual: call.typeName(index))
        }
        if let seconds, !(seconds >= 0 && seconds.isFinite) {
            throw LuaArgumentError(index, "timeout must be a finite number of seconds >= 0")
        }
        return seconds
    }

    // MARK: One task

    static func wait(_ task: LuaTaskObject, timeout: Double?, call: LuaCall) throws -> LuaReturn {
        let live = task.live
        let now = live.info
        if now.state.isTerminal { return try pushOutcome(now, call: call) }
        if let fault = live.abandonment { return pushFault(fault, call: call) }
        if let timeout, timeout == 0 { return try pushTimeout(task, timeout: timeout, call: call) }
        guard let executor = call.runtime?.executor else {
            throw LuaFailure("Task:wait needs the Moonmotion runtime")
        }
        let object = ExecutorBound(task)
        return try call.suspend { completion in
            let registration = WaitRegistration()
            let observation = live.observe { info in
                if info.state.isTerminal {
                    registration.cancel()
                    completion.resume(pushing: { call in try pushOutcome(info, call: call) })
                } else if let fault = live.abandonment {
                    registration.cancel()
                    completion.resume(pushing: { call in pushFault(fault, call: call) })
                }
            }
            registration.set(observation)
            if let timeout {
                registration.set(executor.schedule(afterScriptSeconds: timeout) {
                    registration.cancel()
                    completion.resume(pushing: { call in try pushTimeout(object.value, timeout: timeout, call: call) })
                })
            }
            // It may have ended (or been abandoned) between the first look and the observation.
            let latest = live.info
            if latest.state.isTerminal {
                registration.cancel()
                completion.resume(pushing: { call in try pushOutcome(latest, call: call) })
            } else if let fault = live.abandonment {
                registration.cancel()
                completion.resume(pushing: { call in pushFault(fault, call: call) })
            }
            return { registration.cancel() }
        }
    }

    /// `true` for success; `false, {type=, message=}` for an error.
    static func pushOutcome(_ info: TaskInfo, call: LuaCall) throws -> LuaReturn {
        if info.state == .success {
            call.push(true)
            return .values(1)
        }
        let fault = info.error ?? VCenterFault(.taskFailed, "task \(info.ref.value) ended in error without a fault")
        call.push(false)
        call.push(.table(fault.luaTable))
        return .values(2)
    }

    /// `false, {type=, message=}` for a wait that ended without the task's end.
    static func pushFault(_ fault: VCenterFault, call: LuaCall) -> LuaReturn {
        call.push(false)
        call.push(.table(fault.luaTable))
        return .values(2)
    }

    /// The fault that ends a wait on several tasks: the first abandoned one's.
    static func abandonment(_ tasks: [LuaTaskObject]) -> VCenterFault? {
        tasks.lazy.compactMap { $0.live.isDone ? nil : $0.live.abandonment }.first
    }

    static func pushTimeout(_ task: LuaTaskObject, timeout: Double, call: LuaCall) throws -> LuaReturn {
        let info = task.live.info
        let fault = VCenterFault(
            .timeout,
            "\(task.summary) did not end within \(formatSeconds(timeout)); the task itself goes on (t:cancel() stops it)")
        _ = info
        call.push(false)
        call.push(.table(fault.luaTable))
        return .values(2)
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    // MARK: Several tasks

    /// Reads the array of Task userdata at `index`.
    static func taskList(_ call: LuaCall, at index: Int32) throws -> [LuaTaskObject] {
        guard call.type(index) == .table else {
            throw LuaArgumentError(index, expected: "array of moonmotion.Task", actual: call.typeName(index))
        }
        let n = call.rawLength(index)
        var tasks: [LuaTaskObject] = []
        tasks.reserveCapacity(n)
        for i in stride(from: 1, through: n, by: 1) {
            try call.withRawElement(i, of: index) { slot in
                guard let t = call.object(at: slot, as: LuaTaskObject.self) else {
                    throw LuaArgumentError(index, "element \(i) is a \(call.typeName(slot)), not a moonmotion.Task")
                }
                tasks.append(t)
            }
        }
        return tasks
    }

    /// `mm.wait_all(tasks, {timeout=})` → `ok, failed`: every task ended (or the timeout
    /// fired); `failed` lists those that ended in error or had not ended. When the
    /// connection of a task closes first: `false, failed, err` (`err.type` `ConnectionClosed`).
    static func waitAll(_ call: LuaCall) throws -> LuaReturn {
        let tasks = try taskList(call, at: 1)
        let timeout = try timeoutOption(call, at: 2)
        let pending = tasks.indices.filter { !tasks[$0].live.isDone }
        if pending.isEmpty || timeout == 0 || abandonment(tasks) != nil { return try pushAllOutcome(tasks, call: call) }
        guard let executor = call.runtime?.executor else { throw LuaFailure("mm.wait_all needs the Moonmotion runtime") }
        let objects = ExecutorBound(tasks)
        return try call.suspend { completion in
            let registration = WaitRegistration()
            let remaining = Locked(Set(pending))
            let finish: @Sendable () -> Void = {
                registration.cancel()
                completion.resume(pushing: { call in try pushAllOutcome(objects.value, call: call) })
            }
            for i in pending {
                let live = tasks[i].live
                registration.add(live.observe { info in
                    if !info.state.isTerminal {
                        if live.abandonment != nil { finish() }
                        return
                    }
                    let empty = remaining.withLock { set -> Bool in
                        set.remove(i)
                        return set.isEmpty
                    }
                    if empty { finish() }
                })
            }
            if let timeout { registration.set(executor.schedule(afterScriptSeconds: timeout) { finish() }) }
            // Any that ended before their observation was in place.
            let empty = remaining.withLock { set -> Bool in
                set = set.filter { !tasks[$0].live.isDone }
                return set.isEmpty
            }
            if empty || abandonment(tasks) != nil { finish() }
            return { registration.cancel() }
        }
    }

    static func pushAllOutcome(_ tasks: [LuaTaskObject], call: LuaCall) throws -> LuaReturn {
        let failed = tasks.filter { $0.live.info.state != .success }
        call.push(failed.isEmpty)
        try call.pushArray(failed) { call.push($0) }
        if let fault = abandonment(tasks) {
            call.push(.table(fault.luaTable))
            return .values(3)
        }
        return .values(2)
    }

    /// `mm.wait_any(tasks, {timeout=})` → the first task to end, or nil on timeout (or for
    /// an empty list); `nil, err` (`ConnectionClosed`) when a task's connection closes first.
    static func waitAny(_ call: LuaCall) throws -> LuaReturn {
        let tasks = try taskList(call, at: 1)
        let timeout = try timeoutOption(call, at: 2)
        if let done = tasks.first(where: { $0.live.isDone }) {
            call.push(done)
            return .values(1)
        }
        if let fault = abandonment(tasks) {
            call.pushNil()
            call.push(.table(fault.luaTable))
            return .values(2)
        }
        if tasks.isEmpty || timeout == 0 {
            call.pushNil()
            return .values(1)
        }
        guard let executor = call.runtime?.executor else { throw LuaFailure("mm.wait_any needs the Moonmotion runtime") }
        let objects = ExecutorBound(tasks)
        return try call.suspend { completion in
            let registration = WaitRegistration()
            let resumeWith: @Sendable (Int?, VCenterFault?) -> Void = { index, fault in
                registration.cancel()
                completion.resume(pushing: { call in
                    // The first that ended (by the time the coroutine runs, several may have).
                    let list = objects.value
                    if let index { call.push(list[index]) } else { call.pushNil() }
                    guard let fault else { return .values(1) }
                    call.push(.table(fault.luaTable))
                    return .values(2)
                })
            }
            for (i, t) in tasks.enumerated() {
                let live = t.live
                registration.add(live.observe { info in
                    if info.state.isTerminal {
                        resumeWith(i, nil)
                    } else if let fault = live.abandonment {
                        resumeWith(nil, fault)
                    }
                })
            }
            if let timeout { registration.set(executor.schedule(afterScriptSeconds: timeout) { resumeWith(nil, nil) }) }
            if let i = tasks.firstIndex(where: { $0.live.isDone }) {
                resumeWith(i, nil)
            } else if let fault = abandonment(tasks) {
                resumeWith(nil, fault)
            }
            return { registration.cancel() }
        }
    }
}

/// The observations and timer of one parked wait; `cancel()` removes them all, from any
/// thread, once — including those registered after it was cancelled.
final class WaitRegistration: Sendable {
    private struct State {
        var observations: [LiveTask.Observation] = []
        var timer: LuaTimer?
        var cancelled = false
    }
    private let state = Locked(State())

    func set(_ observation: LiveTask.Observation) { add(observation) }

    func add(_ observation: LiveTask.Observation) {
        let late = state.withLock { s -> Bool in
            if s.cancelled { return true }
            s.observations.append(observation)
            return false
        }
        if late { observation.cancel() }
    }

    func set(_ timer: LuaTimer) {
        let late = state.withLock { s -> Bool in
            if s.cancelled { return true }
            s.timer = timer
            return false
        }
        if late { timer.cancel() }
    }

    func cancel() {
        let (observations, timer) = state.withLock { s -> ([LiveTask.Observation], LuaTimer?) in
            s.cancelled = true
            defer { s.observations = []; s.timer = nil }
            return (s.observations, s.timer)
        }
        for o in observations { o.cancel() }
        timer?.cancel()
    }
}
