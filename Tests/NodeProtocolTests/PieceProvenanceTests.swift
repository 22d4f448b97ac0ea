import Crypto
import Foundation
import Identity
import NodeProtocol
import Testing

/// What a node shows about a piece proves the bytes only when every link holds: the satellite's
/// limit, its node and piece, the uplink's signature over the hash and size, and the bytes' hash.
@Suite struct PieceProvenanceTests {
    @Test func onlyThePieceItsUplinkStoredPasses() throws {
        let satellite = PeerIdentity.generate(), other = PeerIdentity.generate(), node = PeerIdentity.generate()
        let uplinkKey = Curve25519.Signing.PrivateKey()
        let piece = PieceID.random()
        func limit(by signer: PeerIdentity, node: NodeID) -> OrderLimit {
            OrderLimit.signed(
                by: signer, serial: Data(repeating: 1, count: 16), uplinkPublicKey: uplinkKey.publicKey.rawRepresentation, storageNodeID: node,
                pieceID: piece, action: .put, limit: 1000, pieceExpiration: 0, orderExpiration: 2_000_000_000, orderCreation: 1_700_000_000,
                encryptedMetadata: Data()
            )
        }
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        func hash(of data: [UInt8], key: Curve25519.Signing.PrivateKey = uplinkKey, size: Int64 = 1000) -> PieceHash {
            PieceHash(pieceID: piece, hash: Data(SHA256.hash(data: data)), pieceSize: size, timestamp: 1_700_000_001).signed { try! key.signature(for: $0) }
        }
        let honest = PieceProvenance(orderLimit: limit(by: satellite, node: node.id), uplinkHash: hash(of: bytes))
        #expect(honest.problem(with: bytes, node: node.id, pieceID: piece, satellite: satellite.id) == nil)
        // Round trip through the header fields a download carries.
        let fields = PieceProvenance(orderLimitField: honest.orderLimit.encoded.base64EncodedString(), uplinkHashField: honest.uplinkHash.encoded.base64EncodedString())
        #expect(fields == honest)
        #expect(PieceProvenance(orderLimitField: nil, uplinkHashField: "x") == nil)

        var changed = bytes
        changed[10] ^= 1
        #expect(honest.problem(with: changed, node: node.id, pieceID: piece, satellite: satellite.id)?.contains("do not hash") == true)
        #expect(honest.problem(with: Array(bytes.prefix(999)), node: node.id, pieceID: piece, satellite: satellite.id)?.contains("999 bytes") == true)
        #expect(honest.problem(with: bytes, node: other.id, pieceID: piece, satellite: satellite.id)?.contains("another node") == true)
        #expect(honest.problem(with: bytes, node: node.id, pieceID: PieceID.random(), satellite: satellite.id) != nil)
        #expect(honest.problem(with: bytes, node: node.id, pieceID: piece, satellite: other.id)?.contains("not this satellite's") == true)
        let rehashed = PieceProvenance(orderLimit: honest.orderLimit, uplinkHash: hash(of: changed, key: Curve25519.Signing.PrivateKey()))
        #expect(rehashed.problem(with: changed, node: node.id, pieceID: piece, satellite: satellite.id)?.contains("not signed by the uplink's key") == true)
        let foreign = PieceProvenance(orderLimit: limit(by: other, node: node.id), uplinkHash: hash(of: bytes))
        #expect(foreign.problem(with: bytes, node: node.id, pieceID: piece, satellite: satellite.id) != nil)
    }
}
