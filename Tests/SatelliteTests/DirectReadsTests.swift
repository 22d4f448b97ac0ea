import Foundation
import GRDB
@testable import Satellite
import SatelliteDB
import Testing

/// The API's reads on the request's own thread: read-only connections that never wait, and
/// that say so instead of waiting.
@Suite(.timeLimit(.minutes(1)))
struct DirectReadsTests {
    /// A migrated database in a directory of its own, with one project and bucket.
    private func withDatabase(_ body: (SatelliteDatabase) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("direct-reads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SatelliteDatabase(path: directory.appendingPathComponent("satellite.db").path, busyTimeout: .seconds(5))
        defer { try? database.close() }
        try database.migrate()
        try Projects(db: database).create(name: "photos")
        try body(database)
    }

    @Test func aReadSeesWhatTheWritingConnectionsCommitted() throws {
        try withDatabase { database in
            let reads = try DirectReads(path: database.path, count: 2)
            defer { try? reads.close() }
            let project = try #require(try database.project(named: "photos"))
            _ = try database.createBucket(project: project.id, name: "first", at: Date())
            guard case .done(let buckets) = try reads.read({ try $0.listBuckets(project: project.id, after: nil, limit: 10) }) else {
                Issue.record("the read did not run")
                return
            }
            #expect(buckets.map(\.name) == ["first"])
            _ = try database.createBucket(project: project.id, name: "second", at: Date())
            guard case .done(let later) = try reads.read({ try $0.listBuckets(project: project.id, after: nil, limit: 10) }) else {
                Issue.record("the read did not run")
                return
            }
            #expect(later.map(\.name) == ["first", "second"], "a later read sees a later commit")
        }
    }

    @Test func withEveryConnectionInUseAReadWouldWaitAndReadsNothing() throws {
        try withDatabase { database in
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
            guard case .done = try reads.read({ try $0.project(named: "photos") }) else {
                Issue.record("the connection was not given back")
                return
            }
        }
    }

    @Test func aRefusedLockIsWouldWaitAndAnyOtherErrorIsThrown() throws {
        try withDatabase { database in
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

    @Test func itsConnectionsCannotWrite() throws {
        try withDatabase { database in
            let readOnly = try SatelliteDatabase.openReadOnlyWithoutWaiting(path: database.path)
            defer { try? readOnly.close() }
            let project = try #require(try readOnly.project(named: "photos"))
            #expect(throws: DatabaseError.self) { _ = try readOnly.createBucket(project: project.id, name: "nope", at: Date()) }
            #expect(try database.listBuckets(project: project.id, after: nil, limit: 10).isEmpty)
        }
    }
}
