import Foundation
import LuaHost
import MigrationEngine
import VCenterModel

extension LuaStrategy {
    /// The engine's retry policy with the strategy's `retries` and `backoff` fields applied.
    public func retryPolicy(_ base: RetryPolicy) throws -> RetryPolicy {
        do throws(LuaStrategyError) {
            return try retrySettings.applied(to: base)
        } catch {
            throw LuaStrategyError("\(name): \(error.message)")
        }
    }

    /// Calls `on_failure(job, err)` for every failure of a job; its nil lets the retry rule
    /// decide (`failure.willRetry`). Without a hook, or with the stdlib's `skip` / `abort`,
    /// the rule decides while it retries and the answer counts once it does not — what those
    /// functions meant before the strategy heard every failure; `retry` always retries (up
    /// to the attempt limit).
    public func onFailure(_ job: Job, _ failure: JobFailure) throws -> FailureDecision? {
        guard let function = hooks[.onFailure] else {
            switch natives[.onFailure] {
            case .retry: return .retry
            case .abort: return failure.willRetry ? nil : .abort
            default: return failure.willRetry ? nil : .skip
            }
        }
        let location = locations[.onFailure] ?? name
        return try callHook(function, arguments: { slot in
            try pushJob(job, on: slot)
            try pushFailure(failure, of: job, on: slot)
            return 2
        }, result: { slot, index in
            try LuaStrategyAnswers.failure(at: index, on: slot, location: location)
        })
    }

    /// Pushes the `err` table of `on_failure`: the fault (`type`, `message`, `fault_string`,
    /// `retriable`), the attempt that failed, what the rule would do (`will_retry`,
    /// `retry_at` in whole epoch seconds, `rule`, `retries_used`, `retries_allowed`,
    /// `at_limit`) and the job's `vm_name`; `tostring(err)` reads it as one line.
    func pushFailure(_ failure: JobFailure, of job: Job, on slot: LuaThreadStack) throws {
        let fault = failure.fault
        try slot.newTable(fields: 12)
        slot.setRawField("type", .string(fault.type))
        slot.setRawField("message", .string(fault.message))
        if let s = fault.faultString { slot.setRawField("fault_string", .string(s)) }
        slot.setRawField("retriable", .boolean(fault.isRetriable))
        slot.setRawField("attempt", .integer(failure.attempt))
        slot.setRawField("will_retry", .boolean(failure.willRetry))
        // Whole seconds: os.date raises on a float with a fraction, and a retry starts at or
        // after its time, never before.
        if let at = failure.retryAt { slot.setRawField("retry_at", .integer(Int(at.timeIntervalSince1970.rounded(.up)))) }
        slot.setRawField("rule", .string(failure.rule.description))
        slot.setRawField("retries_used", .integer(failure.retriesUsed))
        slot.setRawField("retries_allowed", .integer(failure.retriesAllowed))
        slot.setRawField("at_limit", .boolean(failure.atLimit))
        slot.setRawField("vm_name", .string(job.vmName))
        if let errorMetatable { slot.setMetatable(of: -1, to: errorMetatable) }
    }

    /// The metatable of error tables: the fault tables' own (`LuaBindings.faultMetatable(on:)`).
    func makeErrorMetatable(state: LuaState) throws -> LuaRef {
        try LuaBindings.faultMetatable(on: LuaThreadStack(state: state))
    }

    /// `FileLocked: the file is locked (attempt 2 of job web-01)`, from the table's own fields
    /// (read raw: the script may have changed them, and nothing may raise here).
    static func describeFailure(table: Int32, on stack: some LuaStackAccess) -> String {
        guard stack.type(table) == .table else { return "error" }
        func field(_ name: String) -> String? {
            stack.withRawField(name, of: table) { stack.type($0) == .string ? stack.string(at: $0) : nil }
        }
        let type = field("type") ?? "error"
        var text = type
        if let message = field("message"), !message.isEmpty {
            text = VCenterFault(type: type, message: message).description
        }
        let attempt = stack.withRawField("attempt", of: table) { stack.integer(at: $0) }
        switch (attempt, field("vm_name")) {
        case let (attempt?, vm?): text += " (attempt \(attempt) of job \(vm))"
        case let (attempt?, nil): text += " (attempt \(attempt))"
        case let (nil, vm?): text += " (job \(vm))"
        case (nil, nil): break
        }
        return text
    }
}
