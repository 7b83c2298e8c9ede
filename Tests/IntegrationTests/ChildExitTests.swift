import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `Process.endStatus`, which every process-driving test relies on: a child's end is seen
/// from the kernel, with the status `terminationStatus` would give, and the child is left
/// for Foundation to reap.
@Suite struct ChildExitTests {
    static func start(_ script: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    static func end(_ p: Process) async throws -> Int32? {
        // 30 s only bounds a broken wait; a child of `exit 3` ends within milliseconds.
        await p.ended(within: 30)
    }

    @Test func exitCodesAndSignalsAsTerminationStatusGivesThem() async throws {
        let exits = try Self.start("exit 3")
        #expect(try await Self.end(exits) == 3)

        let sleeper = try Self.start("exec sleep 30")
        #expect(!sleeper.hasEnded && sleeper.endStatus == nil)
        kill(sleeper.processIdentifier, SIGKILL)
        #expect(try await Self.end(sleeper) == SIGKILL)

        // Foundation still reaps them: its own view agrees in the end.
        let deadline = Date().addingTimeInterval(30)
        while exits.isRunning || sleeper.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(exits.terminationStatus == 3 && sleeper.terminationStatus == SIGKILL)
    }

    @Test func endedWaitsForTheEndAndGivesUpAtItsBound() async throws {
        let sleeper = try Self.start("exec sleep 30")
        // Still running: the bound answers nil, having waited it out.
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await sleeper.ended(within: 0.2) == nil)
        #expect(clock.now - start >= .milliseconds(200))
        // The kill is the event: the wait ends with it, long before its 30 s bound.
        // (SIGKILL: a child of the test runner may have SIGTERM blocked.)
        let waiting = Task { await sleeper.ended(within: 30) }
        kill(sleeper.processIdentifier, SIGKILL)
        // SIGKILL, not nil: the wait ended on the kill, not at its bound (which answers nil).
        // The time only has to be short of the 30 s bound: a loaded run measured 20.3 s here.
        #expect(await waiting.value == SIGKILL)
        #expect(clock.now - start < .seconds(29))
        // On a plain thread too, and again once it has ended.
        #expect(sleeper.blockUntilEnded() == SIGKILL)
    }
}
