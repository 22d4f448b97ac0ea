import Foundation
import Identity

/// A storage node's check-in, signed with its key: the satellite accepts it only from the holder
/// of the key its id is the hash of, so nobody can check in, and take the place of, a node whose
/// key they lack.
public struct SignedCheckIn: Codable, Sendable, Equatable {
    public var nodeID: String
    public var address: String
    public var freeDisk: Int64
    public var version: String
    /// The node's Ed25519 public key, 64 hexadecimal digits; the node id is its SHA-256.
    public var publicKey: String
    /// When the node signed, in seconds since 1970: a signature is good for a bounded time.
    public var signedAt: Int64
    /// 128 hexadecimal digits: the signature of ``message(nodeID:address:freeDisk:version:signedAt:)``.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", address, freeDisk = "free_disk", version, publicKey = "public_key", signedAt = "signed_at", signature
    }

    /// A check-in signed by `identity` at `date`.
    public init(identity: PeerIdentity, address: String, freeDisk: Int64, version: String, at date: Date = Date()) {
        nodeID = identity.id.hex
        self.address = address
        self.freeDisk = freeDisk
        self.version = version
        publicKey = Hex.encode(identity.publicKeyBytes)
        signedAt = Int64(date.timeIntervalSince1970.rounded(.down))
        signature = Hex.encode(identity.sign(Self.message(nodeID: identity.id, address: address, freeDisk: freeDisk, version: version, signedAt: signedAt)))
    }

    /// The request body, as `POST /v1/contact/checkin` takes it.
    public var json: Data {
        // Encoding plain strings and integers cannot fail.
        try! JSONEncoder().encode(self)
    }

    /// The bytes signed: a tag that no other signed message of the network starts with, then
    /// every field, fixed-width or length-prefixed, so no two check-ins sign the same bytes.
    public static func message(nodeID: NodeID, address: String, freeDisk: Int64, version: String, signedAt: Int64) -> Data {
        var message = Data("storagenode check-in v1\u{0}".utf8)
        message += nodeID.bytes
        append(signedAt, to: &message)
        append(freeDisk, to: &message)
        for text in [address, version] {
            append(Int64(text.utf8.count), to: &message)
            message += Data(text.utf8)
        }
        return message
    }

    private static func append(_ value: Int64, to message: inout Data) {
        withUnsafeBytes(of: value.bigEndian) { message += $0 }
    }
}

/// Why a check-in's signature does not prove its node id.
public enum CheckInProofFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// `public_key` or `signature` is not hexadecimal of the right length.
    case malformed(field: String, expectedBytes: Int)
    /// The node id is not the SHA-256 of the public key.
    case keyDoesNotProveID
    /// Signed too long ago or too far ahead of the satellite's clock.
    case clockSkew(seconds: Int64, allowed: Int64)
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let field, let bytes): "field \"\(field)\" must be \(bytes * 2) lowercase hexadecimal digits"
        case .keyDoesNotProveID: "node_id is not the SHA-256 of public_key: a node id is proved by the key it is derived from"
        case .clockSkew(let seconds, let allowed): "signed_at is \(seconds) s from the satellite's clock; at most \(allowed) s is accepted"
        case .badSignature: "signature does not verify with public_key over this check-in"
        }
    }

    /// Nil when the check-in's fields are signed by the key that proves `nodeID`, at most
    /// `maxSkew` seconds from `now`.
    public static func check(
        nodeID: NodeID, address: String, freeDisk: Int64, version: String,
        publicKey: String, signedAt: Int64, signature: String, now: Date, maxSkew: Int64
    ) -> CheckInProofFailure? {
        guard let key = Hex.decode(publicKey, count: 32) else { return .malformed(field: "public_key", expectedBytes: 32) }
        guard let signatureBytes = Hex.decode(signature, count: 64) else { return .malformed(field: "signature", expectedBytes: 64) }
        guard nodeID.bytes == NodeID.hash(ofPublicKey: key) else { return .keyDoesNotProveID }
        // A signed_at far from any clock must not overflow the subtraction (it trapped the API).
        let (skew, overflowed) = Int64(now.timeIntervalSince1970.rounded(.down)).subtractingReportingOverflow(signedAt)
        guard !overflowed, skew.magnitude <= maxSkew.magnitude else { return .clockSkew(seconds: overflowed ? .max : skew, allowed: maxSkew) }
        let message = SignedCheckIn.message(nodeID: nodeID, address: address, freeDisk: freeDisk, version: version, signedAt: signedAt)
        guard Signatures.verify(signatureBytes, of: message, publicKey: key) else { return .badSignature }
        return nil
    }
}
