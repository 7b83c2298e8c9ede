import Foundation
import ArgumentParser
import RunNotifications
import MigrationEngine
import VCenterSimulator
import StatusServer

/// The options of `moonmotion run` that matter when the script is a strategy (it returns a
/// table of hooks): dry run, journal, resume, events file, and the built-in simulator's
/// inventory and speed. Unlike the other options they may also follow the script, as in
/// `moonmotion run storage-migration.lua from='legacy-*' --dry-run`
/// (`extract(from:)` finds them among the words after it).
struct StrategyRunOptions: ParsableArguments {
    @Flag(name: .customLong("dry-run"), help: ArgumentHelp(
        "Print the ordered plan (VM, size, from → to, host moves) and start nothing.",
        discussion: "Only for strategy scripts. The script's main chunk may not connect to vCenter (mm.connect) under --dry-run. Pro-active vMotions are decided while the run goes and are not listed; `moonmotion plan` predicts them."))
    var dryRun = false

    @Option(help: ArgumentHelp(
        "The run's journal (SQLite). Default against a real vCenter: <script name>.journal in the current directory; against the simulator: none.",
        valueName: "file"))
    var journal: String?

    @Flag(name: .customLong("no-journal"), help: ArgumentHelp(
        "Run against a real vCenter without a journal (a crash then loses track of running tasks; not recommended)."))
    var noJournal = false

    @Flag(help: ArgumentHelp(
        "Continue the journal's unfinished run: re-attach running tasks, record finished ones, go on. A journal that does not exist yet starts a new run."))
    var resume = false

    @Option(help: ArgumentHelp("Write every job and task transition as a JSON line to this file.", valueName: "file"))
    var events: String?

    @Option(name: .customLong("max-concurrent"), help: ArgumentHelp(
        "At most N jobs running at once in the whole vCenter (1-\(MaxConcurrentOption.limit); default: the strategy's vcenter_limits, else 256).",
        discussion: "Wins over the strategy's vcenter_limits hook. The per-cluster and per-host limits still apply.",
        valueName: "N"))
    var maxConcurrent: Int?

    @Option(help: ArgumentHelp(
        "With no vCenter configured: the simulated inventory to generate (default \(Backend.demoSpecText)).",
        discussion: "Keys: clusters, hosts (per cluster), vms, from, to, datastores, shared, seed, size, sigma, minsize, maxsize, memory, snapshots, consolidate, capacity, link.",
        valueName: "spec"))
    var generate: String?

    @Option(help: ArgumentHelp(
        "With no vCenter configured: simulate this inventory (a `moonmotion inventory --json` file) instead of a generated one.",
        valueName: "file"))
    var inventory: String?

    @Option(help: ArgumentHelp(
        "With no vCenter configured: simulated seconds per real second (default: chosen so moving every VM at half of each cluster's hosts takes about \(Int(Backend.demoSeconds)) s).",
        valueName: "factor"))
    var speed: Double?

    @Option(name: .customLong("array"), help: ArgumentHelp(
        "With no vCenter configured: a storage array whose bandwidth its copies share, NAME=GLOB[|GLOB...]:MBPS[:knee=K][:loss=L][:floor=F] (repeatable; as `moonmotion plan --array`).",
        valueName: "spec"))
    var arrays: [String] = []

    @Option(name: .customLong("notify"), help: ArgumentHelp(
        "POST a JSON message to this webhook when the run starts, a job fails for good and the run ends (repeatable). Slack and Teams incoming webhooks accept it: docs/NOTIFICATIONS.md.",
        valueName: "url"))
    var notify: [String] = []

    @Option(name: .customLong("window"), help: ArgumentHelp(
        "Change windows, e.g. \"Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00\" (local time, or --tz): a move starts only if it is predicted to end inside the window open now; outside, nothing new starts.",
        valueName: "windows"))
    var window: String?

    @Option(name: .customLong("tz"), help: ArgumentHelp("The time zone of --window (e.g. Europe/Berlin; default: this machine's).", valueName: "zone"))
    var timeZone: String?

