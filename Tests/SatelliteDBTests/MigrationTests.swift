import Foundation
import GRDB
import SatelliteDB
import SatelliteDBSQLite
import Testing

private func temporaryDatabasePath() throws -> (directory: URL, path: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("satellite-db-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return (directory, directory.appendingPathComponent("satellite.db").path)
}

@Suite(.timeLimit(.minutes(1)))
struct MigrationTests {
    @Test func freshDatabaseGetsEveryMigrationInWALMode() async throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        #expect(try await database.isUpToDate() == false)
        #expect(try await database.migrate() == SchemaSteps.all)
        #expect(try await database.isUpToDate())
        #expect(try await database.journalMode() == "wal")
        try await database.close()

        let raw = try DatabaseQueue(path: path)
        let tables = try await raw.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(tables.contains("nodes"))
        #expect(tables.contains("grdb_migrations"))
    }

    @Test func theSQLiteStepsAreTheSchemaHistory() {
        #expect(SQLiteDatabase.stepNames == SchemaSteps.all)
    }

    @Test func runningMigrationsTwiceIsHarmlessAndKeepsData() async throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        try await first.migrate()
        try await first.close()
        let raw = try DatabaseQueue(path: path)
        try await raw.write { db in
            try db.execute(sql: "INSERT INTO nodes (id, address, last_net) VALUES (?, ?, ?)", arguments: [Data([1]), "10.0.0.1:7777", "10.0.0.0"])
        }
        try raw.close()

        let second = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        #expect(try await second.migrate().isEmpty)
        #expect(try await second.appliedMigrations() == SchemaSteps.all)
        try await second.close()
        let count = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes") }
        #expect(count == 1)
    }

    @Test func databaseNewerThanTheBinaryIsRefused() async throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        try await database.migrate()
        try await database.close()
        let raw = try DatabaseQueue(path: path)
        try await raw.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999-from-the-future')") }
        try raw.close()

        let error = #expect(throws: DatabaseOpenError.self) {
            _ = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        }
        #expect(error == DatabaseOpenError(location: path, problem: .newerThanBinary(unknownMigrations: ["9999-from-the-future"])))
        #expect(error?.description.contains(path) == true)
    }

    @Test func foreignKeysAreEnforced() async throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        try await database.migrate()
        #expect(try await database.foreignKeysEnabled())
        try await database.close()
    }

    @Test func unopenablePathIsAnErrorNamingIt() {
        let path = "/proc/definitely/not/here/satellite.db"
        let error = #expect(throws: DatabaseOpenError.self) {
            _ = try SQLiteDatabase(path: path, busyTimeout: .seconds(1))
        }
        #expect(error?.location == path)
    }
}
