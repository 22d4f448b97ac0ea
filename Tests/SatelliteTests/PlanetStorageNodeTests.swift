import Crypto
import Foundation
import Identity
import Lifecycle
import NodeProtocol
import PeerRuntime
import Satellite
import SatelliteDB
import StorageNode
import TestPlanet
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// TestPlanet with real storage nodes beside the satellite: they check in, and serve pieces under
/// order limits the planet's satellite identity signs.
@Suite(.timeLimit(.minutes(1)))
struct PlanetStorageNodeTests {
    @Test func aPlanetsNodesCheckInAndStoreAPieceUnderTheSatellitesOrderLimit() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.storageNodeCount = 3
        // The test makes a node check in again at once.
        reconfigure.api = { $0.contact.checkInInterval = .zero }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            #expect(planet.storageNodes.count == 3)
            for node in planet.storageNodes {
                let record = try #require(try planet.database.node(id: node.identity.id.bytes))
                let port = try #require(await node.server.listeningPort())
                #expect(record.address == "127.0.0.1:\(port)")
                #expect(record.freeDisk == node.pieces.freeSpace)
            }

            let node = planet.storageNodes[1]
            let uplink = PeerIdentity.generate()
            let piece = PieceID.random()
            let data = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0) })
            let now = Int64(Date().timeIntervalSince1970)
            func limit(_ action: OrderLimit.Action) -> OrderLimit {
                OrderLimit.signed(
                    by: planet.satelliteIdentity, serial: Data((0..<16).map { _ in UInt8.random(in: 0...255) }), uplinkPublicKey: uplink.publicKeyBytes,
                    storageNodeID: node.identity.id, pieceID: piece, action: action, limit: Int64(data.count), orderExpiration: now + 600, orderCreation: now
                )
            }
            let hash = PieceHash(pieceID: piece, hash: Data(SHA256.hash(data: data)), pieceSize: Int64(data.count), timestamp: now).signed(with: uplink.sign)
            let body = PieceFrame.limit(limit(.put).encoded).encoded + PieceFrame.data(data).encoded + PieceFrame.hash(hash.encoded).encoded
            let port = try #require(await node.server.listeningPort())
            func post(_ path: String, _ body: Data) async throws -> (Int, Data) {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
                request.httpMethod = "POST"
                request.timeoutInterval = 10
                let (answer, response) = try await URLSession.shared.upload(for: request, from: body)
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, answer)
            }
            let (status, answer) = try await post("/v1/pieces/upload", body)
            #expect(status == 200)
            #expect(PieceHash(decoding: answer)?.isSigned(by: node.identity.publicKeyBytes) == true)
            var download = limit(.get).encoded
            for value in [Int64(0), Int64(data.count)] { withUnsafeBytes(of: value.bigEndian) { download += $0 } }
            let (got, bytes) = try await post("/v1/pieces/download", download)
            #expect(got == 200 && bytes == data)
            // The next check-in reports the space the piece takes.
            await node.contact.cycle.triggerWait()
            #expect(try planet.database.node(id: node.identity.id.bytes)?.freeDisk == node.pieces.allocated - Int64(data.count + 512))
        }
    }
}
