/// An error from vCenter or from talking to it, as one value: a SOAP fault
/// (`InvalidLogin`, `FileLocked`, …), a task's `info.error`, or a client-side
/// failure (`ConnectionFailed`, `TLSThumbprintMismatch`, `NotVSphere`, `Timeout`, …).
///
/// `description` is one line, `Type: message`, suitable for a terminal. It never
/// contains a password or a session cookie: producers must not put them in.
public struct VCenterFault: Error, Sendable, Hashable, CustomStringConvertible {
    /// The fault's vSphere type (the `xsi:type` of the fault detail or of
    /// `LocalizedMethodFault.fault`), or a client-side code for failures that
    /// never reached vSphere.
    public var type: String
    /// A human-readable message: `localizedMessage`, `faultstring`, or what went wrong locally.
    public var message: String
    /// The SOAP `faultstring`, when it differs from `message`.
    public var faultString: String?

    /// Creates a fault value.
    public init(type: String, message: String, faultString: String? = nil) {
        self.type = type
        self.message = message
        self.faultString = faultString
    }

    public var description: String {
        message.isEmpty ? type : "\(type): \(message)"
    }

    /// Fault types that, during a migration, mean "try again later": another
    /// task holds the VM or its files, or the VM is briefly in the wrong state.
    public static let retriableTypes: Set<String> = [
        "TaskInProgress", "FileLocked", "InvalidState", "ResourceInUse",
        "ConcurrentAccess", "HostCommunication", "NoPermissionOnHost"
    ]

    /// Whether this fault is retriable with backoff during a migration (see `retriableTypes`).
    public var isRetriable: Bool { Self.retriableTypes.contains(type) }

    /// Client-side fault types after which it is unknown whether vCenter received the call:
    /// the request may have been sent before the connection dropped, the read timed out or
    /// the answer was unreadable (`ClientError`: any other local failure). A task-starting
    /// call that ends so may have started its task.
    public static let outcomeUnknownTypes: Set<String> = [
        "Timeout", "ConnectionFailed", "InvalidResponse", "Cancelled", "Closed", "ClientError",
    ]

    /// Whether vCenter may have received and acted on the call that failed so (see `outcomeUnknownTypes`).
    public var isOutcomeUnknown: Bool { Self.outcomeUnknownTypes.contains(type) }

    /// Whether a job error text (`description`) is of an outcome-unknown fault.
    public static func isOutcomeUnknown(description: String) -> Bool {
        guard let colon = description.firstIndex(of: ":") else { return outcomeUnknownTypes.contains(description) }
        return outcomeUnknownTypes.contains(String(description[..<colon]))
    }
}

extension VCenterFault {
    /// The session is gone (expired or terminated); log in again.
    public static let notAuthenticatedType = "NotAuthenticated"
    /// The user name or password was rejected.
    public static let invalidLoginType = "InvalidLogin"
}
