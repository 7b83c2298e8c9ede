import AsyncHTTPClient
import Foundation
import MigrationEngine
import NIOCore
import StatusServer
import Testing
import VCenterModel

/// A run in the middle: one VM moved, one moving at 40 %, one failed for good after a
/// retry, one waiting; in cluster `prod-a`.
func sampleStatus(phase: RunStatus.Phase = .dispatching, ended: Bool = false) -> RunStatus {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let cluster = MoRef("ClusterComputeResource", "domain-c7")
    let host = MoRef("HostSystem", "host-1"), old = MoRef("Datastore", "ds-old"), new = MoRef("Datastore", "ds-new")
    let tracker = ProgressTracker()
    func job(_ id: Int, _ name: String, _ state: JobState, attempts: Int = 1, fault: VCenterFault.Code? = nil) -> Job {
        Job(id: JobID(id), vm: MoRef("VirtualMachine", "vm-\(id)"), vmName: name, cluster: cluster, kind: .storageMove(.to([new])),
            size: 100_000_000_000, state: state, attempts: attempts, lastError: fault.map { "\($0.rawValue): the disk is locked" },
            lastFault: fault, target: state == .pending ? nil : new, sourceHost: host, sourceDatastores: [old], createdAt: t0,
            startedAt: state == .pending ? nil : t0.addingTimeInterval(10))
    }
    tracker.record(EngineEvent(time: t0, kind: .runStarted(RunStart(jobs: 4, bytes: 400_000_000_000, resumed: false,
                                                                     names: [cluster: "prod-a", host: "esx-01", old: "old-01", new: "new-01"]))))
    let names = ["db-01", "<b>web</b>-02", "app-03", "app-04"]
    for i in 0..<4 { tracker.record(EngineEvent(time: t0, kind: .jobAdded(job(i, names[i], .pending, attempts: 0)))) }
    tracker.record(EngineEvent(time: t0.addingTimeInterval(10), kind: .jobChanged(job(0, "db-01", .running), from: .pending)))
    tracker.record(EngineEvent(time: t0.addingTimeInterval(500), kind: .jobChanged(job(0, "db-01", .done), from: .running)))
    tracker.record(EngineEvent(time: t0.addingTimeInterval(20), kind: .jobChanged(job(1, names[1], .running), from: .pending)))
    tracker.record(EngineEvent(time: t0.addingTimeInterval(600), kind: .taskProgress(JobID(1), task: MoRef("Task", "task-9"), percent: 40)))
    tracker.record(EngineEvent(time: t0.addingTimeInterval(30), kind: .retryScheduled(job(2, "app-03", .pending, attempts: 1, fault: .fileLocked),
                                                                                      at: t0.addingTimeInterval(60),
                                                                                      fault: VCenterFault(type: "FileLocked", message: "the disk is locked"))))
    tracker.record(EngineEvent(time: t0.addingTimeInterval(700), kind: .jobChanged(job(2, "app-03", .failed, attempts: 2, fault: .fileLocked), from: .running)))
    if ended { tracker.record(EngineEvent(time: t0.addingTimeInterval(800), kind: .runFinished(.stopped))) }
    return RunStatus(strategy: "wave1.lua", vcenter: "vc01.example", phase: phase, progress: tracker.snapshot(at: t0.addingTimeInterval(900)),
                     source: "live")
}

let token = "0123456789abcdef0123"

func get(_ port: Int, _ path: String, bearer: String? = nil) async throws -> (status: Int, headers: [String: String], body: String) {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
    // No pooled connection outlives its server: tests stop their servers, and the next test's
    // server may get the same ephemeral port; a kept-alive connection to the old one would be
    // reused and fail with remoteConnectionClosed (seen once under load).
    request.headers.add(name: "Connection", value: "close")
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 4 << 20)
    var headers: [String: String] = [:]
    for h in response.headers { headers[h.name.lowercased()] = h.value }
    return (Int(response.status.code), headers, String(buffer: body))
}

