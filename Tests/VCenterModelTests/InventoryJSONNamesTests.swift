import Foundation
import Testing
import VCenterModel

/// The inventory JSON uses the Lua field names, reads the older names, and carries a VM's
/// folder, custom attributes and guest OS.
@Suite struct InventoryJSONNamesTests {
    static let host = MoRef("HostSystem", "host-1")
    static let ds = MoRef("Datastore", "datastore-1")

    static func inventory() -> Inventory {
        let vm = VMInfo(ref: MoRef("VirtualMachine", "vm-1"), name: "db-01", host: host, datastores: [ds], committedBytes: 600,
                        uncommittedBytes: 7, powerState: "poweredOff", configDatastore: ds, faultToleranceRole: 1,
                        toolsRunningStatus: "guestToolsNotRunning", folderPath: "/DC0/vm/prod/db", customAttributes: ["wave": "1", "owner": "fin"],
                        guestOS: "Microsoft Windows Server 2019 (64-bit)", guestId: "windows2019srv_64Guest")
        return Inventory(datacenters: [], clusters: [], hosts: [HostInfo(ref: host, name: "esx-1", inMaintenanceMode: true)],
                         datastores: [DatastoreInfo(ref: ds, name: "old", capacityBytes: 1000, freeBytes: 400, hosts: [host])], vms: [vm])
    }

    @Test func writesTheLuaNamesAndReadsThemBack() throws {
        let original = Self.inventory()
        let data = try original.jsonData()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let vm = try #require((object["vms"] as? [[String: Any]])?.first)
        #expect(vm["power"] as? String == "poweredOff")
        #expect(vm["committed"] as? Int == 600)
        #expect(vm["uncommitted"] as? Int == 7)
        #expect(vm["home"] as? String == "old")
        #expect(vm["tools"] as? String == "guestToolsNotRunning")
        #expect(vm["fault_tolerance"] as? String == "primary")
        #expect(vm["folder"] as? String == "/DC0/vm/prod/db")
        #expect(vm["attributes"] as? [String: String] == ["wave": "1", "owner": "fin"])
        #expect(vm["guest_os"] as? String == "Microsoft Windows Server 2019 (64-bit)")
        #expect(vm["guest_id"] as? String == "windows2019srv_64Guest")
        let text = String(decoding: data, as: UTF8.self)
        for old in ["power_state", "committed_bytes", "capacity_bytes", "free_bytes", "tools_running_status", "config_datastore", "in_maintenance_mode", "fault_tolerance_role"] {
            #expect(!text.contains("\"\(old)\""), "still writes \(old)")
        }
        let back = try Inventory(jsonData: data)
        #expect(back.vms == original.vms)
        #expect(back.hosts == original.hosts)
        #expect(back.datastores == original.datastores)
    }

    @Test func readsAFileWithTheOlderNames() throws {
        let json = """
        {"clusters":[],"hosts":[{"name":"esx-1","moref":"host-1","in_maintenance_mode":true}],
         "datastores":[{"name":"old","moref":"datastore-1","capacity_bytes":1000,"free_bytes":400,"host_morefs":["host-1"]}],
         "vms":[{"name":"db-01","moref":"vm-1","host_moref":"host-1","datastore_morefs":["datastore-1"],"committed_bytes":600,
                 "uncommitted_bytes":7,"power_state":"poweredOff","config_datastore_moref":"datastore-1","fault_tolerance_role":1,
                 "tools_running_status":"guestToolsNotRunning",
                 "disks":[{"key":2000,"file":"[old] db-01/db-01.vmdk","datastore_moref":"datastore-1","capacity_bytes":900,"used_bytes":500}]}]}
        """
        let inv = try Inventory(jsonData: Data(json.utf8))
        let vm = try #require(inv.vms.first)
        #expect(vm.committedBytes == 600 && vm.uncommittedBytes == 7 && vm.powerState == "poweredOff")
        #expect(vm.configDatastore == Self.ds && vm.faultToleranceRole == 1 && vm.toolsRunningStatus == "guestToolsNotRunning")
        #expect(vm.disks.first?.capacityBytes == 900 && vm.disks.first?.usedBytes == 500)
        #expect(vm.folderPath == nil && vm.customAttributes.isEmpty && vm.guestOS == nil)
        #expect(inv.datastores.first?.capacityBytes == 1000 && inv.datastores.first?.freeBytes == 400)
        #expect(inv.hosts.first?.inMaintenanceMode == true)
    }

    @Test func powerInAnySpellingAndAnUnknownOneNamed() throws {
        func power(_ text: String) throws -> String? {
            let json = #"{"clusters":[],"hosts":[],"datastores":[],"vms":[{"name":"a","moref":"vm-1","power":"\#(text)"}]}"#
            return try Inventory(jsonData: Data(json.utf8)).vms.first?.powerState
        }
        #expect(try power("PoweredOff") == "poweredOff")
        #expect(try power("off") == "poweredOff")
        #expect(try power("poweredOn") == "poweredOn")
        #expect(try power("Suspended") == "suspended")
        #expect(throws: InventoryDecodingError.self) { try power("down") }
        #expect(VMPowerState("ON") == .poweredOn && VMPowerState("halted") == nil)
    }

    /// Tags as Lua has them (`"category:tag"`): a list when read (empty for none), absent when
    /// not, with the reason kept at the top; a tag without a category is refused.
    @Test func tagsAreWrittenAsLuaReadsThemAndUnreadStaysUnread() throws {
        var tagged = Self.inventory()
        var vm = tagged.vms[0]
        vm.tags = [VMTag(category: "team", name: "fin"), VMTag(category: "migration-wave", name: "wave-1")]
        tagged.update(vm)
        let data = try tagged.jsonData()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((object["vms"] as? [[String: Any]])?.first?["tags"] as? [String] == ["team:fin", "migration-wave:wave-1"])
        #expect(try Inventory(jsonData: data).vms[0].tags == vm.tags!.sorted())

        var none = Self.inventory()
        vm.tags = []
        none.update(vm)
        #expect(try Inventory(jsonData: none.jsonData()).vms[0].tags == [])

        var unread = Self.inventory()
        unread.tagsUnread = "tags were not read: HTTP 404"
        let unreadData = try unread.jsonData()
        let unreadObject = try #require(try JSONSerialization.jsonObject(with: unreadData) as? [String: Any])
        #expect((unreadObject["vms"] as? [[String: Any]])?.first?["tags"] == nil)
        let back = try Inventory(jsonData: unreadData)
        #expect(back.vms[0].tags == nil && back.tagsUnread == "tags were not read: HTTP 404")

        let bad = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"team:fin\"", with: "\"fin\"")
        #expect(throws: (any Error).self) { try Inventory(jsonData: Data(bad.utf8)) }
    }
}
