import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VCenterModel

/// Reads every VM's vSphere tags from the vCenter's Automation REST API (`/rest/com/vmware/cis`,
/// vSphere 6.5 and later), the only place vCenter keeps tags: the vim25 SOAP API has none.
///
/// It goes through the SOAP connection's `HTTPClient`, so the same TLS rules hold (verified,
/// pinned — every pooled connection is checked against the pin — or insecure), and makes the
/// fewest calls that name every VM's tags, whatever the number of VMs:
///
/// 1. `POST session` with the connection's user and password (basic auth) → a session id;
/// 2. `GET tagging/tag` → every tag's id;
/// 3. `POST tagging/tag-association?~action=list-attached-objects-on-tags` with all of them →
///    each tag's objects, in one call (the per-VM listing, `list-attached-tags-on-objects`,
///    would have to send every VM's id; the per-tag `list-attached-objects` is one call a tag);
/// 4. `GET tagging/tag/id:…` for each tag attached to a VM, and `GET tagging/category/id:…`
///    for each of their categories (the REST API has no batch read of names), a few at a time;
/// 5. `DELETE session`.
///
/// So 4 + T + C calls for T tags in C categories on VMs: a wave scheme of 3 tags in one
/// category is 8 calls for 10 or 10,000 VMs.
///
/// The session id (`vmware-api-session-id`) is a credential: it is sent as a header only,
/// never logged, never part of an error.
struct AutomationTagReader: Sendable {
    let client: HTTPClient
    let config: ConnectionConfig

    /// Tag and category reads in flight at once.
    static let parallelReads = 4
    /// Largest answer read (a tag listing of 100,000 ids is ~6 MB).
    static let maxBody = 64 << 20

    /// Why tags could not be read; each says so in one line, without credentials.
    enum Failure: Error, Sendable, Equatable {
        /// The server has no Automation API there (HTTP 404): an ESXi host, a vCenter before
        /// 6.5, a proxy that forwards `/sdk` only.
        case noAPI(status: Int)
        /// The API refused the account (401) or its privileges (403).
        case refused(status: Int)
        /// Any other HTTP status.
        case status(Int, call: String)
        /// The connection failed or timed out (the `VCenterFault` code).
        case unreachable(VCenterFault.Code, String)
        /// An answer that was not the JSON the API documents.
        case invalidAnswer(call: String)

        /// `tags were not read: …`, for `Inventory.tagsUnread`.
        var message: String {
            let why: String
            switch self {
            case .noAPI(let status):
                why = "the vCenter's Automation REST API (/rest) is not there (HTTP \(status)): an ESXi host or a vCenter before 6.5 has none"
            case .refused(let status):
                why = "the Automation REST API refused the account (HTTP \(status)): the user needs to log in there and read tags"
            case .status(let status, let call):
                why = "the Automation REST API answered HTTP \(status) to \(call)"
            case .unreachable(let code, let text):
                why = "the Automation REST API could not be reached (\(code.rawValue): \(text))"
            case .invalidAnswer(let call):
                why = "the Automation REST API's answer to \(call) was not the documented JSON"
            }
            return "tags were not read: " + why
        }
    }

    /// Each tagged VM's tags, sorted (VMs without tags are absent), and the calls made.
    struct Result: Sendable {
        var tags: [MoRef: [VMTag]]
        var calls: Int
    }

    /// Reads every VM's tags (see the type's summary). Throws only `Failure`.
    func read() async throws -> Result {
        var calls = 0
        let session: String = try await value(of: "POST session", call(.POST, "session", basicAuth: true, calls: &calls))
        do {
            let result = try await readTags(session: session, calls: &calls)
            await logout(session, calls: &calls)
            return Result(tags: result, calls: calls)
        } catch {
            await logout(session, calls: &calls)
            throw error
        }
    }

    private func readTags(session: String, calls: inout Int) async throws -> [MoRef: [VMTag]] {
        let tagIDs: [String] = try await list(of: "GET tagging/tag", call(.GET, "tagging/tag", session: session, calls: &calls))
        guard !tagIDs.isEmpty else { return [:] }
        let attached: [AttachedObjects] = try await list(
            of: "list-attached-objects-on-tags",
            call(.POST, "tagging/tag-association?~action=list-attached-objects-on-tags", session: session,
                 body: try JSONEncoder().encode(["tag_ids": tagIDs]), calls: &calls))
        var vmsByTag: [String: [MoRef]] = [:]
        for entry in attached {
            let vms = (entry.object_ids ?? []).filter { $0.type == "VirtualMachine" }.map { MoRef("VirtualMachine", $0.id) }
            if !vms.isEmpty { vmsByTag[entry.tag_id, default: []] += vms }
        }
        guard !vmsByTag.isEmpty else { return [:] }
        let tags: [String: TagModel] = try await readAll(vmsByTag.keys.sorted(), path: "tagging/tag", session: session, calls: &calls)
        let categories: [String: CategoryModel] = try await readAll(
            Set(tags.values.map(\.category_id)).sorted(), path: "tagging/category", session: session, calls: &calls)
        var out: [MoRef: [VMTag]] = [:]
        for (id, vms) in vmsByTag {
            guard let tag = tags[id], let category = categories[tag.category_id] else { continue }
            let named = VMTag(category: category.name, name: tag.name)
            for vm in vms { out[vm, default: []].append(named) }
        }
        for key in out.keys { out[key] = Array(Set(out[key]!)).sorted() }
        return out
    }

