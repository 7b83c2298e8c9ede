import Testing
@testable import VimXML

@Suite struct XMLWriterTests {
    /// Wraps markup written by `body` in a response envelope, as a server would send it.
    private func response(_ body: (inout XMLWriter) -> Void) -> [UInt8] {
        var w = XMLWriter()
        w.raw(#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><EchoResponse xmlns="urn:vim25"><returnval>"#)
        body(&w)
        w.raw("</returnval></EchoResponse></soapenv:Body></soapenv:Envelope>")
        return w.bytes
    }

    @Test func loginEnvelopeIsExact() {
        let bytes = SOAPEnvelope.request("Login", this: ("SessionManager", "SessionManager")) { w in
            w.element("userName", "administrator@vsphere.local")
            w.element("password", #"p&ss<w>rd"'"#)
        }
        let expected = #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>administrator@vsphere.local</userName><password>p&amp;ss&lt;w&gt;rd"'</password></Login></soapenv:Body></soapenv:Envelope>"#
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    @Test func xsiTypeAndMoRefAttributes() {
        var w = XMLWriter()
        w.start("selectSet", xsiType: "TraversalSpec")
        w.element("type", "ContainerView")
        w.end("selectSet")
        w.moRef("obj", type: "ContainerView", value: "session[52]view-1")
        w.moRef("val", type: "VirtualMachine", value: "vm-1", xsiType: true)
        #expect(String(decoding: w.bytes, as: UTF8.self) ==
            #"<selectSet xsi:type="TraversalSpec"><type>ContainerView</type></selectSet><obj type="ContainerView">session[52]view-1</obj><val xsi:type="ManagedObjectReference" type="VirtualMachine">vm-1</val>"#)
    }

    static let tricky: [String] = [
        "plain", "", "a & b < c > d", #"quote " apos ' both"#, "tab\tnewline\ncr\r end", "crlf\r\nline",
        "unicode é 日本語 🚀", "  spaces around  ", "&amp; already escaped", "]]> cdata end", "x\u{7F}y",
    ]

    @Test(arguments: tricky)
    func textAndAttributeRoundTrip(_ value: String) throws {
        let bytes = response { w in
            w.element("text", value)
            w.moRef("ref", type: value, value: value)
        }
        let (_, pieces) = try SOAPResponseParser.parse(bytes)
        let returnval = try #require(pieces.first)
        #expect(returnval.child("text")?.text == value)
        #expect(returnval.child("ref")?.text == value)
        #expect(returnval.child("ref")?.typeAttribute == value)
    }

    @Test func charactersXMLCannotCarryBecomeReplacementCharacters() throws {
        let value = "nul\u{0}bell\u{7}esc\u{1B}end\u{FFFE}\u{FFFF}"
        let bytes = response { w in
            w.element("text", value)
            w.moRef("ref", type: value, value: "x")
        }
        let (_, pieces) = try SOAPResponseParser.parse(bytes)
        let expected = "nul\u{FFFD}bell\u{FFFD}esc\u{FFFD}end\u{FFFD}\u{FFFD}"
        #expect(pieces.first?.child("text")?.text == expected)
        #expect(pieces.first?.child("ref")?.typeAttribute == expected)
    }

    @Test func dateTimeFormatsAndParsesBack() {
        for seconds in [0.0, 1_709_288_130.123, 951_782_400.0, -86_400.0] {
            let text = XSDDateTime.format(seconds)
            let parsed = XSDDateTime.parse(text)
            #expect(parsed.map { abs($0 - seconds) < 0.001 } == true, "\(text)")
        }
        #expect(XSDDateTime.format(0) == "1970-01-01T00:00:00Z")
        #expect(XSDDateTime.format(951_782_400) == "2000-02-29T00:00:00Z")
    }

    @Test func dateTimeParsing() {
        #expect(XSDDateTime.parse("2024-03-01T10:15:30.123Z").map { abs($0 - 1_709_288_130.123) < 1e-6 } == true)
        #expect(XSDDateTime.parse("2024-03-02T08:00:00+02:00") == 1_709_359_200)
        #expect(XSDDateTime.parse("2024-03-02T06:00:00") == 1_709_359_200)
        #expect(XSDDateTime.parse("2024-03-02T06:00:00-01:30") == 1_709_364_600)
        #expect(XSDDateTime.parse("yesterday") == nil)
        #expect(XSDDateTime.parse("2024-13-02T06:00:00Z") == nil)
        #expect(XSDDateTime.parse("2024-03-02T06:00:00Zjunk") == nil)
        #expect(XSDDateTime.parse("2024-03-02T06:00:00.Z") == nil)
        // Long years: up to nine digits parse, more are refused, never an overflow trap (found
        // by the response fuzzer in a TaskInfo's startTime).
        #expect(XSDDateTime.parse("123456789-01-01T00:00:00Z") != nil)
        #expect(XSDDateTime.parse("-123456789-01-01T00:00:00Z") != nil)
        #expect(XSDDateTime.parse("1234567890-01-01T00:00:00Z") == nil)
        #expect(XSDDateTime.parse("99999999999999999999-01-01T00:00:00Z") == nil)
    }
}
