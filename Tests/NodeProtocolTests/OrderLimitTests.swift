import Foundation
import Identity
import NodeProtocol
import Testing

@Suite("Order limits and piece hashes: signed, encoded, decoded")
struct OrderLimitTests {
    let satellite = PeerIdentity.generate()
    let node = PeerIdentity.generate()
    let uplink = PeerIdentity.generate()

    private func limit(_ action: OrderLimit.Action = .put) -> OrderLimit {
        OrderLimit.signed(
            by: satellite, serial: Data((0..<16).map(UInt8.init)), uplinkPublicKey: uplink.publicKeyBytes, storageNodeID: node.id,
            pieceID: .random(), action: action, limit: 1 << 20, pieceExpiration: 1_900_000_000, orderExpiration: 1_800_000_000, orderCreation: 1_700_000_000
        )
    }

    @Test("an order limit round-trips through its fixed-width encoding, signature and all")
    func roundTrip() throws {
        for action in OrderLimit.Action.allCases {
            let order = limit(action)
            #expect(order.encoded.count == OrderLimit.encodedSize)
            #expect(try OrderLimit(decoding: order.encoded) == order)
            #expect(Signatures.verify(order.satelliteSignature, of: order.signedBytes, publicKey: satellite.publicKeyBytes))
        }
    }

    @Test("every field is signed: changing any one breaks the signature")
    func everyFieldSigned() throws {
        let order = limit()
        var changes: [(String, (inout OrderLimit) -> Void)] = [
            ("serial", { $0.serial[0] ^= 1 }),
            ("satellite id", { $0.satelliteID = PeerIdentity.generate().id }),
            ("uplink key", { $0.uplinkPublicKey = PeerIdentity.generate().publicKeyBytes }),
            ("node", { $0.storageNodeID = PeerIdentity.generate().id }),
            ("piece", { $0.pieceID = .random() }),
            ("action", { $0.action = .get }),
            ("limit", { $0.limit += 1 }),
            ("piece expiration", { $0.pieceExpiration += 1 }),
            ("order expiration", { $0.orderExpiration += 1 }),
            ("creation", { $0.orderCreation -= 1 }),
            ("metadata", { $0.encryptedMetadata[5] ^= 1 }),
        ]
        changes.append(("satellite key", { $0.satellitePublicKey = PeerIdentity.generate().publicKeyBytes }))
        for (field, change) in changes {
            var changed = order
            change(&changed)
            #expect(!Signatures.verify(changed.satelliteSignature, of: changed.signedBytes, publicKey: order.satellitePublicKey), "\(field)")
        }
    }

    @Test("bad encodings are refused with what is wrong")
    func badEncodings() throws {
        #expect(throws: OrderLimitRefusal.malformed("an order limit is \(OrderLimit.encodedSize) bytes, not 10")) { try OrderLimit(decoding: Data(count: 10)) }
        var encoded = limit().encoded
        encoded[0] = 2
        #expect(throws: OrderLimitRefusal.malformed("order limit version 2 is not 1")) { try OrderLimit(decoding: encoded) }
        encoded = limit().encoded
        encoded[1 + 16 + 32 * 5] = 9
        #expect(throws: OrderLimitRefusal.malformed("action 9 is none of 1 to 6")) { try OrderLimit(decoding: encoded) }
    }

    @Test("a piece hash is signed by its signer's key only, and round-trips")
    func pieceHash() throws {
        let hash = PieceHash(pieceID: .random(), hash: Data(repeating: 0xAB, count: 32), pieceSize: 12345, timestamp: 1_700_000_000).signed(with: uplink.sign)
        #expect(hash.isSigned(by: uplink.publicKeyBytes))
        #expect(!hash.isSigned(by: node.publicKeyBytes))
        var bent = hash
        bent.pieceSize += 1
        #expect(!bent.isSigned(by: uplink.publicKeyBytes))
        #expect(PieceHash(decoding: hash.encoded) == hash)
        #expect(PieceHash(decoding: Data(count: 3)) == nil)
    }

    @Test("a check-in's signed bytes are the documented layout")
    func checkInLayout() throws {
        let id = try #require(NodeID(hex: String(repeating: "ab", count: 32)))
        let message = SignedCheckIn.message(nodeID: id, address: "1.2.3.4:5", freeDisk: 7, version: "v", signedAt: 258)
        var expected = Data("storagenode check-in v1".utf8) + Data([0]) + Data(repeating: 0xAB, count: 32)
        expected += Data([0, 0, 0, 0, 0, 0, 1, 2]) + Data([0, 0, 0, 0, 0, 0, 0, 7])
        expected += Data([0, 0, 0, 0, 0, 0, 0, 9]) + Data("1.2.3.4:5".utf8) + Data([0, 0, 0, 0, 0, 0, 0, 1]) + Data("v".utf8)
        #expect(message == expected)
    }
}
