import Foundation
import SatelliteDB
import Testing

/// ``MetainfoDB`` on every backend.
@Suite(.timeLimit(.minutes(1)))
struct MetainfoDBConformance {
    @Test(arguments: Backend.all)
    func projectsAndKeys(backend: Backend) async throws {
        try await backend.withDatabase { db in
            try await db.createProject(id: Fixture.id(1, count: 16), name: "alpha")
            await #expect(throws: MetainfoConflict.projectExists("alpha")) { try await db.createProject(id: Fixture.id(2, count: 16), name: "alpha") }
            #expect(try await db.project(named: "alpha") == ProjectRecord(id: Fixture.id(1, count: 16), name: "alpha"))
            #expect(try await db.project(named: "beta") == nil)
            try await db.createAPIKey(id: Fixture.id(3, count: 16), projectName: "alpha", secretHash: Fixture.id(9), name: "ci")
            await #expect(throws: MetainfoConflict.noSuchProject("beta")) {
                try await db.createAPIKey(id: Fixture.id(4, count: 16), projectName: "beta", secretHash: Fixture.id(8), name: "")
            }
            #expect(try await db.project(forSecretHash: Fixture.id(9))?.name == "alpha")
            #expect(try await db.project(forSecretHash: Fixture.id(8)) == nil)
        }
    }

    @Test(arguments: Backend.all)
    func bucketsListInByteOrderPageByPageAndOnlyEmptyOnesAreDeleted(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = Fixture.id(1, count: 16)
            try await db.createProject(id: project, name: "alpha")
            // Byte order, as S3 lists: digits, then upper case, then lower case.
            for name in ["photos", "Zeta", "1st", "archive"] { _ = try await db.createBucket(project: project, name: name, at: Fixture.now) }
            await #expect(throws: MetainfoConflict.bucketExists("photos")) { _ = try await db.createBucket(project: project, name: "photos", at: Fixture.now) }
            #expect(try await db.listBuckets(project: project, after: nil, limit: 10).map(\.name) == ["1st", "Zeta", "archive", "photos"])
            #expect(try await db.listBuckets(project: project, after: "Zeta", limit: 1) == [BucketRecord(name: "archive", createdAt: Fixture.now)])
            #expect(try await db.listBuckets(project: Fixture.id(2, count: 16), after: nil, limit: 10).isEmpty)
            await #expect(throws: MetainfoConflict.noSuchBucket("nope")) { try await db.deleteBucket(project: project, name: "nope") }
            _ = try await db.beginObject(
                project: project, bucket: "photos", key: "k", streamID: Fixture.id(5, count: 16), segmentCount: 0, offers: [], expiresAt: nil,
                zombieDeadline: Fixture.now + 60, at: Fixture.now
            )
            await #expect(throws: MetainfoConflict.bucketNotEmpty("photos")) { try await db.deleteBucket(project: project, name: "photos") }
            try await db.deleteBucket(project: project, name: "archive")
            #expect(try await db.listBuckets(project: project, after: nil, limit: 10).map(\.name) == ["1st", "Zeta", "photos"])
        }
    }
}
