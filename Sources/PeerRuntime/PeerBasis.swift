import Lifecycle
import Logging
import Prometheus
import SatelliteConfig
import StructuredLogging
import Synchronization

/// Answers whether a peer can do its work now (its debug endpoint's `/health/ready`): a value the
/// peer kind gives, as "the schema is current" for the satellite's peers.
///
/// Called from the debug server's request tasks; it should not block (run blocking checks on
/// ``BlockingThreads``).
public typealias ReadinessCheck = @Sendable () async -> Bool

/// What every peer is built on: its named logger, the threads for its blocking calls, its own
/// metrics registry, and the group its subsystems are wired into.
public struct PeerBasis: Sendable {
    public let name: String
    /// The peer kind's prefix of every metric the runtime records, as `satellite`.
    public let namespace: String
    public let log: Logger
    /// Where the peer's subsystems make their blocking calls from async code; closed after every
    /// subsystem.
    public let blockingThreads: BlockingThreads
    public let metrics: PrometheusCollectorRegistry
    public let group: PeerGroup
    private let listeners = ListenerList()
    private let healthChecks = HealthCheckList()

    /// A basis for the peer `name` of the kind `namespace`; its logger is `log` named `name`.
    public init(peer name: String, namespace: String, log: Logger, shutdownTimeout: Duration?) {
        self.name = name
        self.namespace = namespace
        self.log = log.named(name)
        self.blockingThreads = BlockingThreads()
        self.metrics = PrometheusCollectorRegistry()
        self.group = PeerGroup(logger: self.log, shutdownTimeout: shutdownTimeout)
    }

    /// The subsystem every peer starts with: the debug endpoint, first, so that a peer that is
    /// starting can already be looked at; `nil` when `debug.address` is empty. `ready` answers
    /// its `/health/ready`.
    /// - Throws: `PeerItemFailure` naming `debug`.
    public func wireDebug(_ config: DebugConfig, ready: @escaping ReadinessCheck) throws -> DebugServer? {
        let debug = try group.wiring("debug") { () -> DebugServer? in
            guard let address = HostPort(config.address) else { return nil }
            let healthChecks = self.healthChecks
            let server = DebugServer(address: address, registry: metrics, log: log.named("debug")) {
                healthChecks.problems().isEmpty ? await ready() : false
            }
            group.add(PeerItem(name: "debug", run: { try await server.run() }, close: { server.close() }))
            return server
        }
        if let debug { awaitsListening { await debug.listeningPort() } }
        return debug
    }

    /// Adds a listener whose port the peer waits for before it calls itself ready.
    public func awaitsListening(_ port: @escaping @Sendable () async -> Int?) {
        listeners.add(port)
    }

    /// Adds a check of the peer's health while it runs: it answers why the peer cannot do its
    /// work now (as "cannot accept connections: ..."), or nil. While one answers, the peer is
    /// not ready at `/health/ready` and sends no heartbeat, so the launcher restarts a peer
    /// that stays that way past its heartbeat timeout.
    public func watches(_ check: @escaping @Sendable () -> String?) {
        healthChecks.add(check)
    }

    /// What the health checks answer now; empty while the peer is healthy.
    public func problems() -> [String] {
        healthChecks.problems()
    }

    /// True once every listener is bound; false if one stopped first.
    func untilListening() async -> Bool {
        for port in listeners.all {
            guard await port() != nil else { return false }
        }
        return true
    }

    /// Closes what the group holds, in reverse, after `error` stopped the peer's initializer.
    public func failed(_ error: any Error) async -> PeerInitError {
        let failure = await PeerInitError.closing(peer: name, group: group, after: error)
        await blockingThreads.close()
        return failure
    }
}

/// The checks of a peer's health.
private final class HealthCheckList: Sendable {
    private let checks = Mutex<[@Sendable () -> String?]>([])
    func add(_ check: @escaping @Sendable () -> String?) { checks.withLock { $0.append(check) } }
    func problems() -> [String] { checks.withLock { $0 }.compactMap { $0() } }
}

/// The ports a peer waits for before it is ready.
private final class ListenerList: Sendable {
    private let ports = Mutex<[@Sendable () async -> Int?]>([])
    func add(_ port: @escaping @Sendable () async -> Int?) { ports.withLock { $0.append(port) } }
    var all: [@Sendable () async -> Int?] { ports.withLock { $0 } }
}
