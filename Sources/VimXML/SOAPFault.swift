/// A SOAP fault from vSphere: `faultcode`, `faultstring`, and the typed `detail`
/// (`<InvalidLoginFault xsi:type="InvalidLogin">`).
public struct SOAPFault: Error, Sendable, CustomStringConvertible {
    /// `faultcode` without its namespace prefix, for example `ServerFaultCode`.
    public var code: String
    /// `faultstring`: vSphere's human-readable message.
    public var faultString: String
    /// The vSphere fault type from the detail (its `xsi:type`, or the element name
    /// without the `Fault` suffix), nil when the fault has no detail.
    public var detailType: String?
    /// The detail's fault element, for fault-specific fields.
    public var detail: XMLElement?
    /// `faultMessage[].message` from the detail, when vSphere sent localized messages.
    public var localizedMessages: [String]

    /// Creates a fault value.
    public init(code: String, faultString: String, detailType: String? = nil, detail: XMLElement? = nil, localizedMessages: [String] = []) {
        self.code = code
        self.faultString = faultString
        self.detailType = detailType
        self.detail = detail
        self.localizedMessages = localizedMessages
    }

    /// The fault's type for people and for matching: the detail type, else the fault code.
    public var type: String { detailType ?? code }

    /// The best human-readable message: `faultstring`, else the first localized message.
    public var message: String {
        if !faultString.isEmpty { return faultString }
        return localizedMessages.first ?? ""
    }

    /// `Type: message`, one line.
    public var description: String { message.isEmpty ? type : "\(type): \(message)" }

    /// Decodes a `soapenv:Fault` element.
    public init(element fault: XMLElement) {
        var code = fault.child("faultcode")?.text ?? ""
        if let colon = code.lastIndex(of: ":") { code = String(code[code.index(after: colon)...]) }
        self.code = code
        self.faultString = fault.child("faultstring")?.text ?? ""
        let detailElement = fault.child("detail")?.children.first(where: { _ in true })
        self.detail = detailElement
        if let detailElement {
            if let xsiType = detailElement.xsiType {
                detailType = xsiType
            } else if detailElement.name.hasSuffix("Fault"), detailElement.name != "Fault" {
                detailType = String(detailElement.name.dropLast(5))
            } else {
                detailType = detailElement.name
            }
            localizedMessages = detailElement.children("faultMessage").compactMap { $0.child("message")?.text }
        } else {
            detailType = nil
            localizedMessages = []
        }
    }
}
