import Foundation
import Logging
import PostgresNIO
import SatelliteDB
import SatelliteSettings
@testable import SatelliteDBPostgres
import SatelliteDBSQLite
import Testing

/// A backend the conformance suites run every test on: the same test, the same answers.
enum Backend: String, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The server `scripts/test` started (`SATELLITE_TEST_POSTGRES`), or nil.
    static let postgresURL: DatabaseURL.PostgresAddress? = {
        guard let text = ProcessInfo.processInfo.environment["SATELLITE_TEST_POSTGRES"], !text.isEmpty,
            case .postgres(let address) = try? DatabaseURL(parsing: text)
        else { return nil }
        return address
    }()

    /// SQLite always; PostgreSQL where a server runs (``PostgreSQLAvailabilityTests`` says so
    /// when it does not).
    static let all: [Backend] = postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]

    /// A new, migrated, empty database of this backend for `body`, deleted afterwards: an SQLite
    /// file in a directory of its own, or a schema of its own on the test server.
    func withDatabase(_ body: (any SatelliteDatabase) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = try SQLiteDatabase(path: directory.appendingPathComponent("satellite.db").path, busyTimeout: .seconds(5))
            do {
                try await database.migrate()
                try await body(database)
            } catch {
                try? await database.close()
                throw error
            }
            try await database.close()
        case .postgres:
            var address = try #require(Self.postgresURL)
            address.schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let database = try await PostgreSQLDatabase(address: address, password: nil, maxConnections: 4)
            do {
                try await database.migrate()
                try await body(database)
            } catch {
                try? await database.dropSchema()
                try? await database.close()
                throw error
            }
            try await database.dropSchema()
            try await database.close()
        }
    }
}

/// Says, as a skipped test with its reason, when the PostgreSQL cases are not run.
struct PostgreSQLAvailabilityTests {
    @Test(.enabled(if: Backend.postgresURL != nil, "no PostgreSQL server (SATELLITE_TEST_POSTGRES is unset): the conformance suites ran on SQLite only"))
    func theConformanceSuitesRunOnPostgreSQL() async throws {
        try await Backend.postgres.withDatabase { database in
            let upToDate = try await database.isUpToDate()
            #expect(upToDate)
            #expect(database.location.hasPrefix("postgres://"))
        }
    }
}

/// Values the suites share.
enum Fixture {
    /// Whole seconds: both backends keep them exactly.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func id(_ byte: UInt8, count: Int = 32) -> Data { Data(repeating: byte, count: count) }

    static func checkIn(_ database: any SatelliteDatabase, _ byte: UInt8, net: String? = nil, at: Date = now, freeDisk: Int64 = 1 << 40) async throws {
        try await database.recordCheckIn(
            NodeCheckIn(id: id(byte), address: "10.0.\(byte).1:7777", lastNet: net ?? "10.0.\(byte).0/24", freeDisk: freeDisk, version: "v1", publicKey: id(byte &+ 100)),
            at: at
        )
    }

    /// A project with one bucket; its id.
    static func projectWithBucket(_ database: any SatelliteDatabase, bucket: String = "photos") async throws -> Data {
        let project = id(7, count: 16)
        try await database.createProject(id: project, name: "project")
        _ = try await database.createBucket(project: project, name: bucket, at: now)
        return project
    }
}
