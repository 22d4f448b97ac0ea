import Launch
import PeerConfig
import SatelliteConfig
import StructuredLogging
import Supervision

/// Every key of the satellite, one section per subsystem.
///
/// A subsystem adds its section to this module (which links no Foundation, so that `satellite
/// run` checks the whole configuration without loading the peers' libraries): a stored property
/// and one group in ``fieldGroups``.
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

    /// Every key, group by group.
    public static var fields: [ConfigField<Self>] { fieldGroups.flatMap(\.fields) }

    /// One group per section, made only when a launch meets its keys (the key paths are
    /// written inside the closures, so that even they cost nothing until then).
    public static let fieldGroups: [ConfigFieldGroup<Self>] = [
        .init("data-dir") {
            [.string("data-dir", \.dataDir, help: "directory of the database, the logs and the runtime files", validate: { $0.isEmpty ? "a directory path" : nil })]
        },
        .init("log") { LogConfig.fields(at: \.log, prefix: "log") },
        .init("database") { DatabaseConfig.fields(at: \.database, prefix: "database") },
        .init("api") { APIConfig.fields(at: \.api, prefix: "api") },
        .init("overlay") { OverlayConfig.fields(at: \.overlay, prefix: "overlay") },
        .init("contact") { ContactConfig.fields(at: \.contact, prefix: "contact") },
        .init("metainfo") { MetainfoConfig.fields(at: \.metainfo, prefix: "metainfo") },
        .init("orders") { OrdersConfig.fields(at: \.orders, prefix: "orders") },
        .init("gc") { GCConfig.fields(at: \.gc, prefix: "gc") },
        .init("audit") { AuditConfig.fields(at: \.audit, prefix: "audit") },
        .init("reputation") { ReputationConfig.fields(at: \.reputation, prefix: "reputation") },
        .init("checker") { CheckerConfig.fields(at: \.checker, prefix: "checker") },
        .init("repairer") { RepairerConfig.fields(at: \.repairer, prefix: "repairer") },
        .init("tally") { TallyConfig.fields(at: \.tally, prefix: "tally") },
        .init("deletion") { DeletionConfig.fields(at: \.deletion, prefix: "deletion") },
        .init("debug") { DebugConfig.fields(at: \.debug, prefix: "debug") },
        .init("supervisor") { SupervisorConfig.fields(at: \.supervisor, prefix: "supervisor") },
        .init("processes") { [ProcessEntry.field(\.processes, peers: PeerName.allCases.map(\.rawValue))] },
    ]

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
