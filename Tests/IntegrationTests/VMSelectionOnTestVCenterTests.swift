import Foundation
import Testing
import TestSupport

/// Folders, custom attributes and guest OS read from the test vCenter (real SOAP: the folder
/// tree, `customValue`, `CustomFieldsManager.field`) by `inventory`, and selected on by a
/// script's filters; `inventory` lists the VMs and shows a saved file.
@Suite(.timeLimit(.minutes(5))) struct VMSelectionOnTestVCenterTests {
    static let topology = TestVCenter.Options(
        clusters: 1, hosts: 2, vms: 6, datastores: "legacy:1,new:1",
        extraArgs: ["-folders", "prod,prod/db,test", "-attribute", "wave=1|2", "-guest-os", "windows2019srv_64Guest,rhel9_64Guest"])

    @Test func inventoryReadsFoldersAttributesAndGuestOSAndScriptsFilterOnThem() async throws {
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        let dir = try scriptDirectory([
            "select.lua": """
                local conn = require("moonmotion").connect()
                local function names(list) local out = {} for _, vm in ipairs(list) do out[#out + 1] = vm.name end table.sort(out) return table.concat(out, ",") end
                print("prod-tree=" .. names(conn:vms{folder = "/dc-1/vm/prod/*"}))
                print("wave2=" .. names(conn:vms{attribute = {wave = "2"}}))
                print("windows=" .. names(conn:vms{guest_os = "*Windows*"}))
                local vm = conn:vm("vm-c1-0002")
                print("fields=" .. vm.folder .. "|" .. vm.attributes.wave .. "|" .. vm.guest_os)
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = vc.urlWithCredentials.absoluteString

        let json = try await runMoonmotion(["inventory", "--url", url, "--json"], directory: dir, timeout: 120)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let vms = try #require(object["vms"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: vms.compactMap { vm in (vm["name"] as? String).map { ($0, vm) } })
        let second = try #require(byName["vm-c1-0002"])
        #expect(second["folder"] as? String == "/dc-1/vm/prod/db")
        #expect(second["attributes"] as? [String: String] == ["wave": "2"])
        #expect(second["guest_os"] as? String == "Red Hat Enterprise Linux 9 (64-bit)")
        #expect(second["guest_id"] as? String == "rhel9_64Guest")
        #expect(second["power"] is String && second["committed"] is Int && second["power_state"] == nil && second["committed_bytes"] == nil)

        let script = try await runMoonmotion(["run", "--url", url, "select.lua"], directory: dir, timeout: 120)
        #expect(script.status == 0, "\(script.stderr)")
        #expect(script.stdout.contains("prod-tree=vm-c1-0001,vm-c1-0002,vm-c1-0004,vm-c1-0005"), "\(script.stdout)")
        #expect(script.stdout.contains("wave2=vm-c1-0002,vm-c1-0004,vm-c1-0006"), "\(script.stdout)")
        #expect(script.stdout.contains("windows=vm-c1-0001,vm-c1-0003,vm-c1-0005"), "\(script.stdout)")
        #expect(script.stdout.contains("fields=/dc-1/vm/prod/db|2|Red Hat Enterprise Linux 9 (64-bit)"), "\(script.stdout)")

        // The table lists every VM with its folder and guest OS; --inventory shows a saved file alike.
        let table = try await runMoonmotion(["inventory", "--url", url, "--attributes"], directory: dir, timeout: 120)
        #expect(table.status == 0, "\(table.stderr)")
        let row = table.stdout.split(separator: "\n").first { $0.hasPrefix("vm-c1-0002 ") }.map(String.init) ?? ""
        #expect(row.contains("cluster-1") && row.contains("/dc-1/vm/prod/db") && row.contains("Red Hat Enterprise Linux 9") && row.contains("wave=2"), "\(table.stdout)")
        let file = dir.appendingPathComponent("inv.json")
        try Data(json.stdout.utf8).write(to: file)
        let saved = try await runMoonmotion(["inventory", "--inventory", file.path, "--attributes"], directory: dir, environment: ["GOVC_URL": ""], timeout: 120)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stdout.contains(row), "\(saved.stdout)")
        #expect(saved.stdout.hasPrefix("inventory file "), "\(saved.stdout)")
    }
}
