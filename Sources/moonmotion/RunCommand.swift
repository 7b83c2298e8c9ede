import ArgumentParser
import LuaBindings
import LuaHost

/// `moonmotion run SCRIPT [name=value ...] [-- args]`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a Lua script.",
        discussion: """
            The script runs as a coroutine of Moonmotion's Lua runtime: `local mm = require \
            "moonmotion"` gives it mm.sleep(seconds), mm.spawn(fn, ...) (returns a handle; \
            handle:wait() returns fn's results), mm.yield() and mm.now(). Calls that wait \
            suspend only the calling coroutine. The run ends when the script and every \
            coroutine it spawned have finished.

            name=value pairs after the script become the table `params` (values are \
            strings): moonmotion run move.lua datastore=new-01 limit=4 → params.datastore, \
            params.limit. Words after -- become arg[1], arg[2], ... and the script's `...`, \
            as with the lua interpreter; arg[0] is the script.

            Exit status: 0 on success; 1 when the script fails (the message, e.g. \
            `script.lua:12: text`, and a stack traceback go to stderr); 130 after Ctrl-C, \
            which stops even a busy loop. An uncaught error in any coroutine fails the run \
            and cancels whatever the others were waiting for.

            Examples:
              moonmotion run examples/hello.lua
              moonmotion run plan.lua cluster=prod-a -- --verbose
              moonmotion run --sandbox --timeout 60 customer-strategy.lua
            """
    )

    @OptionGroup var lua: LuaOptions
    @OptionGroup(title: "vCenter") var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("The Lua script to run.", valueName: "script"))
    var script: String

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(
        "name=value parameters (the script reads params.<name>, strings), then -- and arguments for the script (arg[1...] and `...`). Options go before the script.",
        valueName: "name=value ... -- arg"))
    var rest: [String] = []

    /// `rest` split at `--`: the parameters and the script's arguments.
    private var split: (parameters: [String], arguments: [String]) {
        guard let dashes = rest.firstIndex(of: "--") else { return (rest, []) }
        return (Array(rest[..<dashes]), Array(rest[(dashes + 1)...]))
    }

    func validate() throws {
        if let option = split.parameters.first(where: { $0.hasPrefix("-") && !$0.contains("=") }) {
            throw ValidationError("""
                '\(option)' comes after the script: options go before it \
                (moonmotion run \(option) ... \(script)); arguments for the script go after --
                """)
        }
        _ = try ScriptParameters(split.parameters)
    }

    mutating func run() async throws {
        let (parameters, after) = split
        let params = try ScriptParameters(parameters)
        let runtime = try LuaRuntime(options: lua.runtimeOptions(moduleDirectories: [Self.directory(of: script)]))
        defer { runtime.shutdown() }
        runtime.installInterruptSignalHandler()
        let bindings = try LuaBindings.install(into: runtime, connector: connection.connector())

        let before = ScriptArgumentTable.wordsBefore(script: script, in: CommandLine.arguments)
        let script = self.script
        try await runtime.perform { state in
            state.setGlobal("params", params.table)
            try state.run(ScriptArgumentTable.builder, chunkName: "=[arg]", arguments: [
                .table(LuaTable(array: before.map { .string($0) })), .string(script),
                .table(LuaTable(array: after.map { .string($0) })),
            ])
        }

        do {
            let returned: [LuaRef]
            do {
                returned = try await runtime.run(file: script, arguments: after.map { .string($0) })
            } catch {
                await bindings.closeAll()  // log out what the script left open
                throw error
            }
            await bindings.closeAll()
            // What the main chunk returned. Like `lua`, plain scripts' results are ignored;
            // a strategy script returns a table of hooks, which the migration engine runs.
            _ = returned
        } catch let error as LuaError {
            ScriptFailure.report(error)
            throw ExitCode(ScriptFailure.exitCode(for: error))
        }
    }

    /// The directory of `path` (searched by `require` so a script finds its neighbours).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
