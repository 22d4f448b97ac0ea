import PeerRuntime
import Foundation
import SatelliteDB
import SatelliteSettings
import SatelliteDBPostgres
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
            return try await PostgreSQLDatabase(
                address: address, password: try password(config, for: address), maxConnections: config.maxConnections, connectTimeout: config.connectTimeout
            )
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

    /// The server's password: the first line of `database.password-file`, else `PGPASSWORD`,
    /// else none. The file, like a key, must be readable by its owner only.
    static func password(_ config: DatabaseConfig, for address: DatabaseURL.PostgresAddress) throws -> String? {
        guard !config.passwordFile.isEmpty else { return ProcessInfo.processInfo.environment["PGPASSWORD"] }
        let path = config.passwordFile
        let problem = { (detail: String) in DatabaseOpenError(location: address.description, problem: .unopenable("database.password-file \(path): \(detail)")) }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let mode = attributes[.posixPermissions] as? Int else {
            throw problem("cannot be read")
        }
        guard mode & 0o077 == 0 else { throw problem("is readable by others (mode \(String(mode, radix: 8))); chmod 600 it") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw problem("cannot be read as text") }
        return text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }
}
