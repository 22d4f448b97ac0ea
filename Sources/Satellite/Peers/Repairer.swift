import Lifecycle
import Logging
import PeerRuntime
import Prometheus
import SatelliteDB
import StructuredLogging

/// The peer that drains the repair queue (its worker comes with the satellite-work issue).
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
        /// How long a graceful shutdown may take before the subsystems still running are
        /// cancelled (in-flight work abandoned); nil waits for them.
        public var shutdownTimeout: Duration?

        public init() {}
    }

    public let basis: PeerBasis
    public let database: SatelliteDatabase
    /// Health and metrics; `nil` when `debug.address` is empty.
    public let debug: DebugServer?
    public let worker: RepairWorker

    /// Wires the peer.
    /// - Throws: `PeerInitError` naming the subsystem that failed, after closing the ones made.
    public init(log: Logger, database: SatelliteDatabase, config: Config) async throws {
        let basis = PeerBasis(satellitePeer: Self.name, log: log, shutdownTimeout: config.shutdownTimeout)
        self.basis = basis
        self.database = database
        do {
            // debug, then schema
            debug = try basis.wireDebugAndSchema(config.debug, database: database)

            worker = try basis.group.wiring("repair:worker") {
                let worker = RepairWorker(
                    config: config.repairer, onlineWindow: config.overlay.onlineWindow, maxSegmentSize: config.metainfo.maxSegmentSize,
                    db: database, threads: basis.blockingThreads,
                    selection: NodeSelectionCache(
                        staleness: config.overlay.selectionCacheStaleness, onlineWindow: config.overlay.onlineWindow,
                        distinctNetworks: config.overlay.distinctNetworks, db: database
                    ),
                    log: basis.log.named("repair:worker"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "repair:worker", run: { try await worker.run() }, close: { await worker.cycle.close() }))
                return worker
            }
        } catch {
            throw await basis.failed(error)
        }
    }
}
