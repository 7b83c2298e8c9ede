import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// Storage arrays (`StorageArray`, `FairShare`): the same texts, capacities and allocations
/// as the test vCenter's Go tests (`scripts/vcsim/bandwidth_test.go`), then whole copies on
/// the virtual clock.
@Suite struct SimulatorStorageArrayTests {
    static func near(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-6) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance * max(1, abs(b))
    }

    // MARK: The array's text and capacity

    @Test func parsesTheTestVCentersSyntax() throws {
        let a = try StorageArray(parsing: "old-array=legacy-*|archive-0?:400:knee=4:loss=0.1")
        #expect(a.name == "old-array" && a.patterns == ["legacy-*", "archive-0?"] && a.bandwidthMBps == 400)
        #expect(a.knee == 4 && a.loss == 0.1 && a.floor == StorageArray.defaultFloor)
        #expect(a.description == "old-array=legacy-*|archive-0?:400:knee=4:loss=0.1:floor=0.2")
        #expect(try StorageArray(parsing: a.description) == a)
        #expect(a.contains(datastore: "legacy-07") && a.contains(datastore: "archive-03") && !a.contains(datastore: "archive-10"))
        let plain = try StorageArray(parsing: "x=new-*:250")
        #expect(plain.knee == nil && plain.capacityMBps(copies: 100) == 250 && plain.description == "x=new-*:250")
        #expect(try StorageArray(parsing: "x=new-*:250:knee=2").loss == StorageArray.defaultLoss)
        for bad in ["", "x", "=a:1", "x=a", "x=:100", "x=a:0", "x=a:-5", "x=a:fast", "x=a:100:knee=0", "x=a:100:loss=0.1",
                    "x=a:100:knee=2:loss=1.5", "x=a:100:knee=2:floor=0", "x=a:100:speed=3", "x=a[:100"] {
            #expect(throws: SimulatorConfigurationError.self, "\(bad)") { try StorageArray(parsing: bad) }
        }
    }

    @Test func capacityDropsPastTheKneeDownToTheFloor() throws {
        // C(n) = B × max(floor, 1 − loss × max(0, n − knee))
        let a = try StorageArray(parsing: "x=ds-*:400:knee=4:loss=0.1")
        for (n, want) in [0: 400.0, 1: 400, 4: 400, 5: 360, 6: 320, 8: 240, 11: 120, 12: 80, 13: 80, 50: 80] {
            #expect(Self.near(a.capacityMBps(copies: n), want), "C(\(n))")
        }
        #expect(Self.near(try StorageArray(parsing: "x=ds-*:400:knee=4:loss=0.25:floor=0.5").capacityMBps(copies: 7), 200))
    }

    // MARK: Max-min fair allocation

    static func use(_ array: Int, read: Bool, write: Bool) -> [FairShare.Use] {
        [FairShare.Use(array: array, weight: (read ? 1 : 0) + (write ? 1 : 0))]
    }

    @Test func maxMinCases() {
        let r = Self.use(0, read: true, write: false)
        let cases: [(String, [Double], [[FairShare.Use]], [Double], [Double])] = [
            ("array not binding", [100, 100, 100], [r, r, r], [400], [100, 100, 100]),
            ("equal split when binding", [150, 150, 150], [r, r, r], [300], [100, 100, 100]),
            // A copy capped low (a slow datastore) leaves its share to the others: 240 − 50 = 190.
            ("capped copy gives its share away", [50, 100, 100], [r, r, r], [240], [50, 95, 95]),
            // Copy 0 reads X and writes Y (100): Y holds it to 100; copies 1 and 2 share the 300 left on X.
            ("bottleneck elsewhere", [200, 200, 200], [[.init(array: 0, weight: 1), .init(array: 1, weight: 1)], r, r], [400, 100], [100, 150, 150]),
            // Inside one array a copy reads and writes: its rate counts twice.
            ("read and write on one array", [400], [Self.use(0, read: true, write: true)], [300], [150]),
            ("no array: the cap", [70, 30], [[], Self.use(0, read: false, write: true)], [10], [70, 10]),
        ]
        for (name, caps, uses, capacity, want) in cases {
            let got = FairShare.maxMin(caps: caps, uses: uses, capacity: capacity)
            #expect(zip(got, want).allSatisfy { Self.near($0, $1, 1e-9) }, "\(name): \(got), want \(want)")
        }
    }

    /// Random instances against the definition: feasible, and every copy below its cap is on
    /// a full array where no copy is faster (the bottleneck condition of max-min fairness).
    @Test func maxMinIsFairOnRandomInstances() {
        var rng = SeededGenerator(seed: 7)
        for round in 0..<500 {
            let arrays = 1 + Int(rng.next() % 4), copies = 1 + Int(rng.next() % 12)
            let capacity = (0..<arrays).map { _ in 50 + rng.nextUnit() * 500 }
            var caps: [Double] = [], uses: [[FairShare.Use]] = []
            for _ in 0..<copies {
                caps.append([25.0, 50, 100, 100, 150][Int(rng.next() % 5)])
                var u: [FairShare.Use] = []
                for a in 0..<arrays where rng.next() % 3 == 0 { u.append(.init(array: a, weight: rng.next() % 2 == 0 ? 2 : 1)) }
                uses.append(u)
            }
            let rates = FairShare.maxMin(caps: caps, uses: uses, capacity: capacity)
            var load = Array(repeating: 0.0, count: arrays)
            for (i, r) in rates.enumerated() {
                #expect(r >= -1e-9 && r <= caps[i] * (1 + 1e-9), "round \(round): copy \(i) at \(r), cap \(caps[i])")
                for u in uses[i] { load[u.array] += u.weight * r }
            }
            for a in 0..<arrays { #expect(load[a] <= capacity[a] * (1 + 1e-9), "round \(round): array \(a) over capacity") }
            for (i, r) in rates.enumerated() where r < caps[i] * (1 - 1e-9) {
                let bottleneck = uses[i].contains { u in
                    load[u.array] >= capacity[u.array] * (1 - 1e-9)
                        && !rates.indices.contains { j in rates[j] > r * (1 + 1e-9) && uses[j].contains { $0.array == u.array } }
                }
                #expect(bottleneck, "round \(round): copy \(i) at \(r) below its cap \(caps[i]) has no bottleneck")
            }
        }
    }

    // MARK: Copies on the virtual clock

    @Test func anArrayIsSharedAndItsCopiesSpeedUpWhenOthersEnd() async throws {
        // S in one 200 MB/s array, 150 MB/s per copy: 30 and 60 GiB together at 100 MB/s
        // each; a ends at 307.2 s, b then copies its last 30,720 MB alone at 150: 512 s.
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.arrays = [try! StorageArray(parsing: "src=S:200")] }
        let sim = try Fixtures.handmade(sizesGB: [30, 60], config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        #expect(Self.near(a.seconds(\.completeTime), 307.2))
        #expect(Self.near(b.seconds(\.completeTime), 512))
        let stats = sim.stats
        let array = try #require(stats.arrays.first)
        #expect(stats.arrays.count == 1 && array.array.name == "src" && !array.isDatastoreBandwidth)
        #expect(array.datastores == [sim.datastore("S").ref])
        #expect(array.maxCopies == 2 && array.bytesWritten == 0)
        #expect(Self.near(array.bytesRead, 90 * 1_073_741_824))
        #expect(Self.near(array.busySeconds, 512) && Self.near(array.copySeconds, 2 * 307.2 + 204.8))
        #expect(Self.near(array.meanCopies, (2 * 307.2 + 204.8) / 512))
        #expect(Self.near(stats.tasks[0].copyMBps, 100) && Self.near(stats.tasks[1].copyMBps, 61_440 / 512))
    }

    @Test func pastTheKneeEveryCopyIsSlower() async throws {
        // 150 MB/s per copy; the array serves 400 MB/s up to 4 copies, then 10 % less per copy.
        // 4 copies of 10 GiB: 100 MB/s each, 102.4 s. 5 copies: C(5) = 360, 72 each, 142.2 s.
        func run(_ n: Int) async throws -> [Double] {
            let config = Fixtures.config(rate: 150, overhead: 0) { $0.arrays = [try! StorageArray(parsing: "src=S:400:knee=4:loss=0.1")] }
            let sim = try Fixtures.handmade(sizesGB: Array(repeating: 10, count: n), hosts: 3, config: config)
            let letters = ["a", "b", "c", "d", "e"]
            var tasks: [LiveTask] = []
            for i in 0..<n { tasks.append(try await sim.move(letters[i], to: ["D1", "D2", "D3"][i % 3])) }
            sim.advanceUntilIdle()
            #expect(sim.stats.arrays[0].maxCopies == n)
            return tasks.compactMap { $0.seconds(\.completeTime) }
        }
        let four = try await run(4), five = try await run(5)
        #expect(four.count == 4 && four.allSatisfy { Self.near($0, 102.4) })
        #expect(five.count == 5 && five.allSatisfy { Self.near($0, 10_240 / 72) })
    }

    @Test func aSlowDatastoreCapsItsCopiesAndLeavesTheRestToOthers() async throws {
        // S in a 200 MB/s array; D1 at 0.25: a (S → D1) is capped at 37.5 MB/s, so b (S → D2)
        // gets min(150, 200 − 37.5) = 150 — not an equal split of 100 each.
        let config = Fixtures.config(rate: 150, overhead: 0) {
            $0.arrays = [try! StorageArray(parsing: "src=S:200")]
            $0.faults.slowDatastores = ["D1": 0.25]
        }
        let sim = try Fixtures.handmade(sizesGB: [10, 10], hosts: 2, config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        #expect(Self.near(a.seconds(\.completeTime), 10_240 / 37.5))
        #expect(Self.near(b.seconds(\.completeTime), 10_240 / 150))
        #expect(Self.near(sim.stats.tasks[0].copyMBps, 37.5) && Self.near(sim.stats.tasks[1].copyMBps, 150))
    }

    @Test func aSlowDatastoreWithoutArraysRunsAtItsFraction() async throws {
        // The ETA rehearsal: one datastore copies at half speed, nothing shared.
        let config = Fixtures.config(rate: 100, overhead: 0) { $0.faults.slowDatastores = ["D2": 0.5] }
        let sim = try Fixtures.handmade(sizesGB: [10, 10], hosts: 2, config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        #expect(Self.near(a.seconds(\.completeTime), 102.4) && Self.near(b.seconds(\.completeTime), 204.8))
    }

    @Test func aMoveInsideOneArrayCountsTwice() async throws {
        // S and D1 in one 200 MB/s array: a copy S → D1 reads and writes it, 100 MB/s.
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.arrays = [try! StorageArray(parsing: "one=S|D1:200")] }
        let sim = try Fixtures.handmade(sizesGB: [10], config: config)
        let a = try await sim.move("a", to: "D1")
        sim.advanceUntilIdle()
        #expect(Self.near(a.seconds(\.completeTime), 102.4))
        let array = sim.stats.arrays[0]
        #expect(Self.near(array.bytesRead, 10 * 1_073_741_824) && Self.near(array.bytesWritten, 10 * 1_073_741_824))
        #expect(Self.near(array.meanMBps, 200))
    }

    @Test func datastoreBandwidthIsAnArrayPerOtherDatastore() async throws {
        // S is in a declared 200 MB/s array; D1 and D2 get their own 50 MB/s.
        let config = Fixtures.config(rate: 150, overhead: 0) {
            $0.arrays = [try! StorageArray(parsing: "src=S:200")]
            $0.datastoreBandwidthMBps = 50
        }
        let sim = try Fixtures.handmade(sizesGB: [10, 10], hosts: 2, config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        #expect(Self.near(a.seconds(\.completeTime), 10_240 / 50) && Self.near(b.seconds(\.completeTime), 10_240 / 50))
        let arrays = sim.stats.arrays
        #expect(arrays.map(\.array.name) == ["src", "D1", "D2", "D3"])
        #expect(arrays.map(\.isDatastoreBandwidth) == [false, true, true, true])
    }

    @Test func arraysThatMatchNothingOrOverlapAreRefused() throws {
        for specs in [["none=nothing-*:100"], ["a=S:100", "b=S|D1:100"], ["a=S:100", "a=D1:100"]] {
            let config = Fixtures.config { $0.arrays = specs.map { try! StorageArray(parsing: $0) } }
            #expect(throws: SimulatorConfigurationError.self, "\(specs)") { _ = try Fixtures.handmade(sizesGB: [10], config: config) }
        }
    }

    @Test func aCancelledCopyLeavesItsArray() async throws {
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.arrays = [try! StorageArray(parsing: "src=S:200")] }
        let sim = try Fixtures.handmade(sizesGB: [30, 60], config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        sim.advance(seconds: 100)   // both at 100 MB/s: b has 10,000 MB
        try await sim.cancelTask(a.ref)
        sim.advanceUntilIdle()
        #expect(Self.near(b.seconds(\.completeTime), 100 + (61_440 - 10_000) / 150))
        let array = sim.stats.arrays[0]
        #expect(Self.near(array.bytesRead, (10_000 + 61_440) * Fixtures.mib))
    }

    @Test func thePlanBoundCountsTheArraysBytes() async throws {
        // Two 10 GiB copies through a 100 MB/s array: at best 20,480 MB ÷ 100 = 204.8 s.
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.arrays = [try! StorageArray(parsing: "src=S:100")] }
        let sim = try Fixtures.handmade(sizesGB: [10, 10], hosts: 2, config: config)
        _ = try await sim.move("a", to: "D1")
        _ = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        let report = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration, runStart: Fixtures.start)
        let cluster = try #require(report.clusters.first)
        #expect(cluster.boundReason == .arrayBandwidth && Self.near(cluster.lowerBound, 204.8))
        #expect(Self.near(cluster.ratio, 1))
        #expect(report.arrays.map(\.spec) == ["src=S:100"] && report.arrays[0].maxCopies == 2)
        #expect(report.renderText(width: 120).contains("src=S:100"))
    }
}
