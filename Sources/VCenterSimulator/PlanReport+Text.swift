import Foundation

extension PlanReport {
    /// The report for a terminal: summary lines, a table per cluster (finish, ETA, best
    /// possible span, peak against slots), idle slot time, peak concurrency per resource
    /// against ESXi's limits (the busiest few of each kind, then any offender), failures.
    /// Columns are aligned; when `width` is too narrow the least important columns go first.
    public func renderText(width: Int = 100, topResources: Int = 3) -> String {
        var out: [String] = []
        let width = max(40, width)
        out.append(PlanFormat.truncate("Plan: \(title)", width))
        out.append("")

        // Summary.
        var summary: [(String, String)] = []
        var makespanText = PlanFormat.duration(makespan)
        if let windowStart, let eta {
            makespanText += " (\(PlanFormat.date(windowStart, timeZone)) → \(PlanFormat.date(eta, timeZone)))"
        }
        summary.append(("Predicted makespan", makespanText))
        let kinds = totals.tasksByKind.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\(PlanFormat.count($0.value)) \(Self.kindName($0.key))" }.joined(separator: ", ")
        summary.append(("Moved", "\(PlanFormat.count(totals.vmsMoved)) VM\(totals.vmsMoved == 1 ? "" : "s"), \(PlanFormat.bytes(totals.bytesMoved)) in \(PlanFormat.count(totals.tasks)) task\(totals.tasks == 1 ? "" : "s")" + (kinds.isEmpty ? "" : " (\(kinds))")))
        var failures: [String] = []
        if totals.failed > 0 {
            failures.append("\(PlanFormat.count(totals.failed)) task\(totals.failed == 1 ? "" : "s") failed: " + Self.faultList(totals.failuresByFault))
        }
        if totals.jobsFailedWithoutTask > 0 {
            let n = totals.jobsFailedWithoutTask
            failures.append("\(PlanFormat.count(n)) job\(n == 1 ? "" : "s") failed before any task (the engine's reasons below)")
        }
        summary.append(("Failures", failures.isEmpty ? "none" : failures.joined(separator: "; ")))
        if totals.jobsHeld > 0 {
            let n = totals.jobsHeld
            summary.append(("Held", "\(PlanFormat.count(n)) job\(n == 1 ? "" : "s") held by the strategy never started (not failures)"))
        }
        if totals.unfinished > 0 {
            summary.append(("Unfinished", "\(PlanFormat.count(totals.unfinished)) task\(totals.unfinished == 1 ? "" : "s") still queued or running: the makespan is not final"))
        }
        if overall.slotSeconds > 0 {
            summary.append(("Idle slots", "\(PlanFormat.hours(overall.idleSlotSeconds)) of \(PlanFormat.hours(overall.slotSeconds)) slot time "
                + "(\(PlanFormat.percent(overall.idleSlotSeconds, of: overall.slotSeconds))): \(PlanFormat.hours(overall.idleInTail)) in the tails, "
                + "\(PlanFormat.hours(overall.idleWhileWaiting)) while work waited"))
        }
        var rate = "\(Self.number(rateMBps)) MiB/s per Storage vMotion + \(PlanFormat.duration(storageVMotionOverhead)) setup"
        rate += datastoreBandwidthMBps.map { "; \(Self.number($0)) MiB/s per datastore, shared" } ?? (arrays.isEmpty ? "; datastore bandwidth not shared" : "")
        if !arrays.isEmpty { rate += "; storage arrays " + arrays.map(\.spec).joined(separator: ", ") + " (shared max-min fair)" }
        rate += vMotionRateMBps.map { "; vMotion \(Self.number($0)) MiB/s" } ?? "; vMotion at the hosts' link speed (10 GbE: 1,000 MiB/s)"
        summary.append(("Rate model", rate))
        let queued = totals.tasksQueuedByLimit
        summary.append(("Queued at vCenter", queued == 0
            ? "0 tasks waited for an ESXi limit" + (limitsEnforced ? "" : " (limits only counted)")
            : "\(PlanFormat.count(queued)) task\(queued == 1 ? "" : "s") waited for an ESXi limit (the engine should keep this at 0)"))
        if let vmotions = totals.tasksByKind[SimulatedTaskKind.vMotion.rawValue], vmotions > 0 {
            summary.append(("vMotions", "\(PlanFormat.count(vmotions)) VM\(vmotions == 1 ? "" : "s") vMotioned to another host of the cluster "
                + "(pro-active: off a host whose Storage vMotion slots were full)"))
        }
        if totals.maxCopiesPerVM > 1 {
            summary.append(("Copied twice", "a VM's file was copied \(totals.maxCopiesPerVM) times (the engine should never do this)"))
        }
        let labelWidth = summary.map(\.0.count).max() ?? 0
        for (label, value) in summary {
            let head = "  " + label + String(repeating: " ", count: labelWidth - label.count) + "  "
            let wrapped = Self.wrap(value, width: width - head.count, indent: "")
            for (i, text) in wrapped.enumerated() {
                out.append((i == 0 ? head : String(repeating: " ", count: head.count)) + text)
            }
        }

        // Clusters.
        out.append("")
        out += Self.wrap("Clusters (times from the start; best = shortest span the slots allow)", width: width, indent: "")
        var table = TextTable([
            .init(header: "cluster", rightAligned: false),
            .init(header: "hosts", rightAligned: true, dropPriority: 6),
            .init(header: "VMs", rightAligned: true),
            .init(header: "moved", rightAligned: true),
            .init(header: "slots", rightAligned: true),
            .init(header: "start", rightAligned: true, dropPriority: 5),
            .init(header: "finish", rightAligned: true),
            .init(header: "ETA", rightAligned: true, dropPriority: 1),
            .init(header: "best", rightAligned: true, dropPriority: 2),
            .init(header: "ratio", rightAligned: true),
            .init(header: "peak", rightAligned: true, dropPriority: 3),
            .init(header: "failed", rightAligned: true, dropPriority: 4),
        ])
        for c in clusters {
            table.add([c.name, PlanFormat.count(c.hosts), PlanFormat.count(c.vmsMoved), PlanFormat.bytes(c.bytesMoved),
                       PlanFormat.count(c.slots), PlanFormat.duration(c.firstStart), PlanFormat.duration(c.finish),
                       c.eta.map { PlanFormat.shortDate($0, timeZone) } ?? "–", PlanFormat.duration(c.lowerBound),
                       PlanFormat.ratio(c.ratio), "\(c.peakTasks)/\(c.slots)", PlanFormat.count(c.failedTasks)])
        }
        if clusters.count > 1 {
            table.add(["all", PlanFormat.count(clusters.reduce(0) { $0 + $1.hosts }), PlanFormat.count(totals.vmsMoved),
                       PlanFormat.bytes(totals.bytesMoved), PlanFormat.count(overall.slots),
                       PlanFormat.duration(clusters.map(\.firstStart).min() ?? 0), PlanFormat.duration(makespan),
                       eta.map { PlanFormat.shortDate($0, timeZone) } ?? "–", PlanFormat.duration(overall.lowerBound),
                       PlanFormat.ratio(overall.ratio), "\(overall.peakTasks)/\(overall.slots)", PlanFormat.count(totals.failed)])
        }
        if clusters.isEmpty {
            out.append("  no task ran")
        } else {
            table.columns[7].hidden = windowStart == nil
            out += table.render(width: width).map { Self.trimRight($0) }
            out += Self.wrap(slotNote(), width: width, indent: "  ")
            let limitedBy = Set(clusters.map(\.boundReason))
            let special: Set<BoundReason> = [.largestVM, .datastoreBandwidth, .arrayBandwidth, .datastoreSlots]
            if !limitedBy.isDisjoint(with: special) {
                var notes: [String] = []
                for c in clusters where special.contains(c.boundReason) {
                    switch c.boundReason {
                    case .largestVM: notes.append("\(c.name): its largest VM")
                    case .datastoreBandwidth: notes.append("\(c.name): its busiest datastore's bandwidth")
                    case .arrayBandwidth: notes.append("\(c.name): its busiest storage array's bandwidth")
                    default: notes.append("\(c.name): its busiest datastore's Storage vMotion slots")
                    }
                }
                out += Self.wrap("best is set by " + notes.joined(separator: ", "), width: width, indent: "  ")
            }
        }

        // Idle slots.
        if !clusters.isEmpty {
            out.append("")
            out += Self.wrap("Idle slots (slot-hours with no task running, from each cluster's first dispatch to its finish)", width: width, indent: "")
            var idle = TextTable([
                .init(header: "cluster", rightAligned: false),
                .init(header: "idle", rightAligned: true),
                .init(header: "of slot time", rightAligned: true, dropPriority: 2),
                .init(header: "share", rightAligned: true),
                .init(header: "in the tail", rightAligned: true),
                .init(header: "while work waited", rightAligned: true),
                .init(header: "over slots", rightAligned: true, dropPriority: 1),
            ])
            let anyOver = clusters.contains { $0.overSlotSeconds > 0.5 }
            idle.columns[6].hidden = !anyOver
            for c in clusters {
                idle.add([c.name, PlanFormat.hours(c.idleSlotSeconds), PlanFormat.hours(c.slotSeconds),
                          PlanFormat.percent(c.idleSlotSeconds, of: c.slotSeconds), PlanFormat.hours(c.idleInTail),
                          PlanFormat.hours(c.idleWhileWaiting), PlanFormat.hours(c.overSlotSeconds)])
            }
            if clusters.count > 1 {
                idle.add(["all", PlanFormat.hours(overall.idleSlotSeconds), PlanFormat.hours(overall.slotSeconds),
                          PlanFormat.percent(overall.idleSlotSeconds, of: overall.slotSeconds), PlanFormat.hours(overall.idleInTail),
                          PlanFormat.hours(overall.idleWhileWaiting), PlanFormat.hours(clusters.reduce(0) { $0 + $1.overSlotSeconds })])
            }
            out += idle.render(width: width).map { Self.trimRight($0) }
            out += Self.wrap("the tail is after a cluster's last dispatch, when nothing was left to start; "
                + "idle while work waited points at ordering, retries or limits holding jobs back", width: width, indent: "  ")
        }

        // Peaks.
        out.append("")
        out += Self.wrap("Peak concurrency (cost against ESXi's limit; use = mean cost ÷ limit over the makespan)", width: width, indent: "")
        var peaks = TextTable([
            .init(header: "resource", rightAligned: false),
            .init(header: "kind", rightAligned: false),
            .init(header: "peak", rightAligned: true),
            .init(header: "limit", rightAligned: true),
            .init(header: "tasks", rightAligned: true),
            .init(header: "use", rightAligned: true, dropPriority: 1),
            .init(header: "queued", rightAligned: true, dropPriority: 2),
        ])
        var lines: [String] = []
        for (label, list) in [("hosts", hosts), ("datastores", datastores), ("vMotion networks", vMotionNetworks)] {
            let used = list.filter { $0.peakTasks > 0 }
            let atLimit = list.filter { $0.limit != nil && $0.peakCost >= $0.limit! }
            if used.isEmpty {
                lines.append("\(label): none used (\(list.count))")
                continue
            }
            lines.append("\(label): \(used.count) of \(list.count) used, \(atLimit.count) reached their limit")
            let top = Self.busiest(used).prefix(max(0, topResources))
            for r in top {
                peaks.add([r.name, Self.kindLabel(r.kind), "\(r.peakCost)", r.limit.map(String.init) ?? "–", "\(r.peakTasks)",
                           r.utilisation.map { PlanFormat.percent($0, of: 1) } ?? "–", PlanFormat.count(r.tasksQueued)])
            }
        }
        if !peaks.rows.isEmpty {
            if !hosts.contains(where: { $0.tasksQueued > 0 }) && !datastores.contains(where: { $0.tasksQueued > 0 })
                && !vMotionNetworks.contains(where: { $0.tasksQueued > 0 }) { peaks.columns[6].hidden = true }
            out += peaks.render(width: width).map { Self.trimRight($0) }
        }
        out += Self.wrap(lines.joined(separator: "; "), width: width, indent: "  ")
        var counters: [String] = []
        for c in clusters {
            counters.append("\(c.name) \(c.peakTasks) tasks / \(c.slots) slots")
        }
        if let v = vCenterCounter {
            counters.append("vCenter \(v.peakTasks) tasks at once" + (clusters.count > 1 ? " / \(overall.slots) slots" : ""))
        }
        if !counters.isEmpty { out += Self.wrap("peak running: " + counters.joined(separator: ", "), width: width, indent: "  ") }
        if exceeded.isEmpty {
            out.append("  No limit exceeded.")
        } else {
            out += Self.wrap("LIMIT EXCEEDED on \(exceeded.count) resource\(exceeded.count == 1 ? "" : "s"): "
                + exceeded.map { "\(Self.kindLabel($0.kind)) \($0.name) \($0.peakCost)/\($0.limit ?? 0)" }.joined(separator: ", ")
                + " (a single task above the limit runs alone)", width: width, indent: "  ")
        }
        if !arrays.isEmpty {
            out.append("")
            out += Self.wrap("Storage arrays (bandwidth shared by the copies on them; mean = time-weighted while busy)", width: width, indent: "")
            var table = TextTable([
                .init(header: "array", rightAligned: false),
                .init(header: "MB/s", rightAligned: true),
                .init(header: "knee", rightAligned: true),
                .init(header: "most", rightAligned: true),
                .init(header: "mean", rightAligned: true),
                .init(header: "mean MB/s", rightAligned: true),
                .init(header: "busy", rightAligned: true, dropPriority: 1),
            ])
            for a in arrays {
                table.add([a.name, Self.number(a.bandwidthMBps), a.knee.map(String.init) ?? "–", "\(a.maxCopies)",
                           String(format: "%.1f", a.meanCopies), Self.number(a.meanMBps.rounded()), PlanFormat.duration(a.busySeconds)])
            }
            out += table.render(width: width).map { Self.trimRight($0) }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The note saying where the slot counts came from.
    func slotNote() -> String {
        let derived = clusters.filter { $0.slotSource == .derived }.map(\.name)
        let configured = clusters.filter { $0.slotSource == .configured }.map(\.name)
        var parts: [String] = []
        if !configured.isEmpty { parts.append("configured by the engine for \(configured.joined(separator: ", "))") }
        if !derived.isEmpty { parts.append("2 Storage vMotions per usable host (ESXi's host limit) for \(derived.joined(separator: ", "))") }
        var note = "slots: " + parts.joined(separator: "; ")
        note += "; never more than the cluster's source and destination datastores allow together (8 Storage vMotions each, or the strategy's cap)"
        return note
    }

    /// Most loaded first: peak share of the limit, then mean use, then peak tasks.
    static func busiest(_ list: [ResourcePeak]) -> [ResourcePeak] {
        list.enumerated().sorted { a, b in
            if a.element.peakShare != b.element.peakShare { return a.element.peakShare > b.element.peakShare }
            let ua = a.element.utilisation ?? 0, ub = b.element.utilisation ?? 0
            if ua != ub { return ua > ub }
            if a.element.peakTasks != b.element.peakTasks { return a.element.peakTasks > b.element.peakTasks }
            return a.offset < b.offset
        }.map(\.element)
    }

    static func kindName(_ raw: String) -> String {
        switch raw {
        case "storageVMotion": "Storage vMotion"
        case "vMotion": "vMotion"
        case "hostAndStorageVMotion": "vMotion + Storage vMotion"
        case "consolidateDisks": "consolidate"
        case "removeSnapshot": "remove snapshot"
        case "power": "power"
        default: raw
        }
    }

    static func kindLabel(_ kind: String) -> String {
        kind == "vMotionNetwork" ? "vMotion net" : kind
    }

    static func faultList(_ faults: [String: Int]) -> String {
        faults.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) \(PlanFormat.count($0.value))" }.joined(separator: ", ")
    }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%.1f", x)
    }

    static func trimRight(_ s: String) -> String {
        var s = s
        while s.last == " " { s.removeLast() }
        return s
    }

    /// Word-wraps `text` to `width` columns, each line starting with `indent`.
    static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if line.count > indent.count, line.count + 1 + word.count > width {
                lines.append(line)
                line = indent + "  "
            }
            line += (line.count > indent.count && !line.hasSuffix("  ") ? " " : "") + word
        }
        if line.count > indent.count { lines.append(line) }
        return lines
    }
}
