import SatelliteConfig

/// The `database` section: where the database every peer shares is, and how to reach it.
public struct DatabaseConfig: ConfigSection {
    /// What `url` names; refused at load time when it cannot be read.
    public var url: DatabaseURL = .sqlite(path: "")
    /// A file holding the PostgreSQL password (its first line); empty: `PGPASSWORD`, or none.
    public var passwordFile: String = ""
    public var busyTimeout: Duration = .seconds(5)
    /// The most connections a peer's PostgreSQL pool opens.
    public var maxConnections: Int = 20
    /// How long opening a PostgreSQL connection may take.
    public var connectTimeout: Duration = .seconds(10)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        ConfigField(
            key: "url",
            help: "the database: sqlite:///path (empty means <data-dir>/satellite.db) or postgres://user@host:port/database?sslmode=disable|prefer|require|verify-full&schema=name (no password: see password-file)",
            render: { config in
                switch config.url {
                case .sqlite(let path): YAMLText.scalar(path.isEmpty ? "" : "sqlite://" + path)
                case .postgres(let address): YAMLText.scalar(address.description)
                }
            },
            assign: { (config: inout DatabaseConfig, value: ConfigValue) throws(ConfigRejection) in
                guard case .scalar(let text) = value else { throw .wrongType(DatabaseURL.expected) }
                do throws(DatabaseURL.Refusal) {
                    config.url = try DatabaseURL(parsing: text)
                } catch {
                    var rejection = ConfigRejection.outOfRange("\(DatabaseURL.expected); \(error.reason)")
                    // Shown in place of what was written, so that a password in it is not.
                    rejection.value = error.shown
                    throw rejection
                }
            }
        ),
        .string("password-file", \.passwordFile, help: "file whose first line is the PostgreSQL password (readable by the satellite's user only); empty means the PGPASSWORD environment variable, or no password"),
        .duration("busy-timeout", \.busyTimeout, help: "SQLite: how long a write waits for another process's lock before failing (503 from the API); writes that meet the same lock share the wait", range: .zero ... .seconds(600)),
        .int("max-connections", \.maxConnections, help: "PostgreSQL: the most connections each peer's pool opens", range: 1...1000),
        .duration("connect-timeout", \.connectTimeout, help: "PostgreSQL: how long opening a connection may take before the call fails (503 from the API)", range: .milliseconds(100) ... .seconds(600)),
    ]

    /// The SQLite file for a satellite whose data directory is `dataDir`; nil for a server.
    public func sqlitePath(dataDir: String) -> String? {
        guard case .sqlite(let path) = url else { return nil }
        return path.isEmpty ? dataDir + "/satellite.db" : path
    }

    /// Where the database is, fit to show (a server's URL has no password).
    public func location(dataDir: String) -> String {
        switch url {
        case .sqlite: sqlitePath(dataDir: dataDir) ?? ""
        case .postgres(let address): address.description
        }
    }
}
