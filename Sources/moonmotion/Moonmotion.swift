import ArgumentParser
import LuaHost

/// The `moonmotion` command: subcommands only (see `subcommands`).
@main
struct Moonmotion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moonmotion",
        abstract: "Mass VM migrations on VMware vCenter, driven by Lua scripts.",
        discussion: """
            Moonmotion embeds Lua 5.4. Scripts and strategies are plain Lua files; \
            `local mm = require "moonmotion"` gives them the runtime: mm.sleep, mm.spawn \
            (thousands of concurrent coroutines on one thread), and the vCenter API.

            Start with `moonmotion repl` to try things interactively, or \
            `moonmotion run script.lua` to run a script. `moonmotion help <command>` \
            explains each command.

            Lua modules are found in MOONMOTION_PATH (Lua path syntax, e.g. \
            "/opt/strategies/?.lua"), the script's directory, the checkout's stdlib/ and \
            <prefix>/share/moonmotion/stdlib.
            """,
        version: MoonmotionVersion.current,
        subcommands: Moonmotion.subcommands
    )

    /// Parses the arguments, after hiding any password in them from other processes' view of
    /// the command line (`ProcessTitle`).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        ProcessTitle.hidePasswords()
        await Self.main(arguments)
    }

    /// Every subcommand, in the order `--help` lists them. Adding one is one line here.
    static let subcommands: [any ParsableCommand.Type] = [
        RunCommand.self,
        PlanCommand.self,
        ReplCommand.self,
        InventoryCommand.self,
        TasksCommand.self,
        StatusCommand.self,
        ReportCommand.self,
        RollbackCommand.self,
    ]
}
