import Foundation
import GRDB
import PeerRuntime
import SatelliteDB

#if canImport(Glibc)
import Glibc
#endif

/// The satellite's database in one SQLite file all peers on the machine share: WAL mode, a busy
/// timeout, foreign keys on.
///
/// SQLite's calls block, so none runs on Swift's shared pool but the short reads that cannot
/// wait (``DirectReads``): writes go to one thread of the database's own, in turn (SQLite takes
/// one write at a time, and a write waiting on another process's lock holds that thread, not one
/// a heartbeat needs); other reads go to the peer's ``BlockingThreads``.
public final class SQLiteDatabase: SatelliteDatabase, Sendable {
    /// The file's path.
    public let path: String
    public var location: String { path }
    /// A `DatabasePool` (WAL: one writer, concurrent readers), or a read-only `DatabaseQueue`.
    let pool: any DatabaseWriter
    private let readers: BlockingThreads
    private let ownsReaders: Bool
    private let writer: BlockingThreads
    private let direct: DirectReads?

    /// Opens (creating if needed) the database at `path`.
    /// - Parameters:
    ///   - threads: the threads reads that may wait run on; nil starts two of the database's own.
    ///   - directReads: read-only connections for short reads on the caller's thread (one per
    ///     core is enough; 0 sends every read to `threads`).
    /// - Throws: ``DatabaseOpenError`` naming the path when the file cannot be opened, or when it
    ///   holds a schema newer than this binary knows.
    ///
    /// A database it creates is readable by its owner only (mode 0600, whatever the umask), and
    /// SQLite gives its `-wal` and `-shm` files the same mode: it holds every project, bucket and
    /// key hash.
    public init(
        path: String, busyTimeout: Duration, threads: BlockingThreads? = nil,
        directReads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws {
        try Self.createPrivately(path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        let lockWait = LockWait(timeout: busyTimeout)
        configuration.busyMode = .callback { tries in lockWait.shouldRetry(tries: tries) }
        configuration.label = "satellite"
        self.path = path
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw DatabaseOpenError(location: path, problem: .unopenable("\(error)"))
        }
        let unknown = try Self.read(pool, at: path, "reading the schema version") { db in
            try Array(SQLiteMigrations.migrator.appliedIdentifiers(db).subtracting(SQLiteMigrations.known)).sorted()
        }
        guard unknown.isEmpty else {
            try? pool.close()
            throw DatabaseOpenError(location: path, problem: .newerThanBinary(unknownMigrations: unknown))
        }
        do {
            direct = directReads > 0 ? try DirectReads(path: path, count: directReads) : nil
        } catch {
            try? pool.close()
            throw DatabaseOpenError(location: path, problem: .unopenable("opening its read-only connections: \(error)"))
        }
        readers = threads ?? BlockingThreads(count: 2)
        ownsReaders = threads == nil
        writer = BlockingThreads(count: 1)
    }

    /// Creates an empty file at `path` with mode 0600 unless something is there already.
    private static func createPrivately(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            guard errno == EEXIST else {
                throw DatabaseOpenError(location: path, problem: .unopenable(String(cString: strerror(errno))))
            }
            return
        }
        defer { Glibc.close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            throw DatabaseOpenError(location: path, problem: .unopenable("chmod 600: \(String(cString: strerror(errno)))"))
        }
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        let before = try await appliedMigrations()
        try await writer.run { [pool, path] in
            do {
                try SQLiteMigrations.migrator.migrate(pool)
            } catch {
                throw DatabaseOpenError(location: path, problem: .migrationFailed("\(error)"))
            }
        }
        return SQLiteMigrations.known.filter { !before.contains($0) }
    }

    public func appliedMigrations() async throws -> [String] {
        let applied = try await readers.run { [pool, path] in
            try Self.read(pool, at: path, "reading the schema version") { db in try SQLiteMigrations.migrator.appliedIdentifiers(db) }
        }
        return SQLiteMigrations.known.filter(applied.contains)
    }

    /// The steps this backend has bodies for, in order; ``SchemaSteps/all`` is the list they
    /// must match.
    public static var stepNames: [String] { SQLiteMigrations.known }

    /// The SQLite journal mode in force (`wal`).
    public func journalMode() async throws -> String {
        try await read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Whether SQLite enforces foreign keys on this database's connections.
    public func foreignKeysEnabled() async throws -> Bool {
        try await read { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false }
    }

    /// What `PRAGMA integrity_check` and `PRAGMA foreign_key_check` report; empty when the
    /// database is sound and every reference holds.
    public func integrityProblems() async throws -> [String] {
        try await read { db in
            var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            problems += try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { "broken reference in \($0[0] as String? ?? "?") row \($0[1] as Int64? ?? 0)" }
            return problems
        }
    }

    public func close() async throws {
        await writer.close()
        if ownsReaders { await readers.close() }
        try direct?.close()
        try pool.close()
    }

    /// ``close()`` for a caller that cannot await (a `defer`, a `deinit`, a test's cleanup):
    /// blocks the calling thread until the calls in flight have finished.
    public func closeBlocking() throws {
        writer.closeBlocking()
        if ownsReaders { readers.closeBlocking() }
        try direct?.close()
        try pool.close()
    }

    // MARK: Running calls

    /// Runs `body` in a write transaction on the writing thread.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.run { [pool] in try Self.unlessLocked { try pool.write(body) } }
    }

    /// Runs `body`'s reads in one transaction on the reading threads: for reads that take a
    /// while (scans), which must not hold a thread of Swift's shared pool.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await readers.run { [pool] in try Self.unlessLocked { try pool.read(body) } }
    }

    /// Runs `body`, which reads with one statement, outside a transaction (SQLite reads one
    /// statement from one snapshot; GRDB's `read` would add a BEGIN and a COMMIT): on the
    /// caller's thread through ``DirectReads`` if it need not wait, else on the reading threads.
    func readOneStatement<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if let direct, case .done(let value) = try direct.read({ try $0.unsafeRead(body) }) { return value }
        return try await readers.run { [pool] in try Self.unlessLocked { try pool.unsafeRead(body) } }
    }

    /// Runs `body`'s reads in one deferred transaction (one snapshot for all of them), where
    /// ``readOneStatement(_:)`` would run them.
    func readInOneTransaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let inTransaction: @Sendable (Database) throws -> T = { db in
            var result: T?
            try db.inTransaction(.deferred) {
                result = try body(db)
                return .commit
            }
            return result!
        }
        return try await readOneStatement(inTransaction)
    }

    /// SQLite giving up on a lock that another connection (often another process) held longer
    /// than the busy timeout, as ``DatabaseUnavailable``: the call may succeed if made again.
    private static func unlessLocked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where isLockTimeout(error) {
            throw DatabaseUnavailable("database locked beyond the busy timeout: \(error.message ?? "locked") (SQLite \(error.resultCode))")
        }
    }

    /// Whether `error` is SQLite refusing because of another connection's lock.
    static func isLockTimeout(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
    }

    private static func read<T>(_ pool: any DatabaseWriter, at path: String, _ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw DatabaseOpenError(location: path, problem: .unopenable("\(what): \(error)"))
        }
    }
}
