import Foundation

/// The repository's root directory (found from this file's path at compile time).
public let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent() // TestSupport
    .deletingLastPathComponent() // Tests
    .deletingLastPathComponent()

/// The built `moonmotion` executable for integration tests. Looks, in order, at
/// `$MOONMOTION_BIN`, next to the running test bundle (SwiftPM puts products and the
/// `*PackageTests.xctest` in the same directory), then at `<repo>/.build*/**/debug/moonmotion`
/// (the newest). Throws a message saying how to build it when none exists.
public func moonmotionBinary() throws -> URL {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["MOONMOTION_BIN"], !env.isEmpty {
        guard fm.isExecutableFile(atPath: env) else {
            throw TestVCenterError.binaryNotFound("MOONMOTION_BIN=\(env) is not an executable file")
        }
        return URL(fileURLWithPath: env)
    }
    var dirs: [URL] = []
    if let exe = Bundle.main.executableURL { dirs.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
    if let arg0 = CommandLine.arguments.first, !arg0.isEmpty {
        let u = URL(fileURLWithPath: arg0).resolvingSymlinksInPath()
        dirs.append(u.deletingLastPathComponent())
        // …/debug/moonmotionPackageTests.xctest[/Contents/MacOS/…] on macOS
        var up = u
        for _ in 0..<4 {
            up = up.deletingLastPathComponent()
            if up.pathExtension == "xctest" { dirs.append(up.deletingLastPathComponent()) }
        }
    }
    for d in dirs {
        let candidate = d.appendingPathComponent("moonmotion")
        if fm.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    var best: (URL, Date)?
    let root = repoRoot
    if let entries = try? fm.contentsOfDirectory(atPath: root.path) {
        for e in entries where e.hasPrefix(".build") {
            let base = root.appendingPathComponent(e)
            var candidates = [base.appendingPathComponent("debug/moonmotion")]
            if let sub = try? fm.contentsOfDirectory(atPath: base.path) {
                candidates += sub.map { base.appendingPathComponent($0).appendingPathComponent("debug/moonmotion") }
            }
            for c in candidates where fm.isExecutableFile(atPath: c.path) {
                let date = (try? fm.attributesOfItem(atPath: c.path)[.modificationDate] as? Date) ?? .distantPast
                if best == nil || date > best!.1 { best = (c, date) }
            }
        }
    }
    if let best { return best.0 }
    throw TestVCenterError.binaryNotFound(
        "moonmotion binary not found next to the test bundle (\(dirs.map(\.path))) nor under \(root.path)/.build*/…/debug; build it first: swift build --product moonmotion (or set MOONMOTION_BIN)")
}
