import Lifecycle
import Logging
import PeerRuntime
import Prometheus
import SatelliteDB
import StructuredLogging

/// The peer of the satellite's background chores: the repair checker, the accounting tally, and
/// the deletion of expired objects and abandoned uploads.
///
/// Shaped as Storj's peers: the initializer wires subsystems one block at a time, in creation
/// order, and closes what it had made if one fails; `run`, `shutdown` and `close` come from
/// ``SatellitePeer``.
public final class Core: SatellitePeer {
    public static let name = "core"

    /// Every key the peer reads.
    public struct Config: Sendable {
        public var debug = DebugConfig()
        public var overlay = OverlayConfig()
        public var checker = CheckerConfig()
        public var tally = TallyConfig()
        public var deletion = DeletionConfig()
        /// How long a graceful shutdown may take before the subsystems still running are
        /// cancelled (in-flight work abandoned); nil waits for them.
        public var shutdownTimeout: Duration?

        public init() {}
    }

    public let basis: PeerBasis
    public let database: any SatelliteDatabase
    /// Health and metrics; `nil` when `debug.address` is empty.
    public let debug: DebugServer?
    public let checker: RepairChecker
    public let tally: Tally
    public let deletion: ExpiredDeletion

    /// Wires the peer.
    /// - Throws: `PeerInitError` naming the subsystem that failed, after closing the ones made.
    public init(log: Logger, database: any SatelliteDatabase, config: Config) async throws {
        let basis = PeerBasis(satellitePeer: Self.name, log: log, shutdownTimeout: config.shutdownTimeout)
        self.basis = basis
        self.database = database
        do {
            // debug, then schema
            debug = try await basis.wireDebugAndSchema(config.debug, database: database)

            checker = try basis.group.wiring("repair:checker") {
                let checker = RepairChecker(
                    config: config.checker, onlineWindow: config.overlay.onlineWindow, distinctNetworks: config.overlay.distinctNetworks, db: database,
                    log: basis.log.named("repair:checker"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "repair:checker", run: { try await checker.run() }, close: { await checker.cycle.close() }))
                return checker
            }

            tally = try basis.group.wiring("accounting:tally") {
                let tally = Tally(
                    config: config.tally, db: database, log: basis.log.named("accounting:tally"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "accounting:tally", run: { try await tally.run() }, close: { await tally.cycle.close() }))
                return tally
            }

            deletion = try basis.group.wiring("metainfo:deletion") {
                let deletion = ExpiredDeletion(
                    config: config.deletion, db: database, log: basis.log.named("metainfo:deletion"), metrics: PrometheusMetricsFactory(registry: basis.metrics)
                )
                basis.group.add(PeerItem(name: "metainfo:deletion", run: { try await deletion.run() }, close: { await deletion.cycle.close() }))
                return deletion
            }
        } catch {
            throw await basis.failed(error)
        }
    }
}
