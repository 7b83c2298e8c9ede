extension VCenterFault {
    /// A fault's type as a value (in the style of async-http-client's `HTTPClientError`): one of
    /// vSphere's fault types — which keep vSphere's inheritance, so a rule for `HostCommunication`
    /// covers `HostNotConnected` (`isA`) — or one of Moonmotion's client-side codes for failures
    /// that never reached vSphere. What the engine and the client decide from a fault (retry it,
    /// look for the task of a call it cut short, log in again, report a TLS problem) are
    /// properties of its code, decided on purpose for each, never a match on message text.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible, ExpressibleByStringLiteral {
        /// The type name (`HostNotConnected`, `Timeout`): what Lua sees as `err.type`.
        public let rawValue: String

        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }

        public var description: String { rawValue }

        // MARK: vSphere fault types the project handles

        public static let methodFault: Code = "MethodFault"
        public static let runtimeFault: Code = "RuntimeFault"
        public static let vimFault: Code = "VimFault"
        public static let taskInProgress: Code = "TaskInProgress"
        public static let fileFault: Code = "FileFault"
        public static let fileLocked: Code = "FileLocked"
        public static let noDiskSpace: Code = "NoDiskSpace"
        public static let invalidState: Code = "InvalidState"
        public static let invalidPowerState: Code = "InvalidPowerState"
        public static let resourceInUse: Code = "ResourceInUse"
        public static let concurrentAccess: Code = "ConcurrentAccess"
        public static let hostCommunication: Code = "HostCommunication"
        public static let hostNotConnected: Code = "HostNotConnected"
        public static let noPermissionOnHost: Code = "NoPermissionOnHost"
        public static let noPermission: Code = "NoPermission"
        public static let notAuthenticated: Code = "NotAuthenticated"
        public static let invalidLogin: Code = "InvalidLogin"
        public static let managedObjectNotFound: Code = "ManagedObjectNotFound"
        public static let requestCanceled: Code = "RequestCanceled"
        public static let invalidArgument: Code = "InvalidArgument"
        public static let invalidDatastore: Code = "InvalidDatastore"
        public static let notSupported: Code = "NotSupported"
        public static let multiWriterNotSupported: Code = "MultiWriterNotSupported"
        public static let rdmConversionNotSupported: Code = "RDMConversionNotSupported"
        public static let systemError: Code = "SystemError"

        // MARK: Moonmotion's codes (never sent by vSphere)

        /// No answer in time (connect, read, or a trickling body).
        public static let timeout: Code = "Timeout"
        /// The connection failed or dropped before an answer.
        public static let connectionFailed: Code = "ConnectionFailed"
        /// An answer that is not a readable SOAP response.
        public static let invalidResponse: Code = "InvalidResponse"
        /// The call was cancelled locally (Ctrl-C, a stop).
        public static let cancelled: Code = "Cancelled"
        /// The connection was closed while the call ran.
        public static let closed: Code = "Closed"
        /// Any other local failure of a call.
        public static let clientError: Code = "ClientError"
        /// The connection ended while a task was being waited for.
        public static let connectionClosed: Code = "ConnectionClosed"
        /// The server is not vSphere (an HTML page, another protocol).
        public static let notVSphere: Code = "NotVSphere"
        /// The server's certificate does not match the pinned thumbprint.
        public static let tlsThumbprintMismatch: Code = "TLSThumbprintMismatch"
        /// The server's certificate is not trusted (no pin, not `--insecure`), or does not name the host.
        public static let tlsVerificationFailed: Code = "TLSVerificationFailed"
        /// Another TLS failure (handshake, protocol).
        public static let tlsError: Code = "TLSError"
        /// A configuration the client refuses (flags, environment, URL).
        public static let configurationError: Code = "ConfigurationError"
        /// A task ended in error without a fault.
        public static let taskError: Code = "TaskError"
        /// A custom job's method returned no task.
        public static let notATask: Code = "NotATask"
        /// A task taken for a lost call succeeded but the VM was not on the job's target.
        public static let taskNotConfirmed: Code = "TaskNotConfirmed"
        /// Storage DRS answered with a fault instead of recommendations.
        public static let storageDrsFault: Code = "StorageDrsFault"
        /// Storage DRS recommended no datastore.
        public static let noStorageRecommendation: Code = "NoStorageRecommendation"
        /// A name or reference the client looked up is not in the inventory.
        public static let notFound: Code = "NotFound"
        /// A name several objects share, where one was wanted.
        public static let ambiguousName: Code = "AmbiguousName"
        /// A task ended in error without saying why (as seen by a waiting script).
        public static let taskFailed: Code = "TaskFailed"

        /// Moonmotion's own codes (never sent by vSphere), in the order they are declared above.
        public static let clientSide: [Code] = [
            .timeout, .connectionFailed, .invalidResponse, .cancelled, .closed, .clientError, .connectionClosed,
            .notVSphere, .tlsThumbprintMismatch, .tlsVerificationFailed, .tlsError, .configurationError, .taskError,
            .notATask, .taskNotConfirmed, .storageDrsFault, .noStorageRecommendation, .notFound, .ambiguousName,
            .taskFailed,
        ]

        /// Every code this build knows, by name: vSphere's fault types and Moonmotion's own.
        /// What a strategy may name in a retry rule (a typo there would silently match nothing).
        public static let known: [Code] = Set(["MethodFault"] + vSphereParents.keys + clientSide.map(\.rawValue))
            .sorted().map(Code.init(rawValue:))

        /// Whether this build knows the code (`known`).
        public var isKnown: Bool { isVSphereFault || Self.clientSide.contains(self) }

        // MARK: Hierarchy

        /// The parent type in vSphere's hierarchy (`HostCommunication` for `HostNotConnected`);
        /// nil for `MethodFault`, a client-side code, or a type this build does not know.
        public var parent: Code? { Self.vSphereParents[rawValue].map(Code.init(rawValue:)) }

        /// Whether this is `ancestor` or one of its subtypes.
        public func isA(_ ancestor: Code) -> Bool {
            var current: Code? = self
            var steps = 0
            while let c = current, steps < 32 {
                if c == ancestor { return true }
                current = c.parent
                steps += 1
            }
            return false
        }

        /// Whether it is one of vSphere's fault types (as opposed to a client-side code).
        public var isVSphereFault: Bool { self == .methodFault || Self.vSphereParents[rawValue] != nil }

        // MARK: Decisions

        /// During a migration, "try again later": another task holds the VM or its files, the VM
        /// is briefly in the wrong state, a host is briefly unreachable. Decided per type:
        /// `TaskInProgress`, `FileLocked`, `ResourceInUse`, `ConcurrentAccess`, `NoPermissionOnHost`
        /// and `HostCommunication` with their subtypes (a `HostNotConnected` host may come back);
        /// `InvalidState` itself (another task's transient state) but not its subtypes, which say
        /// something waiting does not change (`InvalidPowerState`: the VM is in the wrong power
        /// state; `InvalidHostState`, `InvalidDatastoreState`…). Other `FileFault`s (`NoDiskSpace`,
        /// `FileNotFound`) are not retried: the strategy's `on_failure` decides.
        public var isRetriable: Bool {
            if self == .invalidState { return true }
            return [Code.taskInProgress, .fileLocked, .resourceInUse, .concurrentAccess, .noPermissionOnHost, .hostCommunication]
                .contains { isA($0) }
        }

        /// After a failure with this code it is unknown whether vCenter received the call: the
        /// request may have been sent before the connection dropped, the read timed out or the
        /// answer was unreadable. A task-starting call that ends so may have started its task.
        public var isOutcomeUnknown: Bool {
            [Code.timeout, .connectionFailed, .invalidResponse, .cancelled, .closed, .clientError].contains(self)
        }

        /// The session is gone (expired or terminated): log in again.
        public var isSessionLost: Bool { isA(.notAuthenticated) }

        /// A TLS failure (the certificate or the handshake): the connection is not what the
        /// operator asked for, so it is never retried quietly.
        public var isTLS: Bool { [Code.tlsThumbprintMismatch, .tlsVerificationFailed, .tlsError].contains(self) }
    }

    /// The fault's type as a `Code`.
    public var code: Code { Code(rawValue: type) }

    /// A fault with a code and a message.
    public init(_ code: Code, _ message: String, faultString: String? = nil) {
        self.init(type: code.rawValue, message: message, faultString: faultString)
    }
}
