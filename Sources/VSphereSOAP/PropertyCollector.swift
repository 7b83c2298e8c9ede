import VCenterModel
import VimXML

/// Which properties to read of which object type (`PropertySpec`).
struct PropertySpec: Sendable {
    var type: String
    var paths: [String]
}

/// Which objects to read (`ObjectSpec`s).
enum ObjectSelection: Sendable {
    /// Every object of a view (`ContainerView` or `ListView`), through a `TraversalSpec` on `view`.
    case view(MoRef)
    /// These objects, one `ObjectSpec` each.
    case objects([MoRef])
    /// The objects `owner.path` refers to (a `TraversalSpec` of `type` over `path`), for
    /// example a `TaskManager`'s `recentTask`.
    case traverse(MoRef, type: String, path: String)
}

/// One `ObjectContent` of a `RetrieveResult`: the object and its `propSet`.
struct ObjectContent {
    let element: XMLElement

    /// The object's reference.
    var ref: MoRef? { element.child("obj")?.moRef }

    /// Calls `body` with each property's path and value element.
    func forEachProperty(_ body: (String, XMLElement) throws -> Void) rethrows {
        for prop in element.children where prop.name == "propSet" {
            var name: String?
            var value: XMLElement?
            for part in prop.children {
                if part.name == "name" { name = part.text } else if part.name == "val" { value = part }
            }
            if let name, let value { try body(name, value) }
        }
    }
}

/// `PropertyCollector` retrieval: `RetrievePropertiesEx`, then `ContinueRetrievePropertiesEx`
/// for as long as a token comes back; container views created and destroyed around it.
struct PropertyCollector: Sendable {
    let session: SOAPSession
    let collector: MoRef
    let pageSize: Int

    /// Writes a `PropertyFilterSpec` for `specs` over `selection` (element name `name`).
    static func writeFilterSpec(_ w: inout XMLWriter, name: String, specs: [PropertySpec], selection: ObjectSelection) {
        w.start(name)
        for spec in specs {
            w.start("propSet")
            w.element("type", spec.type)
            w.element("all", "false")
            for path in spec.paths { w.element("pathSet", path) }
            w.end("propSet")
        }
        func traversal(_ owner: MoRef, type: String, path: String) {
            w.start("objectSet")
            w.moRef("obj", owner)
            w.element("skip", "true")
            w.start("selectSet", xsiType: "TraversalSpec")
            w.element("name", "traverse")
            w.element("type", type)
            w.element("path", path)
            w.element("skip", "false")
            w.end("selectSet")
            w.end("objectSet")
        }
        switch selection {
        case .view(let view):
            traversal(view, type: view.type, path: "view")
        case .traverse(let owner, let type, let path):
            traversal(owner, type: type, path: path)
        case .objects(let refs):
            for ref in refs {
                w.start("objectSet")
                w.moRef("obj", ref)
                w.element("skip", "false")
                w.end("objectSet")
            }
        }
        w.end(name)
    }

    /// Retrieves `specs` of `selection`, page after page, calling `onObject` for every
    /// object as it is read, without the subtrees `skipping` leaves out (items of a
    /// property that decoding would ignore anyway). Returns the number of pages.
    @discardableResult
    func retrieve(
        _ specs: [PropertySpec], of selection: ObjectSelection, skipping: XMLSkipRule? = nil, onObject: @escaping (ObjectContent) throws -> Void
    ) async throws -> Int {
        let pageSize = self.pageSize
        var token: String?
        let onPiece: (XMLElement) throws -> Void = { piece in
            if piece.name == "objects" {
                try onObject(ObjectContent(element: piece))
            } else if piece.name == "token" {
                token = piece.text
            }
        }
        try await session.call("RetrievePropertiesEx", on: collector, granularity: .returnValueMembers, skipping: skipping, body: { w in
            PropertyCollector.writeFilterSpec(&w, name: "specSet", specs: specs, selection: selection)
            w.start("options")
            if pageSize > 0 { w.element("maxObjects", String(pageSize)) }
            w.end("options")
        }, onPiece: onPiece)
        var pages = 1
        while let current = token {
            token = nil
            do {
                try await session.call("ContinueRetrievePropertiesEx", on: collector, granularity: .returnValueMembers, skipping: skipping, body: { w in
                    w.element("token", current)
                }, onPiece: onPiece)
            } catch {
                // Free the server-side result set when we give up half-way.
                _ = try? await session.call("CancelRetrievePropertiesEx", on: collector) { w in w.element("token", current) }
                throw error
            }
            pages += 1
        }
        return pages
    }

    /// Runs `sequence` — one whole create view → retrieve → page → destroy — and runs it once
    /// more from the start when it failed after the session was logged in again while it ran.
    ///
    /// `SOAPSession.call` retries a call after a transparent re-login, but views, collectors
    /// and paging tokens die with the old session: the retried `RetrievePropertiesEx` names a
    /// view that no longer exists (`ManagedObjectNotFound`), a `ContinueRetrievePropertiesEx` a
    /// dead token. Only the whole sequence can be redone. `sequence` must start from scratch
    /// each time (keep nothing from a failed attempt). `what` names it in the log.
    static func restartingAfterRelogin<T: Sendable>(_ session: SOAPSession, what: String, _ sequence: () async throws -> T) async throws -> T {
        let generation = session.loginGeneration
        do {
            return try await sequence()
        } catch let fault as VCenterFault where session.loginGeneration != generation && isRestartable(fault) && !Task.isCancelled {
            session.logger.info(
                "the session was re-established during a retrieval; starting it again",
                metadata: ["retrieval": "\(what)", "fault": "\(fault.type)"])
            return try await sequence()
        }
    }

    /// Whether a failure is worth a fresh start after a re-login: not a cancellation, a closed
    /// connection, or a session refused again right after the re-login (a new attempt would
    /// only log in once more).
    static func isRestartable(_ fault: VCenterFault) -> Bool {
        ![VCenterFault.Code.cancelled, .closed, .invalidLogin].contains(fault.code) && !fault.code.isSessionLost
    }

    /// Runs `body` with a recursive `ContainerView` of `types` under `container`, and destroys
    /// the view afterwards (also when `body` throws). A `DestroyView` that fails once `body`
    /// has its result (the view died with a session that was replaced meanwhile, or the call
    /// broke) is logged, not thrown: the view dies with its session anyway.
    static func withContainerView<T: Sendable>(
        _ session: SOAPSession, viewManager: MoRef, container: MoRef, types: [String],
        _ body: (MoRef) async throws -> T
    ) async throws -> T {
        let returned = try await session.call("CreateContainerView", on: viewManager) { w in
            w.moRef("container", container)
            for type in types { w.element("type", type) }
            w.element("recursive", "true")
        }
        guard let view = returned.first?.moRef else {
            throw VCenterFault(.invalidResponse, "CreateContainerView returned no view")
        }
        let result: T
        do {
            result = try await body(view)
        } catch {
            _ = try? await session.call("DestroyView", on: view)
            throw error
        }
        do {
            try await session.call("DestroyView", on: view)
        } catch {
            session.logger.debug("DestroyView failed after the retrieval; the view ends with its session", metadata: ["view": "\(view.redactedValue)", "error": "\(error)"])
        }
        return result
    }
}
