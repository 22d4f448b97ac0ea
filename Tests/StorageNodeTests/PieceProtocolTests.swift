import Crypto
import Foundation
import Identity
import AsyncHTTPClient
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NodeProtocol
import PeerRuntime
import SeededRandom
import StorageNode
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A storage node in this process on a temporary directory, serving the piece protocol on a
/// loopback port, trusting `satellite`.
struct NodeUnderTest {
    let node: StorageNodePeer
    let port: Int
    let directory: String
    let satellite: PeerIdentity
    let uplink = PeerIdentity.generate()

    static func run(allocated: Int64 = 1 << 30, _ body: (NodeUnderTest) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "node-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let satellite = PeerIdentity.generate()
        var config = StorageNodeConfiguration()
        config.dataDir = directory
        config.server.address = "127.0.0.1:0"
        config.contact.satelliteID = satellite.id.hex
        config.contact.satelliteURL = "http://127.0.0.1:1"
        config.contact.interval = nil
        config.storage.allocated = allocated
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let node = try await StorageNodePeer(log: Logger(label: "test"), identity: .generate(), config: config, shutdownTimeout: .seconds(5))
        let running = Task { try await node.run() }
        defer { running.cancel() }
        let port = try #require(await node.server.listeningPort())
        do {
            try await body(NodeUnderTest(node: node, port: port, directory: directory, satellite: satellite))
        } catch {
            await node.shutdown()
            _ = try? await running.value
            try? await node.close()
            throw error
        }
        await node.shutdown()
        _ = try? await running.value
        try await node.close()
    }

    func limit(
        _ action: OrderLimit.Action = .put, piece: PieceID = .random(), limit: Int64 = 1 << 20, by signer: PeerIdentity? = nil,
        node: NodeID? = nil, expiresIn: Int64 = 3600, createdAgo: Int64 = 0, serial: Data? = nil
    ) -> OrderLimit {
        let now = Int64(Date().timeIntervalSince1970)
        return OrderLimit.signed(
            by: signer ?? satellite, serial: serial ?? Data((0..<16).map { _ in UInt8.random(in: 0...255) }), uplinkPublicKey: uplink.publicKeyBytes,
            storageNodeID: node ?? self.node.identity.id, pieceID: piece, action: action, limit: limit,
            orderExpiration: now + expiresIn, orderCreation: now - createdAgo
        )
    }

    /// The uplink's signed hash of `data` for `piece`.
    func uplinkHash(_ data: [UInt8], piece: PieceID, size: Int64? = nil, signer: PeerIdentity? = nil) -> PieceHash {
        PieceHash(pieceID: piece, hash: Data(SHA256.hash(data: data)), pieceSize: size ?? Int64(data.count), timestamp: Int64(Date().timeIntervalSince1970))
            .signed(with: (signer ?? uplink).sign)
    }

    /// The frames of a whole upload of `data` under `limit`, in chunks of `chunk` bytes.
    func frames(_ data: [UInt8], limit: OrderLimit, chunk: Int = 64 << 10) -> Data {
        var body = PieceFrame.limit(limit.encoded).encoded
        for start in stride(from: 0, to: data.count, by: chunk) { body += PieceFrame.data(Data(data[start..<min(start + chunk, data.count)])).encoded }
        return body + PieceFrame.hash(uplinkHash(data, piece: limit.pieceID).encoded).encoded
    }

    /// Through AsyncHTTPClient on NIO's event loops: URLSession's shared session runs every
    /// test's requests through one queue, and in full CI runs a request of this suite waited
    /// there past 30 s, then past 120 s, while alone it takes milliseconds. A hang still fails,
    /// at this deadline.
    func post(_ path: String, _ body: Data) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), Data(buffer: answer))
    }

    func download(_ limit: OrderLimit, offset: Int64 = 0, count: Int64) async throws -> (status: Int, body: Data) {
        var body = limit.encoded
        for value in [offset, count] { withUnsafeBytes(of: value.bigEndian) { body += $0 } }
        return try await post("/v1/pieces/download", body)
    }

    /// Piece files under blobs/ and temp/.
    func files(_ folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory + "/pieces/" + folder)?.allObjects as? [String] ?? []).filter {
            (try? FileManager.default.attributesOfItem(atPath: directory + "/pieces/" + folder + "/" + $0)[.type] as? FileAttributeType) == .typeRegular
        }
    }
}

func errorCode(_ body: Data) -> String? {
    ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]).flatMap { ($0["error"] as? [String: Any])?["code"] as? String }
}

@Suite("The piece protocol over HTTP, against a real node on real files", .timeLimit(.minutes(2)))
struct PieceProtocolTests {
    private func content(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
    }