    @Flag(name: .customLong("until-window-end"), help: ArgumentHelp(
        "When the window closes, let running moves finish and exit (status 0); --resume continues in the next window. Without it the run waits for the next window."))
    var untilWindowEnd = false

    /// The change windows asked for (validated in `validate()`).
    var changeWindows: ChangeWindows? {
        guard let window else { return nil }
        return try? ChangeWindows(parsing: window, timeZone: timeZone.flatMap(TimeZone.init(identifier:)) ?? .current)
    }

    @Option(help: ArgumentHelp(
        "Serve a live status page, /api/status and /metrics on ADDR:PORT while the run goes (e.g. 127.0.0.1:8080).",
        discussion: "Loopback addresses only, unless --listen-token or --listen-token-file is given: every request then needs the token (Authorization: Bearer TOKEN, or ?token=TOKEN in the page's address).",
        valueName: "addr:port"))
    var listen: String?

    @Option(name: .customLong("listen-token"), help: ArgumentHelp(
        "The token every request to --listen needs (at least 16 characters). Prefer --listen-token-file: a command line is visible to other users.",
        valueName: "token"))
    var listenToken: String?

    @Option(name: .customLong("listen-token-file"), help: ArgumentHelp(
        "Read the --listen token from this file (its first line).", valueName: "file"))
    var listenTokenFile: String?

    @Option(help: ArgumentHelp(
        "At the end of the run — also after Ctrl-C, an abort or a failure — write report.html and report.csv into this directory.",
        discussion: "The report is made from the run's journal (`moonmotion report JOURNAL --out DIR` makes it again, from any journal, even of a killed run). Without --journal against the simulator, the run journals to DIR/<script name>.journal. Not with --no-journal or --dry-run.",
        valueName: "dir"))
    var report: String?

    @Option(help: ArgumentHelp(
        "The plan the run is held to: `moonmotion plan --out DIR`'s DIR/plan.json. Kept in the journal; the report sets the run beside it.",
        discussion: "The report's planned-vs-actual part: makespan, VMs and bytes moved, each cluster's finish. Needs a journal (not with --no-journal; against the simulator give --journal or --report).",
        valueName: "plan.json"))
    var plan: String?

    func validate() throws {
        if listenToken != nil && listenTokenFile != nil {
            throw ValidationError("--listen-token and --listen-token-file both give the token; give one of them")
        }
        if (listenToken != nil || listenTokenFile != nil) && listen == nil {
            throw ValidationError("--listen-token only applies with --listen ADDR:PORT")
        }
        if let listen {
            let address: ListenAddress
            do { address = try ListenAddress(parsing: listen) } catch { throw ValidationError(error.description) }
            if !address.isLoopback && listenToken == nil && listenTokenFile == nil {
                throw ValidationError(StatusServerError.tokenRequired(address).description)
            }
            if dryRun { throw ValidationError("--dry-run starts nothing, so there is nothing to --listen to; give one of them") }
        }
        for spec in arrays {
            do { _ = try StorageArray(parsing: spec) } catch { throw ValidationError("--array: \(error)") }
        }
        if let timeZone, TimeZone(identifier: timeZone) == nil {
            throw ValidationError("--tz '\(timeZone)' is not a time zone (e.g. Europe/Berlin, America/New_York, UTC)")
        }
        if let window {
            do { _ = try ChangeWindows(parsing: window) } catch { throw ValidationError("--window: \(error)") }
        } else if timeZone != nil || untilWindowEnd {
            throw ValidationError("--tz and --until-window-end need --window")
        }
        for url in notify {
            if let problem = Notifier.problem(with: url) { throw ValidationError("--notify: \(problem)") }
        }
        if generate != nil && inventory != nil {
            throw ValidationError("--generate and --inventory both choose the simulated inventory; give one of them")
        }
        if let speed, !(speed > 0 && speed.isFinite) {
            throw ValidationError("--speed must be a positive number of simulated seconds per real second, not \(speed)")
        }
        if journal != nil && noJournal {
            throw ValidationError("--journal and --no-journal contradict each other; give one of them")
        }
        if resume && noJournal {
            throw ValidationError("--resume continues from a journal; it cannot be used with --no-journal")
        }
        if let maxConcurrent, let problem = MaxConcurrentOption.problem(maxConcurrent) {
            throw ValidationError("--max-concurrent: \(problem)")
        }
        if report != nil && noJournal {
            throw ValidationError("--report is made from the run's journal; it cannot be used with --no-journal")
        }
        if plan != nil && noJournal {
            throw ValidationError("--plan is kept in the run's journal; it cannot be used with --no-journal")
        }
        if report != nil && dryRun {
            throw ValidationError("--dry-run starts nothing, so there is nothing to --report; give one of them")
        }
        if dryRun && resume {
            throw ValidationError("--dry-run starts nothing, so there is nothing to --resume; give one of them")
        }
    }

