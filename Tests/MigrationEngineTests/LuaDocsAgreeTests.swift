import Foundation
import MigrationEngine
import Testing
import TestSupport

/// docs/LUA.md says what the code does (issue 13, findings 2 and 6): the retry defaults were
/// once only in docs/ARCHITECTURE.md, and `moonmotion.pretty` was in no document a script
/// writer reads. These read the document itself, so it cannot drift from the code.
@Suite("docs/LUA.md agrees with the code")
struct LuaDocsAgreeTests {
    static func luaDoc() throws -> String {
        try String(contentsOf: repoRoot.appendingPathComponent("docs/LUA.md"), encoding: .utf8)
    }

    /// The last cell of the table row whose first cell is `` `name` ``.
    static func defaultCell(_ name: String, in doc: String) -> String? {
        for line in doc.split(separator: "\n") where line.hasPrefix("| `\(name)` |") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return cells.last
        }
        return nil
    }

    /// The leading number of a cell (`7 (eight attempts)` → 7).
    static func leadingNumber(_ cell: String?) -> Double? {
        guard let cell else { return nil }
        return Double(cell.prefix { $0.isNumber || $0 == "." })
    }

    @Test("the Retries table's defaults are RetryPolicy()'s")
    func retryDefaults() throws {
        let doc = try Self.luaDoc()
        let policy = RetryPolicy()
        let expected: [(String, Double)] = [
            ("retries.default", Double(policy.defaultRetries)),
            ("retries.limit", Double(policy.attemptLimit)),
            ("backoff.first", policy.initialDelay),
            ("backoff.factor", policy.multiplier),
            ("backoff.max", policy.maxDelay),
        ]
        for (name, value) in expected {
            let cell = Self.defaultCell(name, in: doc)
            #expect(cell != nil, "docs/LUA.md has no row for `\(name)`")
            #expect(Self.leadingNumber(cell) == value, "`\(name)`: docs/LUA.md says \(cell ?? "nothing"), the code \(value)")
        }
    }

    @Test("every module of stdlib/moonmotion is documented in docs/LUA.md")
    func everyStdlibModuleDocumented() throws {
        let doc = try Self.luaDoc()
        let dir = repoRoot.appendingPathComponent("stdlib/moonmotion")
        let modules = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".lua") }.map { "moonmotion." + $0.dropLast(4) }.sorted()
        #expect(modules.contains("moonmotion.pretty") && modules.contains("moonmotion.util"), "\(modules)")
        for module in modules {
            #expect(doc.contains("**`\(module)`**"), "docs/LUA.md does not introduce \(module) (as **`\(module)`**)")
        }
    }
}
