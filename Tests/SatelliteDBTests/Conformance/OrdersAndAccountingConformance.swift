import Foundation
import SatelliteDB
import Testing

/// ``OrdersDB`` and ``AccountingDB`` on every backend.
@Suite(.timeLimit(.minutes(1)))
struct OrdersAndAccountingConformance {
    @Test(arguments: Backend.all)
    func aSerialIsSettledOnceAndBandwidthAddsUpByHour(backend: Backend) async throws {
        try await backend.withDatabase { db in
            try await Fixture.checkIn(db, 1)
            #expect(try await db.publicKey(ofNode: Fixture.id(1)) == Fixture.id(101))
            #expect(try await db.publicKey(ofNode: Fixture.id(2)) == nil)
            let project = Fixture.id(7, count: 16)
            func order(_ serial: UInt8, _ amount: Int64, until: Date = Fixture.now + 3600) -> SettledOrder {
                SettledOrder(serial: Fixture.id(serial, count: 16), node: Fixture.id(1), project: project, bucket: "photos", action: "GET", amount: amount, settleableUntil: until)
            }
            #expect(try await db.settle([order(1, 100), order(2, 50)], at: Fixture.now + 10) == [true, true])
            #expect(try await db.settle([order(1, 100), order(3, 7, until: Fixture.now - 1)], at: Fixture.now + 20) == [false, true])
            let hour = Date(timeIntervalSince1970: (Fixture.now.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
            #expect(try await db.bucketBandwidth(project: project) == [BucketBandwidth(project: project, bucket: "photos", action: "GET", intervalStart: hour, bytes: 157)])
            #expect(try await db.deleteSettledSerials(before: Fixture.now, limit: 10) == 1)
            #expect(try await db.deleteSettledSerials(before: Fixture.now + 7200, limit: 1) == 1)
            #expect(try await db.deleteSettledSerials(before: Fixture.now + 7200, limit: 10) == 1)
            // A serial whose row is gone may be settled again: only rows past their limit go.
            #expect(try await db.settle([order(1, 100)], at: Fixture.now + 30) == [true])
        }
    }

    @Test(arguments: Backend.all)
    func talliesCountCommittedObjectsAndExpiredAndZombieObjectsAreDeletedInBatches(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let project = try await Fixture.projectWithBucket(db)
            _ = try await db.createBucket(project: project, name: "empty", at: Fixture.now)
            try await Fixture.checkIn(db, 1)
            try await ObjectsDBConformance.commit(db, project: project, key: "a", stream: 1, sizes: [100, 50])
            try await ObjectsDBConformance.commit(db, project: project, key: "b", stream: 2, sizes: [1000], expiresAt: Fixture.now - 1)
            // Pending, and abandoned: not tallied.
            _ = try await db.beginObject(
                project: project, bucket: "photos", key: "c", streamID: Fixture.id(3, count: 16), segmentCount: nil, offers: [], expiresAt: nil,
                zombieDeadline: Fixture.now - 1, at: Fixture.now
            )
            let tallies = try await db.tallyBuckets(at: Fixture.now)
            #expect(tallies == [
                BucketTally(project: project, bucket: "empty", bytes: 0, segments: 0, objects: 0),
                BucketTally(project: project, bucket: "photos", bytes: 1150, segments: 3, objects: 2),
            ])
            #expect(try await db.tallies(at: Fixture.now) == tallies)
            #expect(try await db.tallies(at: Fixture.now + 1).isEmpty)
            #expect(try await db.deleteExpiredObjects(before: Fixture.now, limit: 10) == 1)
            #expect(try await db.deleteZombieObjects(before: Fixture.now, limit: 10) == 1)
            #expect(try await db.deleteZombieObjects(before: Fixture.now, limit: 10) == 0)
            #expect(try await db.tallyBuckets(at: Fixture.now + 1).last == BucketTally(project: project, bucket: "photos", bytes: 150, segments: 2, objects: 1))
        }
    }
}
