import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import VCenterModel
import VimXML

/// Turns transport-level failures into one-line `VCenterFault`s that say what went
/// wrong and what to do. Messages name the host and port, never credentials.
enum SOAPErrors {
    // NIOSSL exposes BoringSSL's error codes only as text: the reason names below
    // (CERTIFICATE_VERIFY_FAILED, WRONG_VERSION_NUMBER, …) are BoringSSL's stable identifiers,
    // matched in this one place and turned into codes; nothing downstream reads text.

    static func transportFault(_ error: any Error, config: ConnectionConfig) -> VCenterFault {
        if let fault = error as? VCenterFault { return fault }
        let target = config.hostAndPort
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout:
                return VCenterFault(.timeout, "no connection to \(target) within \(seconds(config.connectTimeout)): check the host, port and firewall")
            case .readTimeout:
                return VCenterFault(.timeout, "\(target) sent nothing for \(seconds(config.readTimeout)) (read timeout)")
            case .deadlineExceeded:
                return VCenterFault(.timeout, "the request to \(target) did not finish in time")
            case .remoteConnectionClosed:
                return VCenterFault(.connectionFailed, "\(target) closed the connection before answering")
            case .cancelled:
                return VCenterFault(.cancelled, "the request to \(target) was cancelled")
            case .alreadyShutdown:
                return VCenterFault(.closed, "the connection to \(target) was closed")
            default:
                break
            }
        }
        if let e = error as? ChannelError, case .connectTimeout = e {
            return VCenterFault(.timeout, "no connection to \(target) within \(seconds(config.connectTimeout)): check the host, port and firewall")
        }
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first {
                return transportFault(first.error, config: config)
            }
            if e.dnsAError != nil || e.dnsAAAAError != nil {
                return VCenterFault(.connectionFailed, "cannot resolve host name '\(config.host)'")
            }
        }
        if let e = error as? IOError {
            return VCenterFault(.connectionFailed, "cannot connect to \(target): \(errnoText(e.errnoCode))")
        }
        if let e = error as? NIOSSLError {
            let text = "\(e)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
                return VCenterFault(.tlsVerificationFailed, "the certificate of \(target) is not trusted; pin it with --thumbprint (or GOVC_TLS_KNOWN_HOSTS) or use --insecure")
            }
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST") {
                return VCenterFault(.tlsError, "\(target) does not speak TLS: is the URL http:// rather than https://?")
            }
            return VCenterFault(.tlsError, "TLS handshake with \(target) failed: \(text)")
        }
        if let e = error as? NIOSSLExtraError {
            return VCenterFault(.tlsVerificationFailed, "the certificate of \(target) does not match the host name (\(e)); pin it with --thumbprint or use --insecure")
        }
        if error is HTTPParserError {
            return VCenterFault(.notVSphere, "\(target) did not answer in HTTP: is the URL https:// rather than http://?")
        }
        if error is CancellationError {
            return VCenterFault(.cancelled, "the request to \(target) was cancelled")
        }
        return VCenterFault(.connectionFailed, "request to \(target) failed: \(error)")
    }

    static func notVSphere(config: ConnectionConfig, status: HTTPResponseStatus, contentType: String) -> VCenterFault {
        let what = contentType.isEmpty ? "no content type" : contentType.split(separator: ";").first.map(String.init) ?? contentType
        if status.code == 200 || status.code == 500 {
            return VCenterFault(.notVSphere, "\(config.redactedURL) is not a vSphere SOAP endpoint: it answered \(what) instead of SOAP XML")
        }
        return VCenterFault(.notVSphere, "\(config.redactedURL) is not a vSphere SOAP endpoint: HTTP \(status.code) \(status.reasonPhrase) (\(what))")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    static func errnoText(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused (is vCenter listening on that port?)"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        case ETIMEDOUT: return "connection timed out"
        case ECONNRESET: return "connection reset by peer"
        default: return String(cString: strerror(code))
        }
    }
}
