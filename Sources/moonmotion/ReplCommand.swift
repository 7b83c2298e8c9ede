import Foundation
import ArgumentParser
import LuaBindings
import LuaHost
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `moonmotion repl`: Lua 5.4's interactive mode with Moonmotion loaded.
struct ReplCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Interactive Lua with Moonmotion loaded.",
        discussion: """
            Type Lua as in the lua interpreter: an expression prints its values (tables and \
            userdata pretty-printed by moonmotion.pretty; `=expr` works too), a statement \
            runs, and an unfinished statement continues on the next line (prompt >>). The \
            global `mm` is the moonmotion module.

            On a terminal: line editing, history in ~/.moonmotion_history, and Tab completes \
            globals, fields and methods (string.fo<Tab>, conn:mo<Tab>). Coroutines started \
            with mm.spawn keep running while you type; their errors are printed as they happen. \
            Ctrl-C interrupts what is running (even a busy loop) and stops background \
            coroutines; while you type, it drops the unfinished statement. Ctrl-D exits.

            When stdin is not a terminal, lines are read without prompts or editing and each \
            result is printed on stdout, errors on stderr; the exit status is 1 if any line \
            failed. This is how scripts and tests drive the REPL:
              printf '1 + 1\\n' | moonmotion repl
            """
    )

    @OptionGroup var lua: LuaOptions
    @OptionGroup(title: "vCenter") var connection: ConnectionOptions

    @Option(name: .customLong("history-file"), help: ArgumentHelp(
        "Where to keep the history of entered lines (default: ~/.moonmotion_history).", valueName: "path"))
    var historyFile: String?

    @Flag(name: .customLong("no-history"), help: "Do not read or write a history file.")
    var noHistory = false

    mutating func run() async throws {
        let runtime = try LuaRuntime(options: lua.runtimeOptions(moduleDirectories: ["."], secretFiles: connection.secretFiles))
        defer { runtime.shutdown() }
        let bindings = try LuaBindings.install(into: runtime, connector: connection.connector(sandboxed: lua.sandbox))
        if connection.isServerConfigured || connection.simulate {
            // `conn` is ready to use when a server is configured (flags or GOVC_URL) or simulated.
            do {
                let connected = try await connection.connect()
                try bindings.setGlobalConnection(connected, named: "conn", in: runtime)
                FileHandle.standardError.write(Data("conn: connected to \(connected.vcenter.displayName)\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("moonmotion: not connected (\(error)); mm.connect{...} connects later\n".utf8))
            }
        }
        let interactive = isatty(0) != 0
        let input: any LineInput = interactive
            ? LineEditor(runtime: runtime, historyPath: noHistory ? nil : historyPath())
            : PlainLineInput()
        let session = ReplSession(runtime: runtime, input: input, interactive: interactive)
        let failures: Int
        do {
            failures = try await session.run()
        } catch {
            await bindings.closeAll()
            throw error
        }
        await bindings.closeAll()
        if !interactive && failures > 0 { throw ExitCode(1) }
    }

    private func historyPath() -> String? {
        if let historyFile { return historyFile }
        guard let home = getenv("HOME") else { return nil }
        return String(cString: home) + "/.moonmotion_history"
    }
}
