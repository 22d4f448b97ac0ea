import Crypto
import Foundation

/// A peer's Ed25519 key pair and the id it proves: the satellite's (it signs order limits), a
/// storage node's (it signs its check-ins and the hashes of the pieces it stores).
///
/// Ed25519 rather than Storj's P-256 ECDSA: its signatures are deterministic, so no signature
/// depends on a random nonce being good; keys are 32 bytes and signatures 64, fixed; and Storj's
/// own uplink already signs orders with per-segment Ed25519 keys.
public struct PeerIdentity: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public let id: NodeID

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        id = NodeID(publicKey: privateKey.publicKey)
    }

    /// A new identity from the system's random source.
    public static func generate() -> PeerIdentity {
        PeerIdentity(privateKey: Curve25519.Signing.PrivateKey())
    }

    public var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }

    /// The public key's 32 raw bytes, as messages carry it.
    public var publicKeyBytes: Data { privateKey.publicKey.rawRepresentation }

    /// The signature of `message`: 64 bytes.
    public func sign(_ message: Data) -> Data {
        // Signing with a valid key only fails if BoringSSL cannot allocate.
        try! privateKey.signature(for: message)
    }
}

/// Checks a signature with a public key given as its 32 raw bytes.
public enum Signatures {
    /// Whether `signature` is `publicKey`'s signature of `message`; false for a key or signature
    /// that is not well formed.
    public static func verify(_ signature: Data, of message: Data, publicKey: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