    /// `GET path/id:…` for each of `ids`, `parallelReads` at a time.
    private func readAll<T: Decodable & Sendable>(_ ids: [String], path: String, session: String, calls: inout Int) async throws -> [String: T] {
        var out: [String: T] = [:]
        var start = 0
        while start < ids.count {
            let batch = ids[start..<min(start + Self.parallelReads, ids.count)]
            start += batch.count
            calls += batch.count
            let read = try await withThrowingTaskGroup(of: (String, T).self) { group in
                for id in batch {
                    group.addTask {
                        var ignored = 0
                        let body = try await call(.GET, path + "/id:" + id, session: session, calls: &ignored)
                        return (id, try value(of: "GET \(path)/{id}", body))
                    }
                }
                var found: [(String, T)] = []
                for try await pair in group { found.append(pair) }
                return found
            }
            for (id, value) in read { out[id] = value }
        }
        return out
    }

    private func logout(_ session: String, calls: inout Int) async {
        // A session left behind expires on its own; failing to end it changes nothing read.
        _ = try? await call(.DELETE, "session", session: session, calls: &calls)
    }

    // MARK: HTTP

    /// The API's URL for `path`, on the SOAP connection's scheme, host and port (its URL with
    /// `/sdk` replaced, so an IPv6 host keeps its brackets; never its user or password).
    static func url(_ path: String, config: ConnectionConfig) -> String {
        var components = URLComponents(url: config.url, resolvingAgainstBaseURL: false) ?? URLComponents()
        components.user = nil
        components.password = nil
        components.path = ""
        components.query = nil
        components.fragment = nil
        return (components.string ?? "") + "/rest/com/vmware/cis/" + path
    }

    /// One call; its body when the status is 200. Every failure is a `Failure`.
    private func call(
        _ method: HTTPMethod, _ path: String, session: String? = nil, basicAuth: Bool = false, body: Data? = nil, calls: inout Int
    ) async throws -> ByteBuffer {
        calls += 1
        var request = HTTPClientRequest(url: Self.url(path, config: config))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        // Ask for the session id in the answer, not as a cookie (vCenter 6.5+ honours it).
        request.headers.add(name: "vmware-use-header-authn", value: "true")
        if basicAuth {
            let pair = Data((config.username + ":" + config.password).utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic " + pair)
        }
        if let session { request.headers.add(name: "vmware-api-session-id", value: session) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let what = "\(method.rawValue) \(path.split(separator: "/id:").first.map(String.init) ?? path)"
        do {
            let response = try await client.execute(request, deadline: .now() + .seconds(Int64(max(config.readTimeout, 1))), logger: nil)
            let bytes = try await response.body.collect(upTo: Self.maxBody)
            switch response.status.code {
            case 200: return bytes
            case 404: throw Failure.noAPI(status: 404)
            case 401, 403: throw Failure.refused(status: Int(response.status.code))
            default: throw Failure.status(Int(response.status.code), call: what)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            let fault = SOAPErrors.transportFault(error, config: config)
            throw Failure.unreachable(fault.code, fault.message)
        }
    }

    /// The `value` of a `/rest` answer (`{"value": …}`).
    private func value<T: Decodable>(of call: String, _ body: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(Wrapped<T>.self, from: Data(body.readableBytesView)).value
        } catch {
            throw Failure.invalidAnswer(call: call)
        }
    }

    /// A list `value`; `null` or none (what govmomi's simulator writes for an empty list) is empty.
    private func list<E: Decodable>(of call: String, _ body: ByteBuffer) throws -> [E] {
        do {
            return try JSONDecoder().decode(WrappedList<E>.self, from: Data(body.readableBytesView)).value ?? []
        } catch {
            throw Failure.invalidAnswer(call: call)
        }
    }

    // MARK: Answers (the /rest JSON shapes)

    struct Wrapped<T: Decodable>: Decodable { var value: T }
    struct WrappedList<E: Decodable>: Decodable { var value: [E]? }
    struct ObjectID: Decodable, Sendable { var type: String; var id: String }
    struct AttachedObjects: Decodable, Sendable { var tag_id: String; var object_ids: [ObjectID]? }
    struct TagModel: Decodable, Sendable { var name: String; var category_id: String }
    struct CategoryModel: Decodable, Sendable { var name: String }
}
