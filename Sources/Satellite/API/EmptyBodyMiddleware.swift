import HTTPTypes
import OpenAPIRuntime

/// A request with no bytes has no body, so that an operation whose body is optional (a commit of
/// an object) takes a request without one as sent without one, rather than as empty JSON that
/// fails to decode. A body of known length goes through untouched; one of unknown length is
/// already in memory (``BodyLimitMiddleware`` read it) and is only looked at.
struct EmptyBodyMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body else { return try await next(request, nil, metadata) }
        switch body.length {
        case .known(0):
            return try await next(request, nil, metadata)
        case .known:
            return try await next(request, body, metadata)
        case .unknown:
            let bytes = try await [UInt8](collecting: body, upTo: APIServer.bodyLimit)
            return try await next(request, bytes.isEmpty ? nil : HTTPBody(bytes), metadata)
        }
    }
}
