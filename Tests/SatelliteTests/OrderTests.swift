import Crypto
import Foundation
import Identity
import NodeProtocol
import Satellite
import SatelliteDB
import TestPlanet
import Testing

/// The satellite's half of the trust: the order limits the API signs with its identity, the
/// node-signed piece hashes it checks at commit, and the orders nodes settle. TestPlanet's
/// erasure code is 2/3/4/5 with 256-byte shares and 1 MiB segments.
@Suite(.timeLimit(.minutes(1)))
struct OrderTests {
    /// ObjectTests' planet of six simulated nodes, a project and its bucket `bucket`.
    func withClient(_ body: @escaping @Sendable (TestPlanet, MetainfoClient, [SimulatedNode]) async throws -> Void) async throws {
        try await ObjectTests().withClient { client, nodes in try await body(client.planet, client, nodes) }
    }

    static func limit(_ offered: [String: Any]) -> OrderLimit? {
        (offered["order_limit"] as? String).flatMap { Data(base64Encoded: $0) }.flatMap { try? OrderLimit(decoding: $0) }
    }

    @Test func everyOfferedNodeGetsAPutLimitSignedByTheSatelliteForItsOwnPiece() async throws {
        try await withClient { planet, client, _ in
            let expires = Date().addingTimeInterval(7200)
            let begun = try await client.call("POST", "/v1/buckets/bucket/objects", [
                "key": "signed", "segment_count": 2, "expires_at": ISO8601DateFormatter().string(from: expires),
            ])
            #expect(begun.status == 201, "\(begun.text)")
            let project = try await #require(try planet.database.project(named: "project"))
            let signer = OrderSigner(identity: planet.satelliteIdentity, config: OrdersConfig())
            var pieceIDs = Set<PieceID>()
            for segment in begun.json?["segments"] as? [[String: Any]] ?? [] {
                let key = try #require((segment["piece_private_key"] as? String).flatMap { Data(base64Encoded: $0) })
                let uplinkKey = try Curve25519.Signing.PrivateKey(rawRepresentation: key).publicKey.rawRepresentation
                let nodes = segment["nodes"] as? [[String: Any]] ?? []
                #expect(nodes.count == 5)
                for offered in nodes {
                    let limit = try #require(Self.limit(offered), "\(offered)")
                    #expect(Signatures.verify(limit.satelliteSignature, of: limit.signedBytes, publicKey: planet.satelliteIdentity.publicKeyBytes))
                    #expect(limit.satelliteID == planet.satelliteIdentity.id)
                    #expect(limit.storageNodeID.hex == offered["node_id"] as? String)
                    #expect(limit.action == .put)
                    #expect(limit.uplinkPublicKey == uplinkKey)
                    // A 1 MiB segment and its 4-byte pad, in stripes of 2 × 256 bytes, over k = 2.
                    #expect(limit.limit == (((1 << 20) + 4 + 511) / 512 * 512) / 2)
                    #expect(limit.orderExpiration - limit.orderCreation == 24 * 3600)
                    #expect(abs(limit.pieceExpiration - Int64(expires.timeIntervalSince1970)) <= 1)
                    #expect(signer.metadata(of: limit) == OrderMetadata(project: project.id, bucket: "bucket"))
                    pieceIDs.insert(limit.pieceID)
                }
            }
            #expect(pieceIDs.count == 10, "every node of every segment has a piece id of its own")
        }
    }

