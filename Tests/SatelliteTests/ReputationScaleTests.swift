import Foundation
import Satellite
import SatelliteDB
import Testing

/// Storj's two reputation scales on a real, migrated database: successes and failures on the
/// audit scale (vetting counts them), successes and unknown errors on the other, where a node that
/// falls to `reputation.suspension-threshold` is suspended and offered for nothing until it
/// recovers.
@Suite(.timeLimit(.minutes(1)))
struct ReputationScaleTests {
    @Test func tenUnknownErrorsInARowFromASteadyStateSuspendNineDoNotAndASuccessLiftsIt() async throws {
        try await NodeSelectionTests.withDatabase { database in
            try await NodeSelectionTests.checkIn(database, 1, network: 1)
            try await NodeSelectionTests.checkIn(database, 2, network: 2)
            var node = Data(repeating: 0, count: 32)
            node[31] = 1
            let service = ReputationService(config: ReputationConfig(), db: database)
            let selection = NodeSelectionCache(staleness: .zero, onlineWindow: .seconds(3600), db: database)
            func offered() async throws -> Bool { try await selection.select(count: 2, minFreeDisk: 0).contains { $0.id == node } }

            // 200 successes: the unknown scale's alpha is at its steady 20 (w / (1 − λ)).
            await #expect(try service.record(Array(repeating: (node: node, verdict: AuditVerdict.success), count: 200)) == StandingChanges())
            let steady = try await #require(try database.auditStanding(of: node))
            #expect(abs((steady.unknownAlpha ?? 0) - 20) < 0.01 && steady.unknownBeta == 0, "\(steady)")

            for error in 1...9 {
                await #expect(try service.record([(node, .unknown)]) == StandingChanges(), "unknown error \(error)")
            }
            await #expect(try offered())
            let tenth = try await service.record([(node, .unknown)])
            #expect(tenth.suspended == [node] && tenth.disqualified.isEmpty, "0.95^10 = 0.599 is at or below 0.6")
            let suspended = try await #require(try database.auditStanding(of: node))
            #expect(suspended.suspendedAt != nil && suspended.disqualifiedAt == nil)
            #expect(suspended.count == 200 && suspended.successes == 200, "unknown errors are not audits for vetting")
            #expect(suspended.alpha == steady.alpha && suspended.beta == steady.beta, "unknown errors leave the audit scale alone")
            await #expect(try !offered(), "a suspended node is offered for nothing")

            // A failure moves only the audit scale: still suspended. A success lifts it (0.619).
            await #expect(try service.record([(node, .failure)]) == StandingChanges())
            await #expect(try database.auditStanding(of: node)?.unknownAlpha == suspended.unknownAlpha)
            await #expect(try service.record([(node, .success)]).unsuspended == [node])
            await #expect(try database.auditStanding(of: node)?.suspendedAt == nil)
            await #expect(try offered())
        }
    }

    @Test func aNewNodeStartsTheUnknownScaleAtStorjsAlphaOfOne() async throws {
        try await NodeSelectionTests.withDatabase { database in
            try await NodeSelectionTests.checkIn(database, 3, network: 3)
            var node = Data(repeating: 0, count: 32)
            node[31] = 3
            let service = ReputationService(config: ReputationConfig(), db: database)
            await #expect(try database.auditStanding(of: node)?.unknownAlpha == nil)
            // Alpha 1, beta 0: one unknown error makes 0.95 against 1, a score of 0.487.
            await #expect(try service.record([(node, .unknown)]).suspended == [node])
            let standing = try await #require(try database.auditStanding(of: node))
            #expect(standing.unknownAlpha == 0.95 && standing.unknownBeta == 1 && standing.count == 0 && standing.alpha == nil)
        }
    }
}
