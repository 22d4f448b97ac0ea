import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import NodeProtocol
import PeerRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The node's check-ins: on a `Cycle`, it tells the satellite where it is, how much space it
/// offers and its version, signed with its key (``SignedCheckIn``).
public final class CheckInService: Sendable {
    public let cycle: Cycle<ContinuousClock>
    private let identity: PeerIdentity
    private let config: NodeContactConfig
    private let freeSpace: @Sendable () -> Int64
    private let address: @Sendable () async -> String
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void
    private let session: URLSession

    /// `address` is where the node says it is reached, asked at each check-in.
    public init(
        config: NodeContactConfig, identity: PeerIdentity, address: @escaping @Sendable () async -> String, freeSpace: @escaping @Sendable () -> Int64,
        log: Logger, metrics: any MetricsFactory
    ) {
        self.address = address
        cycle = Cycle(interval: config.interval)
        self.identity = identity
        self.config = config
        self.freeSpace = freeSpace
        self.log = log
        durations = ChoreMetrics(namespace: "storagenode").recorder("contact:checkin", factory: metrics)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = config.timeout.timeInterval
        configuration.timeoutIntervalForResource = config.timeout.timeInterval
        session = URLSession(configuration: configuration)
    }

    /// Checks in at once, then every interval, until the cycle is closed or cancelled; a check-in
    /// that fails is logged and tried again at the next tick.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "check-in", finished: durations) { try await self.checkIn() }
    }

    /// One check-in.
    /// - Throws: ``CheckInFailure`` with the satellite's answer, or the transport's error.
    public func checkIn() async throws {
        guard let url = URL(string: config.satelliteURL + "/v1/contact/checkin") else {
            throw CheckInFailure(url: config.satelliteURL, status: nil, message: "not a URL")
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let free = max(0, freeSpace())
        let address = await self.address()
        request.httpBody = SignedCheckIn(identity: identity, address: address, freeDisk: free, version: StorageNodeVersion.current).json
        let (body, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw CheckInFailure(url: url.absoluteString, status: status, message: String(decoding: body.prefix(1000), as: UTF8.self))
        }
        log.info("checked in", metadata: ["satellite": "\(config.satelliteURL)", "address": "\(address)", "free": "\(free)"])
    }

    public func close() async {
        await cycle.close()
        session.invalidateAndCancel()
    }
}

/// A check-in the satellite refused or did not answer, with its answer.
public struct CheckInFailure: Error, CustomStringConvertible {
    public let url: String
    public let status: Int?
    public let message: String

    public var description: String {
        "check-in at \(url): " + (status.map { "answered \($0): \(message)" } ?? message)
    }
}
