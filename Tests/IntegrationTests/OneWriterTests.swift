import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One runner per journal: a second `moonmotion run` (with or without `--resume`) on a journal
/// another process is running is refused at once, naming the holder, and changes nothing —
/// four processes on one journal used to copy VMs twice and overrun the limits.
@Suite("one runner per journal")
struct OneWriterTests {
    @Test("a second runner on a live journal is refused naming the holder; the first finishes; no VM copied twice")
    func secondRunnerRefused() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 4, vms: 8, speed: 300))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("run.journal").path
        let events = dir.appendingPathComponent("events.jsonl")
        let args = ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "--journal", journal]
        let first = try BackgroundMoonmotion(args + ["--events", events.path], directory: dir)
        // Wait (bounded) until the first run has a task running: it holds the journal then.
        let started = Date()
        while first.isRunning, Date().timeIntervalSince(started) < 60,
              (try? String(contentsOf: events, encoding: .utf8))?.contains("\"state\":\"running\"") != true {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(first.isRunning)
        for extra in [["--resume"], []] {
            let second = try await runMoonmotion(args + extra, directory: dir, timeout: 60)
            #expect(second.status == 1, "\(extra): \(second.stdout)\n\(second.stderr)")
            #expect(second.stderr.contains("is in use by another moonmotion run (PID \(first.pid) on "), "\(second.stderr)")
            #expect(second.stderr.contains("nothing was changed"), "\(second.stderr)")
        }
        let end = await first.finish(timeout: 300)
        #expect(end.status == 0, "\(end.stdout.suffix(1500))\n\(end.stderr)")
        #expect(end.stdout.contains("moved 8 VM(s)"), "\(end.stdout.suffix(1500))")
        let stats = try await vc.stats()
        #expect(stats.moves.count == 8 && stats.moves.values.allSatisfy { $0 == 1 }, "\(stats.moves)")
        #expect(stats.limitViolations.isEmpty)
        // The holder's end releases the journal: it resumes (nothing left to do) at once.
        let again = try await runMoonmotion(args + ["--resume"], directory: dir, timeout: 60)
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
    }
}
