import Testing
@testable import VimXML

/// `Type:value` of a managed object reference element, for comparisons.
func ref(_ element: XMLElement?) -> String? {
    element?.managedObjectReference.map { "\($0.type):\($0.value)" }
}

@Suite struct SOAPResponseParserTests {
    @Test func serviceContent() throws {
        let (outcome, pieces) = try SOAPResponseParser.parse(Fixture.bytes("service-content.xml"))
        guard case .response(let method) = outcome else { Issue.record("expected a response, got \(outcome)"); return }
        #expect(method == "RetrieveServiceContentResponse")
        #expect(pieces.count == 1)
        let sc = try #require(pieces.first)
        #expect(sc.name == "returnval")
        #expect(ref(sc.child("rootFolder")) == "Folder:group-d1")
        #expect(sc.child("propertyCollector")?.typeAttribute == "PropertyCollector")
        #expect(sc.path("about", "apiVersion")?.text == "7.0.3.0")
        #expect(sc.path("about", "fullName")?.text == "VMware vCenter Server 7.0.3 build-20150588")
        #expect(sc.child("taskManager")?.text == "TaskManager")
    }

    @Test func retrieveResultArrivesObjectByObject() throws {
        let (outcome, pieces) = try SOAPResponseParser.parse(Fixture.bytes("retrieve-properties-vms.xml"), granularity: .returnValueMembers)
        guard case .response(let method) = outcome else { Issue.record("expected a response"); return }
        #expect(method == "RetrievePropertiesExResponse")
        #expect(pieces.map(\.name) == ["token", "objects", "objects"])
        #expect(pieces[0].text == "7")
        let vm = pieces[1]
        #expect(ref(vm.child("obj")) == "VirtualMachine:vm-101")
        var props: [String: XMLElement] = [:]
        for p in vm.children("propSet") { props[p.child("name")!.text] = p.child("val")! }
        #expect(props["name"]?.text == "db-01 & <friends>")
        #expect(props["name"]?.xsiType == "string")
        #expect(props["config.template"]?.bool == false)
        #expect(props["runtime.consolidationNeeded"]?.bool == true)
        #expect(props["summary.storage.committed"]?.int64 == 53_687_091_200)
        #expect(props["summary.config.memorySizeMB"]?.int == 8192)
        #expect(ref(props["runtime.host"]) == "HostSystem:host-21")
        let datastores = props["datastore"]!
        #expect(datastores.xsiType == "ArrayOfManagedObjectReference")
        #expect(datastores.children.map(\.text) == ["datastore-11", "datastore-12"])
        let root = try #require(props["snapshot"]?.child("rootSnapshotList"))
        #expect(root.child("name")?.text == "before-upgrade")
        #expect(root.child("createTime")?.dateTime.map { abs($0 - 1_709_288_130.123) < 1e-6 } == true)
        #expect(root.path("childSnapshotList", "name")?.text == "after-upgrade")
        #expect(root.path("childSnapshotList", "description")?.text == "ok")
        #expect(root.child("description")?.text == "")
        #expect(pieces[2].child("obj")?.text == "vm-102")
    }

    @Test func byteByByteFeedingGivesTheSamePieces() throws {
        let bytes = Fixture.bytes("retrieve-properties-vms.xml")
        var names: [String] = []
        let parser = SOAPResponseParser(granularity: .returnValueMembers) { names.append($0.child("obj")?.text ?? $0.name) }
        for byte in bytes { try parser.feed([byte]) }
        try parser.finish()
        #expect(names == ["token", "vm-101", "vm-102"])
    }

    @Test func piecesKeptByTheConsumerStayIntact() throws {
        // The reader reuses its tree only when nobody kept the previous piece.
        let (_, pieces) = try SOAPResponseParser.parse(Fixture.bytes("retrieve-properties-vms.xml"), granularity: .returnValueMembers)
        #expect(pieces[1].child("obj")?.text == "vm-101")
        #expect(pieces[2].child("obj")?.text == "vm-102")
    }

    @Test func consumerErrorsEndTheParseAsTheyAre() {
        struct Stop: Error, Equatable {}
        let parser = SOAPResponseParser(granularity: .returnValueMembers) { piece in
            if piece.name == "objects" { throw Stop() }
        }
        #expect(throws: Stop.self) {
            try parser.feed(Fixture.bytes("retrieve-properties-vms.xml"))
            try parser.finish()
        }
    }

    @Test func invalidLoginFault() throws {
        let (outcome, pieces) = try SOAPResponseParser.parse(Fixture.bytes("fault-invalid-login.xml"))
        #expect(pieces.isEmpty)
        guard case .fault(let fault) = outcome else { Issue.record("expected a fault"); return }
        #expect(fault.type == "InvalidLogin")
        #expect(fault.code == "ServerFaultCode")
        #expect(fault.message == "Cannot complete login due to an incorrect user name or password.")
        #expect(fault.description == "InvalidLogin: Cannot complete login due to an incorrect user name or password.")
    }

    @Test func notAuthenticatedFaultKeepsItsDetail() throws {
        let (outcome, _) = try SOAPResponseParser.parse(Fixture.bytes("fault-not-authenticated.xml"))
        guard case .fault(let fault) = outcome else { Issue.record("expected a fault"); return }
        #expect(fault.type == "NotAuthenticated")
        #expect(fault.detail?.child("object")?.typeAttribute == "PropertyCollector")
        #expect(fault.detail?.child("privilegeId")?.text == "System.View")
    }

    @Test func faultTypeFromElementNameAndLocalizedMessage() throws {
        let (outcome, _) = try SOAPResponseParser.parse(Fixture.bytes("fault-localized.xml"))
        guard case .fault(let fault) = outcome else { Issue.record("expected a fault"); return }
        #expect(fault.type == "InvalidState")
        #expect(fault.code == "Server")
        #expect(fault.message == "The operation is not allowed in the current state of the virtual machine <db-01>.")
    }

    @Test func faultWithoutDetailUsesItsCode() throws {
        let xml = #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Unexpected element</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
        let (outcome, _) = try SOAPResponseParser.parse(Array(xml.utf8))
        guard case .fault(let fault) = outcome else { Issue.record("expected a fault"); return }
        #expect(fault.description == "Client: Unexpected element")
    }

    @Test func headerIsSkipped() throws {
        let xml = #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><x><returnval>no</returnval></x></soapenv:Header><soapenv:Body><CurrentTimeResponse xmlns="urn:vim25"><returnval>2024-03-01T10:15:30Z</returnval></CurrentTimeResponse></soapenv:Body></soapenv:Envelope>"#
        let (outcome, pieces) = try SOAPResponseParser.parse(Array(xml.utf8))
        guard case .response(let method) = outcome else { Issue.record("expected a response"); return }
        #expect(method == "CurrentTimeResponse")
        #expect(pieces.map(\.text) == ["2024-03-01T10:15:30Z"])
        #expect(pieces.first?.dateTime == 1_709_288_130)
    }

    @Test func emptyResponseElement() throws {
        let xml = #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><LogoutResponse xmlns="urn:vim25"/></soapenv:Body></soapenv:Envelope>"#
        let (outcome, pieces) = try SOAPResponseParser.parse(Array(xml.utf8))
        guard case .response(let method) = outcome else { Issue.record("expected a response"); return }
        #expect(method == "LogoutResponse")
        #expect(pieces.isEmpty)
    }
}
