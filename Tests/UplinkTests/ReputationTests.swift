import Foundation
import Identity
import Satellite
import SatelliteDB
import StorageNode
import TestPlanet
import Testing
import Uplink

/// Storj's beta reputation: its numbers, and what disqualification does on a planet of real nodes.
@Suite(.timeLimit(.minutes(2)))
struct ReputationTests {
    @Test func fortyOneFailuresInARowFromACleanStartDisqualifyAndFortyDoNot() {
        let config = ReputationConfig()
        var reputation = Reputation(starting: config)
        for failure in 1...41 {
            reputation = reputation.after(success: false, config)
            #expect(reputation.isDisqualified(config) == (failure == 41), "after \(failure) failures the score is \(reputation.score)")
        }
        // A success moves it back up; a node failing 1 audit in 30 stays clear of the threshold.
        var steady = Reputation(starting: config)
        for audit in 1...5_000 { steady = steady.after(success: audit % 30 != 0, config) }
        #expect(!steady.isDisqualified(config), "\(steady.score)")
        var failing = Reputation(starting: config)
        for audit in 1...5_000 { failing = failing.after(success: audit % 20 != 0, config) }
        #expect(failing.isDisqualified(config), "a failure rate of 5 % is above Storj's ~4 %: \(failing.score)")
    }

    @Test func aDisqualifiedNodeLeavesSelectionAndItsPiecesAreRepairedAway() async throws {
        try await UplinkTests.withUplink(nodes: 14, redundancy: "4/6/8/10") { planet, uplink in
            try await uplink.createBucket("reputation")
            let data = UplinkTests.bytes(500_000, seed: 61)
            try await uplink.upload(bucket: "reputation", key: "doc", data: data)
            let segment = try await #require(try planet.database.segments(after: nil, limit: 10).first)
            // Three holders fail every audit: the segment drops to its repair threshold or below.
            let liars = Array(segment.pieces.map(\.node).prefix(segment.pieces.count - 6))
            let service = ReputationService(config: ReputationConfig(), db: planet.database)
            var disqualified: [Data] = []
            for round in 1...41 {
                let now = Date()
                await disqualified += try service.record(liars.map { ($0, false) }, at: now).disqualified
                #expect(disqualified.isEmpty == (round < 41), "round \(round)")
            }
            #expect(Set(disqualified) == Set(liars))
            let standing = try await #require(try planet.database.auditStanding(of: liars[0]))
            #expect(standing.count == 41 && standing.successes == 0 && standing.disqualifiedAt != nil)
            #expect(try await service.record([(liars[0], true)]).disqualified.isEmpty, "disqualified once, not again")

            // Out of selection: a new upload is offered none of them.
            try await uplink.upload(bucket: "reputation", key: "after", data: data)
            let offered = try await planet.database.segments(after: nil, limit: 10).filter { $0.streamID != segment.streamID }.flatMap(\.pieces).map(\.node)
            #expect(Set(offered).isDisjoint(with: liars))
            // Their pieces count as lost: the checker queues the segment, the repairer moves them.
            #expect(try await planet.core.checker.pass().queued >= 1)
            let outcomes = try await planet.repairer.worker.claimAndWork()
            #expect(outcomes.contains { if case .repaired = $0 { true } else { false } }, "\(outcomes)")
            let repaired = try await #require(try planet.database.segment(streamID: segment.streamID, position: 0))
            #expect(!repaired.pieces.contains { liars.contains($0.node) }, "no piece is left on a disqualified node")
            #expect(repaired.pieces.count > 6, "above the repair threshold again: \(repaired.pieces.count)")
            #expect(try await uplink.download(bucket: "reputation", key: "doc") == data)
        }
    }
}
