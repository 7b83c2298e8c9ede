import Foundation
import VCenterModel

extension Gantt {
    /// The chart's data as compact JSON, safe to embed in a `<script type="application/json">`
    /// block (`<`, `>`, `&`, U+2028 and U+2029 are written as `\u` escapes, so no name can
    /// close the block). Columnar: one array per field, one entry per bar in the order given.
    ///
    /// Fields: `group` (initial grouping), `t0` (wall-clock milliseconds of offset 0),
    /// `now` and `end` (seconds), name tables `kinds`, `clusters`, `hosts` with `hc` (each
    /// host's cluster index), `datastores`, `vms`, `faults`; per task `k` (kind), `vmd` (VM
    /// index minus the previous task's minus 1: 0 while each task moves the next VM), `dq`
    /// (queue time minus the previous task's, deciseconds), `ds` (start − queue, -1 when it
    /// never started), `de` (end − start, -1 when it has not ended), `mb` (MiB copied),
    /// `sh`/`dh` (source/destination host or -1), `sd` (source datastore, an array when
    /// several), `dd` (destination datastore or -1). Sparse, as flat pairs: `fail` (task,
    /// fault index) and `clx` (task, cluster) for tasks whose cluster is not their source
    /// host's (else destination host's) cluster. `win`: the change windows (`--window`) as flat
    /// (start, end) pairs of seconds from offset 0, drawn as bands behind the bars with a line
    /// at each close; absent without windows.
    public static func dataJSON(
        bars: [GanttBar], kinds: [String], names: GanttNames, groupBy: Grouping, origin: Date, wallClock: Date, now: Date,
        windows: [DateInterval] = []
    ) -> String {
        var clusterNames = names.clusters.map(\.name)
        var clusterIndex: [MoRef: Int] = [:]
        for (i, c) in names.clusters.enumerated() { clusterIndex[c.ref] = i }
        var standalone = -1
        func clusterSlot(_ ref: MoRef?) -> Int {
            if let ref {
                if let i = clusterIndex[ref] { return i }
                clusterNames.append(ref.value)
                clusterIndex[ref] = clusterNames.count - 1
                return clusterNames.count - 1
            }
            if standalone < 0 {
                clusterNames.append("standalone hosts")
                standalone = clusterNames.count - 1
            }
            return standalone
        }

        var hostNames: [String] = [], hostCluster: [Int] = []
        var hostIndex: [MoRef: Int] = [:]
        for h in names.hosts {
            hostIndex[h.ref] = hostNames.count
            hostNames.append(h.name)
            hostCluster.append(clusterSlot(h.cluster))
        }
        func host(_ ref: MoRef?) -> Int {
            guard let ref else { return -1 }
            if let i = hostIndex[ref] { return i }
            hostIndex[ref] = hostNames.count
            hostNames.append(ref.value)
            hostCluster.append(clusterSlot(nil))
            return hostNames.count - 1
        }
        var dsNames = names.datastores.map(\.name)
        var dsIndex: [MoRef: Int] = [:]
        for (i, d) in names.datastores.enumerated() { dsIndex[d.ref] = i }
        func datastore(_ ref: MoRef?) -> Int {
            guard let ref else { return -1 }
            if let i = dsIndex[ref] { return i }
            dsIndex[ref] = dsNames.count
            dsNames.append(ref.value)
            return dsNames.count - 1
        }

        var vmNames: [String] = [], vmIndex: [MoRef: Int] = [:]
        var faults: [String] = [], faultIndex: [String: Int] = [:]

        let n = bars.count
        var k = [Int](), vmd = [Int](), dq = [Int](), ds = [Int](), de = [Int](), mb = [Int](), fail = [Int]()
        var sh = [Int](), dh = [Int](), dd = [Int](), clx = [Int]()
        var sd: [[Int]] = []
        k.reserveCapacity(n); vmd.reserveCapacity(n); dq.reserveCapacity(n); ds.reserveCapacity(n); de.reserveCapacity(n)
        mb.reserveCapacity(n); sh.reserveCapacity(n); dh.reserveCapacity(n); dd.reserveCapacity(n); sd.reserveCapacity(n)

        func deci(_ date: Date) -> Int { Int((date.timeIntervalSince(origin) * 10).rounded()) }
        var previousQueue = 0, previousVM = -1
        var lastEnd = 0.0
        for (index, t) in bars.enumerated() {
            k.append(t.kind)
            let v: Int
            if let i = vmIndex[t.vm] { v = i } else {
                v = vmNames.count
                vmIndex[t.vm] = v
                vmNames.append(t.vmName)
            }
            vmd.append(v - previousVM - 1)
            previousVM = v
            let q = deci(t.queued)
            dq.append(q - previousQueue)
            previousQueue = q
            if let s = t.started.map(deci) {
                ds.append(max(0, s - q))
                if let e = t.ended.map(deci) { de.append(max(0, e - max(s, q))) } else { de.append(-1) }
            } else {
                ds.append(-1)
                de.append(-1)
            }
            if let end = t.ended { lastEnd = max(lastEnd, end.timeIntervalSince(origin)) }
            mb.append(Int((Double(t.bytes) / 1_048_576).rounded()))
            if let text = t.fault {
                let f: Int
                if let i = faultIndex[text] { f = i } else {
                    f = faults.count
                    faultIndex[text] = f
                    faults.append(text)
                }
                fail += [index, f]
            }
            let source = host(t.sourceHost), destination = host(t.destinationHost)
            sh.append(source)
            dh.append(destination)
            sd.append(t.sourceDatastores.map { datastore($0) })
            dd.append(datastore(t.destinationDatastore))
            let cluster = clusterSlot(t.cluster)
            let implied = source >= 0 ? hostCluster[source] : destination >= 0 ? hostCluster[destination] : -1
            if cluster != implied { clx += [index, cluster] }
        }

        var out = JSONText()
        out.raw("{\"v\":1,\"group\":")
        out.string(groupBy.rawValue)
        out.raw(",\"t0\":")
        out.raw(String(Int64((wallClock.timeIntervalSince1970 * 1000).rounded())))
        out.raw(",\"now\":")
        out.number(max(0, now.timeIntervalSince(origin)))
        out.raw(",\"end\":")
        out.number(lastEnd)
        out.raw(",\"kinds\":")
        out.strings(kinds)
        out.raw(",\"clusters\":")
        out.strings(clusterNames)
        out.raw(",\"hosts\":")
        out.strings(hostNames)
        out.raw(",\"hc\":")
        out.ints(hostCluster)
        out.raw(",\"datastores\":")
        out.strings(dsNames)
        out.raw(",\"vms\":")
        out.strings(vmNames)
        out.raw(",\"faults\":")
        out.strings(faults)
        for (name, column) in [("k", k), ("vmd", vmd), ("dq", dq), ("ds", ds), ("de", de), ("mb", mb), ("sh", sh), ("dh", dh), ("dd", dd), ("fail", fail), ("clx", clx)] {
            out.raw(",\"\(name)\":")
            out.ints(column)
        }
        if !windows.isEmpty {
            out.raw(",\"win\":[")
            for (i, w) in windows.enumerated() {
                if i > 0 { out.raw(",") }
                out.number(w.start.timeIntervalSince(origin))
                out.raw(",")
                out.number(w.end.timeIntervalSince(origin))
            }
            out.raw("]")
        }
        out.raw(",\"sd\":[")
        for (i, list) in sd.enumerated() {
            if i > 0 { out.raw(",") }
            if list.count == 1 { out.raw(String(list[0])) } else if list.isEmpty { out.raw("-1") } else { out.ints(list) }
        }
        out.raw("]}")
        return out.text
    }
}