    @Test func anUploadIsStoredAndSignedByTheNodeAndDownloadsWholeAndInRanges() async throws {
        try await NodeUnderTest.run { node in
            let data = content(300_000)
            let put = node.limit(.put, limit: 300_000)
            let answer = try await node.post("/v1/pieces/upload", node.frames(data, limit: put))
            #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
            let stored = try #require(PieceHash(decoding: answer.body))
            #expect(stored.isSigned(by: node.node.identity.publicKeyBytes))
            #expect(stored.hash == Data(SHA256.hash(data: data)) && stored.pieceSize == 300_000 && stored.pieceID == put.pieceID)
            #expect(node.files("blobs").count == 1 && node.files("temp").isEmpty)
            let reader = try node.node.pieces.reader(for: put.pieceID, satellite: node.satellite.id)
            #expect(reader.header.orderLimit == put.encoded)

            let whole = try await node.download(node.limit(.get, piece: put.pieceID), count: 300_000)
            #expect(whole.status == 200 && whole.body == Data(data))
            let range = try await node.download(node.limit(.getAudit, piece: put.pieceID), offset: 1000, count: 256)
            #expect(range.status == 200 && range.body == Data(data[1000..<1256]))
            let past = try await node.download(node.limit(.get, piece: put.pieceID), offset: 299_990, count: 11)
            #expect(past.status == 416 && errorCode(past.body) == "out_of_range")
            let missing = try await node.download(node.limit(.get), count: 1)
            #expect(missing.status == 404 && errorCode(missing.body) == "not_found")
        }
    }

    /// A piece id is stored once: a second upload under it, even of the same bytes, is refused and
    /// leaves the stored piece as it was. (A repair must only count pieces it stored itself: a
    /// dropped repair deletes what it stored, and must not take another repair's piece with it.)
    @Test func aSecondUploadUnderAStoredIdIsRefusedAndTheStoredPieceStaysAsItWas() async throws {
        try await NodeUnderTest.run { node in
            let data = content(200_000)
            let first = node.limit(.putRepair, limit: 200_000)
            #expect(try await node.post("/v1/pieces/upload", node.frames(data, limit: first)).status == 200)
            let used = node.node.pieces.usedSpace
            let again = try await node.post("/v1/pieces/upload", node.frames(data, limit: node.limit(.putRepair, piece: first.pieceID, limit: 200_000)))
            #expect(again.status == 409 && errorCode(again.body) == "already_stored", "\(String(decoding: again.body, as: UTF8.self))")
            #expect(node.files("blobs").count == 1 && node.files("temp").isEmpty)
            #expect(node.node.pieces.usedSpace == used)
            #expect(try node.node.pieces.reader(for: first.pieceID, satellite: node.satellite.id).header.orderLimit == first.encoded)
            let whole = try await node.download(node.limit(.get, piece: first.pieceID), count: 200_000)
            #expect(whole.status == 200 && whole.body == Data(data))
        }
    }

    @Test func everyBadOrderLimitIsRefusedOverTheWireWithItsCode() async throws {
        try await NodeUnderTest.run { node in
            let stranger = PeerIdentity.generate()
            var forged = node.limit()
            forged.limit = 1 << 40
            let cases: [(String, OrderLimit, String)] = [
                ("another node's", node.limit(node: stranger.id), "wrong_node"),
                ("a GET for an upload", node.limit(.get), "wrong_action"),
                ("an untrusted satellite's", node.limit(by: stranger), "untrusted_satellite"),
                ("changed after signing", forged, "bad_signature"),
                ("expired", node.limit(expiresIn: -5), "order_expired"),
                ("made two hours ago", node.limit(expiresIn: 86400, createdAgo: 7200), "created_too_far_in_past"),
                ("made two hours ahead", node.limit(createdAgo: -7200), "created_in_future"),
                ("with a negative limit", node.limit(limit: -1), "negative_limit"),
            ]
            for (what, limit, code) in cases {
                let answer = try await node.post("/v1/pieces/upload", node.frames(content(100), limit: limit))
                #expect(answer.status == 403, "\(what)")
                #expect(errorCode(answer.body) == code, "\(what): \(String(decoding: answer.body, as: UTF8.self))")
            }
            // A PUT limit is no good for a download, nor a GET limit for a delete.
            let stored = node.limit(.put, limit: 100)
            #expect(try await node.post("/v1/pieces/upload", node.frames(content(100), limit: stored)).status == 200)
            let wrongAction = try await node.download(node.limit(.put, piece: stored.pieceID), count: 100)
            #expect(wrongAction.status == 403 && errorCode(wrongAction.body) == "wrong_action")
            let getToDelete = try await node.post("/v1/pieces/delete", node.limit(.get, piece: stored.pieceID).encoded)
            #expect(getToDelete.status == 403 && errorCode(getToDelete.body) == "wrong_action")
            // Only the one good upload is stored.
            #expect(node.files("blobs").count == 1 && node.files("temp").isEmpty)
        }
    }

