internal import CLibXML2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The SAX2 callbacks: libxml2 calls them with our parser as its user data.

private let soapNamespace: StaticString = "http://schemas.xmlsoap.org/soap/envelope/"
private let xsiNamespace: StaticString = "http://www.w3.org/2001/XMLSchema-instance"
private let typeName: StaticString = "type"

@inline(__always)
private func parser(_ ctx: UnsafeMutableRawPointer?) -> SOAPResponseParser {
    Unmanaged<SOAPResponseParser>.fromOpaque(ctx!).takeUnretainedValue()
}

@inline(__always)
private func equals(_ value: UnsafePointer<xmlChar>?, _ constant: StaticString) -> Bool {
    guard let value else { return false }
    return xmlStrEqual(value, constant.utf8Start) != 0
}

extension SOAPResponseParser {
    nonisolated(unsafe) static let saxHandler: xmlSAXHandler = {
        var sax = xmlSAXHandler()
        sax.initialized = UInt32(XML_SAX2_MAGIC)
        sax.startElementNs = { ctx, localname, _, uri, _, _, attributeCount, _, attributes in
            parser(ctx).startElement(localname!, uri, Int(attributeCount), attributes)
        }
        sax.endElementNs = { ctx, _, _, _ in
            parser(ctx).endElement()
        }
        sax.characters = { ctx, bytes, length in
            parser(ctx).characters(bytes, Int(length))
        }
        sax.cdataBlock = { ctx, bytes, length in
            parser(ctx).characters(bytes, Int(length))
        }
        sax.internalSubset = { ctx, name, _, _ in
            if let name, xmlStrcasecmp(name, "html") == 0 {
                parser(ctx).fail(XMLParseError(.notSOAP, "not a SOAP response: the server sent an HTML page"))
            } else {
                parser(ctx).fail(XMLParseError(.forbiddenDTD, "refused a <!DOCTYPE> in the response: SOAP forbids DTDs (entity declarations are never expanded)"))
            }
        }
        sax.getEntity = { _, _ in nil }
        sax.serror = { ctx, error in
            guard let ctx, let error else { return }
            parser(ctx).recordLibXMLError(error.pointee)
        }
        return sax
    }()

    func recordLibXMLError(_ error: xmlError) {
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue, libxmlError == nil else { return }
        var message = error.message.map { String(cString: $0) } ?? "XML error \(error.code)"
        while let last = message.last, last == "\n" || last == " " { message.removeLast() }
        libxmlError = XMLParseError(.malformed, "malformed XML: " + message, line: error.line > 0 ? Int(error.line) : nil, column: Int(error.int2))
    }

    func startElement(_ localname: UnsafePointer<xmlChar>, _ uri: UnsafePointer<xmlChar>?, _ attributeCount: Int, _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) {
        depth += 1
        if depth > limits.maxDepth {
            fail(XMLParseError(.tooDeep, "XML nested deeper than \(limits.maxDepth) elements"))
            return
        }
        if skipDepth > 0 { return }
        if collectDepth > 0 {
            if !addNode(localname, attributeCount, attributes, mayBeSkipped: skipRule != nil) {
                // Left out by the skip rule: ignore everything up to its end tag.
                skipDepth = depth
            }
            return
        }
        switch depth {
        case 1:
            guard equals(uri, soapNamespace), equals(localname, "Envelope") else {
                // Read on (skipping everything) so that a cut document is still reported as cut.
                foreignRoot = name(localname)
                skipDepth = 1
                return
            }
            sawEnvelope = true
        case 2:
            if equals(uri, soapNamespace), equals(localname, "Body") { sawBody = true } else { skipDepth = depth }
        case 3:
            guard sawBody else { skipDepth = depth; return }
            if equals(uri, soapNamespace), equals(localname, "Fault") {
                inFault = true
                beginPiece(localname, attributeCount, attributes)
            } else if responseName == nil {
                responseName = name(localname)
            } else {
                skipDepth = depth
            }
        case 4:
            if granularity == .returnValue { beginPiece(localname, attributeCount, attributes) }
        default:
            beginPiece(localname, attributeCount, attributes)
        }
    }

    func endElement() {
        defer { depth -= 1 }
        if skipDepth > 0 {
            if depth == skipDepth { skipDepth = 0 }
            return
        }
        if collectDepth > 0 {
            let index = Int(openNodes.removeLast())
            if tree.nodes[index].firstChild < 0, !text.isEmpty {
                tree.nodes[index].text = String(decoding: text, as: UTF8.self)
            }
            clearText()
            if depth == collectDepth {
                collectDepth = 0
                endPiece()
            }
            return
        }
        if depth == 2, sawBody { bodyClosed = true }
    }

    /// Empties the text buffer, keeping its storage. Only when it holds text: most elements
    /// have none, and `removeAll(keepingCapacity:)` costs a generic range replacement even on
    /// an empty array (1.5 % of a VM retrieval's CPU when called for every element).
    @inline(__always)
    private func clearText() {
        if !text.isEmpty { text.removeAll(keepingCapacity: true) }
    }

    func characters(_ bytes: UnsafePointer<xmlChar>?, _ length: Int) {
        guard collectDepth > 0, skipDepth == 0, let bytes, length > 0 else { return }
        if text.count + length > limits.maxTextBytes {
            fail(XMLParseError(.tooLarge, "an XML text node is larger than \(limits.maxTextBytes) bytes"))
            return
        }
        text.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    }

