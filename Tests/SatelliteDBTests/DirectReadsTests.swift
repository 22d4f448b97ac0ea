import Foundation
import GRDB
import SatelliteDB
@testable import SatelliteDBSQLite
import Testing

/// Short reads on the caller's own thread: read-only connections that never wait, and that say
/// so instead of waiting.
@Suite(.timeLimit(.minutes(1)))
struct DirectReadsTests {
    /// A migrated database in a directory of its own, with one project.
    private func withDatabase(_ body: (SQLiteDatabase, _ project: Data) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("direct-reads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteDatabase(path: directory.appendingPathComponent("satellite.db").path, busyTimeout: .seconds(5))
        defer { try? database.closeBlocking() }
        try await database.migrate()
        try await database.createProject(id: Data(repeating: 7, count: 16), name: "photos")
        try await body(database, Data(repeating: 7, count: 16))
    }

    private static func bucketNames(_ queue: DatabaseQueue) throws -> [String] {
        try queue.unsafeRead { db in try String.fetchAll(db, sql: "SELECT name FROM buckets ORDER BY name") }
    }

    @Test func aReadSeesWhatTheWritingConnectionsCommitted() async throws {
        try await withDatabase { database, project in
            let reads = try DirectReads(path: database.path, count: 2)
            defer { try? reads.close() }
            _ = try await database.createBucket(project: project, name: "first", at: Date())
            guard case .done(let buckets) = try reads.read(Self.bucketNames) else {
                Issue.record("the read did not run")
                return
            }
            #expect(buckets == ["first"])
            _ = try await database.createBucket(project: project, name: "second", at: Date())
            guard case .done(let later) = try reads.read(Self.bucketNames) else {
                Issue.record("the read did not run")
                return
            }
            #expect(later == ["first", "second"], "a later read sees a later commit")
            // The database's own short reads go the same way and see the same.
            #expect(try await database.listBuckets(project: project, after: nil, limit: 10).map(\.name) == ["first", "second"])
        }
    }

    @Test func withEveryConnectionInUseAReadWouldWaitAndReadsNothing() async throws {
        try await withDatabase { database, _ in
            let reads = try DirectReads(path: database.path, count: 1)
            defer { try? reads.close() }
            let outer = try reads.read { _ in
                try reads.read { _ in "read" }
            }
            guard case .done(let inner) = outer else {
                Issue.record("the outer read did not run")
                return
            }
            guard case .wouldWait = inner else {
                Issue.record("the inner read ran on a connection already in use")
                return
            }
            // The connection is back once the outer read is over.
            guard case .done = try reads.read(Self.bucketNames) else {
                Issue.record("the connection was not given back")
                return
            }
        }
    }

    @Test func aRefusedLockIsWouldWaitAndAnyOtherErrorIsThrown() async throws {
        try await withDatabase { database, _ in
            let reads = try DirectReads(path: database.path, count: 1)
            defer { try? reads.close() }
            guard case .wouldWait = try reads.read({ _ -> Int in throw DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked") }) else {
                Issue.record("SQLITE_BUSY was not taken for a read that would wait")
                return
            }
            #expect(throws: DatabaseError.self) {
                _ = try reads.read { _ -> Int in throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "database disk image is malformed") }
            }
        }
    }

    @Test func itsConnectionsCannotWrite() async throws {
        try await withDatabase { database, project in
            let reads = try DirectReads(path: database.path, count: 1)
            defer { try? reads.close() }
            #expect(throws: DatabaseError.self) {
                _ = try reads.read { queue in
                    try queue.inDatabase { db in
                        try db.execute(sql: "INSERT INTO buckets (project_id, name) VALUES (?, 'nope')", arguments: [project])
                    }
                }
            }
            #expect(try await database.listBuckets(project: project, after: nil, limit: 10).isEmpty)
        }
    }
}
