import ArgumentParser
import Foundation
import LuaBindings
import LuaHost
import VCenterModel

/// `moonmotion run SCRIPT [name=value ...] [-- args]`: a plain script, or a strategy
/// (a script that returns a table of hooks) run through the migration engine.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a Lua script, or a migration strategy through the engine.",
        discussion: """
            The script runs as a coroutine of Moonmotion's Lua runtime: `local mm = require \
            "moonmotion"` gives it mm.sleep(seconds), mm.spawn(fn, ...) (returns a handle; \
            handle:wait() returns fn's results), mm.yield(), mm.now() and mm.connect(). \
            Calls that wait suspend only the calling coroutine. A plain script's run ends \
            when the script and every coroutine it spawned have finished.

            name=value pairs after the script become the table `params` (values are \
            strings): moonmotion run move.lua datastore=new-01 limit=4 → params.datastore, \
            params.limit. Words after -- become arg[1], arg[2], ... and the script's `...`, \
            as with the lua interpreter; arg[0] is the script, and negative indices hold \
            the command line before it (a --url password removed; none under --sandbox).

            STRATEGIES. A script that returns a table of hooks (docs/LUA.md, "Strategies"; \
            start from examples/storage-migration.lua) is a strategy: the migration engine \
            runs it against the configured vCenter (--url or GOVC_URL) within vSphere's \
            limits, dispatching the next job the moment a task ends. With no vCenter \
            configured it runs against the built-in simulated vCenter — a generated \
            inventory (\(Backend.demoSpecText); --generate or --inventory to change it) whose \
            time runs fast enough that the run takes about a minute — and the first line \
            says so.
              Progress: on a terminal, a live display per cluster and overall (VMs, bytes, \
            rate, ETA, running tasks with %); otherwise a log line every few seconds and \
            one line per failed or skipped job. Then a summary: moved, failed with \
            reasons, skipped, duration. --events FILE writes every job and task \
            transition as JSON lines.
              Journal: against a real vCenter the run is journaled (SQLite) to \
            <script name>.journal in the current directory unless --journal FILE says \
            otherwise: the intent is on disk before each vCenter call and the task after \
            it, so after a crash or kill -9, --resume re-attaches running tasks, records \
            finished ones and continues without moving any VM twice. A journal holding an \
            unfinished run refuses a new run until you --resume it (or pick another file).
              Ctrl-C once: start nothing new, let running tasks finish, exit. Twice: leave \
            the running tasks running in vCenter and exit at once; the journal records \
            them and --resume picks them up.
              A journal belongs to the vCenter it was started on: --resume against \
            another vCenter (another about.instanceUuid) is refused and changes nothing; \
            another strategy file or other parameters are only warned about.
              Limits: vSphere's costs per host, datastore and vMotion network, the \
            strategy's per-cluster limits, and at most 256 jobs at once in the vCenter \
            (the strategy's vcenter_limits hook, or --max-concurrent N, changes that).
              --dry-run prints the ordered plan (VM, size, from → to, explicit host \
            moves) and starts nothing. Pro-active vMotions are decided while the run \
            goes, so the plan does not list them; `moonmotion plan` predicts them, and \
            how long a strategy takes.
              The strategy options (--dry-run, --journal, --no-journal, --resume, \
            --events, --max-concurrent, --generate, --inventory, --speed) may also follow the script.

            Exit status: 0 on success (for a strategy: every job done or deliberately \
            skipped); 1 when the script fails (the message, e.g. `script.lua:12: text`, \
            and a stack traceback go to stderr), when a strategy's jobs failed, the \
            strategy aborted or the run could not start; 130 after Ctrl-C, which stops \
            even a busy loop (for a strategy: after the run stopped or was abandoned). An \
            uncaught error in any coroutine fails the run and cancels whatever the others \
            were waiting for.

            Examples:
              moonmotion run examples/hello-coroutines.lua
              moonmotion run plan.lua cluster=prod-a -- --verbose
              moonmotion run --sandbox --timeout 60 customer-strategy.lua
              moonmotion run examples/storage-migration.lua           (the simulated demo)
              moonmotion run examples/storage-migration.lua --generate clusters=2,vms=100
              moonmotion run --url vc01 examples/storage-migration.lua from='ds-old-*' --dry-run
              moonmotion run --url vc01 --events run.jsonl examples/storage-migration.lua
              GOVC_URL=admin@vc01 moonmotion run examples/storage-migration.lua --resume
            """
    )

    @OptionGroup var lua: LuaOptions
    @OptionGroup(title: "vCenter") var connection: ConnectionOptions
    @OptionGroup(title: "Strategies (these may also follow the script)") var strategyOptions: StrategyRunOptions

    @Argument(help: ArgumentHelp("The Lua script to run.", valueName: "script"))
    var script: String

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(
        "name=value parameters (the script reads params.<name>, strings), then -- and arguments for the script (arg[1...] and `...`). Options go before the script (the strategy options may also follow it).",
        valueName: "name=value ... -- arg"))
    var rest: [String] = []

    /// `rest` split at `--`: the parameters, the strategy options among them, and the
    /// script's arguments.
    private var split: (parameters: [String], options: [String], arguments: [String]) {
        let dashes = rest.firstIndex(of: "--") ?? rest.endIndex
        let (options, parameters) = StrategyRunOptions.extract(from: Array(rest[..<dashes]))
        return (parameters, options, dashes < rest.endIndex ? Array(rest[(dashes + 1)...]) : [])
    }

    /// The strategy options given before and after the script.
    private func effectiveStrategyOptions() throws -> StrategyRunOptions {
        let after = split.options
        guard !after.isEmpty else { return strategyOptions }
        let later: StrategyRunOptions
        do {
            later = try StrategyRunOptions.parse(after)
        } catch {
            throw ValidationError(StrategyRunOptions.message(for: error))
        }
        let merged = strategyOptions.merged(with: later)
        try merged.validate()
        return merged
    }

    func validate() throws {
        _ = try effectiveStrategyOptions()
        if let option = split.parameters.first(where: { $0.hasPrefix("-") && !$0.contains("=") }) {
            throw ValidationError("""
                '\(option)' comes after the script: options go before it \
                (moonmotion run \(option) ... \(script)) — only the strategy options (--dry-run, --journal, \
                --resume, --events, …) may also follow it; arguments for the script go after --
                """)
        }
        _ = try ScriptParameters(split.parameters)
    }

    mutating func run() async throws {
        let (parameters, _, after) = split
        let params = try ScriptParameters(parameters)
        let engineOptions = try effectiveStrategyOptions()
        let runtime = try LuaRuntime(options: lua.runtimeOptions(moduleDirectories: [Self.directory(of: script)], secretFiles: connection.secretFiles))
        defer { runtime.shutdown() }
        runtime.installInterruptSignalHandler()
        let connector: VCenterConnector = engineOptions.dryRun ? Self.dryRunConnector : connection.connector(sandboxed: lua.sandbox)
        let bindings = try LuaBindings.install(into: runtime, connector: connector)

        let before = ScriptArgumentTable.wordsBefore(script: script, in: CommandLine.arguments, sandboxed: lua.sandbox)
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
            // What the main chunk returned. Like `lua`, plain scripts' results are ignored;
            // a strategy script returns a table of hooks, which the migration engine runs.
            let strategy: LuaStrategy?
            do {
                strategy = try await LuaStrategy.load(runtime: runtime, scriptResult: returned, name: script)
            } catch let error as LuaStrategyError {
                await bindings.closeAll()
                writeStandardError("moonmotion: \(error)\n")
                throw ExitCode.failure
            }
            guard let strategy else {
                await bindings.closeAll()
                try Self.checkPlainScript(script, options: engineOptions)
                return
            }
            let status = await StrategyRun(strategy: strategy, runtime: runtime, script: script, parameters: params.values,
                                           options: engineOptions, connection: connection).execute()
            await bindings.closeAll()
            if status != 0 { throw ExitCode(status) }
        } catch let error as LuaError {
            ScriptFailure.report(error)
            throw ExitCode(ScriptFailure.exitCode(for: error))
        }
    }

    /// `mm.connect` under `--dry-run`: refused, since a script that connects from its main
    /// chunk would act before the engine could keep it to a plan.
    static let dryRunConnector: VCenterConnector = { _ in
        throw VCenterFault(type: "DryRun", message: """
            --dry-run only plans strategies (scripts that return a table of hooks), and this script \
            connects to vCenter from its main chunk; nothing was started. Run it without --dry-run
            """)
    }

    /// After a plain script (it returned no strategy): strategy options were meaningless.
    /// `--dry-run` is an error (the script ran for real), the others a warning.
    static func checkPlainScript(_ script: String, options: StrategyRunOptions) throws {
        guard options.anyGiven else { return }
        let what = "\(script) returned no strategy table (a table of hooks: docs/LUA.md, \"Strategies\")"
        if options.dryRun {
            writeStandardError("moonmotion: --dry-run: \(what), so there was no plan to print; its main chunk ran as a plain script\n")
            throw ExitCode.failure
        }
        writeStandardError("moonmotion: warning: --journal, --resume, --events, --max-concurrent, --generate, --inventory, --speed and --array apply to strategies; \(what)\n")
    }

    /// The directory of `path` (searched by `require` so a script finds its neighbours).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
