import Lifecycle
import Logging
import Prometheus
import SatelliteConfig
import SatelliteDB
import StructuredLogging
import Synchronization

/// What every peer is built on: its named logger, the shared database and the threads that call
/// it, its own metrics registry, and the group its subsystems are wired into.
public struct PeerBasis: Sendable {
    public let name: String
    public let log: Logger
    public let database: SatelliteDatabase
    /// Where the peer's subsystems make their blocking database calls from async code; closed
    /// after every subsystem.
    public let databaseThreads: DatabaseThreads
    public let metrics: PrometheusCollectorRegistry
    public let group: PeerGroup
    private let listeners = ListenerList()

    init(peer name: String, log: Logger, database: SatelliteDatabase, shutdownTimeout: Duration?) {
        self.name = name
        self.log = log.named(name)
        self.database = database
        self.databaseThreads = DatabaseThreads()
        self.metrics = PrometheusCollectorRegistry()
        self.group = PeerGroup(logger: self.log, shutdownTimeout: shutdownTimeout)
    }

    /// The subsystems every peer starts with, in creation order: the debug endpoint (first, so a
    /// peer that is starting can already be looked at; `nil` when `debug.address` is empty), then
    /// the schema check (a peer works only on the schema it was built for).
    func wireDebugAndSchema(_ config: DebugConfig) throws -> DebugServer? {
        let debug = try group.wiring("debug") {
            PeerParts.debug(config: config, registry: metrics, database: database, threads: databaseThreads, log: log.named("debug"), group: group)
        }
        if let debug { awaitsListening { await debug.listeningPort() } }
        try group.wiring("schema") { try PeerParts.requireSchema(database) }
        return debug
    }

    /// Adds a listener whose port the peer waits for before it calls itself ready.
    func awaitsListening(_ port: @escaping @Sendable () async -> Int?) {
        listeners.add(port)
    }

    /// True once every listener is bound; false if one stopped first.
    func untilListening() async -> Bool {
        for port in listeners.all {
            guard await port() != nil else { return false }
        }
        return true
    }

    /// Closes what the group holds, in reverse, after `error` stopped the peer's initializer.
    func failed(_ error: any Error) async -> PeerInitError {
        let failure = await PeerInitError.closing(peer: name, group: group, after: error)
        await databaseThreads.close()
        return failure
    }
}

/// The subsystems every peer wires the same way.
enum PeerParts {
    /// Peers work only on the schema they were built for; the migration peer brings it there.
    static func requireSchema(_ database: SatelliteDatabase) throws {
        guard try database.isUpToDate() else {
            throw PeerSetupError.schemaNotMigrated(path: database.path)
        }
    }

    /// The debug endpoint, added to `group`, or `nil` when `debug.address` is empty.
    static func debug(
        config: DebugConfig,
        registry: PrometheusCollectorRegistry,
        database: SatelliteDatabase,
        threads: DatabaseThreads,
        log: Logger,
        group: PeerGroup
    ) -> DebugServer? {
        guard let address = HostPort(config.address) else { return nil }
        let server = DebugServer(address: address, registry: registry, log: log) {
            (try? await threads.run { try database.isUpToDate() }) ?? false
        }
        group.add(PeerItem(name: "debug", run: { try await server.run() }, close: { server.close() }))
        return server
    }
}

/// A peer that cannot be set up.
public enum PeerSetupError: Error, Equatable, CustomStringConvertible {
    case schemaNotMigrated(path: String)

    public var description: String {
        switch self {
        case .schemaNotMigrated(let path):
            "database \(path) is not migrated to this binary's schema; run `satellite run migration` first"
        }
    }
}

/// A peer's initializer failed: which subsystem, why, and what it closed before giving up.
public struct PeerInitError: Error, CustomStringConvertible {
    public let peer: String
    public let failure: PeerItemFailure
    public let closeReport: PeerCloseReport

    /// Closes what `group` holds, in reverse, and describes the failure `error` of `peer`.
    static func closing(peer: String, group: PeerGroup, after error: any Error) async -> Self {
        let failure = error as? PeerItemFailure ?? PeerItemFailure(item: "?", underlying: error)
        return Self(peer: peer, failure: failure, closeReport: await group.close())
    }

    public var description: String {
        "\(peer): creating \(failure.item) failed: \(failure.underlying); \(closeReport)"
    }
}

/// Closing a peer left errors behind.
public struct PeerCloseError: Error, CustomStringConvertible {
    public let peer: String
    public let report: PeerCloseReport

    public var description: String { "\(peer): \(report)" }
}

/// The ports a peer waits for before it is ready.
private final class ListenerList: Sendable {
    private let ports = Mutex<[@Sendable () async -> Int?]>([])
    func add(_ port: @escaping @Sendable () async -> Int?) { ports.withLock { $0.append(port) } }
    var all: [@Sendable () async -> Int?] { ports.withLock { $0 } }
}
