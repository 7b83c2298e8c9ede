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
        // The kill is the event: the wait ends with it, long before its bound. The bound is
        // far (600 s) because the time measured here includes how long the test's own task
        // waits for a thread of the cooperative pool: with other tests holding both threads of
        // a 2-core machine, loaded runs measured 20.3 s and 33 s. Only a wait that ran to its
        // bound comes near 600 s, and only a broken `ended` makes this test take that long.
        // (SIGKILL: a child of the test runner may have SIGTERM blocked.)
        let waiting = Task { await sleeper.ended(within: 600) }
        kill(sleeper.processIdentifier, SIGKILL)
        #expect(await waiting.value == SIGKILL)
        #expect(clock.now - start < .seconds(590))
        // On a plain thread too, and again once it has ended.
        #expect(sleeper.blockUntilEnded() == SIGKILL)
    }
}
