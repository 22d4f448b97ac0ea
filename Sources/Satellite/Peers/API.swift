import Lifecycle
import Logging
import Prometheus
import SatelliteDB
import StructuredLogging

/// The peer that storage nodes and clients talk to (contact and metainfo endpoints come with the satellite-work issue).
///
/// Shaped as Storj's peers: the initializer wires subsystems one block at a time, in creation
/// order, and closes what it had made if one fails; `run`, `shutdown` and `close` come from
/// ``SatellitePeer``.
public final class API: SatellitePeer {
    public static let name = "api"

    /// Every key the peer reads.
    public struct Config: Sendable {
        public var debug = DebugConfig()

        public init() {}
    }

    public let log: Logger
    public let database: SatelliteDatabase
    public let metrics: PrometheusCollectorRegistry
    public let group: PeerGroup

    /// Health and metrics; `nil` when `debug.address` is empty.
    public let debug: DebugServer?

    /// Wires the peer.
    /// - Throws: `PeerInitError` naming the subsystem that failed, after closing the ones made.
    public init(log: Logger, database: SatelliteDatabase, config: Config) async throws {
        let log = log.named(Self.name)
        let metrics = PrometheusCollectorRegistry()
        let group = PeerGroup(logger: log)
        self.log = log
        self.database = database
        self.metrics = metrics
        self.group = group
        do {
            // debug: first, so that a peer that is starting can already be looked at
            debug = try group.wiring("debug") {
                PeerParts.debug(config: config.debug, registry: metrics, database: database, log: log.named("debug"), group: group)
            }
            // schema: the peer works only on the schema it was built for
            try group.wiring("schema") { try PeerParts.requireSchema(database) }
        } catch {
            throw await PeerInitError.closing(peer: Self.name, group: group, after: error)
        }
    }
}
