import Lifecycle
import Logging
import PeerRuntime
import SatelliteDB

/// A peer of the satellite: a ``Peer`` on the shared database, whose readiness is that the
/// database's schema is the one this binary was built for.
public protocol SatellitePeer: Peer {
    /// The shared database.
    var database: any SatelliteDatabase { get }
}

extension PeerBasis {
    /// A basis for one of the satellite's peers: its metrics under `satellite_`.
    init(satellitePeer name: String, log: Logger, shutdownTimeout: Duration?) {
        self.init(peer: name, namespace: SatelliteMetrics.namespace, log: log, shutdownTimeout: shutdownTimeout)
    }

    /// The subsystems every satellite peer starts with, in creation order: the debug endpoint
    /// (ready while the schema is current), then the schema check (a peer works only on the
    /// schema it was built for).
    /// - Throws: `PeerItemFailure` naming `debug` or `schema`.
    func wireDebugAndSchema(_ config: DebugConfig, database: any SatelliteDatabase) async throws -> DebugServer? {
        let debug = try wireDebug(config) {
            (try? await database.isUpToDate()) ?? false
        }
        try await group.wiring("schema") {
            try await PeerSetupError.checkSchema(of: database)
        }
        return debug
    }
}

/// What the satellite's metrics are prefixed with.
public enum SatelliteMetrics {
    public static let namespace = "satellite"
    /// Chore durations, as `satellite_chore_duration_seconds`.
    public static let chores = ChoreMetrics(namespace: namespace)
}

/// A peer that cannot be set up.
public enum PeerSetupError: Error, Equatable, CustomStringConvertible {
    /// The database's last step (empty: none) is not this binary's.
    case schemaNotMigrated(location: String, database: String, binary: String)

    /// Throws ``schemaNotMigrated(location:database:binary:)`` unless every step this binary
    /// knows has been applied.
    public static func checkSchema(of database: any SatelliteDatabase) async throws {
        let applied = try await database.appliedMigrations()
        guard applied == SchemaSteps.all else {
            throw schemaNotMigrated(location: database.location, database: applied.last ?? "", binary: SchemaSteps.all.last ?? "")
        }
    }

    public var description: String {
        switch self {
        case .schemaNotMigrated(let location, let database, let binary):
            "database \(location) is at schema version \(database.isEmpty ? "none" : database), this binary at \(binary); run `satellite run migration` first"
        }
    }
}
