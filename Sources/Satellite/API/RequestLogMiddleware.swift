import HTTPTypes
import Hummingbird
import Logging

/// Logs every request at debug level, after its answer is settled and before it is sent, with
/// the request id the client sent in `X-Request-Id` (or one made here), which the answer echoes.
///
/// Written before the answer leaves, the line is in the log of any request a client saw answered,
/// even when the peer dies a moment later; the fault suite checks exactly that.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    let log: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = request.headers[Self.header].flatMap(Self.acceptable) ?? Self.makeID()
        var response = try await next(request, context)
        response.headers[Self.header] = id
        if log.logLevel <= .debug {
            let elapsed = ContinuousClock.now - start
            log.debug("request", metadata: [
                "method": .string(request.method.rawValue), "route": .string(context.endpointPath ?? "unmatched"),
                "status": "\(response.status.code)", "request_id": .string(id),
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        }
        return response
    }

    /// A client's id, if it is 1 to 64 characters of letters, digits, `-`, `_` and `.`: what
    /// fits in a log line without escaping and cannot forge one.
    static func acceptable(_ id: String) -> String? {
        guard (1...64).contains(id.utf8.count),
            id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        else { return nil }
        return id
    }

    static func makeID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}
