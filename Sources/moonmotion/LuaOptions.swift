import ArgumentParser
import Foundation
import LuaHost

/// Options shared by the commands that run Lua: the sandbox and its limits.
struct LuaOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Run a script someone handed you with restricted libraries.",
        discussion: """
            Removes os.execute, io.popen, package.loadlib, os.exit, os.remove, os.rename, \
            os.getenv and the debug library; io.open reads only, and only files under the \
            script's directory and --allow-read paths (never /proc, /sys, /dev or the password \
            file); load, loadfile, dofile and require accept source text only (no bytecode); \
            no C modules; no __gc finalizers; arg holds no command line. mm.connect reaches \
            only the configured vCenter, with the operator's TLS settings, and conn:invoke \
            only --allow-method methods. Memory is limited to \(LuaOptions.sandboxMemoryDefaultText) \
            unless --max-memory says otherwise; CPU and time only with --max-instructions and \
            --timeout. Pass configuration as name=value parameters instead of environment \
            variables. What it guarantees and what not: docs/LUA.md, "The sandbox".
            """))
    var sandbox = false

    @Option(name: .customLong("allow-read"), help: ArgumentHelp(
        "Under --sandbox, let the script read this file or directory too (repeatable).",
        valueName: "path"))
    var allowRead: [String] = []

    @Option(name: .customLong("allow-method"), help: ArgumentHelp(
        "Under --sandbox, let conn:invoke and custom strategy jobs call this vSphere method (repeatable; e.g. PowerOnVM_Task).",
        discussion: "A sandboxed script calls only the migration operations (conn:moveVM, conn:consolidateDisks, conn:removeSnapshot, the strategy jobs that do the same) and the reads; every other method by name is refused.",
        valueName: "name"))
    var allowMethod: [String] = []

    @Option(name: .customLong("max-instructions"), help: ArgumentHelp(
        "Stop the script after this many Lua VM instructions (counted in steps of 1000, across all coroutines).",
        valueName: "count"))
    var maxInstructions: Int?

    @Option(help: ArgumentHelp(
        "Stop the script after this many seconds of wall-clock time, whether it computes or waits.",
        valueName: "seconds"))
    var timeout: Double?

    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "Stop the script when Lua would hold more than this much memory (64MiB, 1GiB, bytes; none for no limit). Default: \(LuaOptions.sandboxMemoryDefaultText) under --sandbox, none otherwise.",
        discussion: """
            Counts Lua's own heap (strings, tables, closures, coroutines), not what Moonmotion \
            keeps in Swift (inventories, tasks). The script fails with "memory limit of ... \
            reached" (exit status 1); a REPL session goes on.
            """,
        valueName: "size"), transform: { try MemorySize.parse($0) })
    var maxMemory: MemorySize?

    func validate() throws {
        if let maxInstructions, maxInstructions <= 0 {
            throw ValidationError("--max-instructions must be a positive number of instructions, not \(maxInstructions)")
        }
        if let timeout, !(timeout > 0 && timeout.isFinite) {
            throw ValidationError("--timeout must be a positive number of seconds, not \(timeout)")
        }
        if !allowRead.isEmpty && !sandbox {
            throw ValidationError("--allow-read widens what --sandbox lets a script read; without --sandbox a script reads any file")
        }
        if !allowMethod.isEmpty && !sandbox {
            throw ValidationError("--allow-method widens what --sandbox lets a script call; without --sandbox a script calls any method")
        }
        for name in allowMethod where name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            throw ValidationError("--allow-method '\(name)' is not a vSphere method name (such as PowerOnVM_Task)")
        }
        for path in allowRead where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("--allow-read \(path): no such file or directory")
        }
    }

    /// The runtime options for these flags; `moduleDirectories` are searched by `require`
    /// right after MOONMOTION_PATH.
    /// `secretFiles` are never readable under the sandbox (the password file), even in the
    /// script's directory.
    func runtimeOptions(moduleDirectories: [String] = [], secretFiles: [String] = []) -> LuaRuntime.Options {
        LuaRuntime.Options(
            sandbox: SandboxOptions(restrictsLibraries: sandbox, instructionLimit: maxInstructions, timeLimit: timeout,
                                    memoryLimit: memoryLimit, readablePaths: allowRead, unreadablePaths: secretFiles,
                                    allowedMethods: allowMethod),
            moduleDirectories: moduleDirectories)
    }

    /// The memory limit in bytes: `--max-memory`, else `sandboxMemoryDefault` under
    /// `--sandbox`, else none.
    var memoryLimit: Int? {
        if let maxMemory { return maxMemory.bytes }
        return sandbox ? LuaOptions.sandboxMemoryDefault : nil
    }

    /// The limit a sandboxed script gets unless `--max-memory` says otherwise: 1 GiB.
    /// A script someone handed you should not be able to take the machine (these runs share
    /// small admin VMs), yet the heaviest legitimate use must fit with room to spare: the
    /// storage-migration strategy through a whole run on a 100,000-VM simulated inventory
    /// peaks at 54 MiB of Lua heap (StrategyBenchmarkTests), so 1 GiB leaves about 19 times
    /// that. Without --sandbox the operator runs their own script: no limit, as before,
    /// unless asked.
    static let sandboxMemoryDefault = 1 << 30
    static let sandboxMemoryDefaultText = "1GiB"

}
