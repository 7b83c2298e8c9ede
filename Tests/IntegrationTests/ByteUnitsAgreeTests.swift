import Foundation
import Testing
import TestSupport

/// One byte unit everywhere (issue 13.5): the same jobs read the same size, in the same
/// IEC unit, in `run --dry-run`, `plan`, `run`, `inventory` and the run's report — before, `run` said 93.3 TB
/// (decimal) where `plan` and `inventory` said 84.8 TB (binary, labelled TB).
@Suite("byte units agree across commands")
struct ByteUnitsAgreeTests {
    static let spec = "clusters=1,hosts=2,vms=6"

    /// `994.0 GiB` after `prefix` in `text`.
    static func size(after prefix: String, in text: String) -> String? {
        guard let range = text.range(of: prefix) else { return nil }
        let rest = text[range.upperBound...]
        let pattern = /([0-9]+\.[0-9]+ (KiB|MiB|GiB|TiB|PiB))/
        return rest.firstMatch(of: pattern).map { String($0.1) }
    }

    @Test("dry run, plan, run, inventory and the report print the same total for the same VMs, in GiB/TiB")
    func totalsAgree() async throws {
        let script = examplePath("storage-migration.lua")
        let env = ["GOVC_URL": ""]
        let reportDir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-units-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: reportDir) }
        let dry = try await runMoonmotion(["run", script, "--generate", Self.spec, "--dry-run"], environment: env)
        let plan = try await runMoonmotion(["plan", script, "--generate", Self.spec], environment: env)
        let run = try await runMoonmotion(["run", script, "--generate", Self.spec, "--speed", "20000", "--report", reportDir.path],
                                          environment: env)
        let inventory = try await runMoonmotion(["inventory", "--generate", Self.spec], environment: env)
        for outcome in [dry, plan, run, inventory] { #expect(outcome.status == 0, "\(outcome.stderr)") }
        let html = (try? String(contentsOf: reportDir.appendingPathComponent("report.html"), encoding: .utf8)) ?? ""
        let csv = (try? String(contentsOf: reportDir.appendingPathComponent("report.csv"), encoding: .utf8)) ?? ""
        let sizes = [
            "run --dry-run": Self.size(after: "6 job(s) to run, ", in: dry.stdout),
            "plan": Self.size(after: "Moved               6 VMs, ", in: plan.stdout),
            "run": Self.size(after: "moved 6 VM(s), ", in: run.stdout),
            "inventory": Self.size(after: "cluster-1      2    6  ", in: inventory.stdout),
            "report.html": Self.size(after: "id=\"bytes-done\">", in: html),
        ]
        #expect(sizes.values.allSatisfy { $0 != nil }, "\(sizes)")
        #expect(Set(sizes.values.compactMap { $0 }).count == 1, "one figure for the same bytes: \(sizes)")
        // report.csv holds bytes as plain numbers, for spreadsheets: no unit to disagree.
        #expect(csv.contains("bytes"), "\(csv.prefix(300))")
        for text in [dry.stdout, plan.stdout, run.stdout, inventory.stdout, html] {
            #expect(text.firstMatch(of: /[0-9] (KB|MB|GB|TB|PB)\b/) == nil, "a decimal or mislabelled unit: \(text.prefix(2000))")
        }
    }
}
