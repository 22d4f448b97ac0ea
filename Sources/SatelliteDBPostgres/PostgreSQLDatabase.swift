import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SatelliteDB
import SatelliteSettings
import Synchronization

/// The satellite's database on a PostgreSQL server, shared by peers on any number of hosts.
///
/// Calls go through postgres-nio's pooled client, whose `run()` this database keeps going from
/// open to ``close()``. Every write is one transaction at a ``WriteIsolation``: SERIALIZABLE, so
/// that a check and the write it guards cannot be split by another peer's write, or, on the
/// upload path, READ COMMITTED behind locks on the rows the check is about. What PostgreSQL
/// refuses as a serialization failure or a deadlock is run again, up to ``maxTries`` times (each
/// write's body only reads and writes the database, so running it again is safe). A connection that cannot
/// be had within `connectTimeout`, or that is lost, is ``DatabaseUnavailable``: the API answers
/// 503, and the pool reconnects by itself once the server is back.
public final class PostgreSQLDatabase: SatelliteDatabase, Sendable {
    public let address: DatabaseURL.PostgresAddress
    /// The schema the database's tables are in; nil is the server's default (`public`).
    public var schema: String? { address.schema }
    public var location: String { address.description }
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    private let connectTimeout: Duration
    private let closeWatch = ConnectionCloseWatch()

    /// How many times a write that met a serialization failure or a deadlock is run in all.
    public static let maxTries = 10

    /// Connects to the database at `address`.
    /// - Parameters:
    ///   - password: nil for none (trust or peer authentication).
    ///   - maxConnections: the pool's bound.
    ///   - connectTimeout: how long a call waits for a connection before it is unavailable.
    /// - Throws: ``DatabaseOpenError`` naming the server when it cannot be reached or holds a
    ///   schema newer than this binary knows.
    public init(
        address: DatabaseURL.PostgresAddress, password: String?, maxConnections: Int = 20,
        connectTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "satellite-postgres")
    ) async throws {
        self.address = address
        self.logger = logger
        self.connectTimeout = connectTimeout
        var configuration = PostgresClient.Configuration(
            host: address.host, port: address.port, username: address.user, password: password, database: address.database,
            tls: Self.tls(address.tls)
        )
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = connectTimeout
        if let schema = address.schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        running = Task { await client.run() }
        do {
            let unknown = Set(try await appliedSteps()).subtracting(SchemaSteps.all).sorted()
            guard unknown.isEmpty else { throw DatabaseOpenError(location: location, problem: .newerThanBinary(unknownMigrations: unknown)) }
        } catch {
            running.cancel()
            await running.value
            if error is DatabaseOpenError { throw error }
            throw DatabaseOpenError(location: location, problem: .unopenable("\(error)"))
        }
    }

    private static func tls(_ mode: DatabaseURL.PostgresAddress.TLS) -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        return switch mode {
        case .disable: .disable
        // As libpq: prefer and require encrypt without checking the certificate; verify-full
        // checks it and the host name.
        case .prefer: .prefer(unverified)
        case .require: .require(unverified)
        case .verifyFull: .require(.makeClientConfiguration())
        }
    }

    // MARK: Schema

    /// Deletes the database's schema and everything in it (a test's, or a satellite's that is
    /// gone); the default schema is never deleted.
    public func dropSchema() async throws {
        guard let schema else { return }
        _ = try await read { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(PostgresMigrations.quoted(schema)) CASCADE"), logger: self.logger)
        }
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        do {
            return try await PostgresMigrations.migrate(self)
        } catch let error as DatabaseUnavailable {
            throw error
        } catch {
            throw DatabaseOpenError(location: location, problem: .migrationFailed("\(error)"))
        }
    }

    public func appliedMigrations() async throws -> [String] {
        let applied = Set(try await appliedSteps())
        return SchemaSteps.all.filter(applied.contains)
    }

    private func appliedSteps() async throws -> [String] {
        try await read { connection in
            let exists = try await connection.query("SELECT to_regclass('satellite_migrations') IS NOT NULL", logger: self.logger)
                .collect().first?.decode(Bool.self) ?? false
            guard exists else { return [] }
            return try await connection.query("SELECT identifier FROM satellite_migrations", logger: self.logger).collect().map { try $0.decode(String.self) }
        }
    }

    public func close() async throws {
        running.cancel()
        await running.value
    }

    // MARK: Running calls

    /// How a write transaction keeps its checks true until it commits.
    enum WriteIsolation {
        /// SERIALIZABLE: PostgreSQL refuses whichever of two overlapping transactions could
        /// not have run one after the other. Nothing to get right by hand; but its predicate
        /// locks cover index pages, so writers of neighbouring rows collide although they
        /// touch different ones (the commit flow of 16 uploads into one bucket saw 40 % of its
        /// transactions refused and requests fail after ``maxTries``).
        case serializable
        /// READ COMMITTED: the body first locks what its checks are about (the object's row
        /// `FOR UPDATE`, the bucket's `FOR SHARE`, the key's advisory lock) and every statement
        /// after the lock sees what was committed before it. Two writers meet only on the
        /// same rows. Every body that writes rows another path checks takes the same locks.
        case lockingRows
        /// One statement that is atomic by itself (an upsert): no BEGIN and COMMIT, two round
        /// trips fewer.
        case oneStatement

        var begin: PostgresQuery? {
            switch self {
            case .serializable: "BEGIN ISOLATION LEVEL SERIALIZABLE"
            case .lockingRows: "BEGIN ISOLATION LEVEL READ COMMITTED"
            case .oneStatement: nil
            }
        }
    }

    /// Runs `body` in one transaction at `isolation`, again (from the start) when PostgreSQL
    /// refuses it for a serialization failure or a deadlock.
    func write<T: Sendable>(
        _ isolation: WriteIsolation = .serializable, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await withConnection { connection in
                    guard let begin = isolation.begin else { return try await body(connection) }
                    return try await connection.transaction(begin, self.logger) { try await body(connection) }
                }
            } catch let error as PSQLError where Self.isRetryable(error) && tries < Self.maxTries {
                // Back off a little, more each time, so that the writers that collided spread out.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << min(tries, 6)))))
            } catch let error as PSQLError {
                throw PostgresRefusal(error, tries: tries)
            }
        }
    }

    /// Runs `body`'s reads; with `snapshot`, in one REPEATABLE READ transaction, so that they
    /// see one moment.
    func read<T: Sendable>(snapshot: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withConnection { connection in
                guard snapshot else { return try await body(connection) }
                return try await connection.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", self.logger) { try await body(connection) }
            }
        } catch let error as PSQLError {
            throw PostgresRefusal(error, tries: 1)
        }
    }

    /// A connection of the pool for `body`, or ``DatabaseUnavailable`` when none can be had
    /// within the connect timeout (the server down, unreachable, or every connection busy) or
    /// when the connection is lost under it. The wait for a connection is given up at the
    /// timeout; a call that has its connection runs to its end, or until the connection closes.
    ///
    /// The pool's wait for a connection does not end when its task is cancelled, so the wait
    /// runs in a task of its own and the caller is answered by whichever comes first, the
    /// connection or the timeout; a connection that comes after the timeout is handed back
    /// unused. Cancelling the caller cancels the call.
    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let race = LeaseRace<T>()
        let client = client
        let unavailable = DatabaseUnavailable("no connection to \(address.host):\(address.port) within \(connectTimeout)")
        let lost = { (error: PSQLError) in DatabaseUnavailable("the connection to \(self.address.host):\(self.address.port) failed: \(error.code)") }
        let closed = DatabaseUnavailable("the connection to \(address.host):\(address.port) closed during the call")
        let timeout = connectTimeout
        let closeWatch = closeWatch
        let work = Task {
            do {
                let value = try await client.withConnection { connection in
                    guard race.begin() else { throw CancellationError() }
                    // A connection that closes under a call answers the caller at once: a
                    // statement sent as it closes may never be answered by postgres-nio, and the
                    // call would hold its lease, and the request, through the whole outage.
                    closeWatch.begin(connection) { race.finish(.failure(closed)) }
                    defer { closeWatch.end(connection) }
                    return try await body(connection)
                }
                race.finish(.success(value))
            } catch let error as PSQLError where Self.isConnectionLoss(error) {
                race.finish(.failure(lost(error)))
            } catch {
                race.finish(.failure(error))
            }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            race.expire(unavailable)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in race.wait(continuation) }
        } onCancel: {
            work.cancel()
            race.expire(CancellationError())
        }
    }

    static func sqlState(_ error: PSQLError) -> String? {
        error.serverInfo?[.sqlState]
    }

    /// A serialization failure, a deadlock, or the server shutting the connection down: the
    /// transaction may succeed if run again.
    static func isRetryable(_ error: PSQLError) -> Bool {
        ["40001", "40P01"].contains(sqlState(error) ?? "")
    }

    static func isConnectionLoss(_ error: PSQLError) -> Bool {
        if let state = sqlState(error) { return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03" }
        return [.serverClosedConnection, .connectionError, .clientClosedConnection, .uncleanShutdown, .poolClosed].contains(error.code)
    }
}

