import Foundation
import SatelliteDB
import Testing

/// ``RepairQueueDB`` on every backend.
@Suite(.timeLimit(.minutes(1)))
struct RepairQueueDBConformance {
    @Test(arguments: Backend.all)
    func theScanWalksEverySegmentInOrderAndStandingsSayWhatTheCheckerNeeds(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            try await Fixture.checkIn(db, 1)
            try await Fixture.checkIn(db, 2, at: Fixture.now - 100)
            try await ObjectsDBConformance.commit(db, project: project, key: "b", stream: 2, sizes: [1, 2, 3])
            try await ObjectsDBConformance.commit(db, project: project, key: "a", stream: 1, sizes: [4])
            var seen: [(Data, Int)] = []
            var cursor: (streamID: Data, position: Int)?
            while case let batch = try await db.segments(after: cursor, limit: 2), let last = batch.last {
                seen += batch.map { ($0.streamID, $0.position) }
                cursor = (last.streamID, last.position)
            }
            #expect(seen.map(\.0) == [Fixture.id(1, count: 16)] + Array(repeating: Fixture.id(2, count: 16), count: 3))
            #expect(seen.map(\.1) == [0, 0, 1, 2])
            _ = try await db.recordAudits([(Fixture.id(2), .failure)], at: Fixture.now) { scales, _ in (scales, true, false) }
            let standings = try await db.standings(of: [Fixture.id(1), Fixture.id(2), Fixture.id(3)])
            #expect(standings == [
                Fixture.id(1): NodeStanding(lastNet: "10.0.1.0/24", lastContactSuccess: Fixture.now, disqualified: false, exiting: false),
                Fixture.id(2): NodeStanding(lastNet: "10.0.2.0/24", lastContactSuccess: Fixture.now - 100, disqualified: true, exiting: false),
            ])
            #expect(try await db.owner(ofStream: Fixture.id(1, count: 16)) == SegmentOwner(project: project, bucket: "photos", expiresAt: nil))
            #expect(try await db.owner(ofStream: Fixture.id(9, count: 16)) == nil)
            #expect(try await db.segment(streamID: Fixture.id(2, count: 16), position: 2)?.encryptedSize == 3)
            #expect(try await db.segment(streamID: Fixture.id(2, count: 16), position: 3) == nil)
        }
    }

    @Test(arguments: Backend.all)
    func claimsGoMostUrgentFirstOnceEachUntilTheLeaseRunsOut(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let stream = Fixture.id(1, count: 16)
            try await db.queueForRepair((0..<6).map { RepairCandidate(streamID: stream, position: $0, health: Double(10 - $0)) }, at: Fixture.now)
            // Seen again by a later pass: health updated, insertion time kept.
            try await db.queueForRepair([RepairCandidate(streamID: stream, position: 0, health: 0.5)], at: Fixture.now + 10)
            #expect(try await db.repairQueue().map(\.position) == [0, 5, 4, 3, 2, 1])
            #expect(try await db.removeQueueEntries(notSeenSince: Fixture.now + 10) == 5)
            try await db.queueForRepair((1..<6).map { RepairCandidate(streamID: stream, position: $0, health: Double(10 - $0)) }, at: Fixture.now + 10)

            // Two claimers at once never get the same entry.
            async let first = db.claimRepairs(limit: 3, leaseCutoff: Fixture.now - 60, at: Fixture.now + 20)
            async let second = db.claimRepairs(limit: 3, leaseCutoff: Fixture.now - 60, at: Fixture.now + 20)
            let (a, b) = try await (first, second)
            #expect(Set(a.map(\.position)).isDisjoint(with: b.map(\.position)))
            #expect(Set(a.map(\.position) + b.map(\.position)) == [0, 1, 2, 3, 4, 5])
            #expect((a + b).allSatisfy { $0.attempts == 1 })
            // Claimed within the lease: nothing more to claim; released: claimable again.
            #expect(try await db.claimRepairs(limit: 10, leaseCutoff: Fixture.now, at: Fixture.now + 30).isEmpty)
            try await db.releaseRepair(streamID: stream, position: 3, error: "not enough pieces")
            let again = try await db.claimRepairs(limit: 10, leaseCutoff: Fixture.now, at: Fixture.now + 40)
            #expect(again.map(\.position) == [3] && again.first?.attempts == 2)
            // After the lease runs out every entry is claimable, most urgent first.
            #expect(try await db.claimRepairs(limit: 2, leaseCutoff: Fixture.now + 100, at: Fixture.now + 200).map(\.position) == [0, 5])
            try await db.removeFromQueue(streamID: stream, position: 0)
            #expect(try await db.repairQueue().count == 5)
        }
    }

    @Test(arguments: Backend.all)
    func replacingPiecesIsACompareAndSwap(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            try await Fixture.checkIn(db, 1)
            try await ObjectsDBConformance.commit(db, project: project, key: "a", stream: 1, sizes: [4])
            let stream = Fixture.id(1, count: 16)
            let old = [Piece(number: 0, node: Fixture.id(1))]
            let new = [Piece(number: 0, node: Fixture.id(1)), Piece(number: 1, node: Fixture.id(2))]
            #expect(try await db.replacePieces(streamID: stream, position: 0, expected: new, with: old) == false)
            #expect(try await db.replacePieces(streamID: stream, position: 0, expected: old, with: new))
            #expect(try await db.segment(streamID: stream, position: 0)?.pieces == new)
            #expect(try await db.replacePieces(streamID: stream, position: 0, expected: old, with: new) == false, "the segment changed meanwhile")
            #expect(try await db.replacePieces(streamID: stream, position: 1, expected: new, with: old) == false, "no such segment")
        }
    }
}
