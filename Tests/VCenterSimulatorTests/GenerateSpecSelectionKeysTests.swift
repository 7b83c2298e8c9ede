import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// `folders`, `attr.NAME` and `guests`: what strategies select by, in generated inventories.
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
}
