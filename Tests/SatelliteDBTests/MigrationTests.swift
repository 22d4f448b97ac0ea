import Foundation
import GRDB
import SatelliteDB
import Testing

private func temporaryDatabasePath() throws -> (directory: URL, path: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("satellite-db-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return (directory, directory.appendingPathComponent("satellite.db").path)
}

@Suite(.timeLimit(.minutes(1)))
struct MigrationTests {
    @Test func freshDatabaseGetsEveryMigrationInWALMode() throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        #expect(try database.isUpToDate() == false)
        #expect(try database.migrate() == SatelliteDatabase.knownMigrations)
        #expect(try database.isUpToDate())
        #expect(try database.journalMode() == "wal")
        try database.close()

        let raw = try DatabaseQueue(path: path)
        let tables = try raw.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(tables.contains("nodes"))
        #expect(tables.contains("grdb_migrations"))
    }

    @Test func runningMigrationsTwiceIsHarmlessAndKeepsData() throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        try first.migrate()
        try first.close()
        let raw = try DatabaseQueue(path: path)
        try raw.write { db in
            try db.execute(sql: "INSERT INTO nodes (id, address, last_net) VALUES (?, ?, ?)", arguments: [Data([1]), "10.0.0.1:7777", "10.0.0.0"])
        }
        try raw.close()

        let second = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        #expect(try second.migrate().isEmpty)
        #expect(try second.appliedMigrations() == SatelliteDatabase.knownMigrations)
        try second.close()
        let count = try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM nodes") }
        #expect(count == 1)
    }

    @Test func databaseNewerThanTheBinaryIsRefused() throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        try database.migrate()
        try database.close()
        let raw = try DatabaseQueue(path: path)
        try raw.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999-from-the-future')") }
        try raw.close()

        let error = #expect(throws: DatabaseOpenError.self) {
            _ = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        }
        #expect(error == DatabaseOpenError(path: path, problem: .newerThanBinary(unknownMigrations: ["9999-from-the-future"])))
        #expect(error?.description.contains(path) == true)
    }

    @Test func foreignKeysAreEnforced() throws {
        let (directory, path) = try temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        try database.migrate()
        #expect(try database.foreignKeysEnabled())
        try database.close()
    }

    @Test func unopenablePathIsAnErrorNamingIt() {
        let path = "/proc/definitely/not/here/satellite.db"
        let error = #expect(throws: DatabaseOpenError.self) {
            _ = try SatelliteDatabase(path: path, busyTimeout: .seconds(1))
        }
        #expect(error?.path == path)
    }
}
