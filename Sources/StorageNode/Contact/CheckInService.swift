import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import NodeProtocol
import PeerRuntime

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
    private let client: SatelliteClient

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
        client = SatelliteClient(satelliteURL: config.satelliteURL, timeout: config.timeout)
    }

    /// Checks in at once, then every interval, until the cycle is closed or cancelled; a check-in
    /// that fails is logged and tried again at the next tick.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "check-in", finished: durations) { try await self.checkIn() }
    }

    /// One check-in.
    /// - Throws: ``SatelliteRequestFailure`` with the satellite's answer, or the transport's error.
    public func checkIn() async throws {
        let free = max(0, freeSpace())
        let address = await self.address()
        _ = try await client.post(
            "/v1/contact/checkin", SignedCheckIn(identity: identity, address: address, freeDisk: free, version: StorageNodeVersion.current).json, what: "check-in"
        )
        log.info("checked in", metadata: ["satellite": "\(config.satelliteURL)", "address": "\(address)", "free": "\(free)"])
    }

    public func close() async {
        await cycle.close()
        client.close()
    }
}
