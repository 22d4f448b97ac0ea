import Foundation
import Identity
import Logging
import SatelliteDB
import StructuredLogging

/// The one-shot peer that brings the shared database's schema up to this binary's version, and
/// makes the satellite's identity on a satellite that never had one.
///
/// It runs before every other peer; running it again is harmless.
public struct MigrationPeer: Sendable {
    private let log: Logger
    private let database: any SatelliteDatabase
    private let identityPath: String?

    /// - Parameter identityPath: the satellite's key file, or nil to leave identities alone.
    public init(log: Logger, database: any SatelliteDatabase, identityPath: String? = nil) {
        self.log = log.named("migration")
        self.database = database
        self.identityPath = identityPath
    }

    /// The migration that made the satellite sign order limits: a database that has it belongs to
    /// a satellite whose key storage nodes trust.
    static let ordersMigration = "0005-orders"

    /// Applies the missing migrations and returns their identifiers.
    /// - Throws: ``IdentityFileError`` when the key is missing on a satellite that signed orders
    ///   with one, or unreadable; ``DatabaseOpenError`` when a migration fails (nothing of that
    ///   migration remains).
    @discardableResult
    public func run() async throws -> [String] {
        if let identityPath { try await ensureIdentity(at: identityPath) }
        let applied = try await database.migrate()
        log.info(
            applied.isEmpty ? "schema already up to date" : "schema migrated",
            metadata: [
                "applied": .array(applied.map { .string($0) }),
                "version": .string(SchemaSteps.all.last ?? ""),
                "database": .string(database.location),
            ]
        )
        return applied
    }

    /// Loads the key at `path`, or creates it if this satellite never signed orders. A satellite
    /// that did gets no new key in silence: every node trusts the old one, and would refuse all
    /// that a new one signs.
    private func ensureIdentity(at path: String) async throws {
        if FileManager.default.fileExists(atPath: path) {
            _ = try IdentityFile.load(from: path)
            return
        }
        guard try await !database.appliedMigrations().contains(Self.ordersMigration) else {
            throw IdentityFileError(
                path: path,
                problem: "does not exist, but this satellite's database has signed orders with a key: restore the key (a new one would make every storage node refuse this satellite)"
            )
        }
        let identity = try IdentityFile.create(at: path)
        log.notice("created the satellite's identity", metadata: ["path": .string(path), "satellite_id": .string(identity.id.hex)])
    }
}
