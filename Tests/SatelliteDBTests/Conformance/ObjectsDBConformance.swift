import Foundation
import SatelliteDB
import Testing

/// ``ObjectsDB`` on every backend.
@Suite(.timeLimit(.minutes(1)))
struct ObjectsDBConformance {
    static let scheme = Redundancy(k: 1, repair: 1, optimal: 1, total: 1)

    /// Begins, offers node 1 for each position, commits a segment of each size, and commits the
    /// object.
    static func commit(
        _ db: any SatelliteDatabase, project: Data, bucket: String = "photos", key: String, stream: UInt8, sizes: [Int64], expiresAt: Date? = nil
    ) async throws {
        let streamID = Fixture.id(stream, count: 16)
        let offers = sizes.indices.map { SegmentOfferRecord(nodes: [Fixture.id(1)], rootPieceID: Fixture.id(UInt8($0) &+ 200)) }
        _ = try await db.beginObject(
            project: project, bucket: bucket, key: key, streamID: streamID, segmentCount: sizes.count, offers: offers, expiresAt: expiresAt,
            zombieDeadline: Fixture.now + 60, at: Fixture.now
        )
        for (position, size) in sizes.enumerated() {
            try await db.commitSegment(
                project: project,
                SegmentRecord(
                    streamID: streamID, position: position, redundancy: scheme, encryptedSize: size, pieces: [Piece(number: 0, node: Fixture.id(1))],
                    rootPieceID: offers[position].rootPieceID
                ),
                zombieDeadline: Fixture.now + 60, at: Fixture.now
            )
        }
        _ = try await db.commitObject(project: project, streamID: streamID, segmentCount: nil)
    }

