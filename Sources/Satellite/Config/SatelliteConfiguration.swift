import Launch
import PeerRuntime
import SatelliteConfig
import SatelliteDB
import StructuredLogging
import Supervision

/// Every key of the satellite, gathered from the sections that live beside their subsystems.
///
/// A subsystem adds its section here: a stored property and one line in ``fields``.
public struct SatelliteConfiguration: ConfigSection {
    public var dataDir: String = "data"
    public var log = LogConfig()
    public var database = DatabaseConfig()
    public var api = APIConfig()
    public var overlay = OverlayConfig()
    public var contact = ContactConfig()
    public var metainfo = MetainfoConfig()
    public var orders = OrdersConfig()
    public var gc = GCConfig()
    public var audit = AuditConfig()
    public var reputation = ReputationConfig()
    public var checker = CheckerConfig()
    public var repairer = RepairerConfig()
    public var tally = TallyConfig()
    public var deletion = DeletionConfig()
    public var debug = DebugConfig()
    public var supervisor = SupervisorConfig()
    public var processes = ProcessEntry.satelliteDefaults

    public init() {}

    public static let fields: [ConfigField<Self>] =
        [.string("data-dir", \.dataDir, help: "directory of the database, the logs and the runtime files", validate: { $0.isEmpty ? "a directory path" : nil })]
        + LogConfig.fields(at: \.log, prefix: "log")
        + DatabaseConfig.fields(at: \.database, prefix: "database")
        + APIConfig.fields(at: \.api, prefix: "api")
        + OverlayConfig.fields(at: \.overlay, prefix: "overlay")
        + ContactConfig.fields(at: \.contact, prefix: "contact")
        + MetainfoConfig.fields(at: \.metainfo, prefix: "metainfo")
        + OrdersConfig.fields(at: \.orders, prefix: "orders")
        + GCConfig.fields(at: \.gc, prefix: "gc")
        + AuditConfig.fields(at: \.audit, prefix: "audit")
        + ReputationConfig.fields(at: \.reputation, prefix: "reputation")
        + CheckerConfig.fields(at: \.checker, prefix: "checker")
        + RepairerConfig.fields(at: \.repairer, prefix: "repairer")
        + TallyConfig.fields(at: \.tally, prefix: "tally")
        + DeletionConfig.fields(at: \.deletion, prefix: "deletion")
        + DebugConfig.fields(at: \.debug, prefix: "debug")
        + SupervisorConfig.fields(at: \.supervisor, prefix: "supervisor")
        + [ProcessEntry.field(\.processes, peers: PeerName.allCases.map(\.rawValue))]

    /// The loader for this configuration. `SATELLITE_NOTIFY_FD`, `SATELLITE_PROCESS` and
    /// `SATELLITE_LISTEN_FD` belong to the launcher's protocol with its children, not to the
    /// configuration.
    public static let schema = ConfigSchema<Self>(reservedVariables: ["SATELLITE_NOTIFY_FD", "SATELLITE_PROCESS", "SATELLITE_LISTEN_FD", LogLevelFile.environmentVariable])

    /// The database file.
    /// The SQLite file, if the database is one.
    public var sqlitePath: String? { database.sqlitePath(dataDir: dataDir) }
    /// Where the database is, fit to show.
    public var databaseLocation: String { database.location(dataDir: dataDir) }

    /// The launcher's control socket.
    public var controlSocketPath: String { supervisor.controlSocket.isEmpty ? dataDir + "/run/satellite.sock" : supervisor.controlSocket }

    /// The directory of the per-process log files.
    public var logDirectory: String { log.dir.isEmpty ? dataDir + "/log" : log.dir }

    /// The satellite's private key (`satellite setup` makes it): it signs order limits, and
    /// storage nodes trust the id it proves.
    public var identityPath: String { dataDir + "/identity.key" }
}

extension SatelliteConfiguration {
    /// A peer's own deadline for a graceful shutdown: four fifths of the launcher's stop timeout,
    /// so that it abandons in-flight work and closes its subsystems before SIGKILL would come.
    public var peerShutdownTimeout: Duration { supervisor.timings.stopTimeout * 0.8 }

    /// The keys the Core peer reads.
    public var core: Core.Config {
        var config = Core.Config()
        config.debug = debug
        config.overlay = overlay
        config.checker = checker
        config.tally = tally
        config.deletion = deletion
        config.shutdownTimeout = peerShutdownTimeout
        return config
    }

    /// The keys the API peer reads.
    public var apiPeer: API.Config {
        var config = API.Config()
        config.debug = debug
        config.api = api
        config.overlay = overlay
        config.contact = contact
        config.metainfo = metainfo
        config.orders = orders
        config.shutdownTimeout = peerShutdownTimeout
        return config
    }

    /// The keys the Repairer peer reads.
    public var repairerPeer: Repairer.Config {
        var config = Repairer.Config()
        config.debug = debug
        config.overlay = overlay
        config.metainfo = metainfo
        config.repairer = repairer
        config.orders = orders
        config.gc = gc
        config.audit = audit
        config.reputation = reputation
        config.shutdownTimeout = peerShutdownTimeout
        return config
    }
}
