import Identity
import Lifecycle
import Logging
import PeerRuntime
import Prometheus
import SatelliteConfig
import StructuredLogging

/// The storage node: a peer of its own kind on the peer runtime, beside the satellite's.
///
/// Its initializer wires the subsystems one block at a time in creation order, and closes what
/// it had made if one fails; `run`, `shutdown` and `close` come from ``Peer``.
public final class StorageNodePeer: Peer {
    public static let name = "storagenode"

    public let basis: PeerBasis
    public let identity: PeerIdentity
    /// Health and metrics; nil when `debug.address` is empty.
    public let debug: DebugServer?
    public let pieces: PieceStore
    public let trash: TrashChore
    public let usedSpace: UsedSpaceChore
    public let orders: OrderStore
    public let server: HTTPListener
    public let contact: CheckInService
    public let settlement: SettlementChore

    /// Wires the node.
    /// - Throws: `PeerInitError` naming the subsystem that failed, after closing the ones made.
    public init(log: Logger, identity: PeerIdentity, config: StorageNodeConfiguration, shutdownTimeout: Duration? = .seconds(30)) async throws {
        let basis = PeerBasis(peer: Self.name, namespace: "storagenode", log: log, shutdownTimeout: shutdownTimeout)
        self.basis = basis
        self.identity = identity
        do {
            debug = try basis.wireDebug(config.debug) { true }
            let pieces = try basis.group.wiring("pieces") {
                try PieceStore(directory: config.piecesPath, allocated: config.storage.allocated)
            }
            self.pieces = pieces
            trash = try basis.group.wiring("pieces:trash") {
                let trash = TrashChore(
                    store: pieces, grace: config.storage.trashGrace, interval: config.storage.trashInterval, threads: basis.blockingThreads,
                    log: basis.log.named("pieces:trash"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "pieces:trash", run: { try await trash.run() }, close: { await trash.cycle.close() }))
                return trash
            }
            usedSpace = try basis.group.wiring("pieces:used-space") {
                let chore = UsedSpaceChore(
                    store: pieces, interval: config.storage.usedSpaceInterval, threads: basis.blockingThreads, log: basis.log.named("pieces:used-space"),
                    metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "pieces:used-space", run: { try await chore.run() }, close: { await chore.cycle.close() }))
                return chore
            }
            let orders = try basis.group.wiring("orders") {
                try OrderStore(directory: config.ordersPath)
            }
            self.orders = orders
            server = try basis.group.wiring("piecestore:server") {
                guard let address = HostPort(config.server.address) else { throw PieceServerConfigError.badAddress(config.server.address) }
                let trusted = Set([NodeID(hex: config.contact.satelliteID)].compactMap { $0 })
                let endpoint = PieceEndpoint(
                    store: pieces, orders: orders,
                    verifier: OrderLimitVerifier(
                        node: identity.id, trustedSatellites: trusted, maxClockSkew: config.server.orderClockSkew.components.seconds,
                        usedSerials: UsedSerials(capacity: config.server.maxUsedSerials)
                    ),
                    identity: identity, threads: basis.blockingThreads, log: basis.log.named("piecestore")
                )
                let server = HTTPListener(address: address, router: endpoint.router(), limits: config.server.connectionLimits, log: basis.log.named("piecestore:server"))
                basis.group.add(PeerItem(name: "piecestore:server", run: { try await server.run() }, close: { server.close() }))
                return server
            }
            let server = self.server
            basis.awaitsListening { await server.listeningPort() }
            contact = try basis.group.wiring("contact:checkin") {
                let announced = config.contact.externalAddress
                let host = HostPort(config.server.address)?.host ?? "127.0.0.1"
                let contact = CheckInService(
                    config: config.contact, identity: identity,
                    address: { announced.isEmpty ? "\(host):\(await server.listeningPort() ?? 0)" : announced },
                    freeSpace: { pieces.freeSpace },
                    log: basis.log.named("contact:checkin"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "contact:checkin", run: { try await contact.run() }, close: { await contact.close() }))
                return contact
            }
            settlement = try basis.group.wiring("orders:settlement") {
                let settlement = SettlementChore(
                    store: orders, identity: identity, satelliteURL: config.contact.satelliteURL, interval: config.orders.settlementInterval,
                    timeout: config.contact.timeout, threads: basis.blockingThreads, log: basis.log.named("orders:settlement"),
                    metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "orders:settlement", run: { try await settlement.run() }, close: { await settlement.close() }))
                return settlement
            }
        } catch {
            throw await basis.failed(error)
        }
    }
}

/// A `server` section that cannot be used.
public enum PieceServerConfigError: Error, CustomStringConvertible {
    case badAddress(String)

    public var description: String {
        switch self {
        case .badAddress(let address): "server.address \"\(address)\" is not host:port"
        }
    }
}
