import Foundation
import Identity

/// A signed statement of a piece's hash and size: the uplink signs one with its order limit's
/// uplink key at the end of an upload, the node answers with its own, signed with its identity,
/// which the satellite checks at commit (Storj's `PieceHash`).
public struct PieceHash: Sendable, Equatable {
    public var pieceID: PieceID
    /// SHA-256 of the piece's bytes.
    public var hash: Data
    public var pieceSize: Int64
    /// When it was signed, in seconds since 1970.
    public var timestamp: Int64
    public var signature: Data

    private static let tag = Data("piece hash v1\u{0}".utf8)
    /// The bytes of an encoded hash: the fields at fixed widths and the signature.
    public static let encodedSize = 32 + 32 + 8 + 8 + 64

    public init(pieceID: PieceID, hash: Data, pieceSize: Int64, timestamp: Int64, signature: Data = Data()) {
        self.pieceID = pieceID
        self.hash = hash
        self.pieceSize = pieceSize
        self.timestamp = timestamp
        self.signature = signature
    }

    /// The hash signed with `sign` (an uplink's segment key or a node's identity).
    public func signed(with sign: (Data) -> Data) -> PieceHash {
        var signed = self
        signed.signature = sign(signedBytes)
        return signed
    }

    public var signedBytes: Data {
        var data = Self.tag + pieceID.bytes + hash.prefix(32) + Data(count: max(0, 32 - hash.count))
        for value in [pieceSize, timestamp] { withUnsafeBytes(of: value.bigEndian) { data += $0 } }
        return data
    }

    /// Whether `publicKey` (32 raw bytes) signed it.
    public func isSigned(by publicKey: Data) -> Bool {
        Signatures.verify(signature, of: signedBytes, publicKey: publicKey)
    }

    public var encoded: Data {
        var data = pieceID.bytes + hash.prefix(32) + Data(count: max(0, 32 - hash.count))
        for value in [pieceSize, timestamp] { withUnsafeBytes(of: value.bigEndian) { data += $0 } }
        return data + signature.prefix(64) + Data(count: max(0, 64 - signature.count))
    }

    public init?(decoding data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count == Self.encodedSize else { return nil }
        func integer(_ at: Int) -> Int64 { bytes[at..<at + 8].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
        self.init(
            pieceID: PieceID(bytes: Data(bytes[0..<32]))!, hash: Data(bytes[32..<64]), pieceSize: integer(64), timestamp: integer(72),
            signature: Data(bytes[80..<144])
        )
    }
}
