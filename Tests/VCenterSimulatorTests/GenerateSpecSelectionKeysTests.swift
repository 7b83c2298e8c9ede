import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// `folders`, `attr.NAME`, `tag.CATEGORY` and `guests`: what strategies select by, in generated inventories.
@Suite struct GenerateSpecSelectionKeysTests {
    @Test func parsesAndPrintsTheKeys() throws {
        let spec = try GenerateSpec(parsing: "vms=6,folders=prod|prod/db,attr.MigrationWave=1|2|3,attr.owner=fin,guests=rhel9_64Guest")
        #expect(spec.folders == ["prod", "prod/db"])
        #expect(spec.attributes == ["MigrationWave": ["1", "2", "3"], "owner": ["fin"]])
        #expect(spec.guests == ["rhel9_64Guest"])
        #expect(try GenerateSpec(parsing: spec.description) == spec)
        #expect(spec.description.hasSuffix(",folders=prod|prod/db,guests=rhel9_64Guest,attr.MigrationWave=1|2|3,attr.owner=fin"))
        #expect(!GenerateSpec().description.contains("guests"), "the defaults print as before")
        #expect(throws: GenerateSpecError.self) { try GenerateSpec(parsing: "folders=/abs") }
        #expect(throws: GenerateSpecError.self) { try GenerateSpec(parsing: "attr.wave=") }
        #expect(throws: GenerateSpecError.self) { try GenerateSpec(parsing: "attr.=1") }
    }

    @Test func givesEachVMItsFolderAttributesAndGuestInTurn() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let plain = try InventoryGenerator.generate(try GenerateSpec(parsing: "vms=6,clusters=2,hosts=2"), referenceDate: start)
        let spec = try GenerateSpec(parsing: "vms=6,clusters=2,hosts=2,folders=prod|test,attr.wave=1|2|3,guests=rhel9_64Guest|windows2019srv_64Guest")
        let inv = try InventoryGenerator.generate(spec, referenceDate: start)
        #expect(inv.vms.map(\.folderPath) == ["prod", "test", "prod", "test", "prod", "test"].map { "/dc-sim/vm/" + $0 })
        #expect(inv.vms.map { $0.customAttributes["wave"] } == ["1", "2", "3", "1", "2", "3"])
        #expect(inv.vms[1].guestId == "windows2019srv_64Guest" && inv.vms[1].guestOS == "Microsoft Windows Server 2019 (64-bit)")
        #expect(inv.vms[0].guestOS == "Red Hat Enterprise Linux 9 (64-bit)")
        #expect(plain.vms.allSatisfy { $0.folderPath == "/dc-sim/vm" && $0.customAttributes.isEmpty && $0.guestOS != nil })
        // The keys draw nothing random: everything else is as without them.
        #expect(inv.vms.map(\.committedBytes) == plain.vms.map(\.committedBytes))
        #expect(inv.vms.map(\.disks) == plain.vms.map(\.disks))
    }

    /// `tag.CATEGORY=t1|t2` as the test vCenter's `-tag`: VM i gets tag i mod n of each
    /// category; without the key every VM's tags are read and empty (never unknown).
    @Test func givesEachVMItsTagsInTurn() throws {
        let spec = try GenerateSpec(parsing: "vms=4,clusters=1,hosts=2,tag.Migration-Wave=wave-1|wave-2,tag.team=fin")
        #expect(spec.tags == ["Migration-Wave": ["wave-1", "wave-2"], "team": ["fin"]])
        #expect(try GenerateSpec(parsing: spec.description) == spec)
        #expect(spec.description.hasSuffix(",tag.Migration-Wave=wave-1|wave-2,tag.team=fin"))
        #expect(throws: GenerateSpecError.self) { try GenerateSpec(parsing: "tag.a:b=c") }
        #expect(throws: GenerateSpecError.self) { try GenerateSpec(parsing: "tag.wave=") }
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let inv = try InventoryGenerator.generate(spec, referenceDate: start)
        #expect(inv.vms.map { $0.tags?.map(\.description) ?? [] } == [1, 2, 1, 2].map { ["Migration-Wave:wave-\($0)", "team:fin"] })
        let plain = try InventoryGenerator.generate(try GenerateSpec(parsing: "vms=4,clusters=1,hosts=2"), referenceDate: start)
        #expect(plain.vms.allSatisfy { $0.tags == [] } && plain.tagsUnread == nil)
        #expect(inv.vms.map(\.committedBytes) == plain.vms.map(\.committedBytes))
    }
}
