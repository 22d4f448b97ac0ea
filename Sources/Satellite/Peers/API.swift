import Identity
import Lifecycle
import Logging
import PeerRuntime
import Prometheus
import SatelliteConfig
import SatelliteDB
import StructuredLogging

/// The peer that storage nodes and clients talk to: the overlay of nodes, node contact, and the
/// HTTP server of `openapi.yaml` (metainfo comes next).
///
/// Shaped as Storj's peers: the initializer wires subsystems one block at a time, in creation
/// order, and closes what it had made if one fails; `run`, `shutdown` and `close` come from
/// ``SatellitePeer``.
public final class API: SatellitePeer {
    public static let name = "api"

    /// Every key the peer reads.
    public struct Config: Sendable {
        public var debug = DebugConfig()
        public var api = APIConfig()
        public var overlay = OverlayConfig()
        public var contact = ContactConfig()
        public var metainfo = MetainfoConfig()
        public var orders = OrdersConfig()
        /// A listening socket the launcher handed over (SATELLITE_LISTEN_FD); served instead of
        /// binding `api.address`.
        public var listenDescriptor: Int32?
        /// How long a graceful shutdown may take before the subsystems still running are
        /// cancelled (in-flight work abandoned); nil waits for them.
        public var shutdownTimeout: Duration?

        public init() {}
    }

    public let basis: PeerBasis
    public let database: any SatelliteDatabase
    /// The satellite's identity: it signs the order limits.
    public let identity: PeerIdentity
    /// Health and metrics; `nil` when `debug.address` is empty.
    public let debug: DebugServer?
    public let overlay: Overlay
    public let checkInLimiter: CheckInLimiter
    public let server: APIServer

    /// Wires the peer.
    /// - Throws: `PeerInitError` naming the subsystem that failed, after closing the ones made.
    public init(log: Logger, database: any SatelliteDatabase, identity: PeerIdentity, config: Config) async throws {
        let basis = PeerBasis(satellitePeer: Self.name, log: log, shutdownTimeout: config.shutdownTimeout)
        self.basis = basis
        self.database = database
        self.identity = identity
        do {
            // debug, then schema
            debug = try await basis.wireDebugAndSchema(config.debug, database: database)

            let overlay = try basis.group.wiring("overlay") {
                Overlay(config: config.overlay, db: database, log: basis.log.named("overlay"))
            }
            self.overlay = overlay

            let (checkInLimiter, sourceLimiter, networkLimiter) = try basis.group.wiring("contact") {
                (
                    CheckInLimiter(interval: config.contact.checkInInterval),
                    CheckInSourceLimiter(limit: config.contact.maxNodesPerSource, window: config.contact.sourceWindow),
                    CheckInSourceLimiter(limit: config.contact.maxNodesPerSourceNetwork, window: config.contact.sourceWindow)
                )
            }
            self.checkInLimiter = checkInLimiter

            let signer = try basis.group.wiring("orders") {
                OrderSigner(identity: identity, config: config.orders)
            }

            let server = try basis.group.wiring("api:server") {
                guard let address = HostPort(config.api.address) else { throw APIConfigError.badAddress(config.api.address) }
                let handlers = APIHandlers(
                    overlay: overlay, limiter: checkInLimiter, sourceLimiter: sourceLimiter, networkLimiter: networkLimiter, contact: config.contact, database: database, keys: APIKeys(
                        db: database, cacheExpiration: config.metainfo.apiKeyCacheExpiration, cacheCapacity: config.metainfo.apiKeyCacheCapacity
                    ),
                    metainfo: config.metainfo,
                    signer: signer, settlement: SettlementCheck(signer: signer, maxClockSkew: config.contact.checkInClockSkew.components.seconds),
                    threads: basis.blockingThreads
                )
                let server = try APIServer(
                    address: address, inherited: config.listenDescriptor, limits: config.api.connectionLimits, handlers: handlers,
                    log: basis.log.named("server"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "api:server", run: { try await server.run() }, close: { server.close() }))
                basis.watches { server.acceptProblem }
                return server
            }
            self.server = server
            basis.awaitsListening { await server.listeningPort() }
        } catch {
            throw await basis.failed(error)
        }
    }
}

/// The API peer's configuration cannot be used.
public enum APIConfigError: Error, Equatable, CustomStringConvertible {
    case badAddress(String)

    public var description: String {
        switch self {
        case .badAddress(let address): "api.address \"\(address)\" is not host:port"
        }
    }
}
