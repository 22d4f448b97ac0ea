import Foundation
import Satellite
import SatelliteDB
import TestPlanet
import Testing

/// Vetting over HTTP: a node is new until it has had `overlay.vetting-audits` audits, and only
/// `overlay.new-node-fraction` of a segment's nodes go to new ones, so that a flood of fresh
/// identities cannot take the uploads.
@Suite(.timeLimit(.minutes(3)))
struct VettingTests {
    /// 10 nodes vetted by 100 passed audits each and 100 new ones, all checked in over HTTP, with
    /// Storj's 100 audits and the code 4/6/8/10; the ids of the vetted and of the new ones.
    static func withFloodedOverlay(
        newNodeFraction: Double, redundancy: String = "4/6/8/10", _ body: @escaping @Sendable (MetainfoClient, _ vetted: Set<String>, _ new: Set<String>) async throws -> Void
    ) async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = {
            $0.contact.checkInInterval = .zero
            $0.metainfo.redundancy = redundancy
            $0.overlay.vettingAudits = 100
            $0.overlay.newNodeFraction = newNodeFraction
        }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let nodes = try await planet.startNodes(110)
            let vetted = Array(nodes.prefix(10))
            let reputation = ReputationService(config: ReputationConfig(), db: planet.database)
            let audits = vetted.flatMap { node in (0..<100).map { _ in (node: TestPlanet.bytes(node.id) ?? Data(), success: true) } }
            await #expect(try reputation.record(audits).disqualified.isEmpty)
            let client = await MetainfoClient(planet: planet, key: try planet.makeProject("project"))
            #expect(try await client.call("POST", "/v1/buckets", ["name": "bucket"]).status == 201)
            try await body(client, Set(vetted.map(\.id)), Set(nodes.dropFirst(10).map(\.id)))
        }
    }

    /// The node ids of each segment offered by `begins` uploads of 5 segments.
    static func offers(_ client: MetainfoClient, begins: Int) async throws -> [[String]] {
        var offers: [[String]] = []
        for index in 0..<begins {
            let begun = try await client.begin("object-\(index)", segments: 5)
            try #require(begun.status == 201, "\(begun.text)")
            for segment in begun.json?["segments"] as? [[String: Any]] ?? [] {
                offers.append((segment["nodes"] as? [[String: Any]] ?? []).compactMap { $0["node_id"] as? String })
            }
        }
        return offers
    }

    @Test func withStorjsFiveInAHundredNoSegmentOfTenGetsANewNode() async throws {
        try await Self.withFloodedOverlay(newNodeFraction: 0.05) { client, vetted, new in
            let offers = try await Self.offers(client, begins: 20)
            #expect(offers.count == 100)
            for offer in offers {
                #expect(offer.count == 10)
                #expect(Set(offer).isSubset(of: vetted), "10 × 0.05 rounds down to no new node: \(offer.filter(new.contains).count) offered")
            }
        }
    }

    @Test func noSegmentGetsMoreNewNodesThanItsShareAndNewNodesDoGetTheirShare() async throws {
        try await Self.withFloodedOverlay(newNodeFraction: 0.2) { client, vetted, new in
            let offers = try await Self.offers(client, begins: 20)
            #expect(offers.count == 100)
            var newOffered = 0
            for offer in offers {
                #expect(offer.count == 10 && Set(offer).count == 10)
                let fresh = offer.filter(new.contains).count
                #expect(fresh <= 2, "10 × 0.2 is 2 new nodes at most, \(fresh) offered")
                #expect(offer.filter(vetted.contains).count == 10 - fresh)
                newOffered += fresh
            }
            // 100 new nodes against 10 vetted: every offer takes its 2.
            #expect(newOffered == 200)
        }
    }

    @Test func tooFewVettedNodesIsAClearRefusalNotAnOfferOfNewOnes() async throws {
        // Twenty nodes a segment: 19 must be vetted, and 10 are; 100 new ones change nothing.
        try await Self.withFloodedOverlay(newNodeFraction: 0.05, redundancy: "4/6/16/20") { client, _, _ in
            let begun = try await client.begin("wide", segments: 1)
            #expect(begun.status == 503 && begun.error?.code == "not_enough_nodes", "\(begun.text)")
            #expect(begun.error?.message.contains("only 11 suitable nodes") == true, "\(begun.text)")
        }
    }
}