    @Test func aReplayedSerialIsRefused() async throws {
        try await NodeUnderTest.run { node in
            let limit = node.limit(.put, limit: 1000)
            #expect(try await node.post("/v1/pieces/upload", node.frames(content(1000), limit: limit)).status == 200)
            let again = try await node.post("/v1/pieces/upload", node.frames(content(1000), limit: limit))
            #expect(again.status == 403 && errorCode(again.body) == "serial_used")
            let get = node.limit(.get, piece: limit.pieceID)
            #expect(try await node.download(get, count: 1000).status == 200)
            let replayed = try await node.download(get, count: 1000)
            #expect(replayed.status == 403 && errorCode(replayed.body) == "serial_used")
        }
    }

    @Test func dataBeyondTheLimitAndHashesThatDoNotHoldStoreNothing() async throws {
        try await NodeUnderTest.run { node in
            let used = node.node.pieces.usedSpace
            let small = node.limit(.put, limit: 1000)
            let beyond = try await node.post("/v1/pieces/upload", node.frames(content(1500), limit: small, chunk: 500))
            #expect(beyond.status == 413 && errorCode(beyond.body) == "beyond_limit")

            let data = content(5000)
            func upload(_ hash: PieceHash, _ limit: OrderLimit) async throws -> (status: Int, body: Data) {
                let body = PieceFrame.limit(limit.encoded).encoded + PieceFrame.data(Data(data)).encoded + PieceFrame.hash(hash.encoded).encoded
                return try await node.post("/v1/pieces/upload", body)
            }
            var limit = node.limit(.put, limit: 5000)
            var other = data
            other[7] ^= 1
            let wrongHash = try await upload(node.uplinkHash(other, piece: limit.pieceID), limit)
            #expect(wrongHash.status == 422 && errorCode(wrongHash.body) == "hash_mismatch")
            limit = node.limit(.put, limit: 5000)
            let wrongSize = try await upload(node.uplinkHash(data, piece: limit.pieceID, size: 4999), limit)
            #expect(wrongSize.status == 422 && errorCode(wrongSize.body) == "size_mismatch")
            limit = node.limit(.put, limit: 5000)
            let unsigned = try await upload(node.uplinkHash(data, piece: limit.pieceID, signer: .generate()), limit)
            #expect(unsigned.status == 422 && errorCode(unsigned.body) == "uplink_signature_invalid")
            limit = node.limit(.put, limit: 5000)
            let otherPiece = try await upload(node.uplinkHash(data, piece: .random()), limit)
            #expect(otherPiece.status == 422 && errorCode(otherPiece.body) == "uplink_signature_invalid")

            #expect(node.files("blobs").isEmpty && node.files("temp").isEmpty)
            #expect(node.node.pieces.usedSpace == used)
            #expect(node.node.pieces.freeSpace == node.node.pieces.allocated - used)
        }
    }

    @Test func truncatedAndGarbledStreamsAreClearErrorsAndStoreNothing() async throws {
        try await NodeUnderTest.run { node in
            let limit = node.limit(.put, limit: 10_000)
            let whole = node.frames(content(10_000), limit: limit, chunk: 3000)
            var random = SystemRandomNumberGenerator()
            var bodies: [(String, Data)] = [
                ("empty", Data()),
                ("garbage", Data((0..<500).map { _ in UInt8.random(in: 0...255, using: &random) })),
                ("a data frame first", PieceFrame.data(Data(content(10))).encoded),
                ("a limit of the wrong length", PieceFrame.limit(Data(count: 10)).encoded),
                ("an unknown frame type", Data([UInt8(ascii: "Z"), 0, 0, 0, 1, 0])),
                ("a frame longer than allowed", Data([UInt8(ascii: "D"), 0xFF, 0xFF, 0xFF, 0xFF])),
                ("two limits", PieceFrame.limit(node.limit(.put).encoded).encoded + PieceFrame.limit(node.limit(.put).encoded).encoded),
                ("frames after the hash", whole + PieceFrame.data(Data([1])).encoded),
            ]
            // Cut anywhere: inside the limit, inside a data frame, before the hash, inside the hash.
            for cut in [3, 100, OrderLimit.encodedSize + 5 + 10, whole.count - PieceHash.encodedSize - 5, whole.count - 10] {
                bodies.append(("cut at \(cut) of \(whole.count)", whole.prefix(cut)))
            }
            for (what, body) in bodies {
                let answer = try await node.post("/v1/pieces/upload", body)
                #expect((400..<500).contains(answer.status), "\(what): \(answer.status)")
                #expect(errorCode(answer.body) != nil, "\(what): \(String(decoding: answer.body, as: UTF8.self))")
            }
            #expect(node.files("blobs").isEmpty && node.files("temp").isEmpty)
            // The node is still serving.
            let fine = try await node.post("/v1/pieces/upload", node.frames(content(100), limit: node.limit(.put, limit: 100)))
            #expect(fine.status == 200)
        }
    }

