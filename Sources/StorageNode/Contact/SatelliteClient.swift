import Foundation
import PeerRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The node's HTTP client of its satellite's API: JSON posted to a path, an answer of 200 or a
/// ``SatelliteRequestFailure`` that carries what the satellite said.
public final class SatelliteClient: Sendable {
    public let satelliteURL: String
    private let session: URLSession

    /// Each request, and each whole exchange, gives up after `timeout`.
    public init(satelliteURL: String, timeout: Duration) {
        self.satelliteURL = satelliteURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.timeInterval
        configuration.timeoutIntervalForResource = timeout.timeInterval
        session = URLSession(configuration: configuration)
    }

    /// Posts `body` to `path` and answers the body of the satellite's 200.
    /// - Throws: ``SatelliteRequestFailure`` naming `what` for another answer or a bad URL; the
    ///   transport's error when nothing answered; `CancellationError` when cancelled.
    public func post(_ path: String, _ body: Data, what: String) async throws -> Data {
        guard let url = URL(string: satelliteURL + path) else { throw SatelliteRequestFailure(what: what, url: satelliteURL, status: nil, message: "not a URL") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        let (answer, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw SatelliteRequestFailure(what: what, url: url.absoluteString, status: status, message: String(decoding: answer.prefix(1000), as: UTF8.self))
        }
        return answer
    }

    /// Cancels what is in flight; later requests fail.
    public func close() {
        session.invalidateAndCancel()
    }
}

/// A request the satellite refused or did not answer, with its answer.
public struct SatelliteRequestFailure: Error, CustomStringConvertible {
    /// What the request was, as `check-in`.
    public let what: String
    public let url: String
    public let status: Int?
    public let message: String

    public var description: String {
        "\(what) at \(url): " + (status.map { "answered \($0): \(message)" } ?? message)
    }
}
