import CLuaShim

extension LuaCall {
    /// Parks the calling coroutine on native work and returns `.suspend` (return it from the
    /// Swift function). `start` runs now, on the executor, with the completion handle that
    /// resumes the coroutine later from any thread; it returns an optional cancel handler
    /// that runs (on the executor) if the run fails or is interrupted first — release
    /// resources there. If `start` throws, nothing is parked and the error is raised.
    ///
    /// Only a coroutine the runtime manages can wait (the main chunk, a REPL line, a function
    /// run by `mm.spawn`); elsewhere this throws a clear error naming the function.
    public func suspend(_ start: (LuaCompletion) throws -> (() -> Void)?) throws -> LuaReturn {
        guard let scheduler = state.scheduler else {
            throw LuaFailure("\(functionName) needs the Moonmotion runtime to wait; it was called in a plain LuaState")
        }
        let co = try scheduler.parkableCoroutine(L, name: functionName)
        let op = scheduler.park(co)
        do {
            op.onCancel = try start(LuaCompletion(operation: op))
        } catch {
            scheduler.unpark(co, op)
            throw error
        }
        return .suspend
    }

    /// Lets every other ready coroutine run, then continues (`mm.yield()`, `mm.sleep(0)`).
    public func yieldToScheduler() throws -> LuaReturn {
        guard let scheduler = state.scheduler else {
            throw LuaFailure("\(functionName) needs the Moonmotion runtime to yield; it was called in a plain LuaState")
        }
        let co = try scheduler.parkableCoroutine(L, name: functionName)
        scheduler.yieldToReadyQueue(co)
        return .suspend
    }

    /// The runtime this call runs in, if any.
    public var runtime: LuaRuntime? { state.runtime }
}
