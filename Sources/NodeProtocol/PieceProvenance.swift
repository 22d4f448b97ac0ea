import Crypto
import Foundation
import Identity

/// What a node shows about a whole piece it serves the satellite's repairer or auditor: the order
/// limit the piece was stored under and the uplink's signed hash of it. Together they prove the
/// bytes are the ones the uplink stored, whatever the node says: the satellite signed the limit,
/// the limit names the uplink's key for the segment, and that key signed the hash and the size.
public struct PieceProvenance: Sendable, Equatable {
    /// The HTTP header fields a download's answer carries them in, base64.
    public static let orderLimitField = "Piece-Order-Limit"
    public static let uplinkHashField = "Piece-Uplink-Hash"

    public let orderLimit: OrderLimit
    public let uplinkHash: PieceHash

    public init(orderLimit: OrderLimit, uplinkHash: PieceHash) {
        self.orderLimit = orderLimit
        self.uplinkHash = uplinkHash
    }

    /// From the two header fields' values; nil when either is missing or not what it should be.
    public init?(orderLimitField: String?, uplinkHashField: String?) {
        guard let limitText = orderLimitField, let hashText = uplinkHashField, let limitBytes = Data(base64Encoded: limitText),
            let hashBytes = Data(base64Encoded: hashText), let limit = try? OrderLimit(decoding: limitBytes), let hash = PieceHash(decoding: hashBytes)
        else { return nil }
        self.init(orderLimit: limit, uplinkHash: hash)
    }

    /// Why `bytes`, served by `node` as piece `pieceID`, are not the piece its uplink stored under
    /// a limit `satellite` signed; nil when they are.
    public func problem(with bytes: [UInt8], node: NodeID, pieceID: PieceID, satellite: NodeID) -> String? {
        guard orderLimit.satelliteID == satellite, NodeID.hash(ofPublicKey: orderLimit.satellitePublicKey) == satellite.bytes,
            Signatures.verify(orderLimit.satelliteSignature, of: orderLimit.signedBytes, publicKey: orderLimit.satellitePublicKey)
        else { return "the order limit it was stored under is not this satellite's" }
        guard orderLimit.storageNodeID == node, orderLimit.pieceID == pieceID else { return "the order limit it was stored under is for another node or piece" }
        guard uplinkHash.pieceID == pieceID, uplinkHash.isSigned(by: orderLimit.uplinkPublicKey) else { return "the uplink's hash is not signed by the uplink's key" }
        guard uplinkHash.pieceSize == Int64(bytes.count) else { return "it served \(bytes.count) bytes; the uplink stored \(uplinkHash.pieceSize)" }
        guard Data(SHA256.hash(data: bytes)) == uplinkHash.hash else { return "its bytes do not hash to what the uplink stored" }
        return nil
    }
}
