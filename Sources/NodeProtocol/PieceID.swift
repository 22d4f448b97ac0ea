import Crypto
import Foundation
import Identity

/// A piece's id on a node: 32 bytes, written as 64 lowercase hexadecimal digits. A segment has one
/// random *root* piece id; each node's piece is ``derived(forNode:number:)`` from it, so that no two
/// nodes hold a piece under the same id and the satellite keeps one id a segment.
public struct PieceID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: Data

    public init?(bytes: Data) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex, count: 32) else { return nil }
        self.bytes = bytes
    }

    /// A random id.
    public static func random() -> PieceID {
        var generator = SystemRandomNumberGenerator()
        return PieceID(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }))!
    }

    /// The id of piece `number` on `node`: the first 32 bytes of HMAC-SHA512 keyed with this root
    /// id over the node id and the number as a big-endian 32-bit integer (Storj's
    /// `PieceID.Derive`, storj/common storj/pieceid.go).
    public func derived(forNode node: NodeID, number: Int) -> PieceID {
        var message = node.bytes
        withUnsafeBytes(of: Int32(truncatingIfNeeded: number).bigEndian) { message += $0 }
        let code = HMAC<SHA512>.authenticationCode(for: message, using: SymmetricKey(data: bytes))
        return PieceID(bytes: Data(code.prefix(32)))!
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}
