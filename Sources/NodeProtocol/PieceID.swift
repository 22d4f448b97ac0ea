import Foundation
import Identity

/// A piece's id on a node: 32 bytes, written as 64 lowercase hexadecimal digits. (Storj derives
/// each node's piece id from the segment's root piece id; that derivation comes with order limits.)
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

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}
