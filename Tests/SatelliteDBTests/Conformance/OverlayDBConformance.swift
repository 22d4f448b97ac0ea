import Foundation
import SatelliteDB
import Testing

/// ``OverlayDB`` on every backend.
@Suite(.timeLimit(.minutes(1)))
struct OverlayDBConformance {
    @Test(arguments: Backend.all)
    func aCheckInCreatesThenUpdatesTheNodeAndKeepsItsKey(backend: Backend) async throws {
        try await backend.withDatabase { db in
            #expect(try await db.node(id: Fixture.id(1)) == nil)
            try await Fixture.checkIn(db, 1)
            let first = try #require(try await db.node(id: Fixture.id(1)))
            #expect(first.address == "10.0.1.1:7777" && first.lastNet == "10.0.1.0/24" && first.freeDisk == 1 << 40 && first.version == "v1")
            #expect(first.lastContactSuccess == Fixture.now && first.createdAt == Fixture.now && first.publicKey == Fixture.id(101))
            #expect(first.disqualifiedAt == nil && first.exitInitiatedAt == nil && first.lastContactFailure == nil)
            // A later check-in without a key moves everything else and keeps the key.
            let later = Fixture.now + 60
            try await db.recordCheckIn(NodeCheckIn(id: Fixture.id(1), address: "10.9.9.9:1", lastNet: "10.9.9.0/24", freeDisk: 5, version: "v2"), at: later)
            let second = try #require(try await db.node(id: Fixture.id(1)))
            #expect(second.address == "10.9.9.9:1" && second.lastNet == "10.9.9.0/24" && second.freeDisk == 5 && second.version == "v2")
            #expect(second.lastContactSuccess == later && second.createdAt == Fixture.now && second.publicKey == Fixture.id(101))
            #expect(try await db.nodeCount() == 1)
            try await db.recordContactSuccess(id: Fixture.id(1), at: Fixture.now - 3600)
            #expect(try await db.node(id: Fixture.id(1))?.lastContactSuccess == Fixture.now - 3600)
        }
    }

    @Test(arguments: Backend.all)
    func eligibleNodesAreOnlineAndInGoodStandingKeepingNodesIncludeTheSuspended(backend: Backend) async throws {
        try await backend.withDatabase { db in
            for byte: UInt8 in 1...4 { try await Fixture.checkIn(db, byte) }
            try await Fixture.checkIn(db, 5, at: Fixture.now - 7200)
            // Node 2 disqualified, node 3 suspended, through the reputation protocol.
            _ = try await db.recordAudits([(Fixture.id(2), .failure), (Fixture.id(3), .unknown)], at: Fixture.now) { scales, verdict in
                (scales, verdict == .failure, verdict == .unknown)
            }
            let eligible = try await db.eligibleNodes(onlineSince: Fixture.now - 60)
            #expect(Set(eligible.map(\.choice.id)) == [Fixture.id(1), Fixture.id(4)])
            let one = try #require(eligible.first { $0.choice.id == Fixture.id(1) })
            #expect(one.choice == NodeChoice(id: Fixture.id(1), address: "10.0.1.1:7777", lastNet: "10.0.1.0/24"))
            #expect(one.freeDisk == 1 << 40 && one.lastContactSuccess == Fixture.now && one.audits == 0)
            let keeping = try await db.keepingNodes(onlineSince: Fixture.now - 60)
            #expect(Set(keeping.map(\.id)) == [Fixture.id(1), Fixture.id(3), Fixture.id(4)])
            #expect(Set(try await db.eligibleNodes(onlineSince: Fixture.now - 10_000).map(\.choice.id)) == [Fixture.id(1), Fixture.id(4), Fixture.id(5)])
        }
    }
}
