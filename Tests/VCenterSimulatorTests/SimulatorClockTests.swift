import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// Waits for `task` to end, failing after `timeout` real seconds instead of hanging. Real
/// time on purpose: the scaled clock's tests check that a background thread ends tasks in
/// compressed real time without anyone advancing the clock (what `moonmotion run` shows).
func finished(_ task: LiveTask, within timeout: Double = 10) async throws -> TaskInfo {
    try await withThrowingTaskGroup(of: TaskInfo?.self) { group in
        group.addTask { try await task.completion() }
        group.addTask {
            try await Task.sleep(for: .seconds(timeout))
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        guard let info = first else { throw VCenterFault(type: "Timeout", message: "\(task.ref) did not end within \(timeout) s of real time") }
        return info
    }
}

@Suite struct SimulatorClockTests {
    @Test func scaledClockRunsTasksInCompressedRealTime() async throws {
        // 1 GiB at 100 MB/s + 10 s = 20.24 simulated seconds; at 1000× that is about 20 ms.
        let config = Fixtures.config { $0.clock = .scaled(speed: 1000) }
        let sim = try Fixtures.handmade(sizesGB: [1, 1, 1], config: config)
        #expect(!sim.isVirtualTime)
        #expect(sim.displayName.contains("simulated vCenter") && sim.displayName.contains("1000×"))
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        let c = try await sim.move("c", to: "D3")
        #expect(c.state == .queued)
        let infoA = try await finished(a)
        let infoC = try await finished(c)
        #expect(infoA.state == .success)
        #expect(infoC.state == .success)
        // Times are simulated: the copy took 20.24 simulated seconds whatever the real jitter.
        let duration = infoA.completeTime!.timeIntervalSince(infoA.startTime!)
        #expect(abs(duration - 20.24) < 1e-3, "\(duration)")
        // c started when a or b ended, in simulated time.
        let cStart = infoC.startTime!.timeIntervalSince(Fixtures.start)
        #expect(cStart >= 20.24 - 1e-3)
        #expect(abs(infoC.completeTime!.timeIntervalSince(infoC.startTime!) - 20.24) < 1e-3)
        _ = try await finished(b)
        #expect(sim.vm("c").datastores == [sim.datastore("D3").ref])
        // Progress reached the LiveTasks without anyone calling advance.
        #expect(infoA.progress == 100)
        await sim.close()
    }

    @Test func scaledNowFollowsTheRealClockAndCannotBeSkipped() async throws {
        let config = Fixtures.config { $0.clock = .scaled(speed: 10) }
        let sim = try Fixtures.handmade(sizesGB: [100], config: config)
        let t = try await sim.move("a", to: "D1")   // 1,034 simulated seconds ≈ 103 real seconds
        // Simulated time moves by itself: wait until it passed 1 s (100 ms of real time), at
        // most 10 s. It cannot get there on its own without following the real clock.
        let start = ContinuousClock.now
        while sim.elapsed < 1, ContinuousClock.now - start < .seconds(10) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(sim.elapsed >= 1, "\(sim.elapsed)")
        sim.advance(to: Fixtures.start.addingTimeInterval(100_000))
        #expect(t.state == .running)
        #expect(sim.elapsed < 1000)
        try await sim.cancelTask(t.ref)
        #expect(t.state == .error)
        await sim.close()
    }

    @Test func virtualClockNeverMovesBackward() throws {
        let sim = try Fixtures.handmade(sizesGB: [1])
        sim.advance(seconds: 100)
        sim.advance(seconds: 50)
        #expect(sim.elapsed == 100)
    }
}