@Suite("StatusServer", .serialized)
struct StatusServerTests {
    @Test("addresses: HOST:PORT, [v6]:PORT, :PORT; loopback is 127/8, ::1 and localhost, nothing else")
    func addresses() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8080") == ListenAddress(parsing: ":8080"))
        #expect(try ListenAddress(parsing: "127.0.0.1:8080").isLoopback)
        #expect(try ListenAddress(parsing: "127.1.2.3:1").isLoopback)
        #expect(try ListenAddress(parsing: "localhost:0").isLoopback)
        #expect(try ListenAddress(parsing: "[::1]:9000").isLoopback)
        #expect(try ListenAddress(parsing: "[::1]:9000").description == "[::1]:9000")
        for open in ["0.0.0.0:8080", "[::]:8080", "10.0.0.5:80", "monitor.example:8080", "127.0.0.1.evil.example:80", "1270.0.0.1:80"] {
            #expect(try !ListenAddress(parsing: open).isLoopback, "\(open)")
        }
        for bad in ["8080", "host:", "host:65536", "::1:80", "[::1]8080", "h:-1"] {
            #expect(throws: ListenAddressError.self, "\(bad)") { _ = try ListenAddress(parsing: bad) }
        }
    }

    @Test("a non-loopback address without a token is refused; a short token too")
    func tokenRequired() throws {
        let source = StatusServer.Source(status: { sampleStatus() })
        #expect(throws: StatusServerError.tokenRequired(try ListenAddress(parsing: "0.0.0.0:0"))) {
            _ = try StatusServer(address: try ListenAddress(parsing: "0.0.0.0:0"), token: nil, source: source)
        }
        #expect(throws: StatusServerError.weakToken) {
            _ = try StatusServer(address: try ListenAddress(parsing: "0.0.0.0:0"), token: "short", source: source)
        }
        _ = try StatusServer(address: try ListenAddress(parsing: "0.0.0.0:0"), token: token, source: source)
        _ = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: nil, source: source)
    }

    @Test("with a token, every path answers 401 without it (and says nothing of the run), 200 with it in the header or the query")
    func tokenAuth() async throws {
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: token, source: StatusServer.Source(status: { sampleStatus() }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        for path in ["/", "/api/status", "/metrics", "/events"] {
            for bad in [nil, "wrong", String(token.dropLast()), token + "x"] {
                let r = try await get(port, path, bearer: bad)
                #expect(r.status == 401, "\(path) with \(bad ?? "no token")")
                #expect(!r.body.contains("db-01") && !r.body.contains("prod-a"))
                #expect(r.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            }
            let wrongQuery = try await get(port, path + "?token=nope")
            #expect(wrongQuery.status == 401)
        }
        #expect(try await get(port, "/api/status", bearer: token).status == 200)
        #expect(try await get(port, "/api/status?token=\(token)").status == 200)
        let page = try await get(port, "/?token=\(token)")
        #expect(page.status == 200)
        #expect(!page.body.contains(token), "the page never writes its token")
    }

    @Test("/api/status is RunStatus's JSON document; the page is self-contained and locked down")
    func apiStatusAndPage() async throws {
        let status = sampleStatus()
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: nil, source: StatusServer.Source(status: { status }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        let r = try await get(port, "/api/status")
        #expect(r.status == 200)
        #expect(r.headers["content-type"] == "application/json")
        #expect(r.headers["cache-control"] == "no-store")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let document = try decoder.decode(RunStatus.Document.self, from: Data(r.body.utf8))
        #expect(document == status.document)
        #expect(document.overall.done == 1 && document.overall.running == 1 && document.overall.failed == 1 && document.overall.pending == 1)
        #expect(document.running.first?.percent == 40)
        #expect(document.running.first?.host == "esx-01" && document.running.first?.destinationDatastore == "new-01")
        #expect(document.faults == ["FileLocked": 2])

        let page = try await get(port, "/")
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(page.body.contains("new EventSource("))
        #expect(!page.body.contains("innerHTML"), "figures go in with textContent only")
        #expect(!page.body.contains("src=\"http") && !page.body.contains("href=\"http"), "no external asset")
        // The growing timeline: the plan's Gantt chart, its data embedded and refreshed from /api/timeline.
        #expect(page.body.contains("<script type=\"application/json\" id=\"timeline-data\">{\"v\":1,"))
        #expect(page.body.contains("<canvas id=\"chart\">") && page.body.contains("window.mmTimeline"))
        let timeline = try await get(port, "/api/timeline")
        #expect(timeline.status == 200 && timeline.body.hasPrefix("{\"v\":1,"))
    }

    @Test("/events streams the status as Server-Sent Events and ends after the run's end")
    func events() async throws {
        let status = sampleStatus(phase: .done, ended: true)
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: nil, source: StatusServer.Source(status: { status }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        let r = try await get(port, "/events")
        #expect(r.headers["content-type"] == "text/event-stream")
        #expect(r.body.hasPrefix("data: {") && r.body.hasSuffix("}\n\n"))
        #expect(r.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.count == 1, "a done run: one event, then the stream ends")
        #expect(r.body.contains("\"phase\":\"done\"") && r.body.contains("\"outcome\":\"stopped\""))
    }

    @Test("/metrics parses with Prometheus' own parser (prometheus_client) and holds the status's figures")
    func metrics() async throws {
        let status = sampleStatus()
        let calls = VCenterCallStatistics(byMethod: ["RelocateVM_Task": 5, "WaitForUpdatesEx": 12], relogins: 1)
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: nil,
                                      source: StatusServer.Source(status: { status }, calls: { calls }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        let r = try await get(port, "/metrics")
        #expect(r.status == 200)
        #expect(r.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let samples = try await parsePrometheus(r.body)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("moonmotion_jobs", ["state": "done"]) == 1)
        #expect(value("moonmotion_jobs", ["state": "running"]) == 1)
        #expect(value("moonmotion_jobs", ["state": "failed"]) == 1)
        #expect(value("moonmotion_jobs", ["state": "pending"]) == 1)
        #expect(value("moonmotion_cluster_jobs", ["cluster": "prod-a", "state": "done"]) == 1)
        #expect(value("moonmotion_bytes_to_move") == Double(status.progress.overall.bytesTotal))
        #expect(value("moonmotion_bytes_moved") == 140_000_000_000, "100 GB moved and 40 % of 100 GB")
        #expect(value("moonmotion_running_tasks") == 1)
        #expect(value("moonmotion_host_storage_vmotions", ["host": "esx-01"]) == 1)
        #expect(value("moonmotion_datastore_storage_vmotions", ["datastore": "old-01"]) == 1)
        #expect(value("moonmotion_datastore_storage_vmotions", ["datastore": "new-01"]) == 1)
        #expect(value("moonmotion_task_failures_total", ["fault": "FileLocked"]) == 2)
        #expect(value("moonmotion_vcenter_calls_total", ["method": "RelocateVM_Task"]) == 5)
        #expect(value("moonmotion_vcenter_relogins_total") == 1)
        #expect(value("moonmotion_run_phase", ["phase": "dispatching"]) == 1)
        #expect(value("moonmotion_run_phase", ["phase": "done"]) == 0)
        #expect(value("moonmotion_eta_seconds").map { $0 > 0 } == true)
    }
}

/// One sample as Prometheus' Python client parsed it.
struct PromSample: Decodable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Parses the text exposition with `prometheus_client.parser` (installed by
/// scripts/install-deps): a parser that is not ours, so a format mistake cannot hide.
func parsePrometheus(_ text: String) async throws -> [PromSample] {
    // On a thread of its own: a blocked cooperative thread would starve the servers of the
    // tests running beside this one.
    try await withCheckedThrowingContinuation { c in
        Thread.detachNewThread { c.resume(with: Result { try parsePrometheusBlocking(text) }) }
    }
}

func parsePrometheusBlocking(_ text: String) throws -> [PromSample] {
    let script = """
        import json, math, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                out.append({"name": s.name, "labels": s.labels, "value": -1e300 if math.isnan(s.value) else s.value})
        print(json.dumps(out))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ParseFailure(message: problem.contains("No module named 'prometheus_client'")
            ? "python3 has no prometheus_client: run scripts/install-deps (python3 -m pip install prometheus_client)"
            : "prometheus_client rejected /metrics: \(problem)\n\(text)")
    }
    return try JSONDecoder().decode([PromSample].self, from: data)
}

struct ParseFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

@Suite("LiveTimeline")
struct LiveTimelineTests {
    @Test("the timeline has a bar per dispatched job (running ones reach now, failed ones carry their fault) and the names")
    func bars() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let cluster = MoRef("ClusterComputeResource", "domain-c7"), host = MoRef("HostSystem", "host-1")
        let old = MoRef("Datastore", "ds-old"), new = MoRef("Datastore", "ds-new")
        let tracker = ProgressTracker()
        tracker.record(EngineEvent(time: t0, kind: .runStarted(RunStart(jobs: 3, bytes: 0, resumed: false,
                                                                         names: [cluster: "prod-a", host: "esx-01", old: "old-01", new: "new-01"]))))
        func job(_ id: Int, _ state: JobState, dispatched: Bool) -> Job {
            Job(id: JobID(id), vm: MoRef("VirtualMachine", "vm-\(id)"), vmName: "vm\(id)", cluster: cluster, kind: .storageMove(.to([new])),
                size: 2_097_152, state: state, attempts: dispatched ? 1 : 0, lastError: state == .failed ? "FileLocked: locked" : nil,
                target: dispatched ? new : nil, sourceHost: host, sourceDatastores: [old], createdAt: t0,
                dispatchedAt: dispatched ? t0.addingTimeInterval(Double(id)) : nil, startedAt: dispatched ? t0.addingTimeInterval(Double(id) + 1) : nil,
                finishedAt: state.isTerminal ? t0.addingTimeInterval(100) : nil)
        }
        tracker.record(EngineEvent(time: t0, kind: .jobAdded(job(0, .running, dispatched: true))))
        tracker.record(EngineEvent(time: t0, kind: .jobAdded(job(1, .failed, dispatched: true))))
        tracker.record(EngineEvent(time: t0, kind: .jobAdded(job(2, .pending, dispatched: false))))
        let json = LiveTimeline.json(tracker, now: t0.addingTimeInterval(200))
        let d = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((d["k"] as? [Int])?.count == 2, "the waiting job has no bar yet")
        #expect((d["de"] as? [Int]) == [-1, 980], "running: no end yet; failed: ended 98 s after its start")
        #expect((d["faults"] as? [String]) == ["FileLocked: locked"])
        #expect((d["hosts"] as? [String]) == ["esx-01"] && (d["clusters"] as? [String]) == ["prod-a"])
        #expect((d["datastores"] as? [String])?.sorted() == ["new-01", "old-01"])
        #expect((d["mb"] as? [Int]) == [2, 2])
        #expect(d["win"] == nil, "no windows, no bands")

        // With change windows: those from the run's start to a day past now, as offsets from the start.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let midnight = utc.startOfDay(for: t0)
        let windows = try ChangeWindows(parsing: "daily 00:00-00:01", timeZone: TimeZone(identifier: "UTC")!)
        let withWindows = try #require(try JSONSerialization.jsonObject(with: Data(LiveTimeline.json(tracker, now: t0.addingTimeInterval(200), windows: windows).utf8)) as? [String: Any])
        let next = midnight.addingTimeInterval(86_400).timeIntervalSince(t0)
        let bands = try #require(withWindows["win"] as? [Double])
        // t0 is 08:00: today's window has passed; tomorrow's shows; the one after is more than a day ahead.
        #expect(bands == [next, next + 60], "\(bands)")
    }
}
