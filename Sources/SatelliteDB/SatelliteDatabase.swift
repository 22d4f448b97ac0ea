import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// The one SQLite database all peers share: WAL mode, a busy timeout, foreign keys on.
///
/// Subsystems reach it only through their own `DB` protocols, which this type implements.
public final class SatelliteDatabase: Sendable {
    /// The file's path.
    public let path: String
    /// A `DatabasePool` (WAL: one writer, concurrent readers), or a read-only `DatabaseQueue`.
    let pool: any DatabaseWriter

    /// Opens (creating if needed) the database at `path`.
    /// - Throws: ``DatabaseOpenError`` naming the path when the file cannot be opened, or when it
    ///   holds a schema newer than this binary knows.
    ///
    /// A database it creates is readable by its owner only (mode 0600, whatever the umask), and
    /// SQLite gives its `-wal` and `-shm` files the same mode: it holds every project, bucket and
    /// key hash.
    public convenience init(path: String, busyTimeout: Duration) throws {
        try Self.createPrivately(path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        let lockWait = LockWait(timeout: busyTimeout)
        configuration.busyMode = .callback { tries in lockWait.shouldRetry(tries: tries) }
        configuration.label = "satellite"
        try self.init(path: path, configuration: configuration)
    }

    /// A read-only connection to the database at `path` whose reads never wait: where SQLite
    /// would wait for another connection's lock, a read fails at once with `SQLITE_BUSY`
    /// (``isLockTimeout(_:)`` is true) instead of waiting out a busy timeout.
    ///
    /// In WAL mode a read waits for nothing in normal operation (not for writers, not for a
    /// checkpoint), so such a read costs only its own work and may run on any thread, Swift's
    /// shared pool among them, without a trip to threads kept for blocking calls; a caller that
    /// meets the rare refusal (another process holding the database in exclusive locking mode,
    /// a WAL index being recovered after a crash) reads again through connections that wait.
    /// One connection serves one read at a time. (The readers of a pool cannot be made so: GRDB
    /// gives them a 10 s busy timeout of their own.)
    public static func openReadOnlyWithoutWaiting(path: String) throws -> SatelliteDatabase {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .immediateError
        configuration.label = "satellite-reads"
        return try SatelliteDatabase(path: path, configuration: configuration, open: { try DatabaseQueue(path: $0, configuration: $1) })
    }

    private init(
        path: String, configuration: Configuration,
        open: (String, Configuration) throws -> any DatabaseWriter = { try DatabasePool(path: $0, configuration: $1) }
    ) throws {
        self.path = path
        do {
            pool = try open(path, configuration)
        } catch {
            throw DatabaseOpenError(path: path, problem: .unopenable("\(error)"))
        }
        let unknown = try read("reading the schema version") { db in
            try Array(Migrations.migrator.appliedIdentifiers(db).subtracting(Migrations.known)).sorted()
        }
        guard unknown.isEmpty else {
            throw DatabaseOpenError(path: path, problem: .newerThanBinary(unknownMigrations: unknown))
        }
    }

    /// Creates an empty file at `path` with mode 0600 unless something is there already.
    private static func createPrivately(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            guard errno == EEXIST else {
                throw DatabaseOpenError(path: path, problem: .unopenable(String(cString: strerror(errno))))
            }
            return
        }
        defer { Glibc.close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            throw DatabaseOpenError(path: path, problem: .unopenable("chmod 600: \(String(cString: strerror(errno)))"))
        }
    }

    /// The files of the database at `path` (itself, `-wal`, `-shm`) that other users can read,
    /// with their modes.
    public static func filesReadableByOthers(path: String) -> [(path: String, mode: mode_t)] {
        [path, path + "-wal", path + "-shm"].compactMap { file in
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o004 != 0 else { return nil }
            return (file, info.st_mode & 0o777)
        }
    }

    /// Applies every migration this binary knows and the database lacks; harmless to repeat.
    /// - Returns: the identifiers it applied, in order.
    @discardableResult
    public func migrate() throws -> [String] {
        let before = try appliedMigrations()
        do {
            try Migrations.migrator.migrate(pool)
        } catch {
            throw DatabaseOpenError(path: path, problem: .migrationFailed("\(error)"))
        }
        return Migrations.known.filter { !before.contains($0) }
    }

    /// The migrations applied to the database, in the order this binary knows them.
    public func appliedMigrations() throws -> [String] {
        let applied = try read("reading the schema version") { db in try Migrations.migrator.appliedIdentifiers(db) }
        return Migrations.known.filter(applied.contains)
    }

    /// Whether every migration this binary knows has been applied; peers refuse to start otherwise.
    public func isUpToDate() throws -> Bool {
        try appliedMigrations() == Migrations.known
    }

    /// Every migration this binary knows, in order.
    public static var knownMigrations: [String] { Migrations.known }

    /// The SQLite journal mode in force (`wal`).
    public func journalMode() throws -> String {
        try read("reading the journal mode") { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Whether SQLite enforces foreign keys on this database's connections.
    public func foreignKeysEnabled() throws -> Bool {
        try read("reading the foreign-key setting") { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false }
    }

    /// Closes every connection; later calls fail.
    public func close() throws {
        try pool.close()
    }

    /// Runs `body`, which reads with one statement, outside a transaction: SQLite reads one
    /// statement from one snapshot, and GRDB's `read` would add a BEGIN and a COMMIT (and, on a
    /// read-only queue, two pragmas) to each.
    func readOneStatement<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead(body)
    }

    /// Runs `body`'s reads in one deferred transaction: one snapshot for all of them. GRDB's
    /// `read` does the same and, on a read-only queue, sets and resets `query_only` around it,
    /// two statements more for a connection that cannot write anyway.
    func readInOneTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead { db in
            var result: T?
            try db.inTransaction(.deferred) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    private func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw DatabaseOpenError(path: path, problem: .unopenable("\(what): \(error)"))
        }
    }
}

/// A database that cannot be used, with its path.
public struct DatabaseOpenError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case unopenable(String)
        case newerThanBinary(unknownMigrations: [String])
        case migrationFailed(String)
    }

    public let path: String
    public let problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .unopenable(let detail):
            "database \(path): cannot open: \(detail)"
        case .newerThanBinary(let unknown):
            "database \(path) has a newer schema than this binary (unknown migrations: \(unknown.joined(separator: ", "))); run a satellite at least as new as the one that migrated it"
        case .migrationFailed(let detail):
            "database \(path): migration failed: \(detail)"
        }
    }
}

extension SatelliteDatabase {
    /// What `PRAGMA integrity_check` and `PRAGMA foreign_key_check` report; empty when the
    /// database is sound and every reference holds.
    public func integrityProblems() throws -> [String] {
        try pool.read { db in
            var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            problems += try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { "broken reference in \($0[0] as String? ?? "?") row \($0[1] as Int64? ?? 0)" }
            return problems
        }
    }
}

extension SatelliteDatabase {
    /// Whether `error` is SQLite giving up on a lock that another connection (often another
    /// process) held longer than the busy timeout: the request may succeed if tried again.
    public static func isLockTimeout(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
    }
}
