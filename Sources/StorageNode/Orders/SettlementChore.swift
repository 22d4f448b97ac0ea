import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import NodeProtocol
import PeerRuntime
import SatelliteConfig

/// The `orders` section of the node: how often it settles what it served.
public struct NodeOrdersConfig: ConfigSection, Equatable {
    /// Time between settlements; nil settles only when triggered.
    public var settlementInterval: Duration? = .seconds(3600)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .interval("settlement-interval", \.settlementInterval, help: "time between settlements of the orders served with the satellite; 0s settles only when triggered"),
    ]
}

/// What one settlement achieved.
public struct SettlementSummary: Sendable, Equatable {
    public var accepted = 0
    public var refused: [SettlementResult.Refusal.Reason: Int] = [:]

    public init(accepted: Int = 0, refused: [SettlementResult.Refusal.Reason: Int] = [:]) {
        self.accepted = accepted
        self.refused = refused
    }
}

/// Sends the orders the node served to the satellite, on a `Cycle`, in signed batches of at most
/// ``SettlementRequest/maxOrders`` (Storj's storagenode/orders/service.go). A file of orders is
/// forgotten once every batch of it was answered; one the satellite did not answer is sent again
/// at the next settlement, and what it had already recorded is refused then as settled, not paid
/// twice.
public final class SettlementChore: Sendable {
    public let cycle: Cycle<ContinuousClock>
    private let store: OrderStore
    private let identity: PeerIdentity
    private let client: SatelliteClient
    private let threads: BlockingThreads
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void

    public init(
        store: OrderStore, identity: PeerIdentity, satelliteURL: String, interval: Duration?, timeout: Duration, threads: BlockingThreads, log: Logger,
        metrics: any MetricsFactory
    ) {
        cycle = Cycle(interval: interval, delayStart: true)
        self.store = store
        self.identity = identity
        client = SatelliteClient(satelliteURL: satelliteURL, timeout: timeout)
        self.threads = threads
        self.log = log
        durations = ChoreMetrics(namespace: "storagenode").recorder("orders:settlement", factory: metrics)
    }

    /// Settles every interval until the cycle is closed or cancelled; a settlement that fails is
    /// logged and tried again at the next tick.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "settling orders", finished: durations) { _ = try await self.settle() }
    }

    /// One settlement of everything served so far.
    /// - Throws: ``SatelliteRequestFailure`` with the satellite's answer, the transport's error, or
    ///   the order store's; the orders not answered stay for the next settlement.
    public func settle() async throws -> SettlementSummary {
        let store = self.store
        let files = try await threads.run { try store.takeForSending() }
        var summary = SettlementSummary()
        for file in files {
            let orders = try await threads.run { try OrderStore.orders(in: file) }
            var start = 0
            while start < orders.count {
                let batch = Array(orders[start..<min(start + SettlementRequest.maxOrders, orders.count)])
                let result = try await send(batch)
                summary.accepted += result.accepted
                for refusal in result.refused { summary.refused[refusal.reason, default: 0] += 1 }
                start += batch.count
            }
            store.sent(file)
        }
        if !files.isEmpty {
            log.info("settled orders", metadata: [
                "accepted": "\(summary.accepted)",
                "refused": .dictionary(summary.refused.reduce(into: [:]) { $0[$1.key.rawValue] = "\($1.value)" }),
            ])
        }
        return summary
    }

    private func send(_ orders: [ServedOrder]) async throws -> SettlementResult {
        let answer = try await client.post("/v1/orders/settle", SettlementRequest(identity: identity, orders: orders).json, what: "settlement")
        guard let result = try? JSONDecoder().decode(SettlementResult.self, from: answer) else {
            throw SatelliteRequestFailure(
                what: "settlement", url: client.satelliteURL, status: 200, message: "not a settlement result: \(String(decoding: answer.prefix(1000), as: UTF8.self))"
            )
        }
        return result
    }

    public func close() async {
        await cycle.close()
        client.close()
    }
}
