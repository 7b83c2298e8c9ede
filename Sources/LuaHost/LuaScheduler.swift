import CLuaShim
import DequeModule

/// Runs coroutines on the executor: a ready queue, coroutines parked on native work, and
/// the end-of-run and failure rules. Executor-confined.
///
/// * Script mode (`failsRunOnError`): the run ends when every coroutine finished; the first
///   uncaught error (or an interrupt, or a sandbox limit) ends it at once: every pending
///   native operation is cancelled (its cleanup runs) and every other coroutine is closed.
/// * Interactive mode: a coroutine with an `onFinish` (a REPL line) reports its own
///   outcome; an uncaught error in a spawned coroutine goes to `backgroundErrorHandler`.
final class LuaScheduler {
    unowned(unsafe) let state: LuaState
    let executor: LuaExecutor

    // Executor-confined state: no dynamic exclusivity checks needed.
    /// The coroutine being resumed right now.
    @exclusivity(unchecked) private(set) var current: LuaCoroutine?
    @exclusivity(unchecked) private var ready = Deque<(LuaCoroutine, LuaResumption)>()
    @exclusivity(unchecked) private var drainScheduled = false
    @exclusivity(unchecked) private var draining = false
    /// Live coroutines by thread.
    @exclusivity(unchecked) private var coroutines: [OpaquePointer: LuaCoroutine] = [:]
    private var nextID = 0

    /// Script mode: errors end the run.
    var failsRunOnError = true
    /// Called when the run ends: every coroutine finished (nil) or it failed (the error).
    var runCompletion: ((LuaError?) -> Void)?
    /// Interactive mode: errors of spawned coroutines.
    var backgroundErrorHandler: ((LuaError) -> Void)?
    /// Resumes per drain job before other executor jobs get a turn.
    var drainBudget = 1024

    init(state: LuaState, executor: LuaExecutor) {
        self.state = state
        self.executor = executor
    }

    /// Number of coroutines not finished.
    var liveCount: Int { coroutines.count }

    // MARK: Starting

    /// Starts a coroutine running the function at `functionIndex` of thread `L` with the
    /// `argumentCount` values above... (the function and arguments are copied, not moved).
    @discardableResult
    func spawn(from L: OpaquePointer, functionIndex: Int32, argumentIndices: ClosedRange<Int32>?, isSpawned: Bool,
               keepsResults: Bool, onFinish: ((LuaCoroutine.Outcome) -> Void)? = nil) -> LuaCoroutine {
        let functionIndex = lua_absindex(L, functionIndex)
        guard let thread = lua_newthread(L) else { fatalError("lua_newthread failed") }
        let anchor = luaL_ref(L, mm_registryindex())
        lua_pushvalue(L, functionIndex)
        var count: Int32 = 0
        if let argumentIndices {
            for i in argumentIndices {
                lua_pushvalue(L, i)
                count += 1
            }
        }
        lua_xmove(L, thread, count + 1)
        nextID += 1
        let co = LuaCoroutine(thread: thread, anchor: anchor, argumentCount: count, isSpawned: isSpawned,
                              keepsResults: keepsResults, id: nextID)
        co.onFinish = onFinish
        coroutines[thread] = co
        co.status = .ready
        ready.append((co, .start(argumentCount: count)))
        scheduleDrain()
        return co
    }

    // MARK: Suspending (called from Swift functions running in `current`)

    /// The coroutine a Swift function running on `L` may park, or a clear error why not.
    func parkableCoroutine(_ L: OpaquePointer, name: String) throws -> LuaCoroutine {
        guard lua_isyieldable(L) != 0 else {
            throw LuaFailure("\(name) cannot wait here: it was called across a C boundary (inside a callback of a C function such as table.sort, string.gsub or a __tostring called by tostring, inside a finalizer, or in Lua code Moonmotion calls synchronously); call it from the script body or a function run by mm.spawn")
        }
        guard let co = current, co.thread == L else {
            throw LuaFailure("\(name) cannot wait here: it was called from a coroutine Moonmotion does not manage (made by coroutine.create or coroutine.wrap); run concurrent code with mm.spawn instead")
        }
        return co
    }