/// Who answers a call first: its connection or its timeout.
private final class LeaseRace<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?, early: Result<T, any Error>?)
        case begun(CheckedContinuation<T, any Error>?, early: Result<T, any Error>?)
        case answered
    }

    private let state = Mutex(State.waiting(nil, early: nil))

    /// The caller waits here for the answer.
    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            switch state {
            case .waiting(_, let early?), .begun(_, let early?):
                state = .answered
                return early
            case .waiting(nil, nil):
                state = .waiting(continuation, early: nil)
            case .begun(nil, nil):
                state = .begun(continuation, early: nil)
            case .waiting(.some, _), .begun(.some, _), .answered:
                break
            }
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// The connection came: whether the call may still use it (false once it timed out).
    func begin() -> Bool {
        state.withLock { state in
            // Not once answered, nor once the timeout came before the caller waited.
            guard case .waiting(let continuation, nil) = state else { return false }
            state = .begun(continuation, early: nil)
            return true
        }
    }

    /// The call's own answer.
    func finish(_ result: Result<T, any Error>) {
        answer(result, evenIfBegun: true)
    }

    /// The timeout (or the caller's cancellation): answers the caller unless the call has its
    /// connection already.
    func expire(_ error: any Error) {
        answer(.failure(error), evenIfBegun: error is CancellationError)
    }

    private func answer(_ result: Result<T, any Error>, evenIfBegun: Bool) {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            switch state {
            case .waiting(let continuation?, _):
                state = .answered
                return continuation
            case .begun(let continuation?, _) where evenIfBegun:
                state = .answered
                return continuation
            case .waiting(nil, nil):
                state = .waiting(nil, early: result)
            case .begun(nil, nil) where evenIfBegun:
                state = .begun(nil, early: result)
            default:
                break
            }
            return nil
        }
        continuation?.resume(with: result)
    }
}
