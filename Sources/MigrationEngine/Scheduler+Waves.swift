import Foundation
import VCenterModel

// Waves.
//
// `Strategy.wave(job)` puts a job in a numbered wave; a wave starts in its scope (a cluster,
// or the whole vCenter) once every job of the waves before it there has ended — done,
// failed or skipped. Each scope is one `waveGate` resource whose capacity is the index of
// its current wave (the lowest with jobs left) among the scope's wave numbers in order; a
// job of a later wave parks on it in the bucket of its own wave's index. When the current
// wave's last job ends the capacity moves up and `freed` wakes exactly the buckets that may
// go now, best rank first — no scan of the waiting jobs, and no job of wave 3 in front of
// wave 2's. Jobs in no wave (nil) are not gated.

/// The waves of one scope.
struct WaveGate {
    /// The scope's wave numbers, ascending.
    var values: [Int] = []
    /// Jobs not yet ended per wave index.
    var remaining: [Int] = []
}

extension Scheduler {
    /// Asks the strategy for the wave of each job of `js` that is still to run and puts it
    /// behind its scope's gate. Throws the hook's error.
    func assignWaves(_ js: [Int32]) throws {
        var changed = Set<Int32>()
        let scope = strategy.waveScope
        for j in js {
            let i = Int(j)
            guard !jobs[i].state.isTerminal, jobs[i].parent == nil else { continue }
            guard let w = try strategy.wave(jobs[i]) else { continue }
            jobs[i].wave = w
            let key: MoRef? = scope == .vcenter ? nil : jobs[i].cluster
            let gate = waveGate(for: key)
            meta[i].waveGate = gate
            changed.insert(gate)
        }
        for gate in changed { rebuildWaves(gate) }
    }

    /// The gate of a scope, created when missing.
    func waveGate(for scope: MoRef?) -> Int32 {
        if let gate = waveGateByScope[scope] { return gate }
        let gate = addResource(.waveGate, scope, capacity: 0, owner: -1)
        waveGateByScope[scope] = gate
        waveGates[gate] = WaveGate()
        return gate
    }

    /// Recounts a gate's waves from its jobs still to run (new wave numbers may have come
    /// with new jobs) and re-parks its waiting jobs in their new buckets.
    func rebuildWaves(_ gate: Int32) {
        let members = jobs.indices.filter { meta[$0].waveGate == gate && !jobs[$0].state.isTerminal }
        let values = Set(members.compactMap { jobs[$0].wave }).sorted()
        var remaining = [Int](repeating: 0, count: values.count)
        let index = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
        for i in members {
            let k = index[jobs[i].wave!]!
            meta[i].waveIndex = Int32(k)
            remaining[k] += 1
        }
        waveGates[gate] = WaveGate(values: values, remaining: remaining)
        ledger.capacity[Int(gate)] = 0
        ledger.parked[Int(gate)] = []
        for i in members where meta[i].queued && meta[i].blockedOn == gate {
            take(Int32(i))
            park(Int32(i), gate, cost: meta[i].waveIndex)
        }
        freed(gate)
    }

    /// Whether job `i` must wait for earlier waves.
    @inline(__always) func waitsForWave(_ i: Int) -> Bool {
        let gate = meta[i].waveGate
        return gate >= 0 && Int(meta[i].waveIndex) > ledger.capacity[Int(gate)]
    }

    /// Job `j` of a wave ended: when it was its wave's last, the next wave of its scope starts.
    func waveJobEnded(_ j: Int32) {
        let i = Int(j)
        let gate = meta[i].waveGate
        guard gate >= 0, var g = waveGates[gate] else { return }
        let k = Int(meta[i].waveIndex)
        guard g.remaining.indices.contains(k) else { return }
        g.remaining[k] -= 1
        var current = ledger.capacity[Int(gate)]
        while current < g.remaining.count, g.remaining[current] == 0 { current += 1 }
        waveGates[gate] = g
        if current != ledger.capacity[Int(gate)] {
            ledger.capacity[Int(gate)] = current
            freed(gate)
        }
    }

    /// The wave a gated job waits for, for messages: `wave 2 of cluster A`.
    func describeWave(_ gate: Int32) -> String {
        let g = waveGates[gate] ?? WaveGate()
        let current = ledger.capacity[Int(gate)]
        let wave = current < g.values.count ? "wave \(g.values[current])" : "the last wave"
        let scope = ledger.object[Int(gate)].map { "cluster \(baseInventory.name(of: $0))" } ?? "the vCenter"
        return "\(wave) of \(scope) to finish"
    }
}
