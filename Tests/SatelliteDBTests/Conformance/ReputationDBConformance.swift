import Foundation
import SatelliteDB
import Testing

/// ``ReputationDB`` and ``ContainmentDB`` on every backend.
@Suite(.timeLimit(.minutes(1)))
struct ReputationDBConformance {
    @Test(arguments: Backend.all)
    func auditsMoveTheScalesCountAndChangeStandingsOnce(backend: Backend) async throws {
        try await backend.withDatabase { db in
            try await Fixture.checkIn(db, 1)
            let node = Fixture.id(1)
            #expect(try await db.auditStanding(of: Fixture.id(9)) == nil)
            let fresh = try #require(try await db.auditStanding(of: node))
            #expect(fresh.alpha == nil && fresh.beta == nil && fresh.count == 0 && fresh.successes == 0 && fresh.unknownAlpha == nil)
            // The update sees what is stored and answers the new scales: here a simple counter.
            let update: @Sendable (ReputationScales, AuditVerdict) -> (scales: ReputationScales, disqualify: Bool, suspend: Bool) = { stored, verdict in
                var next = stored
                switch verdict {
                case .success: next.auditAlpha = (stored.auditAlpha ?? 0) + 1; next.auditBeta = stored.auditBeta ?? 0
                case .failure: next.auditBeta = (stored.auditBeta ?? 0) + 1; next.auditAlpha = stored.auditAlpha ?? 0
                case .unknown: next.unknownBeta = (stored.unknownBeta ?? 0) + 1; next.unknownAlpha = stored.unknownAlpha ?? 1
                }
                return (next, (next.auditBeta ?? 0) >= 2, (next.unknownBeta ?? 0) >= 1 && verdict == .unknown)
            }
            var changes = try await db.recordAudits([(node, .success), (node, .success), (node, .failure), (Fixture.id(9), .failure)], at: Fixture.now, update: update)
            #expect(changes == StandingChanges())
            let after = try #require(try await db.auditStanding(of: node))
            #expect(after.alpha == 2 && after.beta == 1 && after.count == 3 && after.successes == 2)
            changes = try await db.recordAudits([(node, .unknown)], at: Fixture.now + 1, update: update)
            #expect(changes.suspended == [node] && changes.disqualified.isEmpty)
            let suspended = try #require(try await db.auditStanding(of: node))
            #expect(suspended.count == 3, "an unknown error is not an audit")
            #expect(suspended.suspendedAt == Fixture.now + 1 && suspended.unknownAlpha == 1 && suspended.unknownBeta == 1)
            changes = try await db.recordAudits([(node, .failure)], at: Fixture.now + 2, update: update)
            #expect(changes.disqualified == [node] && changes.unsuspended == [node])
            changes = try await db.recordAudits([(node, .failure)], at: Fixture.now + 3, update: update)
            #expect(changes.disqualified.isEmpty, "disqualified once")
            let last = try #require(try await db.auditStanding(of: node))
            #expect(last.disqualifiedAt == Fixture.now + 2 && last.suspendedAt == nil && last.count == 5 && last.beta == 3)
        }
    }

    @Test(arguments: Backend.all)
    func aNodeIsContainedOnceAndItsReverificationsCount(backend: Backend) async throws {
        try await backend.withDatabase { db in
            let audit = PendingAudit(node: Fixture.id(1), streamID: Fixture.id(2, count: 16), position: 3, pieceNumber: 4)
            #expect(try await db.contain(audit, at: Fixture.now))
            #expect(try await db.contain(PendingAudit(node: Fixture.id(1), streamID: Fixture.id(5, count: 16), position: 0, pieceNumber: 0), at: Fixture.now + 1) == false)
            #expect(try await db.contain(PendingAudit(node: Fixture.id(6), streamID: Fixture.id(5, count: 16), position: 0, pieceNumber: 0), at: Fixture.now + 2))
            #expect(try await db.pendingAudits().map(\.node) == [Fixture.id(1), Fixture.id(6)])
            #expect(try await db.pendingAudits().first == audit)
            #expect(try await db.countReverification(of: Fixture.id(1)) == 1)
            #expect(try await db.countReverification(of: Fixture.id(1)) == 2)
            #expect(try await db.countReverification(of: Fixture.id(9)) == 0)
            #expect(try await db.pendingAudits().first?.reverifications == 2)
            try await db.release(Fixture.id(1))
            #expect(try await db.pendingAudits().map(\.node) == [Fixture.id(6)])
        }
    }
}
