import LuaHost
import Synchronization

/// One REPL session: reads chunks, runs each as a coroutine, prints the results.
final class ReplSession: Sendable {
    let runtime: LuaRuntime
    let input: any LineInput
    let interactive: Bool
    private let failures = Atomic<Int>(0)
    /// Ctrl-Cs so far: one that comes while a line is read drops the statement being typed.
    private let interrupts = Atomic<Int>(0)

    /// Lua run once before the first line: the globals a session starts with.
    static let prelude = """
        mm = require "moonmotion"
        """

    /// Builds the function that renders results (moonmotion.pretty when it is found,
    /// tostring otherwise) and reports whether pretty printing is available.
    static let printerSource = """
        local ok, pretty = pcall(require, "moonmotion.pretty")
        local show = ok and pretty.show or tostring
        return function(...)
          local out = {}
          for i = 1, select("#", ...) do
            local done, text = pcall(show, (select(i, ...)))
            out[i] = done and text or ("<cannot print value: " .. tostring(text) .. ">")
          end
          return table.concat(out, "\\t")
        end, (not ok) and tostring(pretty) or nil
        """

    init(runtime: LuaRuntime, input: any LineInput, interactive: Bool) {
        self.runtime = runtime
        self.input = input
        self.interactive = interactive
    }

    /// Runs until end of input; returns how many entries failed.
    func run() async throws -> Int {
        let (printer, missingPretty) = try await runtime.perform { state -> (LuaRef, String?) in
            try state.run(ReplSession.prelude, chunkName: "=[repl]")
            let results = try state.callReturningReferences(try state.load(ReplSession.printerSource, chunkName: "=[repl]"))
            let warning = results.count > 1 ? try results[1].value().stringValue : nil
            return (results[0], warning)
        }
        runtime.setBackgroundErrorHandler { error in
            writeStandardError("background coroutine failed: " + error.description + "\n")
        }
        let runtime = self.runtime
        runtime.installInterruptSignalHandler { [self] _ in
            interrupts.add(1, ordering: .relaxed)
            runtime.interrupt()
        }
        if interactive {
            writeStandardOutput("Moonmotion \(MoonmotionVersion.current) (Lua 5.4). `mm` is loaded. Tab completes; Ctrl-D exits.\n")
            if let missingPretty {
                writeStandardError("note: moonmotion.pretty not found, printing with tostring (\(missingPretty.prefix(200))...)\n")
            }
        }

        var pending: String?
        while true {
            let seen = interrupts.load(ordering: .relaxed)
            guard let line = await input.readLine(prompt: pending == nil ? "> " : ">> ") else { break }
            if interrupts.load(ordering: .relaxed) != seen {
                // Ctrl-C while typing drops the statement being typed (the lines after `>>`
                // and this one), as lua and python do, instead of carrying it into the next.
                if pending != nil || !line.allSatisfy(\.isWhitespace) {
                    writeStandardError("interrupted: the unfinished statement was discarded\n")
                }
                pending = nil
                continue
            }
            let source = pending.map { $0 + "\n" + line } ?? line
            if pending == nil && source.allSatisfy(\.isWhitespace) { continue }
            let chunk = try await runtime.perform { state in state.compileInteractive(source) }
            switch chunk {
            case .incomplete:
                pending = source
            case .failed(let error):
                pending = nil
                input.addHistory(source)
                fail(error)
            case .complete(let function, _):
                pending = nil
                input.addHistory(source)
                await evaluate(function, printer: printer)
            }
        }
        if let pending {
            // End of input inside an unfinished statement: report what Lua says about it.
            let error = try await runtime.perform { state -> LuaError? in
                do {
                    _ = try state.load(pending, chunkName: "=stdin")
                    return nil
                } catch let error as LuaError {
                    return error
                } catch {
                    return LuaError(message: String(describing: error))
                }
            }
            if let error { fail(error) }
        }
        if interactive { writeStandardOutput("\n") }
        input.close()
        return failures.load(ordering: .relaxed)
    }

    private func evaluate(_ function: LuaRef, printer: LuaRef) async {
        let runtime = self.runtime
        do {
            // A Ctrl-C typed at the prompt has been handled; do not let it stop this entry.
            try await runtime.perform { _ in runtime.clearInterrupt() }
            let results = try await runtime.evaluate(function)
            guard !results.isEmpty else { return }
            let text = try await runtime.perform { state in
                try state.call(printer, referenceArguments: results).first?.stringValue ?? ""
            }
            writeStandardOutput(text + "\n")
        } catch let error as LuaError {
            fail(error)
        } catch {
            writeStandardError("\(error)\n")
            failures.add(1, ordering: .relaxed)
        }
    }

    private func fail(_ error: LuaError) {
        failures.add(1, ordering: .relaxed)
        writeStandardError(error.description + "\n")
    }
}
