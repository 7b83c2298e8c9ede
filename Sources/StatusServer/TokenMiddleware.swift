import Hummingbird
import NIOCore

/// Every request must carry the `--listen-token`: `Authorization: Bearer TOKEN`, or
/// `?token=TOKEN` (a browser's address bar and `EventSource`, which cannot set headers).
/// Without it: 401, and nothing about the run.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var given: Substring?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            given = header.dropFirst("Bearer ".count)
        } else if let query = request.uri.queryParameters["token"] {
            given = query
        }
        guard let given, Self.equal(Array(given.utf8), token) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"moonmotion\""
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(status: .unauthorized, headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "401: this status page needs its token (--listen-token)\n")))
        }
        return try await next(request, context)
    }

    /// Compares in time independent of where the two differ, so response times do not
    /// reveal the token a byte at a time.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