    @Test func aCommitIsRefusedUnlessEachHashIsTheOfferedNodesSignatureOfItsPieceAtTheSegmentsSize() async throws {
        try await withClient { planet, client, nodes in
            let begun = try await client.begin("checked", segments: 1)
            let stream = begun.json?["stream_id"] as? String ?? ""
            let offer = (begun.json?["segments"] as? [[String: Any]])?.first ?? [:]
            let offered = offer["nodes"] as? [[String: Any]] ?? []
            let identities = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.identity) })
            // encrypted_size 1000: 1004 bytes padded to 1024, pieces of 512.
            func hash(_ index: Int, size: Int64 = 512, signer: PeerIdentity? = nil, piece: PieceID? = nil) throws -> String {
                let limit = try #require(Self.limit(offered[index]))
                let identity = try #require(signer ?? identities[limit.storageNodeID.hex])
                return PieceHash(pieceID: piece ?? limit.pieceID, hash: Data(count: 32), pieceSize: size, timestamp: Int64(Date().timeIntervalSince1970))
                    .signed(with: identity.sign).encoded.base64EncodedString()
            }
            func commit(_ changed: (index: Int, hash: String)?) async throws -> HTTPAnswer {
                var pieces: [[String: Any]] = []
                for index in 0..<4 {
                    let value = changed?.index == index ? changed!.hash : try hash(index)
                    pieces.append(["number": index, "node_id": offered[index]["node_id"] as? String ?? "", "hash": value])
                }
                return try await client.call("POST", "/v1/streams/\(stream)/segments", ["position": 0, "encrypted_size": 1000, "pieces": pieces])
            }
            let stranger = try await commit((2, try hash(2, signer: PeerIdentity.generate())))
            #expect(stranger.status == 400)
            #expect(stranger.error?.message.contains("pieces[2].hash is not signed by node") == true, "\(stranger.text)")
            let otherPiece = try await commit((1, try hash(1, piece: try #require(Self.limit(offered[0])).pieceID)))
            #expect(otherPiece.status == 400)
            #expect(otherPiece.error?.message.contains("pieces[1].hash is for piece") == true, "\(otherPiece.text)")
            let short = try await commit((3, try hash(3, size: 511)))
            #expect(short.status == 400)
            #expect(short.error?.message.contains("says 511 bytes; a segment of 1000 bytes has pieces of 512") == true, "\(short.text)")
            let garbage = try await commit((0, Data(count: 10).base64EncodedString()))
            #expect(garbage.status == 400)
            #expect(garbage.error?.message.contains("pieces[0].hash must be") == true, "\(garbage.text)")
            #expect(try await commit(nil).status == 204)
        }
    }

    @Test func aDownloadGetsGetLimitsForEnoughPiecesInPagesOfSegments() async throws {
        try await withClient { planet, client, _ in
            let begun = try await client.begin("paged", segments: 3)
            #expect(try await client.commitAll(begun, pieces: 5).map(\.status) == [204, 204, 204, 200])
            let putPieces = Dictionary(
                (begun.json?["segments"] as? [[String: Any]] ?? []).flatMap { segment in
                    (segment["nodes"] as? [[String: Any]] ?? []).compactMap(Self.limit).map { ("\(segment["position"] ?? -1)/\($0.storageNodeID.hex)", $0.pieceID) }
                }
            ) { first, _ in first }
            let whole = try await client.call("GET", "/v1/buckets/bucket/object?key=paged")
            #expect(whole.json?["segment_count"] as? Int == 3)
            for segment in whole.json?["segments"] as? [[String: Any]] ?? [] {
                let pieces = segment["pieces"] as? [[String: Any]] ?? []
                let limits = pieces.compactMap(Self.limit)
                // k = 2 and (5 − 4) × 2 / 4 rounds to nothing, so one more: 3.
                #expect(pieces.count == 5 && limits.count == 3)
                #expect(segment["piece_private_key"] as? String != nil)
                for limit in limits {
                    #expect(limit.action == .get)
                    #expect(limit.limit == 512)
                    #expect(Signatures.verify(limit.satelliteSignature, of: limit.signedBytes, publicKey: planet.satelliteIdentity.publicKeyBytes))
                    // The piece the node stored under the PUT limit.
                    #expect(putPieces["\(segment["position"] ?? -2)/\(limit.storageNodeID.hex)"] == limit.pieceID)
                }
            }
            let page = try await client.call("GET", "/v1/buckets/bucket/object?key=paged&first=1&count=1&version=1")
            #expect(page.status == 200, "\(page.text)")
            #expect((page.json?["segments"] as? [[String: Any]])?.compactMap { $0["position"] as? Int } == [1])
            #expect(page.json?["segment_count"] as? Int == 3)
            let gone = try await client.call("GET", "/v1/buckets/bucket/object?key=paged&version=2")
            #expect(gone.status == 404)
            #expect(gone.error?.message.contains("at version 2") == true, "\(gone.text)")
            // Nodes a download found down get no limit when it asks again.
            let ids = ((whole.json?["segments"] as? [[String: Any]])?.first?["pieces"] as? [[String: Any]] ?? []).compactMap { $0["node_id"] as? String }
            let excluded = Array(ids.prefix(2))
            let again = try await client.call("GET", "/v1/buckets/bucket/object?key=paged&first=0&count=1&exclude=\(excluded.joined(separator: ","))")
            let limitedAgain = ((again.json?["segments"] as? [[String: Any]])?.first?["pieces"] as? [[String: Any]] ?? []).compactMap(Self.limit)
            #expect(limitedAgain.count == 3)
            #expect(limitedAgain.allSatisfy { !excluded.contains($0.storageNodeID.hex) })
            for query in ["count=0", "count=33", "first=10000", "version=0", "exclude=abc", "exclude=" + (0..<101).map { String(repeating: "0", count: 61) + String(format: "%03d", $0) }.joined(separator: ",")] {
                let bad = try await client.call("GET", "/v1/buckets/bucket/object?key=paged&\(query)")
                #expect(bad.status == 400, "\(query): \(bad.text)")
            }
        }
    }

    @Test func aNodeSettlesEachOrderOnceAndOnlyItsOwnUnderThisSatellitesLimits() async throws {
        try await withClient { planet, client, nodes in
            let begun = try await client.begin("billed", segments: 1)
            #expect(try await client.commitAll(begun, pieces: 5).last?.status == 200)
            let read = try await client.call("GET", "/v1/buckets/bucket/object?key=billed")
            let limits = ((read.json?["segments"] as? [[String: Any]])?.first?["pieces"] as? [[String: Any]] ?? []).compactMap(Self.limit)
            let limit = try #require(limits.first)
            let owner = try #require(nodes.first { $0.id == limit.storageNodeID.hex })
            let other = try #require(nodes.first { $0.id != limit.storageNodeID.hex })
            func settle(_ orders: [ServedOrder], by node: SimulatedNode, at date: Date = Date()) async throws -> HTTPAnswer {
                try await planet.request("POST", "/v1/orders/settle", body: SettlementRequest(identity: node.identity, orders: orders, at: date).json)
            }
            func reasons(_ answer: HTTPAnswer) -> [String] {
                (answer.json?["refused"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
            }

            let first = try await settle([ServedOrder(limit: limit, amount: 300)], by: owner)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json?["accepted"] as? Int == 1)
            let again = try await settle([ServedOrder(limit: limit, amount: 300)], by: owner)
            #expect(again.json?["accepted"] as? Int == 0)
            #expect(reasons(again) == ["already_settled"])

            // Signed by the wrong key, or too long ago: the whole request is refused.
            var forged = SettlementRequest(identity: other.identity, orders: [ServedOrder(limit: limit, amount: 1)])
            forged.nodeID = owner.id
            #expect(try await planet.request("POST", "/v1/orders/settle", body: forged.json).status == 401)
            #expect(try await settle([], by: owner, at: Date().addingTimeInterval(-2 * 3600)).status == 401)
            var farPast = SettlementRequest(identity: owner.identity, orders: [])
            farPast.signedAt = .min
            #expect(try await planet.request("POST", "/v1/orders/settle", body: farPast.json).status == 401, "no overflow")
            #expect(try await settle([], by: SimulatedNode.make(index: 99)).status == 401, "a node that never checked in")

            let foreign = OrderSigner(identity: PeerIdentity.generate(), config: OrdersConfig())
                .getLimits(rootPieceID: .random(), pieces: [(0, owner.identity.id)], pieceSize: 10, billedTo: OrderMetadata(project: Data(count: 16), bucket: "x"), now: Date())
                .limits[0]
            let stale = OrderSigner(identity: planet.satelliteIdentity, config: OrdersConfig())
                .getLimits(
                    rootPieceID: .random(), pieces: [(0, owner.identity.id)], pieceSize: 10,
                    billedTo: OrderMetadata(project: try #require(try await planet.database.project(named: "project")).id, bucket: "bucket"), now: Date().addingTimeInterval(-4 * 86400)
                ).limits[0]
            let mixed = try await settle(
                [
                    ServedOrder(limit: limits[1], amount: 10), ServedOrder(limit: foreign, amount: 1), ServedOrder(limit: limit, amount: 513),
                    ServedOrder(limit: stale, amount: 5),
                ],
                by: owner
            )
            #expect(mixed.status == 200)
            #expect(mixed.json?["accepted"] as? Int == 0)
            #expect(reasons(mixed) == ["other_node", "not_signed_here", "beyond_limit", "too_late"], "\(mixed.text)")

            let project = try await #require(try planet.database.project(named: "project"))
            let bandwidth = try await planet.database.bucketBandwidth(project: project.id)
            #expect(bandwidth.map(\.bucket) == ["bucket"])
            #expect(bandwidth.map(\.action) == ["GET"])
            #expect(bandwidth.map(\.bytes) == [300])
        }
    }
}
