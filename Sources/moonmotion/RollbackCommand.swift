import ArgumentParser
import Foundation
import LuaHost
import MigrationEngine
import VCenterModel

/// `moonmotion rollback JOURNAL [--dry-run]`: moves every VM the journal's run moved back to
/// the datastores (per file) and host it came from, as a new journaled run (`RollbackPlan`,
/// `RollbackStrategy`), through the same engine, limits and options as `run`.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Move every VM a run moved back where it came from (files and host).",
        discussion: """
            Reads the newest run in JOURNAL (the file `moonmotion run --journal` writes) and \
            moves each VM it moved back: every file the run copied to the datastore it was \
            on before (per file: a VM whose disks were on several datastores gets each one \
            back where it was), and the VM to the host it was on when the run moved it \
            (a strategy's host move or a pro-active vMotion). One relocation per VM.

            Before anything moves, each VM is checked against vCenter's inventory now, and \
            left alone — listed with the reason, never stopping the others — when its files \
            or host are no longer where the run put them (moved again since), when it no \
            longer exists, or when its origin datastore or host no longer exists (or the \
            host is disconnected or in maintenance mode). Jobs the run never finished \
            (failed, skipped, not started, interrupted) moved nothing the journal vouches \
            for: they are listed and not rolled back.

            The rollback is a run like any other: journaled (to JOURNAL.rollback unless \
            --journal FILE says otherwise; `moonmotion status` and `report` read it; after \
            a crash or Ctrl-C, `moonmotion rollback JOURNAL --resume` continues it), under \
            the engine's limits (vSphere's costs per host and datastore, --max-concurrent), \
            with the live display, --events, --listen, --report, --window as `run` has them.

            --dry-run prints what would move (each VM, each file from → to with its bytes, \
            the host from → to), what is left alone and why, and exits without moving anything.

            Refused: a journal whose run is still running (its writer process is alive: \
            wait for it, or stop it first), and a vCenter other than the run's (another \
            about.instanceUuid). With no vCenter configured the built-in simulator is used, \
            as for `run` (--inventory FILE to give it the inventory the run left).

            Exit status: 0 when every VM that could go back did; 1 when a move failed or the \
            rollback could not start; 130 after Ctrl-C.

            Examples:
              moonmotion rollback wave1.journal --dry-run
              moonmotion rollback --url vc01 wave1.journal
              moonmotion rollback --url vc01 wave1.journal --max-concurrent 8
              moonmotion rollback --url vc01 wave1.journal --resume
            """
    )

    @OptionGroup(title: "vCenter") var connection: ConnectionOptions
    @OptionGroup(title: "The rollback run (as for `run`)") var options: StrategyRunOptions

    @Argument(help: ArgumentHelp("The journal of the run to roll back.", valueName: "journal"))
    var journal: String

    func validate() throws {
        if options.noJournal {
            throw ValidationError("a rollback is always journaled (so --resume can continue it); drop --no-journal")
        }
        if options.plan != nil {
            throw ValidationError("--plan applies to `run`; a rollback has no plan of its own (use --dry-run to see what it moves)")
        }
    }

    /// The rollback's own journal: `--journal`, else JOURNAL.rollback.
    var rollbackJournal: String { options.journal ?? journal + ".rollback" }

    mutating func run() async throws {
        let source: (run: JournalRun, jobs: [Job], names: [MoRef: String])
        do {
            source = try Self.readRun(journal)
        } catch let error as RollbackRefusal {
            writeStandardError("moonmotion: \(error.description)\n")
            throw ExitCode.failure
        } catch {
            throw CommandFailure.exit(error)
        }
        if Self.samePath(rollbackJournal, journal) {
            writeStandardError("moonmotion: --journal \(rollbackJournal) is the journal being rolled back (\(journal)); give the rollback another file\n")
            throw ExitCode.failure
        }

        let backend: Backend
        do {
            backend = try await Backend.make(connection: connection, options: options)
        } catch {
            writeStandardError("moonmotion: \(error)\n")
            throw ExitCode.failure
        }
        if let banner = backend.banner { writeStandardOutput(banner + "\n") }
        let status = await rollBack(source, on: backend)
        await backend.close()
        if status != 0 { throw ExitCode(status) }
    }

    private func rollBack(_ source: (run: JournalRun, jobs: [Job], names: [MoRef: String]), on backend: Backend) async -> Int32 {
        // The run's objects are MoRef ids, unique only within its vCenter: another vCenter's
        // VM of the same id is another VM. Checked before anything is read or moved.
        let identity = (try? await backend.vcenter.about()).map { $0.instanceUuid.trimmingCharacters(in: .whitespaces) }
        if let recorded = source.run.vcenterUUID, let identity, !identity.isEmpty,
           recorded.caseInsensitiveCompare(identity) != .orderedSame {
            writeStandardError("""
                moonmotion: the run in \(journal) was made on \(source.run.vcenter) (instanceUuid \(recorded)), but this is \
                \(backend.vcenter.displayName) (instanceUuid \(identity)); nothing was moved. Roll it back against the vCenter \
                it was made on\n
                """)
            return 1
        }
        if source.run.vcenterUUID == nil || (identity ?? "").isEmpty {
            writeStandardError("moonmotion: warning: cannot check that \(backend.vcenter.displayName) is the vCenter the run was made on (\(source.run.vcenter)): no instanceUuid to compare\n")
        }
        if source.run.state == "running" {
            writeStandardError("moonmotion: warning: the run in \(journal) was interrupted: its jobs still running then are not rolled back (`moonmotion run … --resume` records how they ended)\n")
        }

        if !options.resume {
            // The listing, from the inventory now; the run re-checks against the inventory it
            // reads at its start, so a VM that moves in between is still left alone.
            let inventory: Inventory
            do {
                inventory = try await backend.vcenter.inventory()
            } catch {
                writeStandardError("moonmotion: cannot read the inventory: \(error)\n")
                return 1
            }
            let plan = RollbackPlan.make(jobs: source.jobs, inventory: inventory)
            var names = source.names
            for vm in inventory.vms { names[vm.ref] = vm.name }
            for h in inventory.hosts { names[h.ref] = h.name }
            for d in inventory.datastores { names[d.ref] = d.name }
            writeStandardOutput("rollback of run \(source.run.id) in \(journal) (\(source.run.strategy), started \(Self.timeText(source.run.startedAt)), \(source.run.outcome ?? source.run.state)):\n")
            writeStandardOutput(plan.lines(names: names).map { $0 + "\n" }.joined())
            if options.dryRun {
                writeStandardOutput("dry run: nothing was moved\n")
                return 0
            }
            if plan.moves.isEmpty {
                writeStandardOutput("nothing to move back\n")
                return 0
            }
        }
        writeStandardError("moonmotion: rollback journal: \(rollbackJournal) (if interrupted, continue with `moonmotion rollback \(journal) --resume`)\n")

        let runtime: LuaRuntime
        do {
            runtime = try LuaRuntime()
        } catch {
            writeStandardError("moonmotion: \(error)\n")
            return 1
        }
        defer { runtime.shutdown() }
        runtime.installInterruptSignalHandler()
        var runOptions = options
        runOptions.journal = rollbackJournal
        let strategy = RollbackStrategy(jobs: source.jobs)
        let name = "rollback of " + (journal as NSString).lastPathComponent
        return await StrategyRun(strategy: strategy, runtime: runtime, script: name,
                                 parameters: ["journal": journal, "run": String(source.run.id)],
                                 options: runOptions, connection: connection).execute(on: backend)
    }

    /// The newest run of the journal at `path`, its jobs and the names its start recorded;
    /// refuses a run whose writer still runs.
    static func readRun(_ path: String) throws -> (run: JournalRun, jobs: [Job], names: [MoRef: String]) {
        let journal = try Journal(path: path, access: .read)
        guard let run = try journal.latestRun() else {
            throw RollbackRefusal("\(path) holds no run to roll back")
        }
        if run.state == "running" && journal.writerIsAlive {
            throw RollbackRefusal("""
                the run in \(path) is still running (\(journal.lastWriter ?? "another process") holds \(path).lock; \
                `moonmotion status \(path)` shows it): wait for it to end, or stop it (Ctrl-C) first; nothing was moved
                """)
        }
        let jobs = try journal.jobs(of: run.id).map(\.job)
        var names: [MoRef: String] = [:]
        if let started = try journal.latestEvent(of: run.id, type: "run-started"),
           let record = try? JSONDecoder().decode(EventRecord.self, from: Data(started.detail.utf8)) {
            for (ref, name) in record.names ?? [:] { if let r = MoRef(parsing: ref) { names[r] = name } }
        }
        return (run, jobs, names)
    }

    /// Whether two paths name one file (`./a.journal` and `a.journal`, a symbolic link): the
    /// rollback must never append its run to the journal it reads.
    static func samePath(_ a: String, _ b: String) -> Bool {
        func canonical(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        return canonical(a) == canonical(b)
    }

    static func timeText(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

/// Why a journal cannot be rolled back, as one line.
struct RollbackRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
