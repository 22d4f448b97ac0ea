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
                let record = try await #require(try planet.database.node(id: node.identity.id.bytes))
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
            await #expect(try planet.database.node(id: node.identity.id.bytes)?.freeDisk == node.pieces.allocated - Int64(data.count + 512))
        }
    }
}

/// The whole path with real nodes: the API's PUT limits, uploads over the piece protocol, the
/// nodes' signed hashes at commit, GET limits for the download, and the nodes' settlements.
@Suite(.timeLimit(.minutes(1)))
struct PlanetOrderFlowTests {
    static func post(_ address: String, _ path: String, _ body: Data) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: "http://\(address)\(path)")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 10
        let (answer, response) = try await URLSession.shared.upload(for: request, from: body)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, answer)
    }

    @Test func piecesGoUpAndComeBackUnderTheSatellitesLimitsAndTheNodesSettleWhatTheyServed() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.storageNodeCount = 5
        // Every node of a planet is on loopback, one network.
        reconfigure.api = { $0.overlay.distinctNetworks = false }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let client = await MetainfoClient(planet: planet, key: try planet.makeProject("project"))
            #expect(try await client.call("POST", "/v1/buckets", ["name": "bucket"]).status == 201)
            let begun = try await client.begin("e2e", segments: 1)
            #expect(begun.status == 201, "\(begun.text)")
            let stream = begun.json?["stream_id"] as? String ?? ""
            let offer = try #require((begun.json?["segments"] as? [[String: Any]])?.first)
            let pieceKey = try Curve25519.Signing.PrivateKey(rawRepresentation: try #require((offer["piece_private_key"] as? String).flatMap { Data(base64Encoded: $0) }))

            // encrypted_size 1000 makes pieces of 512 bytes.
            var stored: [String: Data] = [:]
            var pieces: [[String: Any]] = []
            for (number, node) in (offer["nodes"] as? [[String: Any]] ?? []).enumerated() {
                let limit = try #require(OrderTests.limit(node))
                let data = Data((0..<512).map { _ in UInt8.random(in: 0...255) })
                let uplinkHash = PieceHash(pieceID: limit.pieceID, hash: Data(SHA256.hash(data: data)), pieceSize: 512, timestamp: Int64(Date().timeIntervalSince1970))
                    .signed { try! pieceKey.signature(for: $0) }
                let body = PieceFrame.limit(limit.encoded).encoded + PieceFrame.data(data).encoded + PieceFrame.hash(uplinkHash.encoded).encoded
                let answer = try await Self.post(node["address"] as? String ?? "", "/v1/pieces/upload", body)
                #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
                stored[limit.storageNodeID.hex] = data
                pieces.append(["number": number, "node_id": limit.storageNodeID.hex, "hash": answer.body.base64EncodedString()])
            }
            #expect(pieces.count == 5)
            let committed = try await client.call("POST", "/v1/streams/\(stream)/segments", ["position": 0, "encrypted_size": 1000, "pieces": pieces])
            #expect(committed.status == 204, "\(committed.text)")
            #expect(try await client.call("POST", "/v1/streams/\(stream)/commit").status == 200)

            let read = try await client.call("GET", "/v1/buckets/bucket/object?key=e2e")
            let located = (read.json?["segments"] as? [[String: Any]])?.first?["pieces"] as? [[String: Any]] ?? []
            var downloaded = 0
            for piece in located {
                guard let limit = OrderTests.limit(piece) else { continue }
                var body = limit.encoded
                for value in [Int64(0), Int64(512)] { withUnsafeBytes(of: value.bigEndian) { body += $0 } }
                let answer = try await Self.post(piece["address"] as? String ?? "", "/v1/pieces/download", body)
                #expect(answer.status == 200)
                #expect(answer.body == stored[limit.storageNodeID.hex], "the node serves the bytes it was given")
                downloaded += 1
            }
            #expect(downloaded == 3)

            // Each download's order is kept once its last byte went out, which may be after the
            // client has it.
            let deadline = ContinuousClock.now + .seconds(10)
            while planet.storageNodes.map({ $0.orders.unsentCount() }).reduce(0, +) < 8, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            for node in planet.storageNodes { await node.settlement.cycle.triggerWait() }
            let project = try #require(try await planet.database.project(named: "project"))
            let bandwidth = try await planet.database.bucketBandwidth(project: project.id)
            #expect(bandwidth.filter { $0.action == "PUT" }.map(\.bytes).reduce(0, +) == 5 * 512)
            #expect(bandwidth.filter { $0.action == "GET" }.map(\.bytes).reduce(0, +) == 3 * 512)
            #expect(Set(bandwidth.map(\.bucket)) == ["bucket"])
            // Nothing is left to send, and nothing is paid twice.
            for node in planet.storageNodes {
                #expect(node.orders.unsentCount() == 0)
                #expect(try await node.settlement.settle() == SettlementSummary())
            }
            await #expect(try planet.database.bucketBandwidth(project: project.id) == bandwidth)
        }
    }
}
