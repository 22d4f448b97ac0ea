import SatelliteConfig

/// The `database` section: the SQLite file every peer shares.
public struct DatabaseConfig: ConfigSection {
    public var path: String = ""
    public var busyTimeout: Duration = .seconds(5)

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .string("path", \.path, help: "SQLite database file; empty means <data-dir>/satellite.db"),
        .duration("busy-timeout", \.busyTimeout, help: "how long a write waits for another process's lock before failing (503 from the API); writes that meet the same lock share the wait", range: .zero ... .seconds(600)),
    ]

    /// The database file for a satellite whose data directory is `dataDir`.
    public func resolvedPath(dataDir: String) -> String {
        path.isEmpty ? dataDir + "/satellite.db" : path
    }
}