    /// Parks `co` on a new pending operation.
    func park(_ co: LuaCoroutine) -> LuaPendingOperation {
        let op = LuaPendingOperation(executor: executor, scheduler: self, coroutine: co)
        co.operation = op
        co.status = .parked
        return op
    }

    /// Undoes `park` when starting the operation failed.
    func unpark(_ co: LuaCoroutine, _ op: LuaPendingOperation) {
        if co.operation === op { co.operation = nil }
        co.status = .running
        op.cancel()
    }

    /// Puts `co` at the end of the ready queue (mm.yield / mm.sleep(0)).
    func yieldToReadyQueue(_ co: LuaCoroutine) {
        co.status = .ready
        ready.append((co, .continueEmpty))
        scheduleDrain()
    }

    /// A completed operation: its coroutine becomes ready (if it still waits for it).
    func deliver(_ op: LuaPendingOperation, _ resumption: LuaResumption) {
        let co = op.coroutine
        guard co.operation === op, co.status == .parked else { return }
        co.operation = nil
        co.status = .ready
        ready.append((co, resumption))
        scheduleDrain()
    }

    /// A parked coroutine was resumed by `coroutine.resume` from Lua: it leaves the
    /// scheduler (its operation is cancelled; joiners get the error).
    func coroutineResumedByLua(_ L: OpaquePointer) {
        guard let co = coroutines[L] else { return }
        co.operation?.cancel()
        co.operation = nil
        co.outcome = .failed(LuaError(message: "coroutine \(co.id) was resumed by coroutine.resume while it waited for native work"))
        finishBookkeeping(co, releaseAnchor: true)
    }

    /// Joins `target`: results now if it finished, else parks `co` until it does.
    func join(_ target: LuaCoroutine, call: LuaCall) throws -> LuaReturn {
        if let outcome = target.outcome {
            return try LuaScheduler.push(outcome, call: call)
        }
        let co = try parkableCoroutine(call.L, name: call.functionName)
        let op = park(co)
        target.joiners.append(op)
        return .suspend
    }

    static func push(_ outcome: LuaCoroutine.Outcome, call: LuaCall) throws -> LuaReturn {
        switch outcome {
        case .returned(let refs):
            guard lua_checkstack(call.L, Int32(clamping: refs.count + 1)) != 0 else { throw LuaFailure("too many results") }
            for r in refs { call.push(r) }
            return .values(Int32(refs.count))
        case .failed(let error):
            throw error
        }
    }

    // MARK: Running

    private func scheduleDrain() {
        guard !draining, !drainScheduled else { return }
        drainScheduled = true
        executor.executeConfined { [self] in drain() }
    }

    private func drain() {
        drainScheduled = false
        draining = true
        var budget = drainBudget
        while budget > 0, let (co, resumption) = ready.popFirst() {
            if let kind = state.stopKind {
                draining = false
                stop(kind)
                return
            }
            guard co.status == .ready else { continue }
            resume(co, resumption)
            budget -= 1
        }
        draining = false
        if !ready.isEmpty { scheduleDrain() }
    }

    private func resume(_ co: LuaCoroutine, _ resumption: LuaResumption) {
        let L = co.thread
        var argumentCount: Int32
        switch resumption {
        case .start(let n):
            argumentCount = n
        case .bareYield:
            argumentCount = 0
        default:
            guard lua_status(L) == LUA_YIELD else {
                co.outcome = .failed(LuaError(message: "coroutine \(co.id) was closed (coroutine.close) while it waited for native work"))
                finishBookkeeping(co, releaseAnchor: true)
                return
            }
            argumentCount = pushResumption(resumption, on: L)
        }
        co.status = .running
        current = co
        mm_host_set_running(state.host, L, L)
        var resultCount: Int32 = 0
        // Lua runs with the allocator's window open: a memory error past the limit ends
        // this resume, never a Swift frame (CLuaShim/memory.c).
        let window = mm_memory_enter_lua(state.host)
        let status = lua_resume(L, state.mainThread, argumentCount, &resultCount)
        mm_memory_restore(state.host, window)
        mm_host_set_running(state.host, state.mainThread, nil)
        current = nil
        switch status {
        case LUA_YIELD:
            if resultCount == 1 && mm_is_sentinel(L, -1) != 0 {
                lua_settop(L, -2)
                if co.status == .running { co.status = .parked }  // parked with no operation: stays until closed
            } else if resultCount == 0, state.stopKind != nil {
                // The hook yielded it: interrupt or sandbox limit.
                abort(stopReport(for: co))
            } else {
                // Plain coroutine.yield in a managed coroutine: behaves like mm.yield().
                lua_settop(L, -resultCount - 1)
                co.status = .ready
                ready.append((co, .bareYield))
            }
        case LUA_OK:
            finished(co, resultCount: resultCount)
        default:
            failed(co, status: status)
        }
    }

