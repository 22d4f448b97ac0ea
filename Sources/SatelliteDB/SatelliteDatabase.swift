/// The satellite's database, whatever holds it (a file, a server): every subsystem's storage,
/// and the schema's version.
///
/// Peers hold it as `any SatelliteDatabase`, opened from `database.url`; only the database
/// modules know what is behind it. Every call is async: a backend whose driver blocks (SQLite)
/// runs its calls on threads of its own, one whose driver is async (PostgreSQL) awaits it.
/// Cancelling the calling task does not undo a write that has begun; a write either commits
/// whole or not at all.
public protocol SatelliteDatabase: AccountingDB, MetainfoDB, ObjectsDB, OrdersDB, OverlayDB, RepairQueueDB, ReputationDB, ContainmentDB {
    /// Where the database is, fit for logs and messages: a file's path, or a server's URL
    /// without its password.
    var location: String { get }

    /// Applies every step of ``SchemaSteps/all`` that the database lacks, in order, each in a
    /// transaction of its own; harmless to repeat.
    /// - Returns: the steps it applied, in order.
    /// - Throws: ``DatabaseOpenError`` naming the step that failed (nothing of it remains).
    @discardableResult
    func migrate() async throws -> [String]

    /// The steps applied to the database, in the order of ``SchemaSteps/all``.
    func appliedMigrations() async throws -> [String]

    /// Lets the calls in flight finish and closes every connection; later calls fail.
    func close() async throws
}

extension SatelliteDatabase {
    /// Whether every step this binary knows has been applied; peers other than the migration
    /// refuse to start otherwise.
    public func isUpToDate() async throws -> Bool {
        try await appliedMigrations() == SchemaSteps.all
    }
}

/// A database that cannot be used, with where it is.
public struct DatabaseOpenError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case unopenable(String)
        case newerThanBinary(unknownMigrations: [String])
        case migrationFailed(String)
    }

    /// A file's path, or a server's URL without its password.
    public let location: String
    public let problem: Problem

    public init(location: String, problem: Problem) {
        self.location = location
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .unopenable(let detail):
            "database \(location): cannot open: \(detail)"
        case .newerThanBinary(let unknown):
            "database \(location) has a newer schema than this binary (unknown migrations: \(unknown.joined(separator: ", "))); run a satellite at least as new as the one that migrated it"
        case .migrationFailed(let detail):
            "database \(location): migration failed: \(detail)"
        }
    }
}

/// A call the database could not serve for now (a lock held beyond the busy timeout, the server
/// unreachable or shutting down): the same call may succeed later. The API answers 503
/// `unavailable` with Retry-After.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    /// What was being done, and why it could not be.
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "database unavailable: \(reason)" }
}
