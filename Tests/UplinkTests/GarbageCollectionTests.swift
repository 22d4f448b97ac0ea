import ErasureCoding
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Identity
import NodeProtocol
import PeerRuntime
import Satellite
import SatelliteDB
import StorageNode
import TestPlanet
import Testing
import Uplink

/// Garbage collection against real nodes: after objects are deleted, one pass leaves each node
/// holding exactly the pieces of what is still stored, and those still read.
@Suite(.timeLimit(.minutes(2)))
struct GarbageCollectionTests {
    @Test func afterDeletesEachNodeHoldsExactlyThePiecesOfWhatIsLeft() async throws {
        try await UplinkTests.withUplink { planet, uplink in
            try await uplink.createBucket("garbage")
            let kept = UplinkTests.bytes(2_500_000, seed: 51)
            try await uplink.upload(bucket: "garbage", key: "kept", data: kept)
            for key in ["dropped", "also-dropped"] {
                try await uplink.upload(bucket: "garbage", key: key, data: UplinkTests.bytes(2_000_000, seed: 52))
            }
            let usedBefore = planet.storageNodes.map(\.pieces.usedSpace)
            try await uplink.deleteObject(bucket: "garbage", key: "dropped")
            try await uplink.deleteObject(bucket: "garbage", key: "also-dropped")
            #expect(planet.storageNodes.map(\.pieces.usedSpace) == usedBefore, "a delete alone does not reach the nodes")

            // What each node should hold: the live segments' pieces, each a header and its bytes.
            var expected: [Data: Int64] = [:]
            for segment in try await planet.database.segments(after: nil, limit: 100) {
                let size = Int64(PieceHeader.size) + Int64(
                    Padding.paddedSize(of: Int(segment.encryptedSize), stripeSize: segment.redundancy.k * segment.redundancy.shareSize) / segment.redundancy.k
                )
                for piece in segment.pieces { expected[piece.node, default: 0] += size }
            }
            let pass = try await planet.repairer.garbageCollection.pass(at: Date().addingTimeInterval(2))
            #expect(pass.nodes == 5 && pass.failures.isEmpty, "\(pass)")
            #expect(pass.trashed > 0)
            for node in planet.storageNodes {
                #expect(node.pieces.usedSpace == expected[node.identity.id.bytes, default: 0], "node \(node.identity.id.hex.prefix(8))")
            }
            #expect(try await uplink.download(bucket: "garbage", key: "kept") == kept)
            // A second pass finds nothing more.
            #expect(try await planet.repairer.garbageCollection.pass(at: Date().addingTimeInterval(2)).trashed == 0)
        }
    }

    @Test func aFilterNeverMissesWhatWasPutInAndRarelyHasWhatWasNot() {
        var filter = BloomFilter(expected: 10_000, falsePositiveRate: 0.1, seed: 3)
        let inside = (0..<10_000).map { _ in PieceID.random() }
        for piece in inside { filter.insert(piece) }
        #expect(inside.allSatisfy { filter.mayContain($0) })
        let outside = (0..<10_000).filter { _ in filter.mayContain(PieceID.random()) }.count
        #expect(outside < 1_300, "\(outside) of 10,000 absent ids answered present at a 10 % rate")
        #expect(BloomFilter(decoding: filter.encoded) == filter)
        #expect(BloomFilter(decoding: Data([9, 1, 1, 0])) == nil)
    }

    @Test func aNodeTakesARetainOnlyFromItsSatellite() async throws {
        try await UplinkTests.withUplink { planet, uplink in
            try await uplink.createBucket("forged")
            try await uplink.upload(bucket: "forged", key: "doc", data: UplinkTests.bytes(300_000, seed: 53))
            let used = planet.storageNodes.map(\.pieces.usedSpace)
            // An empty filter would trash everything: signed by another key, it is refused.
            let stranger = PeerIdentity.generate()
            let forged = RetainRequest.signed(by: stranger, createdBefore: Int64(Date().timeIntervalSince1970) + 10, filter: BloomFilter(expected: 1, falsePositiveRate: 0.1))
            let node = planet.storageNodes[0]
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(try #require(await node.server.listeningPort()))/v1/pieces/retain")!)
            request.httpMethod = "POST"
            request.httpBody = forged.encoded
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 403)
            #expect(planet.storageNodes.map(\.pieces.usedSpace) == used)
        }
    }
}