    @Test(arguments: Backend.all)
    func anUploadIsHeldToItsOffersAndItsDeclaredCount(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            for byte: UInt8 in 1...3 { try await Fixture.checkIn(db, byte) }
            let streamID = Fixture.id(1, count: 16)
            await #expect(throws: ObjectConflict.noSuchBucket("nope")) {
                _ = try await db.beginObject(
                    project: project, bucket: "nope", key: "k", streamID: streamID, segmentCount: 2, offers: [], expiresAt: nil, zombieDeadline: Fixture.now, at: Fixture.now
                )
            }
            let root = Fixture.id(200)
            let begun = try await db.beginObject(
                project: project, bucket: "photos", key: "k", streamID: streamID, segmentCount: 2,
                offers: [SegmentOfferRecord(nodes: [Fixture.id(1), Fixture.id(2)], rootPieceID: root)], expiresAt: nil, zombieDeadline: Fixture.now + 60, at: Fixture.now
            )
            #expect(begun == ObjectRecord(bucket: "photos", key: "k", version: 1, streamID: streamID, committed: false, createdAt: Fixture.now, expiresAt: nil))
            #expect(try await db.pendingUpload(project: project, streamID: streamID) == PendingUpload(bucket: "photos", expiresAt: nil))
            let offered = try await db.offeredSegment(project: project, streamID: streamID, position: 0)
            #expect(offered.offer == SegmentOfferRecord(nodes: [Fixture.id(1), Fixture.id(2)], rootPieceID: root))
            #expect(offered.publicKeys == [Fixture.id(1): Fixture.id(101), Fixture.id(2): Fixture.id(102)])
            await #expect(throws: ObjectConflict.positionOutOfRange(position: 2, segmentCount: 2)) {
                _ = try await db.offeredSegment(project: project, streamID: streamID, position: 2)
            }
            await #expect(throws: ObjectConflict.positionOutOfRange(position: 2, segmentCount: 2)) {
                try await db.offerSegments(project: project, streamID: streamID, first: 1, offers: Array(repeating: SegmentOfferRecord(nodes: [], rootPieceID: root), count: 2), at: Fixture.now)
            }
            func segment(_ position: Int, _ nodes: [UInt8], root: Data = root) -> SegmentRecord {
                SegmentRecord(
                    streamID: streamID, position: position, redundancy: Self.scheme, encryptedSize: 10,
                    pieces: nodes.enumerated().map { Piece(number: $0.offset, node: Fixture.id($0.element)) }, rootPieceID: root
                )
            }
            await #expect(throws: ObjectConflict.notOffered(position: 0, nodes: 1)) {
                try await db.commitSegment(project: project, segment(0, [1, 3]), zombieDeadline: Fixture.now, at: Fixture.now)
            }
            await #expect(throws: ObjectConflict.unknownNodes(1)) {
                try await db.commitSegment(project: project, segment(0, [1, 9]), zombieDeadline: Fixture.now, at: Fixture.now)
            }
            await #expect(throws: ObjectConflict.offerReplaced(position: 0)) {
                try await db.commitSegment(project: project, segment(0, [1], root: Fixture.id(201)), zombieDeadline: Fixture.now, at: Fixture.now)
            }
            try await db.commitSegment(project: project, segment(0, [1, 2]), zombieDeadline: Fixture.now + 120, at: Fixture.now)
            await #expect(throws: ObjectConflict.segmentExists(0)) {
                try await db.commitSegment(project: project, segment(0, [1, 2]), zombieDeadline: Fixture.now, at: Fixture.now)
            }
            await #expect(throws: ObjectConflict.missingSegments(positions: [1], segmentCount: 2)) {
                _ = try await db.commitObject(project: project, streamID: streamID, segmentCount: nil)
            }
            await #expect(throws: ObjectConflict.segmentCountMismatch(declared: 2, given: 3)) {
                _ = try await db.commitObject(project: project, streamID: streamID, segmentCount: 3)
            }
            try await db.offerSegments(project: project, streamID: streamID, first: 1, offers: [SegmentOfferRecord(nodes: [Fixture.id(3)], rootPieceID: Fixture.id(202))], at: Fixture.now)
            try await db.commitSegment(project: project, segment(1, [3], root: Fixture.id(202)), zombieDeadline: Fixture.now, at: Fixture.now)
            let committed = try await db.commitObject(project: project, streamID: streamID, segmentCount: 2)
            #expect(committed.committed && committed.version == 1)
            await #expect(throws: ObjectConflict.alreadyCommitted) { _ = try await db.pendingUpload(project: project, streamID: streamID) }
            await #expect(throws: ObjectConflict.alreadyCommitted) { _ = try await db.commitObject(project: project, streamID: streamID, segmentCount: 2) }
            await #expect(throws: ObjectConflict.noSuchStream) { _ = try await db.pendingUpload(project: project, streamID: Fixture.id(9, count: 16)) }
            await #expect(throws: ObjectConflict.noSuchStream) { _ = try await db.commitObject(project: Fixture.id(8, count: 16), streamID: streamID, segmentCount: nil) }
        }
    }

    @Test(arguments: Backend.all)
    func aNewVersionReplacesTheOldOnCommitAndReadsSeeOneObjectWhole(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            try await Fixture.checkIn(db, 1)
            try await Self.commit(db, project: project, key: "doc", stream: 1, sizes: [10, 20, 30])
            try await Self.commit(db, project: project, key: "doc", stream: 2, sizes: [40, 50])
            let found = try #require(try await db.object(project: project, bucket: "photos", key: "doc", version: nil, positions: 1..<10))
            #expect(found.object.version == 2 && found.object.streamID == Fixture.id(2, count: 16) && found.segmentCount == 2)
            #expect(found.segments.map(\.position) == [1] && found.segments.first?.encryptedSize == 50)
            #expect(found.segments.first?.pieces == [Piece(number: 0, node: Fixture.id(1))] && found.segments.first?.redundancy == Self.scheme)
            #expect(found.addresses == [Fixture.id(1): "10.0.1.1:7777"])
            #expect(try await db.object(project: project, bucket: "photos", key: "doc", version: 1, positions: 0..<1) == nil, "the old version is gone")
            #expect(try await db.object(project: project, bucket: "photos", key: "doc", version: 2, positions: 0..<1)?.segments.count == 1)
            #expect(try await db.object(project: project, bucket: "photos", key: "other", version: nil, positions: 0..<1) == nil)
            #expect(try await db.addresses(of: [Fixture.id(1), Fixture.id(1), Fixture.id(9)]) == [Fixture.id(1): "10.0.1.1:7777"])
            #expect(try await db.deleteObject(project: project, bucket: "photos", key: "doc") == 1)
            #expect(try await db.deleteObject(project: project, bucket: "photos", key: "doc") == 0)
        }
    }

    @Test(arguments: Backend.all)
    func listingsAreInByteOrderWithinThePrefix(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            try await Fixture.checkIn(db, 1)
            let keys = ["a/b", "a/a", "a/Z", "a/é", "a/z", "b", "a", "a0"]
            for (index, key) in keys.enumerated() { try await Self.commit(db, project: project, key: key, stream: UInt8(index + 1), sizes: [1]) }
            // Pending uploads are not listed.
            _ = try await db.beginObject(
                project: project, bucket: "photos", key: "a/pending", streamID: Fixture.id(99, count: 16), segmentCount: 1, offers: [], expiresAt: nil,
                zombieDeadline: Fixture.now + 60, at: Fixture.now
            )
            #expect(try await db.listObjects(project: project, bucket: "photos", prefix: "a/", after: nil, limit: 10).map(\.key) == ["a/Z", "a/a", "a/b", "a/z", "a/é"])
            #expect(try await db.listObjects(project: project, bucket: "photos", prefix: "a/", after: "a/b", limit: 2).map(\.key) == ["a/z", "a/é"])
            #expect(try await db.listObjects(project: project, bucket: "photos", prefix: "", after: nil, limit: 100).map(\.key) == keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
    }

    /// Uploads at once: every one succeeds (no write gives up on its neighbours), uploads of
    /// one key take one version each, and a bucket deleted among uploads beginning in it is
    /// either refused for the uploads that came first or deleted before any of them began.
    @Test(arguments: Backend.all)
    func concurrentUploadsNeitherFailNorShareAVersionNorLoseTheirBucket(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            try await Fixture.checkIn(db, 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for upload: UInt8 in 1...16 {
                    group.addTask { try await Self.commit(db, project: project, key: "dir/\(upload)", stream: upload, sizes: [100]) }
                }
                try await group.waitForAll()
            }
            #expect(try await db.listObjects(project: project, bucket: "photos", prefix: "dir/", after: nil, limit: 100).count == 16)

            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for upload: UInt8 in 17...32 {
                    group.addTask {
                        try await db.beginObject(
                            project: project, bucket: "photos", key: "same", streamID: Fixture.id(upload, count: 16), segmentCount: 1, offers: [],
                            expiresAt: nil, zombieDeadline: Fixture.now + 60, at: Fixture.now
                        ).version
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.sorted() == Array(1...16))

            _ = try await db.createBucket(project: project, name: "doomed", at: Fixture.now)
            let outcomes = await withTaskGroup(of: (UInt8, Bool).self) { group in
                for upload: UInt8 in 33...40 {
                    group.addTask {
                        let begun = try? await db.beginObject(
                            project: project, bucket: "doomed", key: "k\(upload)", streamID: Fixture.id(upload, count: 16), segmentCount: 1, offers: [],
                            expiresAt: nil, zombieDeadline: Fixture.now + 60, at: Fixture.now
                        )
                        return (upload, begun != nil)
                    }
                }
                group.addTask {
                    do {
                        try await db.deleteBucket(project: project, name: "doomed")
                        return (0, true)
                    } catch {
                        #expect(error as? MetainfoConflict == .bucketNotEmpty("doomed"))
                        return (0, false)
                    }
                }
                return await group.reduce(into: [UInt8: Bool]()) { $0[$1.0] = $1.1 }
            }
            let begun = outcomes.filter { $0.key != 0 && $0.value }.map(\.key)
            if outcomes[0] == true {
                #expect(begun.isEmpty, "the bucket was deleted after uploads had begun in it: \(begun)")
            } else {
                #expect(!begun.isEmpty)
                for upload in begun {
                    #expect(try await db.pendingUpload(project: project, streamID: Fixture.id(upload, count: 16)).bucket == "doomed")
                }
            }
        }
    }
}
