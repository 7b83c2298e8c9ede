import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct SimulatorBandwidthTests {
    @Test func copiesShareADatastoresBandwidthAndSpeedUpWhenOthersEnd() async throws {
        // 30 and 60 GiB from S, bandwidth 200 MB/s, 150 MB/s per copy, no setup time.
        // Together each gets 100 MB/s: a ends at 307.2 s; b then copies its last
        // 30,720 MB alone at 150 MB/s: 204.8 s more, ending at 512 s.
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.datastoreBandwidthMBps = 200 }
        let sim = try Fixtures.handmade(sizesGB: [30, 60], config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advance(seconds: 300)
        #expect(a.info.progress == 75)   // 30,000 of 30,720 MB
        #expect(b.info.progress == 25)
        sim.advanceUntilIdle()
        #expect(abs(a.seconds(\.completeTime)! - 307.2) < 1e-6)
        #expect(abs(b.seconds(\.completeTime)! - 512) < 1e-6)
    }

    @Test func withoutSharedBandwidthCopiesAreIndependent() async throws {
        let sim = try Fixtures.handmade(sizesGB: [30, 60], config: Fixtures.config(rate: 150, overhead: 0))
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        #expect(abs(a.seconds(\.completeTime)! - 204.8) < 1e-6)
        #expect(abs(b.seconds(\.completeTime)! - 409.6) < 1e-6)
    }

    @Test func theDestinationsShareCountsToo() async throws {
        // Three copies from S to D1 with 300 MB/s per datastore: 100 MB/s each (S and D1 both have 3).
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.datastoreBandwidthMBps = 300 }
        let sim = try Fixtures.handmade(sizesGB: [10, 10, 10], hosts: 2, config: config)
        let tasks = [try await sim.move("a", to: "D1"), try await sim.move("b", to: "D1"), try await sim.move("c", to: "D1")]
        sim.advanceUntilIdle()
        for t in tasks { #expect(abs(t.seconds(\.completeTime)! - 102.4) < 1e-6) }
    }

    @Test func aCancelledCopyGivesItsShareBack() async throws {
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.datastoreBandwidthMBps = 200 }
        let sim = try Fixtures.handmade(sizesGB: [30, 60], config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advance(seconds: 100)   // b has 10,000 MB done
        try await sim.cancelTask(a.ref)
        sim.advanceUntilIdle()
        #expect(abs(b.seconds(\.completeTime)! - (100 + (61_440 - 10_000) / 150)) < 1e-6)
    }
}
