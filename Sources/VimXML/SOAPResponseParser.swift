internal import CLibXML2

/// A streaming reader for vim25 SOAP responses over libxml2's SAX2 push parser.
///
/// Feed it the response body chunk by chunk as it arrives (`feed`), then call `finish`.
/// It never builds a tree of the whole document: each piece of the response (each
/// `returnval`, or each member of the `returnval` such as one `ObjectContent` of a
/// `RetrieveResult`) is collected into a small `XMLTree` and handed to `onPiece` as soon
/// as its end tag is read, then dropped.
///
/// Safety: no DTD is accepted (so no entity can be declared or expanded), no network
/// access, nesting and sizes are bounded by `XMLLimits`, and libxml2's messages are
/// captured into `XMLParseError`, never printed.
///
/// One parser reads one response, from one task at a time.
public final class SOAPResponseParser {
    /// Which elements become pieces.
    public enum Granularity: Sendable {
        /// Each `returnval` of the response element is one piece (small responses).
        case returnValue
        /// Each child of each `returnval` is one piece: `objects` and `token` of a
        /// `RetrieveResult`, so 10,000 VMs arrive as 10,000 small trees.
        case returnValueMembers
    }

    /// How the response ended.
    public enum Outcome: Sendable {
        /// A normal response; `method` is the response element's name (`RetrievePropertiesExResponse`).
        case response(method: String)
        /// A SOAP fault.
        case fault(SOAPFault)
    }

    let granularity: Granularity
    let limits: XMLLimits
    let skipRule: XMLSkipRule?
    let onPiece: (XMLElement) throws -> Void

    var context: xmlParserCtxtPtr?
    var bytesFed = 0
    var finished = false

    // Parse state. A parser is used by one task at a time and libxml2 calls back on that
    // task's thread, so the per-access exclusivity checks are switched off for these hot fields.

    // Position in the envelope.
    @exclusivity(unchecked) var depth = 0
    var sawEnvelope = false
    var foreignRoot: String?      // the root element's name when it is not a SOAP envelope
    @exclusivity(unchecked) var sawBody = false
    @exclusivity(unchecked) var bodyClosed = false
    var responseName: String?
    @exclusivity(unchecked) var skipDepth = 0            // > 0 while inside an ignored subtree (soapenv:Header), its depth
    @exclusivity(unchecked) var inFault = false

    // The piece being collected.
    @exclusivity(unchecked) var tree = XMLTree()
    @exclusivity(unchecked) var collectDepth = 0          // depth of the piece's root element; 0 when not collecting
    @exclusivity(unchecked) var openNodes: [Int32] = []   // node index of each open element of the piece
    @exclusivity(unchecked) var text: [UInt8] = []
    var faultTree: XMLTree?

    // Errors.
    var pendingError: (any Error)?
    var libxmlError: XMLParseError?

    // Interned names and attribute values. Every element asks for its name and most for an
    // attribute value, so each is first looked up in a direct-mapped table (an array indexed by
    // a few bits of the pointer or of the bytes' hash) rather than a Dictionary, whose hashing
    // of every key was a few per cent of a VM retrieval's CPU.
    @exclusivity(unchecked) var nameSlots = [NameSlot](repeating: NameSlot(), count: nameSlotCount)
    @exclusivity(unchecked) var namesByPointer: [UnsafeRawPointer: String] = [:]  // behind nameSlots, for collisions
    @exclusivity(unchecked) var valueSlots = [ValueSlot](repeating: ValueSlot(), count: valueSlotCount)

    /// Creates a reader. `onPiece` is called synchronously from `feed`/`finish` with
    /// each piece; an error it throws ends the parse and is rethrown as it is. `skipping`
    /// leaves the subtrees it names out of every piece (see `XMLSkipRule`).
    public init(
        granularity: Granularity = .returnValue, limits: XMLLimits = .default, skipping: XMLSkipRule? = nil,
        onPiece: @escaping (XMLElement) throws -> Void
    ) {
        self.granularity = granularity
        self.limits = limits
        self.skipRule = skipping
        self.onPiece = onPiece
        text.reserveCapacity(256)
    }

    deinit {
        if let context { xmlFreeParserCtxt(context) }
    }

