#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import VimXML

/// Malformed, truncated and hostile documents must end in a clear `XMLParseError`,
/// never a crash, a hang, or output on stderr.
@Suite struct HostileXMLTests {
    private func parseError(_ bytes: [UInt8], limits: XMLLimits = .default, granularity: SOAPResponseParser.Granularity = .returnValue) -> XMLParseError? {
        do {
            _ = try SOAPResponseParser.parse(bytes, granularity: granularity, limits: limits)
            return nil
        } catch let error as XMLParseError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    private func envelope(_ inner: String) -> [UInt8] {
        Array((#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><CurrentTimeResponse xmlns="urn:vim25">"# + inner + "</CurrentTimeResponse></soapenv:Body></soapenv:Envelope>").utf8)
    }

    @Test func billionLaughsIsRefusedBeforeAnyExpansion() {
        let clock = ContinuousClock()
        let start = clock.now
        let error = parseError(Fixture.bytes("billion-laughs.xml"))
        #expect(error?.kind == .forbiddenDTD)
        #expect(error?.description.contains("DOCTYPE") == true)
        #expect(clock.now - start < .seconds(2))
    }

    @Test func externalEntityIsRefused() {
        let error = parseError(Fixture.bytes("external-entity.xml"))
        #expect(error?.kind == .forbiddenDTD)
    }

    @Test func undeclaredEntityIsMalformed() {
        let error = parseError(envelope("<returnval>&secret;</returnval>"))
        #expect(error?.kind == .malformed)
        #expect(error?.description.contains("secret") == true)
    }

    @Test func predefinedAndCharacterReferencesAreDecoded() throws {
        let (_, pieces) = try SOAPResponseParser.parse(envelope("<returnval>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;</returnval>"))
        #expect(pieces.first?.text == #"<&>"'AB"#)
    }

    @Test func htmlPageIsNotSOAP() {
        #expect(parseError(Fixture.bytes("not-vsphere.html"))?.kind == .notSOAP)
        let error = parseError(Array("<html><body><h1>404 Not Found</h1></body></html>".utf8))
        #expect(error?.kind == .notSOAP)
        #expect(error?.description.contains("<html>") == true)
    }

    @Test func otherXMLIsNotSOAP() {
        #expect(parseError(Array(#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>"#.utf8))?.kind == .notSOAP)
        // An Envelope in the wrong namespace (SOAP 1.2) is not what vim25 speaks either.
        #expect(parseError(Array(#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#.utf8))?.kind == .notSOAP)
    }

    @Test func hundredThousandNestedElements() {
        var xml = #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><CurrentTimeResponse xmlns="urn:vim25"><returnval>"#
        xml += String(repeating: "<a>", count: 100_000)
        xml += String(repeating: "</a>", count: 100_000)
        xml += "</returnval></CurrentTimeResponse></soapenv:Body></soapenv:Envelope>"
        let error = parseError(Array(xml.utf8))
        #expect(error?.kind == .tooDeep)
        #expect(error?.description.contains("200") == true)
    }

    @Test func deepNestingWithoutEnvelope() {
        let xml = String(repeating: "<a>", count: 100_000)
        let error = parseError(Array(xml.utf8))
        #expect(error != nil)
    }

    @Test func sizeLimits() {
        let long = String(repeating: "x", count: 5_000)
        var limits = XMLLimits.default
        limits.maxTextBytes = 1_000
        #expect(parseError(envelope("<returnval>\(long)</returnval>"), limits: limits)?.kind == .tooLarge)

        limits = .default
        limits.maxDocumentBytes = 100
        #expect(parseError(envelope("<returnval>\(long)</returnval>"), limits: limits)?.kind == .tooLarge)

        limits = .default
        limits.maxPieceElements = 10
        #expect(parseError(envelope("<returnval>" + String(repeating: "<a/>", count: 50) + "</returnval>"), limits: limits)?.kind == .tooLarge)
    }

    @Test(arguments: ["service-content.xml", "fault-not-authenticated.xml", "retrieve-properties-vms.xml"])
    func everyTruncationIsAnError(_ name: String) throws {
        let bytes = Fixture.bytes(name)
        let close = Array("</soapenv:Envelope>".utf8)
        let complete = try #require((0...(bytes.count - close.count)).last { Array(bytes[$0..<($0 + close.count)]) == close }) + close.count
        var kinds: [XMLParseError.Kind: Int] = [:]
        for cut in stride(from: 0, to: complete, by: name == "retrieve-properties-vms.xml" ? 7 : 1) {
            let error = parseError(Array(bytes[0..<cut]), granularity: .returnValueMembers)
            #expect(error != nil, "cut at \(cut) was accepted")
            if let error {
                kinds[error.kind, default: 0] += 1
                if error.kind != .truncated { Issue.record("cut at \(cut): \(error.kind) \(error)") }
            }
        }
        #expect(Set(kinds.keys).isSubset(of: [.truncated]), "\(kinds)")
        #expect(parseError(Array(bytes[0..<complete])) == nil)
    }

    @Test func mismatchedTagsAreMalformedWithAPosition() {
        let error = parseError(Array("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\n<soapenv:Body><X></Y></soapenv:Body></soapenv:Envelope>".utf8))
        #expect(error?.kind == .malformed)
        #expect(error?.line == 2)
        #expect(error?.description.contains("line 2") == true)
    }

    @Test func binaryGarbage() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(parseError(bytes) != nil)
        }
    }

    @Test func feedingAfterAnErrorKeepsFailing() {
        let parser = SOAPResponseParser { _ in }
        #expect(throws: XMLParseError.self) { try parser.feed(Array("<a></b>".utf8)) }
        #expect(throws: XMLParseError.self) { try parser.feed(Array("<c/>".utf8)) }
        #expect(throws: XMLParseError.self) { try parser.finish() }
    }

    @Test func emptyInput() {
        #expect(parseError([])?.kind == .truncated)
    }

    @Test func nothingIsPrintedToStandardError() throws {
        let path = "/tmp/vimxml-stderr-\(getpid()).txt"
        let saved = dup(2)
        let file = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        try #require(saved >= 0 && file >= 0)
        dup2(file, 2)
        close(file)
        _ = parseError(Fixture.bytes("billion-laughs.xml"))
        _ = parseError(envelope("<returnval>&nope;</returnval>"))
        _ = parseError(Array("<a><b></a>".utf8))
        _ = parseError(Array("<?xml version=\"1.0\" encoding=\"bogus-encoding\"?><a/>".utf8))
        _ = parseError([0xFF, 0xFE, 0x00, 0x3C])
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        var st = stat()
        stat(path, &st)
        var printed = ""
        if st.st_size > 0, let f = fopen(path, "r") {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = fread(&buffer, 1, buffer.count, f)
                if n <= 0 { break }
                printed += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            fclose(f)
        }
        unlink(path)
        // Swift Testing reports other tests' progress on stderr meanwhile; libxml2's own
        // messages look like "Entity: line 1: parser error : …".
        let libxmlMarkers = ["parser error", "namespace error", "I/O error", "encoding error", "Entity: line", "validity error"]
        #expect(!libxmlMarkers.contains { printed.contains($0) }, "libxml2 printed: \(printed)")
    }
}
