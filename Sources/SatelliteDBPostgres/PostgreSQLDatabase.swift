import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SatelliteDB
import Synchronization

/// The satellite's database on a PostgreSQL server, shared by peers on any number of hosts.
///
/// Calls go through postgres-nio's pooled client, whose `run()` this database keeps going from
/// open to ``close()``. Every write is one SERIALIZABLE transaction: a check and the write it
/// guards cannot be split by another peer's write, and what PostgreSQL refuses as a
/// serialization failure or a deadlock is run again, up to ``maxTries`` times (each write's body
/// only reads and writes the database, so running it again is safe). A connection that cannot
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

    /// Runs `body` in one SERIALIZABLE transaction, again (from the start) when PostgreSQL
    /// refuses it for a serialization failure or a deadlock.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await withConnection { connection in
                    try await connection.query("BEGIN ISOLATION LEVEL SERIALIZABLE", logger: self.logger)
                    do {
                        let result = try await body(connection)
                        try await connection.query("COMMIT", logger: self.logger)
                        return result
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: self.logger)
                        throw error
                    }
                }
            } catch let error as PSQLError where Self.isRetryable(error) && tries < Self.maxTries {
                // Back off a little, more each time, so that the writers that collided spread out.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << min(tries, 6)))))
            }
        }
    }

    /// Runs `body`'s reads; with `snapshot`, in one REPEATABLE READ transaction, so that they
    /// see one moment.
    func read<T: Sendable>(snapshot: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            guard snapshot else { return try await body(connection) }
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: self.logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// A connection of the pool for `body`, or ``DatabaseUnavailable`` when none can be had
    /// within the connect timeout (the server down, unreachable, or every connection busy) or
    /// when the connection is lost under it. The wait for a connection is given up at the
    /// timeout; a call that has its connection runs to its end.
    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = Lease()
        let timeout = connectTimeout
        let unavailable = DatabaseUnavailable("no connection to \(address.host):\(address.port) within \(connectTimeout)")
        do {
            return try await withThrowingTaskGroup(of: Raced<T>.self) { group in
                group.addTask {
                    .done(try await self.client.withConnection { connection in
                        lease.begin()
                        return try await body(connection)
                    })
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return .timer
                }
                while let next = try await group.next() {
                    switch next {
                    case .done(let value):
                        group.cancelAll()
                        return value
                    case .timer where !lease.hasBegun:
                        group.cancelAll()
                        throw unavailable
                    case .timer:
                        continue
                    }
                }
                throw CancellationError()
            }
        } catch let error as PSQLError where Self.isConnectionLoss(error) {
            throw DatabaseUnavailable("the connection to \(address.host):\(address.port) failed: \(error.code)")
        }
    }

    private enum Raced<T: Sendable>: Sendable {
        case done(T)
        case timer
    }

    /// Whether a call got its connection.
    private final class Lease: Sendable {
        private let begun = Mutex(false)
        var hasBegun: Bool { begun.withLock { $0 } }
        func begin() { begun.withLock { $0 = true } }
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
