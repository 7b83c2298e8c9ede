import Foundation
import VCenterModel

/// A govc known-hosts file (`GOVC_TLS_KNOWN_HOSTS`): one `host thumbprint` per line,
/// where host is `name` or `name:port`; `#` starts a comment.
struct KnownHosts {
    var entries: [(host: String, thumbprint: String)] = []
    let path: String

    init(path: String) throws {
        self.path = path
        let text: String
        do {
            text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        } catch {
            throw VCenterFault(type: "ConfigurationError", message: "cannot read known-hosts file \(path): \((error as NSError).localizedDescription)")
        }
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { continue }
            entries.append((String(fields[0]), String(fields[1])))
        }
    }

    /// The pinned thumbprint for `host` (tried as `host:port`, then `host`), or nil.
    func thumbprint(host: String, port: Int?) throws -> Thumbprint? {
        var keys: [String] = []
        if let port { keys.append("\(host):\(port)") }
        keys.append(host)
        for key in keys {
            if let entry = entries.last(where: { $0.host.lowercased() == key.lowercased() }) {
                do {
                    return try Thumbprint(parsing: entry.thumbprint)
                } catch let fault as VCenterFault {
                    throw VCenterFault(type: fault.type, message: "\(path): \(fault.message)")
                }
            }
        }
        return nil
    }
}