    /// Pushes `results..., count, status, sentinel` for a continuation; returns the count pushed.
    private func pushResumption(_ resumption: LuaResumption, on L: OpaquePointer) -> Int32 {
        let base = lua_gettop(L)
        var count: Int32 = 0
        var status = MM_RESUME_OK
        switch resumption {
        case .continueEmpty, .start, .bareYield:
            break
        case .values(let values):
            if lua_checkstack(L, Int32(clamping: values.count + 4)) == 0 {
                lua_pushstring(L, "too many results (\(values.count))")
                count = 1
                status = MM_RESUME_RAISE_WHERE
            } else {
                for v in values { LuaStack.push(v, on: L) }
                count = Int32(values.count)
            }
        case .pushing(let body):
            do {
                let r = try body(LuaCall(L: L, state: state, functionIndex: -1))
                count = max(0, r.rawValue)
            } catch {
                lua_settop(L, base)
                status = LuaScheduler.pushErrorValue(error, on: L)
                count = 1
            }
        case .error(let error):
            status = LuaScheduler.pushErrorValue(error, on: L)
            count = 1
        }
        _ = lua_checkstack(L, 3)
        lua_pushinteger(L, lua_Integer(count))
        lua_pushinteger(L, lua_Integer(status))
        mm_push_sentinel(L)
        return count + 3
    }

    /// Pushes the message for an error delivered to a parked coroutine; returns the raise mode.
    static func pushErrorValue(_ error: any Error, on L: OpaquePointer) -> Int32 {
        switch error {
        case let e as LuaError:
            lua_pushstring(L, e.message)
            return MM_RESUME_RAISE
        case let e as LuaRaise:
            lua_pushstring(L, e.message)
            return MM_RESUME_RAISE
        default:
            LuaStack.push(string: String(describing: error), on: L)
            return MM_RESUME_RAISE_WHERE
        }
    }

    private func finished(_ co: LuaCoroutine, resultCount: Int32) {
        let L = co.thread
        var refs: [LuaRef] = []
        if resultCount > 0 && (co.keepsResults || co.onFinish != nil) {
            let top = lua_gettop(L)
            for i in (top - resultCount + 1)...top { refs.append(state.reference(at: i, on: L)) }
        }
        lua_settop(L, 0)
        co.outcome = .returned(refs)
        finishBookkeeping(co, releaseAnchor: true)
    }

    private func failed(_ co: LuaCoroutine, status: Int32) {
        let error = errorReport(for: co, status: status)
        closeThread(co.thread)
        co.outcome = .failed(error)
        if failsRunOnError {
            abort(error)  // finishes `co` too, before the run could count as complete
            return
        }
        let reportsInBackground = co.onFinish == nil && co.isSpawned
        finishBookkeeping(co, releaseAnchor: true)
        if reportsInBackground { backgroundErrorHandler?(error) }
    }

    /// Closes a coroutine's pending to-be-closed variables (the script's `__close` handlers run
    /// in Lua's protected mode, so with the allocator's window open) and resets it.
    private func closeThread(_ thread: OpaquePointer) {
        let window = mm_memory_enter_lua(state.host)
        _ = mm_closethread(thread, state.mainThread)
        mm_memory_restore(state.host, window)
    }

    /// Builds the `LuaError` (message, traceback from the dead coroutine's stack, location).
    private func errorReport(for co: LuaCoroutine, status: Int32) -> LuaError {
        let M = state.mainThread
        let base = lua_gettop(M)
        defer { lua_settop(M, base) }
        lua_pushcclosure(M, mm_thread_error_report, 0)
        lua_pushthread(co.thread)
        lua_xmove(co.thread, M, 1)
        do {
            try state.protectedCall(argumentCount: 1, resultCount: 1, on: M, limited: false)
        } catch {
            return error
        }
        return state.makeError(status: status, reportAt: -1, on: M)
    }

