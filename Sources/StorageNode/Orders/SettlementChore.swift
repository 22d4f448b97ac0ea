import Foundation
import Identity
import Lifecycle
import Logging
import Metrics
import NodeProtocol
import PeerRuntime
import SatelliteConfig

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
    private let satelliteURL: String
    private let threads: BlockingThreads
    private let log: Logger
    private let durations: @Sendable (Duration) -> Void
    private let session: URLSession

    public init(
        store: OrderStore, identity: PeerIdentity, satelliteURL: String, interval: Duration?, timeout: Duration, threads: BlockingThreads, log: Logger,
        metrics: any MetricsFactory
    ) {
        cycle = Cycle(interval: interval, delayStart: true)
        self.store = store
        self.identity = identity
        self.satelliteURL = satelliteURL
        self.threads = threads
        self.log = log
        durations = ChoreMetrics(namespace: "storagenode").recorder("orders:settlement", factory: metrics)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.timeInterval
        configuration.timeoutIntervalForResource = timeout.timeInterval
        session = URLSession(configuration: configuration)
    }

    /// Settles every interval until the cycle is closed or cancelled; a settlement that fails is
    /// logged and tried again at the next tick.
    public func run() async throws {
        try await cycle.runLoggingFailures(log, what: "settling orders", finished: durations) { _ = try await self.settle() }
    }

    /// One settlement of everything served so far.
    /// - Throws: ``SettlementFailure`` with the satellite's answer, the transport's error, or the
    ///   order store's; the orders not answered stay for the next settlement.
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
        guard let url = URL(string: satelliteURL + "/v1/orders/settle") else { throw SettlementFailure(url: satelliteURL, status: nil, message: "not a URL") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = SettlementRequest(identity: identity, orders: orders).json
        let (body, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200, let result = try? JSONDecoder().decode(SettlementResult.self, from: body) else {
            throw SettlementFailure(url: url.absoluteString, status: status, message: String(decoding: body.prefix(1000), as: UTF8.self))
        }
        return result
    }

    public func close() async {
        await cycle.close()
        session.invalidateAndCancel()
    }
}

/// A settlement the satellite refused or did not answer, with its answer.
public struct SettlementFailure: Error, CustomStringConvertible {
    public let url: String
    public let status: Int?
    public let message: String

    public var description: String {
        "settlement at \(url): " + (status.map { "answered \($0): \(message)" } ?? message)
    }
}
