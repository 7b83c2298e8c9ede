import ArgumentParser
import LuaHost

/// Options shared by the commands that run Lua: the sandbox and its limits.
struct LuaOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Run a script someone handed you with restricted libraries.",
        discussion: """
            Removes os.execute, io.popen, package.loadlib, os.exit, os.remove, os.rename, \
            os.getenv and the debug library; io.open reads only; load, loadfile, dofile and \
            require accept source text only (no bytecode); no C modules. Pass configuration \
            as name=value parameters instead of environment variables.
            """))
    var sandbox = false

    @Option(name: .customLong("max-instructions"), help: ArgumentHelp(
        "Stop the script after this many Lua VM instructions (counted in steps of 1000, across all coroutines).",
        valueName: "count"))
    var maxInstructions: Int?

    @Option(help: ArgumentHelp(
        "Stop the script after this many seconds of wall-clock time, whether it computes or waits.",
        valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let maxInstructions, maxInstructions <= 0 {
            throw ValidationError("--max-instructions must be a positive number of instructions, not \(maxInstructions)")
        }
        if let timeout, !(timeout > 0 && timeout.isFinite) {
            throw ValidationError("--timeout must be a positive number of seconds, not \(timeout)")
        }
    }

    /// The runtime options for these flags; `moduleDirectories` are searched by `require`
    /// right after MOONMOTION_PATH.
    func runtimeOptions(moduleDirectories: [String] = []) -> LuaRuntime.Options {
        LuaRuntime.Options(
            sandbox: SandboxOptions(restrictsLibraries: sandbox, instructionLimit: maxInstructions, timeLimit: timeout),
            moduleDirectories: moduleDirectories)
    }
}