    /// Builds the `LuaError` for a coroutine the hook stopped (message with its location,
    /// traceback from its stack).
    private func stopReport(for co: LuaCoroutine) -> LuaError {
        let M = state.mainThread
        let base = lua_gettop(M)
        defer { lua_settop(M, base) }
        let kind = state.stopKind ?? .interrupted
        lua_pushcclosure(M, mm_thread_stop_report, 0)
        lua_pushthread(co.thread)
        lua_xmove(co.thread, M, 1)
        lua_pushstring(M, mm_host_stop_message(state.host))
        do {
            try state.protectedCall(argumentCount: 2, resultCount: 1, on: M, limited: false)
        } catch {
            return LuaError(kind, message: error.message, traceback: error.traceback)
        }
        var error = state.makeError(status: LUA_ERRRUN, reportAt: -1, on: M)
        error.kind = kind
        return error
    }

    /// Marks `co` finished, wakes joiners, runs `onFinish`, ends the run when none is left.
    private func finishBookkeeping(_ co: LuaCoroutine, releaseAnchor: Bool) {
        guard co.status != .finished || coroutines[co.thread] != nil else { return }
        co.status = .finished
        coroutines[co.thread] = nil
        if releaseAnchor && co.anchor != LUA_NOREF {
            luaL_unref(state.mainThread, mm_registryindex(), co.anchor)
            co.anchor = LUA_NOREF
        }
        let outcome = co.outcome ?? .returned([])
        let joiners = co.joiners
        co.joiners = []
        for op in joiners {
            switch outcome {
            case .returned(let refs):
                op.complete(.pushing { call in
                    guard lua_checkstack(call.L, Int32(clamping: refs.count + 4)) != 0 else { throw LuaFailure("too many results") }
                    for r in refs { call.push(r) }
                    return .values(Int32(refs.count))
                })
            case .failed(let error):
                op.complete(.error(error))
            }
        }
        if !co.keepsResults, case .returned = outcome { co.outcome = .returned([]) }
        let onFinish = co.onFinish
        co.onFinish = nil
        onFinish?(outcome)
        if coroutines.isEmpty, let completion = runCompletion {
            runCompletion = nil
            completion(nil)
        }
    }

    // MARK: Stopping

    /// Ends the run because of an interrupt or a limit: everything is cancelled.
    func stop(_ kind: LuaError.Kind) {
        switch kind {
        case .interrupted: mm_host_mark_stop(state.host, MM_STOP_INTERRUPT)
        case .instructionLimit: mm_host_mark_stop(state.host, MM_STOP_INSTRUCTIONS)
        case .timeLimit: mm_host_mark_stop(state.host, MM_STOP_DEADLINE)
        default: break
        }
        // A time limit that ends the run while the script waits says where it waited (the
        // first coroutine still parked: usually the main chunk), with that coroutine's traceback.
        if kind == .timeLimit, current == nil,
           let waiting = coroutines.values.sorted(by: { $0.id < $1.id }).first(where: { lua_status($0.thread) == LUA_YIELD }) {
            abort(stopReport(for: waiting))
            return
        }
        abort(LuaError(kind, message: String(cString: mm_host_stop_message(state.host))))
    }

    /// Cancels every pending operation (running its cleanup), closes every coroutine and
    /// ends the run with `error`. Not while a coroutine runs: it then happens when it yields.
    func abort(_ error: LuaError) {
        guard current == nil else { return }
        let all = coroutines.values.sorted { $0.id < $1.id }
        ready.removeAll()
        for co in all {
            co.operation?.cancel()
            co.operation = nil
            co.joiners.removeAll()
        }
        for co in all {
            if lua_status(co.thread) == LUA_YIELD {
                closeThread(co.thread)
            }
            co.outcome = .failed(error)
            co.status = .finished
            coroutines[co.thread] = nil
            if co.anchor != LUA_NOREF {
                luaL_unref(state.mainThread, mm_registryindex(), co.anchor)
                co.anchor = LUA_NOREF
            }
            let onFinish = co.onFinish
            co.onFinish = nil
            onFinish?(.failed(error))
        }
        if let completion = runCompletion {
            runCompletion = nil
            completion(error)
        }
    }
}