    @Test func fuzzedUploadsAreAnsweredWithoutACrashAndLeaveOnlyWhatWasAccepted() async throws {
        try await NodeUnderTest.run { node in
            var random = SeededGenerator(seed: 14)
            var accepted = 0
            for round in 0..<120 {
                let data = content(Int(random.next() % 20_000) + 1)
                var body = [UInt8](node.frames(data, limit: node.limit(.put, limit: 20_000), chunk: Int(random.next() % 5000) + 1))
                switch round % 4 {
                case 0:  // bits flipped anywhere
                    for _ in 0..<(Int(random.next() % 4) + 1) { body[Int(random.next() % UInt64(body.count))] ^= UInt8(1 << (random.next() % 8)) }
                case 1:  // cut anywhere
                    body = Array(body.prefix(Int(random.next() % UInt64(body.count))))
                case 2:  // bytes inserted anywhere
                    let at = Int(random.next() % UInt64(body.count))
                    body.insert(contentsOf: (0..<Int(random.next() % 40 + 1)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
                default:  // a frame's length rewritten
                    let frameStart = [0, 5 + OrderLimit.encodedSize][Int(random.next() % 2)]
                    let length = UInt32(truncatingIfNeeded: random.next() % 3 == 0 ? random.next() : random.next() % 70_000)
                    withUnsafeBytes(of: length.bigEndian) { for index in 0..<4 { body[frameStart + 1 + index] = $0[index] } }
                }
                let answer: (status: Int, body: Data)
                do { answer = try await node.post("/v1/pieces/upload", Data(body)) } catch {
                    Issue.record("round \(round) (kind \(round % 4), \(body.count) bytes): \(error)")
                    throw error
                }
                #expect(answer.status == 200 || (400..<500).contains(answer.status), "round \(round): \(answer.status)")
                if answer.status == 200 { accepted += 1 } else { #expect(errorCode(answer.body) != nil, "round \(round)") }
            }
            #expect(node.files("blobs").count == accepted)
            #expect(node.files("temp").isEmpty)
            let fine = try await node.post("/v1/pieces/upload", node.frames(content(100), limit: node.limit(.put, limit: 100)))
            #expect(fine.status == 200)
        }
    }

    @Test func aDeletedPieceGoesToTheTrashAndIsNoLongerServed() async throws {
        try await NodeUnderTest.run { node in
            let put = node.limit(.put, limit: 2000)
            #expect(try await node.post("/v1/pieces/upload", node.frames(content(2000), limit: put)).status == 200)
            #expect(try await node.post("/v1/pieces/delete", node.limit(.delete, piece: put.pieceID).encoded).status == 204)
            let gone = try await node.download(node.limit(.get, piece: put.pieceID), count: 2000)
            #expect(gone.status == 404 && errorCode(gone.body) == "not_found")
            #expect(node.files("blobs").isEmpty && node.files("trash").count == 1)
            let again = try await node.post("/v1/pieces/delete", node.limit(.delete, piece: put.pieceID).encoded)
            #expect(again.status == 404)
        }
    }

    @Test func aCorruptedPieceIsReportedOnDownloadNotServed() async throws {
        try await NodeUnderTest.run { node in
            let data = content(50_000)
            let put = node.limit(.put, limit: 50_000)
            #expect(try await node.post("/v1/pieces/upload", node.frames(data, limit: put)).status == 200)
            let path = node.directory + "/pieces/blobs/\(node.satellite.id.hex)/\(put.pieceID.hex.prefix(2))/\(put.pieceID.hex.dropFirst(2))"
            var file = try Data(contentsOf: URL(fileURLWithPath: path))
            file[512 + 40_000] ^= 0x01
            try file.write(to: URL(fileURLWithPath: path))
            let whole = try await node.download(node.limit(.get, piece: put.pieceID), count: 50_000)
            #expect(whole.status == 500 && errorCode(whole.body) == "corrupted", "\(String(decoding: whole.body.prefix(300), as: UTF8.self))")
            // A range is served as it is: an audit finds a bad share through the erasure code.
            let range = try await node.download(node.limit(.getAudit, piece: put.pieceID), offset: 39_990, count: 20)
            #expect(range.status == 200 && range.body != Data(data[39_990..<40_010]))
        }
    }

    @Test func aNodeWithoutRoomRefusesTheUpload() async throws {
        try await NodeUnderTest.run(allocated: 10_000) { node in
            let answer = try await node.post("/v1/pieces/upload", node.frames(content(100), limit: node.limit(.put, limit: 20_000)))
            #expect(answer.status == 507 && errorCode(answer.body) == "not_enough_space", "\(String(decoding: answer.body, as: UTF8.self))")
        }
    }
}
