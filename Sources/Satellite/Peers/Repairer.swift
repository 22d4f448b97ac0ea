import AsyncHTTPClient
import Identity
import Lifecycle
import NIOCore
import Logging
import PeerRuntime
import PieceTransfer
import Prometheus
import SatelliteDB
import StructuredLogging

/// The peer that talks to the nodes with the satellite's key: it drains the repair queue (reads the
/// pieces a segment has left, rebuilds the ones it lacks and stores them on new nodes, under limits
/// it signs itself), collects the garbage (a signed filter of the pieces to keep, to each node),
/// and audits the nodes, whose outcomes make their reputations.
///
/// Shaped as Storj's peers: the initializer wires subsystems one block at a time, in creation
/// order, and closes what it had made if one fails; `run`, `shutdown` and `close` come from
/// ``SatellitePeer``.
public final class Repairer: SatellitePeer {
    public static let name = "repairer"

    /// Every key the peer reads.
    public struct Config: Sendable {
        public var debug = DebugConfig()
        public var overlay = OverlayConfig()
        public var metainfo = MetainfoConfig()
        public var repairer = RepairerConfig()
        public var orders = OrdersConfig()
        public var gc = GCConfig()
        public var audit = AuditConfig()
        /// What audit outcomes do to a node's standing.
        public var reputation = ReputationConfig()
        /// How long a graceful shutdown may take before the subsystems still running are
        /// cancelled (in-flight work abandoned); nil waits for them.
        public var shutdownTimeout: Duration?

        public init() {}
    }

    public let basis: PeerBasis
    public let database: any SatelliteDatabase
    /// Health and metrics; `nil` when `debug.address` is empty.
    public let debug: DebugServer?
    public let worker: RepairWorker
    public let garbageCollection: GarbageCollection
    public let audit: AuditChore
    /// The satellite's identity: it signs the repair's order limits.
    public let identity: PeerIdentity

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

            // The nodes' client, shared by the repair and the garbage collection, closed after both.
            let nodeClient = try basis.group.wiring("pieces:client") {
                // A node that refuses a connection is down: no retries until the connect timeout.
                var configuration = HTTPClient.Configuration()
                configuration.connectionPool.retryConnectionEstablishment = false
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
                basis.group.add(PeerItem(name: "pieces:client", close: { try await http.shutdown() }))
                return PieceClient(http: http, timeout: .seconds(Int64(config.repairer.timeout.components.seconds)))
            }

            worker = try basis.group.wiring("repair:worker") {
                let worker = RepairWorker(
                    config: config.repairer, onlineWindow: config.overlay.onlineWindow, distinctNetworks: config.overlay.distinctNetworks, db: database,
                    selection: NodeSelectionCache(config: config.overlay, db: database),
                    signer: OrderSigner(identity: identity, config: config.orders), pieces: nodeClient,
                    log: basis.log.named("repair:worker"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "repair:worker", run: { try await worker.run() }, close: { await worker.cycle.close() }))
                return worker
            }

            garbageCollection = try basis.group.wiring("gc:retain") {
                let collection = GarbageCollection(
                    config: config.gc, onlineWindow: config.overlay.onlineWindow, db: database, pieces: nodeClient,
                    identity: identity, log: basis.log.named("gc:retain"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "gc:retain", run: { try await collection.run() }, close: { await collection.cycle.close() }))
                return collection
            }

            audit = try basis.group.wiring("audit:chore") {
                let audit = AuditChore(
                    config: config.audit, db: database, signer: OrderSigner(identity: identity, config: config.orders),
                    pieces: nodeClient.with(timeout: .seconds(Int64(config.audit.shareTimeout.components.seconds))), reputation: config.reputation,
                    log: basis.log.named("audit:chore"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "audit:chore", run: { try await audit.run() }, close: { await audit.cycle.close() }))
                return audit
            }
        } catch {
            throw await basis.failed(error)
        }
    }
}
