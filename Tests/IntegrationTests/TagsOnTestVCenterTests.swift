import Foundation
import Testing
import TestSupport

/// vSphere tags read from the test vCenter's Automation REST API (govmomi's vAPI simulator,
/// seeded with `-tag`) by `inventory` and selected on by a script; where the API is not there
/// (`-no-rest`), the inventory is read without tags and says why, and a tag filter fails
/// with that reason instead of selecting nothing.
@Suite(.timeLimit(.minutes(5))) struct TagsOnTestVCenterTests {
    static let script = """
        local conn = require("moonmotion").connect()
        local function names(list) local out = {} for _, vm in ipairs(list) do out[#out + 1] = vm.name end table.sort(out) return table.concat(out, ",") end
        local ok, wave1 = pcall(function() return names(conn:vms{tag = "migration-wave:wave-1"}) end)
        print("wave1=" .. tostring(wave1))
        if ok then
            print("wave2or3=" .. names(conn:vms{tag = {["migration-wave"] = "wave-[23]"}}))
            local vm = conn:vm("vm-c1-0002")
            print("fields=" .. table.concat(vm.tags, ";") .. "|" .. vm.tag["migration-wave"] .. "|" .. vm.tag.team)
        else
            print("tags=" .. tostring(conn:vm("vm-c1-0002").tags) .. " unread=" .. tostring(conn:inventory().tags_unread))
        end
        """

    @Test func inventoryAndScriptsReadTheSeededTags() async throws {
        let vc = try await TestVCenter.start(TestVCenter.Options(
            clusters: 1, hosts: 2, vms: 6, datastores: "legacy:1,new:1",
            extraArgs: ["-tag", "migration-wave=wave-1|wave-2|wave-3", "-tag", "team=fin"]))
        defer { vc.stop() }
        let dir = try scriptDirectory(["select.lua": Self.script])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = vc.urlWithCredentials.absoluteString

        try await vc.resetStats()
        let json = try await runMoonmotion(["inventory", "--url", url, "--json"], directory: dir, timeout: 120)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let vms = try #require(object["vms"] as? [[String: Any]])
        let tags = Dictionary(uniqueKeysWithValues: vms.compactMap { vm in (vm["name"] as? String).map { ($0, vm["tags"] as? [String]) } })
        #expect(tags["vm-c1-0001"] == ["migration-wave:wave-1", "team:fin"])
        #expect(tags["vm-c1-0002"] == ["migration-wave:wave-2", "team:fin"])
        #expect(tags["vm-c1-0006"] == ["migration-wave:wave-3", "team:fin"])
        #expect(object["tags_unread"] == nil)
        // Login, the tag list, one batch listing, 4 tags, 2 categories, logout: 10 calls for 6 VMs.
        let stats = try await vc.stats(includeTasks: false)
        #expect(stats.restCallsTotal == 10, "\(stats.restCalls ?? [:])")

        let script = try await runMoonmotion(["run", "--url", url, "select.lua"], directory: dir, timeout: 120)
        #expect(script.status == 0, "\(script.stderr)")
        #expect(script.stdout.contains("wave1=vm-c1-0001,vm-c1-0004\n"), "\(script.stdout)")
        #expect(script.stdout.contains("wave2or3=vm-c1-0002,vm-c1-0003,vm-c1-0005,vm-c1-0006\n"), "\(script.stdout)")
        #expect(script.stdout.contains("fields=migration-wave:wave-2;team:fin|wave-2|fin"), "\(script.stdout)")

        let table = try await runMoonmotion(["inventory", "--url", url, "--tags"], directory: dir, timeout: 120)
        #expect(table.status == 0, "\(table.stderr)")
        let row = table.stdout.split(separator: "\n").first { $0.hasPrefix("vm-c1-0003 ") }.map(String.init) ?? ""
        #expect(row.hasSuffix("migration-wave:wave-3, team:fin"), "\(table.stdout)")
        #expect(!table.stdout.contains("tags were not read"), "\(table.stdout)")
    }

    @Test func withoutTheAutomationAPITagsAreUnknownAndSaySo() async throws {
        let vc = try await TestVCenter.start(TestVCenter.Options(clusters: 1, hosts: 1, vms: 2, datastores: "legacy:1,new:1", extraArgs: ["-no-rest"]))
        defer { vc.stop() }
        let dir = try scriptDirectory(["select.lua": Self.script])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = vc.urlWithCredentials.absoluteString

        let table = try await runMoonmotion(["inventory", "--url", url, "--tags"], directory: dir, timeout: 120)
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("vm-c1-0001 ") && $0.hasSuffix("  ?") }, "\(table.stdout)")
        #expect(lines.last?.hasPrefix("tags were not read: the vCenter's Automation REST API (/rest) is not there (HTTP 404)") == true, "\(table.stdout)")

        let json = try await runMoonmotion(["inventory", "--url", url, "--json"], directory: dir, timeout: 120)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["tags_unread"] as? String)?.contains("HTTP 404") == true)
        #expect((object["vms"] as? [[String: Any]])?.allSatisfy { $0["tags"] == nil } == true)

        let script = try await runMoonmotion(["run", "--url", url, "select.lua"], directory: dir, timeout: 120)
        #expect(script.status == 0, "\(script.stderr)")
        #expect(script.stdout.contains("wave1=") && script.stdout.contains("filter 'tag': tags were not read: the vCenter's Automation REST API"), "\(script.stdout)")
        #expect(script.stdout.contains("tags=nil unread=tags were not read"), "\(script.stdout)")
    }
}
