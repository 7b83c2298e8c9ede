/// SOAP 1.1 request envelopes for the vim25 API.
///
/// ```swift
/// let body = SOAPEnvelope.request("RetrieveServiceContent", this: ("ServiceInstance", "ServiceInstance"))
/// let login = SOAPEnvelope.request("Login", this: ("SessionManager", "SessionManager")) { w in
///     w.element("userName", user)
///     w.element("password", password)
/// }
/// ```
public enum SOAPEnvelope {
    /// The SOAP 1.1 envelope namespace.
    public static let soapNamespace = "http://schemas.xmlsoap.org/soap/envelope/"
    /// The XML Schema instance namespace (`xsi:type`).
    public static let xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    /// The XML Schema namespace (`xsd:string`, …).
    public static let xsdNamespace = "http://www.w3.org/2001/XMLSchema"
    /// The vSphere API namespace.
    public static let vim25Namespace = "urn:vim25"

    private static let head =
        #"<?xml version="1.0" encoding="UTF-8"?>"#
        + #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/""#
        + #" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#
        + "<soapenv:Body>"
    private static let tail = "</soapenv:Body></soapenv:Envelope>"

    /// The envelope for calling `method` on the managed object `this` (type, id); `body`
    /// writes the method's parameters in schema order, after `_this`.
    public static func request(
        _ method: String, this: (type: String, value: String), capacity: Int = 1024,
        _ body: (inout XMLWriter) -> Void = { _ in }
    ) -> [UInt8] {
        var writer = XMLWriter(capacity: capacity)
        writer.raw(head)
        writer.start(method, attributes: [("xmlns", vim25Namespace)])
        writer.moRef("_this", type: this.type, value: this.value)
        body(&writer)
        writer.end(method)
        writer.raw(tail)
        return writer.bytes
    }
}
