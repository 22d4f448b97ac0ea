import Crypto
import Foundation
import Identity
import NodeProtocol

/// What an order limit carries back to the satellite: the project and bucket its bandwidth is
/// billed to, sealed (AES-GCM) with a key derived from the satellite's identity, so that nodes and
/// uplinks see neither, and every peer holding the identity can open it.
public struct OrderMetadata: Sendable, Equatable {
    public var project: Data
    public var bucket: String

    public init(project: Data, bucket: String) {
        self.project = project
        self.bucket = bucket
    }

    /// 16 bytes of project id, the bucket name's length, the name padded to 63 bytes.
    private static let plainSize = 16 + 1 + 63

    /// The sealing key of `identity`.
    public static func key(of identity: PeerIdentity) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: identity.privateKey.rawRepresentation), info: Data("satellite order metadata v1".utf8), outputByteCount: 32
        )
    }

    /// The ``OrderLimit/metadataSize`` bytes a limit carries: nonce, ciphertext, tag.
    public func sealed(with key: SymmetricKey) -> Data {
        let name = Data(bucket.utf8.prefix(63))
        var plain = project.prefix(16) + Data(count: max(0, 16 - project.count))
        plain.append(UInt8(name.count))
        plain += name + Data(count: 63 - name.count)
        // AES-GCM with a random nonce cannot fail on a 32-byte key.
        let box = try! AES.GCM.seal(plain, using: key)
        return box.combined!
    }

    /// The metadata `sealed` held, or nil when it was not sealed with `key` or was altered.
    public init?(opening sealed: Data, with key: SymmetricKey) {
        guard sealed.count == OrderLimit.metadataSize,
            let box = try? AES.GCM.SealedBox(combined: sealed),
            let plain = try? AES.GCM.open(box, using: key), plain.count == Self.plainSize
        else { return nil }
        let bytes = [UInt8](plain)
        let length = Int(bytes[16])
        guard length <= 63, let bucket = String(bytes: bytes[17..<(17 + length)], encoding: .utf8) else { return nil }
        self.init(project: Data(bytes[0..<16]), bucket: bucket)
    }
}