    /// Parses the next chunk of the document.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws {
        precondition(!finished, "SOAPResponseParser.feed after finish")
        if let pendingError { throw pendingError }
        guard chunk.count > 0 else { return }
        bytesFed += chunk.count
        if bytesFed > limits.maxDocumentBytes {
            let error = XMLParseError(.tooLarge, "response larger than \(limits.maxDocumentBytes) bytes")
            pendingError = error
            throw error
        }
        var offset = 0
        if context == nil {
            // The push parser wants the first bytes (to detect the encoding) at creation.
            let first = min(chunk.count, 4)
            try createContext(chunk.baseAddress!.assumingMemoryBound(to: CChar.self), first)
            offset = first
        }
        while offset < chunk.count {
            let length = min(chunk.count - offset, Int(Int32.max))
            let rc = xmlParseChunk(context, chunk.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(length), 0)
            offset += length
            try checkAfterParse(rc, terminating: false)
        }
    }

    /// Parses the next chunk of the document.
    public func feed(_ chunk: [UInt8]) throws {
        try chunk.withUnsafeBytes { try feed($0) }
    }

    /// Ends the document and returns how the response ended. Throws `XMLParseError` when
    /// the document is incomplete, malformed or not SOAP, or the error `onPiece` threw.
    @discardableResult
    public func finish() throws -> Outcome {
        precondition(!finished, "SOAPResponseParser.finish called twice")
        finished = true
        if let pendingError { throw pendingError }
        guard let context else { throw XMLParseError(.truncated, "empty response: no XML was received") }
        let rc = xmlParseChunk(context, nil, 0, 1)
        try checkAfterParse(rc, terminating: true)
        if let foreignRoot {
            throw XMLParseError(.notSOAP, "not a SOAP response: the document is <\(foreignRoot)>, not a soapenv:Envelope")
        }
        guard sawEnvelope else { throw XMLParseError(.notSOAP, "not a SOAP response: no soapenv:Envelope") }
        guard bodyClosed else { throw XMLParseError(.truncated, "truncated SOAP response: the envelope is incomplete") }
        if let faultTree {
            return .fault(SOAPFault(element: faultTree.root))
        }
        guard let responseName else { throw XMLParseError(.notSOAP, "SOAP response without a response element in its Body") }
        return .response(method: responseName)
    }

    /// Parses a whole document in one call and returns its outcome and every piece.
    public static func parse(
        _ bytes: [UInt8], granularity: Granularity = .returnValue, limits: XMLLimits = .default, skipping: XMLSkipRule? = nil
    ) throws -> (outcome: Outcome, pieces: [XMLElement]) {
        var pieces: [XMLElement] = []
        let parser = SOAPResponseParser(granularity: granularity, limits: limits, skipping: skipping) { pieces.append($0) }
        try parser.feed(bytes)
        let outcome = try parser.finish()
        return (outcome, pieces)
    }

    private func createContext(_ bytes: UnsafePointer<CChar>, _ count: Int) throws {
        SOAPResponseParser.initializeLibXML()
        mm_xml_silence_generic_errors()
        var sax = SOAPResponseParser.saxHandler
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard let ctxt = xmlCreatePushParserCtxt(&sax, me, bytes, Int32(count), nil) else {
            throw XMLParseError(.malformed, "libxml2 could not create a parser (out of memory?)")
        }
        context = ctxt
        // NONET: never fetch anything. No NOENT (entities are not substituted), no DTDLOAD,
        // no HUGE (libxml2's own size limits stay on).
        _ = xmlCtxtUseOptions(ctxt, Int32(XML_PARSE_NONET.rawValue))
        try checkAfterParse(0, terminating: false)
    }

    private func checkAfterParse(_ rc: Int32, terminating: Bool) throws {
        if let pendingError { throw pendingError }
        if var error = libxmlError {
            if terminating, error.kind == .malformed { error.kind = .truncated; error.message = "truncated XML: " + error.message }
            pendingError = error
            throw error
        }
        if rc != 0 {
            let error = XMLParseError(terminating ? .truncated : .malformed, "XML parse error \(rc)")
            pendingError = error
            throw error
        }
    }

    /// Records `error` (the first one wins) and stops libxml2.
    func fail(_ error: XMLParseError) {
        if pendingError == nil { pendingError = error }
        if let context { xmlStopParser(context) }
    }

    private static let libxmlInitialized: Void = { xmlInitParser() }()
    static func initializeLibXML() { _ = libxmlInitialized }
}
