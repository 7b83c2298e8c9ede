import Testing
@testable import VimXML

/// Subtrees left out of pieces by an `XMLSkipRule`.
@Suite struct XMLSkipRuleTests {
    static let devices = XMLSkipRule(element: "VirtualDevice", keeping: ["VirtualDisk", "VirtualCdrom"])

    static let document = Array(#"""
    <?xml version="1.0" encoding="UTF-8"?>
    <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>
    <objects><obj type="VirtualMachine">vm-1</obj>
      <propSet><name>config.hardware.device</name><val xsi:type="ArrayOfVirtualDevice">
        <VirtualDevice xsi:type="VirtualIDEController"><key>200</key><device>3000</device></VirtualDevice>
        <VirtualDevice xsi:type="vim25:VirtualDisk"><key>2000</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[a] b.vmdk</fileName></backing></VirtualDevice>
        <VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><backing><VirtualDevice xsi:type="VirtualDisk"><key>9</key></VirtualDevice></backing><macAddress>00:50:56:&amp;</macAddress><![CDATA[<VirtualDevice xsi:type="VirtualDisk">]]></VirtualDevice>
        <VirtualDevice><key>1</key></VirtualDevice>
        <VirtualDevice xsi:type="VirtualCdrom"><key>3000</key></VirtualDevice>
      </val></propSet>
      <propSet><name>name</name><val xsi:type="xsd:string">a &amp; b</val></propSet>
    </objects>
    <objects><obj type="VirtualMachine">vm-2</obj><propSet><name>config.hardware.device</name><val xsi:type="ArrayOfVirtualDevice"><VirtualDevice xsi:type="VirtualPCIController"><key>100</key></VirtualDevice></val></propSet></objects>
    </returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>
    """#.utf8)

    static func devices(_ piece: XMLElement) -> [String] {
        piece.children("propSet").first { $0.child("name")?.text == "config.hardware.device" }?.child("val")?.children.map { "\($0.xsiType ?? "-"):\($0.child("key")?.text ?? "")" } ?? []
    }

    @Test func onlyKeptTypesBecomeNodes() throws {
        let (outcome, pieces) = try SOAPResponseParser.parse(Self.document, granularity: .returnValueMembers, skipping: Self.devices)
        guard case .response = outcome else { Issue.record("\(outcome)"); return }
        #expect(pieces.count == 2)
        // The disk and the drive (a prefixed xsi:type too); the controller, the NIC with the
        // look-alike inside it and the untyped element are gone.
        #expect(Self.devices(pieces[0]) == ["VirtualDisk:2000", "VirtualCdrom:3000"])
        #expect(pieces[0].children("propSet").last?.child("val")?.text == "a & b")
        #expect(pieces[0].path("propSet", "val", "VirtualDevice", "backing", "fileName")?.text == "[a] b.vmdk")
        // Everything skipped: an empty array, and the next piece is whole.
        #expect(pieces[1].child("obj")?.text == "vm-2")
        #expect(pieces[1].path("propSet", "val")?.hasChildren == false)
    }

    @Test func withoutARuleEverythingIsKept() throws {
        let (_, pieces) = try SOAPResponseParser.parse(Self.document, granularity: .returnValueMembers)
        #expect(Self.devices(pieces[0]) == ["VirtualIDEController:200", "VirtualDisk:2000", "VirtualVmxnet3:4000", "-:1", "VirtualCdrom:3000"])
    }

    @Test func byteByByteFeedingSkipsTheSame() throws {
        var seen: [[String]] = []
        let parser = SOAPResponseParser(granularity: .returnValueMembers, skipping: Self.devices) { seen.append(Self.devices($0)) }
        for byte in Self.document { try parser.feed([byte]) }
        try parser.finish()
        #expect(seen == [["VirtualDisk:2000", "VirtualCdrom:3000"], []])
    }

    @Test func aPieceRootIsNeverSkipped() throws {
        // With `.returnValue` the whole returnval is the piece, even if the rule named it.
        let rule = XMLSkipRule(element: "returnval", keeping: [])
        let (_, pieces) = try SOAPResponseParser.parse(Self.document, granularity: .returnValue, skipping: rule)
        #expect(pieces.count == 1 && pieces[0].children("objects").count == 2)
    }

    @Test func skippedSubtreesStillCountForDepthAndStayWellFormed() throws {
        // A truncated document is still reported as truncated while inside a skipped subtree.
        let cut = Array(Self.document.prefix(upTo: Self.document.count / 2))
        #expect(throws: XMLParseError.self) { _ = try SOAPResponseParser.parse(cut, granularity: .returnValueMembers, skipping: Self.devices) }
        // The depth limit applies inside skipped subtrees too.
        let deep = Array((#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><R><returnval><objects><VirtualDevice>"#
            + String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)
            + "</VirtualDevice></objects></returnval></R></soapenv:Body></soapenv:Envelope>").utf8)
        #expect(throws: XMLParseError.self) {
            _ = try SOAPResponseParser.parse(deep, granularity: .returnValueMembers, skipping: XMLSkipRule(element: "VirtualDevice", keeping: []))
        }
    }
}
