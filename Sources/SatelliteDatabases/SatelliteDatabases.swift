import PeerRuntime
import SatelliteDB
import SatelliteDBSQLite

/// Opens the database the `database` section names, whatever backend it is; the one place that
/// knows every backend.
public enum SatelliteDatabases {
    /// Opens (an SQLite file: creating if needed) the satellite's database.
    /// - Parameters:
    ///   - dataDir: the satellite's data directory, where the default SQLite file is.
    ///   - threads: the peer's threads for blocking calls, which a backend whose driver blocks
    ///     may read on; nil lets it start its own.
    /// - Throws: ``DatabaseOpenError`` naming where the database is and what is wrong.
    public static func open(_ config: DatabaseConfig, dataDir: String, threads: BlockingThreads? = nil) async throws -> any SatelliteDatabase {
        switch config.url {
        case .sqlite:
            return try SQLiteDatabase(path: config.sqlitePath(dataDir: dataDir) ?? "", busyTimeout: config.busyTimeout, threads: threads)
        case .postgres(let address):
            // Issue 17 lands the PostgreSQL backend in steps; until it is here, say so plainly.
            throw DatabaseOpenError(location: address.description, problem: .unopenable("this build has no PostgreSQL backend yet; use an sqlite:// URL"))
        }
    }

    /// Opens the database, runs `body` with it, and closes it, whether `body` returned or threw.
    @discardableResult
    public static func with<T>(
        _ config: DatabaseConfig, dataDir: String, _ body: (any SatelliteDatabase) async throws -> T
    ) async throws -> T {
        let database = try await open(config, dataDir: dataDir)
        do {
            let result = try await body(database)
            try await database.close()
            return result
        } catch {
            try? await database.close()
            throw error
        }
    }

    /// The database's files that other users can read, with their modes (none for a server).
    public static func filesReadableByOthers(_ config: DatabaseConfig, dataDir: String) -> [(path: String, mode: Int)] {
        config.sqlitePath(dataDir: dataDir).map(SQLiteDatabase.filesReadableByOthers(path:)) ?? []
    }
}
