import Crypto
import Foundation
import Identity
import NodeProtocol

/// Makes the order limits the API hands to uplinks, signed with the satellite's identity: one a
/// node, each under a fresh serial, for the piece id derived for that node from the segment's root
/// piece id (Storj's satellite/orders/service.go).
public struct OrderSigner: Sendable {
    public let identity: PeerIdentity
    public let config: OrdersConfig
    let metadataKey: SymmetricKey

    public init(identity: PeerIdentity, config: OrdersConfig) {
        self.identity = identity
        self.config = config
        metadataKey = OrderMetadata.key(of: identity)
    }

    /// The limits of one segment and the key its uplink signs with.
    public struct SegmentLimits: Sendable {
        /// In the order of the nodes asked for.
        public let limits: [OrderLimit]
        /// The segment's own Ed25519 key: its public half is in every limit, and the uplink signs
        /// its piece hashes with the private half. It is not the uplink's encryption key.
        public let piecePrivateKey: Curve25519.Signing.PrivateKey
    }

    /// PUT limits for an upload of one segment: node `nodes[i]` stores piece number `i`, at most
    /// `pieceSize` bytes.
    public func putLimits(
        rootPieceID: PieceID, nodes: [NodeID], pieceSize: Int64, pieceExpiration: Date?, billedTo metadata: OrderMetadata, now: Date
    ) -> SegmentLimits {
        sign(
            action: .put, pieces: nodes.enumerated().map { ($0.offset, $0.element) }, rootPieceID: rootPieceID, limit: pieceSize,
            pieceExpiration: pieceExpiration, metadata: metadata, now: now
        )
    }

    /// GET limits for a download of `pieces` (number, node) of one segment, each of at most
    /// `pieceSize` bytes.
    public func getLimits(
        rootPieceID: PieceID, pieces: [(number: Int, node: NodeID)], pieceSize: Int64, billedTo metadata: OrderMetadata, now: Date
    ) -> SegmentLimits {
        sign(action: .get, pieces: pieces, rootPieceID: rootPieceID, limit: pieceSize, pieceExpiration: nil, metadata: metadata, now: now)
    }

    /// Limits for the satellite's own transfers of one segment's pieces (GET_REPAIR to read the
    /// ones left, PUT_REPAIR to store new ones, DELETE to take back the ones a dropped repair
    /// stored): `pieces` (number, node), each of at most `pieceSize` bytes, under a fresh key the
    /// repairer signs its piece hashes with.
    public func repairLimits(
        _ action: OrderLimit.Action, rootPieceID: PieceID, pieces: [(number: Int, node: NodeID)], pieceSize: Int64, pieceExpiration: Date?,
        billedTo metadata: OrderMetadata, now: Date
    ) -> SegmentLimits {
        precondition([.getRepair, .putRepair, .getAudit, .delete].contains(action), "the satellite's own limits are GET_REPAIR, GET_AUDIT, PUT_REPAIR or DELETE")
        return sign(action: action, pieces: pieces, rootPieceID: rootPieceID, limit: pieceSize, pieceExpiration: pieceExpiration, metadata: metadata, now: now)
    }

    private func sign(
        action: OrderLimit.Action, pieces: [(number: Int, node: NodeID)], rootPieceID: PieceID, limit: Int64, pieceExpiration: Date?,
        metadata: OrderMetadata, now: Date
    ) -> SegmentLimits {
        let key = Curve25519.Signing.PrivateKey()
        let uplinkKey = key.publicKey.rawRepresentation
        let sealed = metadata.sealed(with: metadataKey)
        let created = Int64(now.timeIntervalSince1970.rounded(.down))
        let expires = created + config.expiration.components.seconds
        let pieceExpires = pieceExpiration.map { Int64($0.timeIntervalSince1970.rounded(.up)) } ?? 0
        var serials = SystemRandomNumberGenerator()
        let limits = pieces.map { piece in
            OrderLimit.signed(
                by: identity, serial: Self.serial(&serials), uplinkPublicKey: uplinkKey, storageNodeID: piece.node,
                pieceID: rootPieceID.derived(forNode: piece.node, number: piece.number), action: action, limit: limit,
                pieceExpiration: pieceExpires, orderExpiration: expires, orderCreation: created, encryptedMetadata: sealed
            )
        }
        return SegmentLimits(limits: limits, piecePrivateKey: key)
    }

    private static func serial(_ generator: inout SystemRandomNumberGenerator) -> Data {
        var bytes = Data(count: 16)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            words[0] = generator.next()
            words[1] = generator.next()
        }
        return bytes
    }

    /// The billing a limit this satellite signed carries, or nil when it was not sealed here.
    public func metadata(of limit: OrderLimit) -> OrderMetadata? {
        OrderMetadata(opening: limit.encryptedMetadata, with: metadataKey)
    }
}
