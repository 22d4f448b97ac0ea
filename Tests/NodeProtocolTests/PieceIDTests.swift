import Foundation
import Identity
import NodeProtocol
import Testing

@Suite("Piece ids derived per node, and the settlement a node signs")
struct PieceIDTests {
    /// HMAC-SHA512(root; node ‖ BE32 number), first 32 bytes, computed apart from this code with
    /// Python's hmac and hashlib for root 00 01 .. 1f and node ab × 32.
    @Test("a node's piece id is Storj's derivation from the root id")
    func derivationMatchesAnIndependentComputation() throws {
        let root = try #require(PieceID(bytes: Data((0..<32).map(UInt8.init))))
        let node = try #require(NodeID(bytes: Data(repeating: 0xAB, count: 32)))
        #expect(root.derived(forNode: node, number: 0).hex == "da940673c6f5d459ac19bc3a64f19d6ea10eb2b55620cb1e85e422a3c4a51f3c")
        #expect(root.derived(forNode: node, number: 1).hex == "7f5c8493fb1b76c7edc25213eb36a4b1daf5a4f5456ca6482c29f325af187030")
        #expect(root.derived(forNode: node, number: 109).hex == "25fd7c137e4dbfbbabe8235f35798e4d1f75479170d57a44e59b6de237282452")
    }

    @Test("no two nodes or numbers of one segment share a piece id")
    func derivedIDsAreDistinct() {
        let root = PieceID.random()
        let nodes = (0..<110).map { _ in PeerIdentity.generate().id }
        var ids = Set<PieceID>()
        for (number, node) in nodes.enumerated() {
            ids.insert(root.derived(forNode: node, number: number))
            ids.insert(root.derived(forNode: node, number: number + 110))
        }
        #expect(ids.count == 220)
    }

    @Test("a settlement verifies with the node's key only, and every order is in what it signed")
    func settlementSignature() throws {
        let node = PeerIdentity.generate()
        let satellite = PeerIdentity.generate()
        let limit = OrderLimit.signed(
            by: satellite, serial: Data(count: 16), uplinkPublicKey: Data(count: 32), storageNodeID: node.id, pieceID: .random(), action: .get,
            limit: 100, orderExpiration: 2, orderCreation: 1
        )
        let request = SettlementRequest(identity: node, orders: [ServedOrder(limit: limit, amount: 40)], at: Date(timeIntervalSince1970: 1000))
        let decoded = try JSONDecoder().decode(SettlementRequest.self, from: request.json)
        #expect(decoded == request)
        let signature = try #require(Hex.decode(request.signature, count: 64))
        let message = SettlementRequest.message(nodeID: node.id, signedAt: 1000, orders: request.orders)
        #expect(Signatures.verify(signature, of: message, publicKey: node.publicKeyBytes))
        #expect(!Signatures.verify(signature, of: message, publicKey: PeerIdentity.generate().publicKeyBytes))
        var more = request.orders
        more[0].amount = 41
        #expect(!Signatures.verify(signature, of: SettlementRequest.message(nodeID: node.id, signedAt: 1000, orders: more), publicKey: node.publicKeyBytes))
        #expect(!Signatures.verify(signature, of: SettlementRequest.message(nodeID: node.id, signedAt: 1001, orders: request.orders), publicKey: node.publicKeyBytes))
    }
}
