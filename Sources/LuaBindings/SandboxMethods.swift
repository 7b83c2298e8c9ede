import LuaHost

/// Which vSphere methods a script may call by name — `conn:invoke` and strategy jobs with
/// `action = "custom"` — when it runs under `--sandbox`: none, unless the operator named them
/// with `--allow-method` (`SandboxOptions.allowedMethods`). A sandboxed script still moves
/// VMs, consolidates disks, removes snapshots and reads (conn:moveVM, conn:consolidateDisks,
/// conn:removeSnapshot, the inventory, conn:tasks, conn:getTask, and the strategy jobs that
/// do the same), but cannot reach `Destroy_Task`, power operations, `AcquireCloneTicket` and
/// the rest of the API through a method name.
enum SandboxMethods {
    /// The methods that may be called by name, or nil when any may (no sandbox).
    static func allowed(in runtime: LuaRuntime?) -> Set<String>? {
        guard let sandbox = runtime?.options.sandbox, sandbox.restrictsLibraries else { return nil }
        return Set(sandbox.allowedMethods)
    }

    /// Why `method` is refused, for `what` (`conn:invoke`, a custom job).
    static func refusal(_ method: String, what: String) -> String {
        "\(what) '\(method)' is not allowed under --sandbox: a sandboxed script calls only the migration operations (conn:moveVM, conn:consolidateDisks, conn:removeSnapshot, and strategy jobs that move, consolidate or remove snapshots) and the reads (the inventory, conn:tasks, conn:getTask); the operator may allow it with --allow-method \(method)"
    }
}
