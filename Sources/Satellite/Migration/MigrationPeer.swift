import Logging
import SatelliteDB
import StructuredLogging

/// The one-shot peer that brings the shared database's schema up to this binary's version.
///
/// It runs before every other peer; running it again is harmless.
public struct MigrationPeer: Sendable {
    private let log: Logger
    private let database: SatelliteDatabase

    public init(log: Logger, database: SatelliteDatabase) {
        self.log = log.named("migration")
        self.database = database
    }

    /// Applies the missing migrations and returns their identifiers.
    /// - Throws: ``DatabaseOpenError`` when a migration fails; nothing of that migration remains.
    @discardableResult
    public func run() throws -> [String] {
        let applied = try database.migrate()
        log.info(
            applied.isEmpty ? "schema already up to date" : "schema migrated",
            metadata: [
                "applied": .array(applied.map { .string($0) }),
                "version": .string(SatelliteDatabase.knownMigrations.last ?? ""),
                "database": .string(database.path),
            ]
        )
        return applied
    }
}
