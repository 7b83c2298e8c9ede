/// An error from vCenter or from talking to it, as one value: a SOAP fault
/// (`InvalidLogin`, `FileLocked`, …), a task's `info.error`, or a client-side
/// failure (`ConnectionFailed`, `TLSThumbprintMismatch`, `NotVSphere`, `Timeout`, …).
///
/// `description` is one line, `Type: message`, suitable for a terminal. It never
/// contains a password or a session cookie: producers must not put them in, and the session
/// key vCenter writes into the names of a session's objects is cut on the way in.
public struct VCenterFault: Error, Sendable, Hashable, CustomStringConvertible {
    /// The fault's vSphere type (the `xsi:type` of the fault detail or of
    /// `LocalizedMethodFault.fault`), or a client-side code for failures that
    /// never reached vSphere.
    public var type: String
    /// A human-readable message: `localizedMessage`, `faultstring`, or what went wrong locally.
    public var message: String
    /// The SOAP `faultstring`, when it differs from `message`.
    public var faultString: String?

    /// Creates a fault value. A session-scoped object's session key in `message` or
    /// `faultString` is cut (`MoRef.redactingSessionKeys`): vCenter's messages name such objects.
    public init(type: String, message: String, faultString: String? = nil) {
        self.type = type
        self.message = MoRef.redactingSessionKeys(message)
        self.faultString = faultString.map(MoRef.redactingSessionKeys)
    }

    public var description: String {
        // A message that already starts with the type (a fault rebuilt from a description, as a
        // lost call's from the journal) is not prefixed again: "FileLocked: FileLocked: …".
        if message.isEmpty || message == type { return type }
        return message.hasPrefix(type + ":") ? message : "\(type): \(message)"
    }

    /// Whether this fault is retriable with backoff during a migration (`Code.isRetriable`).
    public var isRetriable: Bool { code.isRetriable }

    /// Whether vCenter may have received and acted on the call that failed so (`Code.isOutcomeUnknown`).
    public var isOutcomeUnknown: Bool { code.isOutcomeUnknown }
}

extension VCenterFault {
    /// The session is gone (expired or terminated); log in again.
    public static let notAuthenticatedType = Code.notAuthenticated.rawValue
    /// The user name or password was rejected.
    public static let invalidLoginType = Code.invalidLogin.rawValue
}
