import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Every request to the satellite carries the access's API key, and every error answer becomes an
/// ``UplinkError/satellite(operation:status:code:message:)`` with the satellite's own words.
struct SatelliteMiddleware: ClientMiddleware {
    let apiKey: String

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(apiKey)"
        let (response, answer) = try await next(request, body, baseURL)
        guard response.status.code >= 400 else { return (response, answer) }
        var bytes = Data()
        if let answer { bytes = try await Data(collecting: answer, upTo: 1 << 20) }
        let error = (try? JSONSerialization.jsonObject(with: bytes) as? [String: Any])?["error"] as? [String: Any]
        throw UplinkError.satellite(
            operation: operationID, status: response.status.code, code: error?["code"] as? String ?? "",
            message: error?["message"] as? String ?? String(decoding: bytes.prefix(300), as: UTF8.self)
        )
    }
}

/// Runs a call of the generated client and gives back the ``UplinkError`` the middleware threw,
/// instead of the client's wrapper around it.
func satellite<Result>(_ call: () async throws -> Result) async throws -> Result {
    do {
        return try await call()
    } catch let error as ClientError {
        if let uplink = error.underlyingError as? UplinkError { throw uplink }
        throw UplinkError.unreachable(operation: error.operationID, reason: "\(error.underlyingError)")
    }
}
