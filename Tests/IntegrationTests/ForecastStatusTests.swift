import Foundation
import Testing
import TestSupport

/// Issue 15.2: the ETA `moonmotion status JOURNAL` shows (another process, reading the journal
/// alone) is the run's latest forecast — its predicted end overall and per cluster — once a
/// task has ended, and the rate-based one, labelled, before.
@Suite("the forecast in `moonmotion status` (built-in simulator, 2 clusters)")
struct ForecastStatusTests {
    @Test("mid-run, `status --json` carries the forecast's predicted end; the text view names it per cluster")
    func statusCarriesForecast() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("forecast.journal").path
        // About 3 simulated hours at 150× time: some 70 s of run, the first task ending after
        // some 20 s. (At 300× the loaded suite once left too few status reads of a forecast in
        // the run's 34 s: each read is two processes of a debug build.)
        let run = try BackgroundMoonmotion(
            ["run", examplePath("storage-migration.lua"), "--generate", "clusters=2,hosts=4,vms=40", "--speed", "150",
             "--journal", journal], directory: dir)
        var seen: [String: Any]?
        var text = ""
        var reads: [String] = []  // what each status read showed, for the failure message
        let deadline = Date().addingTimeInterval(120)
        // Wait for an observed event: a status whose ETA is the forecast's (bounded by the run's end).
        while run.isRunning, Date() < deadline {
            if try await journalHoldsRun(journal) {
                let j = try await runMoonmotion(["status", journal, "--json"], directory: dir)
                let doc = j.status == 0 ? try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any] : nil
                let overall = doc?["overall"] as? [String: Any]
                reads.append("exit \(j.status) phase \(doc?["phase"] ?? "–") eta \(overall?["etaSource"] ?? "–")")
                if let doc, overall?["etaSource"] as? String == "forecast", (doc["phase"] as? String) == "dispatching" {
                    // The text view is a second process: under load the run has ended before it
                    // read the journal (once in ten suite runs: "status: done"). Both views must
                    // come from the running run, so a late text view means another try.
                    let view = try await runMoonmotion(["status", journal], directory: dir).stdout
                    if view.contains("predicted end: ") {
                        seen = doc
                        text = view
                        break
                    }
                    reads.append("text view without a predicted end: \(view.prefix(300))")
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let outcome = await run.finish(timeout: 300)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let doc = try #require(seen, "no status showed a forecast while the run went; reads: \(reads.joined(separator: "; "))\n\(outcome.stdout.suffix(2000))")
        let overall = try #require(doc["overall"] as? [String: Any])
        let now = try #require((doc["now"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        let end = try #require((overall["predictedEnd"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(end > now, "the predicted end lies ahead")
        let eta = try #require(overall["eta"] as? Double)
        #expect(abs(end.timeIntervalSince(now) - eta) <= 1, "eta is the time to the predicted end")
        #expect(overall["rateEta"] != nil, "the rate-based ETA stays available")
        #expect(doc["forecastMadeAt"] is String)
        let clusters = try #require(doc["clusters"] as? [[String: Any]])
        #expect(clusters.contains { (($0["totals"] as? [String: Any])?["etaSource"] as? String) == "forecast" })
        #expect(text.contains("predicted end: "), "\(text)")
        #expect(text.contains("forecast made "), "\(text)")
    }
}
