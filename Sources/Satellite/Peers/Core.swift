import Lifecycle
import Logging
import Prometheus
import SatelliteDB
import StructuredLogging

/// The peer of the satellite's background chores: it keeps the network healthy (repair checker, accounting tally, expired-object deletion come with the satellite-work issue).
///
/// Shaped as Storj's peers: the initializer wires subsystems one block at a time, in creation
/// order, and closes what it had made if one fails; `run` runs them together; `close` releases
/// them in reverse.
public final class Core: Sendable {
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
        let log = log.named("core")
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
            throw await PeerInitError.closing(peer: "core", group: group, after: error)
        }
    }

    /// Runs every subsystem until graceful shutdown, cancellation, or the first failure.
    /// - Throws: `PeerItemFailure` naming the subsystem that failed; the others were cancelled.
    public func run() async throws {
        log.info("running", metadata: ["subsystems": .array(group.names.map { .string($0) })])
        try await group.run()
    }

    /// Stops the subsystems gracefully, in reverse order of creation. Returns at once.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// Releases every subsystem in reverse order of creation.
    /// - Throws: `PeerCloseError` with every close that failed.
    public func close() async throws {
        let report = await group.close()
        guard report.failures.isEmpty else { throw PeerCloseError(peer: "core", report: report) }
    }
}
