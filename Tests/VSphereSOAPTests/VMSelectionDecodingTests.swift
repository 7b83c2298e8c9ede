import Foundation
import Testing
import VCenterModel
import VimXML
@testable import VSphereSOAP

/// A VM's folder path, custom attributes and guest OS as the client decodes them from
/// RetrievePropertiesEx answers (the structure pass, CustomFieldsManager.field, the VMs).
@Suite struct VMSelectionDecodingTests {
    static func objects(_ body: String) throws -> [ObjectContent] {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
            <soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>\(body)</returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>
            """
        let (_, pieces) = try SOAPResponseParser.parse(Array(xml.utf8), granularity: .returnValueMembers, skipping: InventoryDecoding.deviceSkipRule)
        return pieces.filter { $0.name == "objects" }.map { ObjectContent(element: $0) }
    }

    static func ref(_ type: String, _ value: String) -> String {
        #"<val type="\#(type)" xsi:type="ManagedObjectReference">\#(value)</val>"#
    }

    /// /Region/DC0/vm/prod/db: a datacenter inside a folder, the root folder left out.
    static let structure = """
        <objects><obj type="Folder">group-r1</obj><propSet><name>name</name><val xsi:type="xsd:string">Region</val></propSet>
          <propSet><name>parent</name>\(ref("Folder", "group-d1"))</propSet></objects>
        <objects><obj type="Datacenter">datacenter-2</obj><propSet><name>name</name><val xsi:type="xsd:string">DC0</val></propSet>
          <propSet><name>parent</name>\(ref("Folder", "group-r1"))</propSet></objects>
        <objects><obj type="Folder">group-v3</obj><propSet><name>name</name><val xsi:type="xsd:string">vm</val></propSet>
          <propSet><name>parent</name>\(ref("Datacenter", "datacenter-2"))</propSet></objects>
        <objects><obj type="Folder">group-v10</obj><propSet><name>name</name><val xsi:type="xsd:string">prod</val></propSet>
          <propSet><name>parent</name>\(ref("Folder", "group-v3"))</propSet></objects>
        <objects><obj type="Folder">group-v11</obj><propSet><name>name</name><val xsi:type="xsd:string">db</val></propSet>
          <propSet><name>parent</name>\(ref("Folder", "group-v10"))</propSet></objects>
        """

    static let fields = """
        <objects><obj type="CustomFieldsManager">CustomFieldsManager</obj><propSet><name>field</name><val xsi:type="ArrayOfCustomFieldDef">
          <CustomFieldDef xsi:type="CustomFieldDef"><key>101</key><name>wave</name><type>string</type><managedObjectType>VirtualMachine</managedObjectType></CustomFieldDef>
          <CustomFieldDef xsi:type="CustomFieldDef"><key>102</key><name>owner</name><type>string</type></CustomFieldDef>
        </val></propSet></objects>
        """

    static let vm = """
        <objects><obj type="VirtualMachine">vm-42</obj>
          <propSet><name>name</name><val xsi:type="xsd:string">db-01</val></propSet>
          <propSet><name>parent</name>\(ref("Folder", "group-v11"))</propSet>
          <propSet><name>customValue</name><val xsi:type="ArrayOfCustomFieldValue">
            <CustomFieldValue xsi:type="CustomFieldStringValue"><key>101</key><value>2</value></CustomFieldValue>
            <CustomFieldValue xsi:type="CustomFieldStringValue"><key>102</key><value>fin</value></CustomFieldValue>
            <CustomFieldValue xsi:type="CustomFieldStringValue"><key>999</key><value>hidden</value></CustomFieldValue>
          </val></propSet>
          <propSet><name>config.guestFullName</name><val xsi:type="xsd:string">Microsoft Windows Server 2019 (64-bit)</val></propSet>
          <propSet><name>config.guestId</name><val xsi:type="xsd:string">windows2019srv_64Guest</val></propSet>
        </objects>
        """

    @Test func folderPathsAttributesAndGuestOS() throws {
        var structure = InventoryDecoding.Structure()
        for object in try Self.objects(Self.structure) { structure.add(object) }
        let paths = structure.folderPaths()
        #expect(paths[MoRef("Folder", "group-v11")] == "/Region/DC0/vm/prod/db")
        #expect(paths[MoRef("Folder", "group-v3")] == "/Region/DC0/vm")
        let fieldsObject = try #require(try Self.objects(Self.fields).first)
        let fieldNames = InventoryDecoding.customFieldNames(fieldsObject)
        #expect(fieldNames == [101: "wave", 102: "owner"])

        let vmObject = try #require(try Self.objects(Self.vm).first)
        let decoded = try #require(InventoryDecoding.vm(vmObject))
        #expect(decoded.folder == MoRef("Folder", "group-v11"))
        let vm = VMNaming(folderPaths: paths, fieldNames: fieldNames).record(decoded)
        #expect(vm.folderPath == "/Region/DC0/vm/prod/db")
        #expect(vm.customAttributes == ["wave": "2", "owner": "fin", "999": "hidden"])
        #expect(vm.guestOS == "Microsoft Windows Server 2019 (64-bit)" && vm.guestId == "windows2019srv_64Guest")
        // A folder the last inventory did not see (created since): no path rather than a wrong one.
        #expect(VMNaming().record(decoded).folderPath == nil)
    }
}