    /// Whether any of these options was given (they only apply to strategy scripts).
    var anyGiven: Bool {
        dryRun || journal != nil || noJournal || resume || events != nil || generate != nil || inventory != nil || speed != nil
            || maxConcurrent != nil || !notify.isEmpty || window != nil || timeZone != nil || untilWindowEnd || !arrays.isEmpty || listen != nil || listenToken != nil || listenTokenFile != nil
            || report != nil || plan != nil
    }

    /// These options with those of `later` (given after the script) taking precedence.
    func merged(with later: StrategyRunOptions) -> StrategyRunOptions {
        var m = self
        m.dryRun = dryRun || later.dryRun
        m.noJournal = noJournal || later.noJournal
        m.resume = resume || later.resume
        m.journal = later.journal ?? journal
        m.events = later.events ?? events
        m.generate = later.generate ?? generate
        m.inventory = later.inventory ?? inventory
        m.speed = later.speed ?? speed
        m.maxConcurrent = later.maxConcurrent ?? maxConcurrent
        m.notify = notify + later.notify
        m.window = later.window ?? window
        m.timeZone = later.timeZone ?? timeZone
        m.untilWindowEnd = untilWindowEnd || later.untilWindowEnd
        m.arrays = arrays + later.arrays
        m.listen = later.listen ?? listen
        m.listenToken = later.listenToken ?? listenToken
        m.listenTokenFile = later.listenTokenFile ?? listenTokenFile
        m.report = later.report ?? report
        m.plan = later.plan ?? plan
        return m
    }

    /// Options that take a value (`--journal FILE` or `--journal=FILE`).
    static let valueOptions: Set<String> = ["--journal", "--events", "--generate", "--inventory", "--speed", "--max-concurrent", "--notify", "--window", "--tz", "--array",
                                            "--listen", "--listen-token", "--listen-token-file", "--report", "--plan"]
    /// Options without a value.
    static let flagOptions: Set<String> = ["--dry-run", "--no-journal", "--resume", "--until-window-end"]

    /// Splits the words after the script (before `--`) into these options (with their
    /// values) and the rest (name=value parameters, and anything else for the caller to
    /// reject). A value option at the very end keeps its name only, so parsing reports
    /// the missing value.
    static func extract(from words: [String]) -> (options: [String], rest: [String]) {
        var options: [String] = [], rest: [String] = []
        var i = 0
        while i < words.count {
            let word = words[i]
            let name = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? word
            if flagOptions.contains(name) {
                options.append(word)
            } else if valueOptions.contains(name) {
                if !word.contains("="), i + 1 < words.count {
                    // `--name=value`: the value may start with '-' (`--speed -1` is then reported as a bad speed).
                    options.append(word + "=" + words[i + 1])
                    i += 1
                } else {
                    options.append(word)
                }
            } else {
                rest.append(word)
            }
            i += 1
        }
        return (options, rest)
    }
}
