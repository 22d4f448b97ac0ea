import Crypto
import Foundation

/// A peer's id: the SHA-256 of its Ed25519 public key, so that an id cannot be claimed without
/// the private key that signs for it. Written as 64 lowercase hexadecimal digits.
public struct NodeID: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes.
    public let bytes: Data

    /// The id `publicKey` proves.
    public init(publicKey: Curve25519.Signing.PublicKey) {
        bytes = Self.hash(ofPublicKey: publicKey.rawRepresentation)
    }

    /// The id bytes of a public key given as its 32 raw bytes.
    public static func hash(ofPublicKey raw: Data) -> Data {
        Data(SHA256.hash(data: raw))
    }

    /// An id from its 32 bytes; nil for any other count.
    public init?(bytes: Data) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// An id from 64 lowercase hexadecimal digits; nil for anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex, count: 32) else { return nil }
        self.bytes = bytes
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// Whether `publicKey` is the key this id was derived from.
    public func isProved(by publicKey: Curve25519.Signing.PublicKey) -> Bool {
        NodeID(publicKey: publicKey) == self
    }
}