    private func beginPiece(_ localname: UnsafePointer<xmlChar>, _ attributeCount: Int, _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) {
        if !isKnownUniquelyReferenced(&tree) { tree = XMLTree() }
        tree.reset()
        openNodes.removeAll(keepingCapacity: true)
        text.removeAll(keepingCapacity: true)
        collectDepth = depth
        addNode(localname, attributeCount, attributes, mayBeSkipped: false)
    }

    private func endPiece() {
        if inFault {
            inFault = false
            faultTree = tree
            tree = XMLTree()
            return
        }
        do {
            try onPiece(tree.root)
        } catch {
            if pendingError == nil { pendingError = error }
            if let context { xmlStopParser(context) }
        }
    }

    /// Appends the element to the piece's tree; returns false (and appends nothing) when
    /// `mayBeSkipped` and the skip rule leaves the element out.
    @discardableResult
    private func addNode(
        _ localname: UnsafePointer<xmlChar>, _ attributeCount: Int, _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, mayBeSkipped: Bool
    ) -> Bool {
        if tree.nodes.count >= limits.maxPieceElements {
            fail(XMLParseError(.tooLarge, "one piece of the response has more than \(limits.maxPieceElements) elements"))
            return true
        }
        let elementName = name(localname)
        var xsiType: String?
        var typeAttribute: String?
        if let attributes {
            for i in 0..<attributeCount {
                let base = attributes + 5 * i
                guard equals(base[0], typeName), var value = base[3], let end = base[4] else { continue }
                if equals(base[2], xsiNamespace) {
                    // Drop the prefix: xsd:string → string, vim25:TraversalSpec → TraversalSpec.
                    var p = value
                    while p < end {
                        if p.pointee == UInt8(ascii: ":") { value = p + 1 }
                        p += 1
                    }
                    xsiType = attributeValue(value, end)
                } else if base[2] == nil {
                    typeAttribute = attributeValue(value, end)
                }
            }
        }
        if mayBeSkipped, let skipRule, skipRule.skips(elementName, xsiType: xsiType) { return false }
        clearText()
        let parent = openNodes.last ?? -1
        let index = tree.append(name: elementName, xsiType: xsiType, typeAttribute: typeAttribute, parent: parent)
        openNodes.append(index)
        return true
    }

    /// The Swift string for an element name; libxml2 interns names in its dictionary,
    /// so the pointer identifies the name for the whole parse.
    func name(_ localname: UnsafePointer<xmlChar>) -> String {
        let key = UnsafeRawPointer(localname)
        // Names are at least 8-byte aligned apart; the bits above the low 3 spread them.
        let slot = Int(truncatingIfNeeded: UInt(bitPattern: key) >> 3) & (nameSlotCount - 1)
        if nameSlots[slot].key == key { return nameSlots[slot].name }
        let value: String
        if let known = namesByPointer[key] {
            value = known
        } else {
            value = String(cString: localname)
            namesByPointer[key] = value
        }
        nameSlots[slot] = NameSlot(key: key, name: value)
        return value
    }

    /// An attribute value as a string. Without entity substitution libxml2 hands over a
    /// literal `&` (written `&amp;` or `&#38;`) as the five characters `&#38;`; they are
    /// turned back into `&` here, which is exact because any other `&` would have been escaped.
    private func attributeValue(_ start: UnsafePointer<xmlChar>, _ end: UnsafePointer<xmlChar>) -> String {
        let count = end - start
        guard memchr(start, Int32(UInt8(ascii: "&")), count) != nil else { return intern(start, count) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var p = start
        while p < end {
            if p.pointee == UInt8(ascii: "&"), end - p >= 5, p[1] == UInt8(ascii: "#"), p[2] == UInt8(ascii: "3"), p[3] == UInt8(ascii: "8"), p[4] == UInt8(ascii: ";") {
                bytes.append(UInt8(ascii: "&"))
                p += 5
            } else {
                bytes.append(p.pointee)
                p += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A shared string for a short attribute value (object types, `xsi:type`s repeat a lot).
    /// A value whose slot holds another is made anew and takes the slot: sharing saves
    /// memory, it is not needed for correctness.
    private func intern(_ bytes: UnsafePointer<xmlChar>, _ count: Int) -> String {
        let buffer = UnsafeBufferPointer(start: bytes, count: count)
        guard count <= 64 else { return String(decoding: buffer, as: UTF8.self) }
        var hash = 14_695_981_039_346_656_037 as UInt64
        for byte in buffer { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let slot = Int(truncatingIfNeeded: hash) & (valueSlotCount - 1)
        if valueSlots[slot].hash == hash, var known = valueSlots[slot].value, known.utf8.count == count {
            // withUTF8 on a copy: the stored string is native, so this neither copies nor allocates.
            if known.withUTF8({ memcmp($0.baseAddress!, bytes, count) == 0 }) { return known }
        }
        let value = String(decoding: buffer, as: UTF8.self)
        valueSlots[slot] = ValueSlot(hash: hash, value: value)
        return value
    }
}

/// How many element names `SOAPResponseParser.name` keeps in its direct-mapped table (a power
/// of two; a vSphere response uses a few hundred names at most).
let nameSlotCount = 1024

/// How many attribute values `SOAPResponseParser.intern` keeps (a power of two).
let valueSlotCount = 1024

/// One entry of `SOAPResponseParser.nameSlots`: an element name by libxml2's pointer to it.
struct NameSlot {
    var key: UnsafeRawPointer?
    var name = ""
}

/// One entry of `SOAPResponseParser.valueSlots`: an attribute value with its FNV-1a hash.
struct ValueSlot {
    var hash: UInt64 = 0
    var value: String?
}
