import Crypto
import Foundation

/// Object keys encrypted one path component at a time (Storj's path encryption): component `i` is
/// encrypted with a key derived from the bucket's key and the plaintext of the components before
/// it, deterministically (AES-GCM under a nonce that is the component's own HMAC, a synthetic IV),
/// so that the same key always encrypts the same, and a prefix that ends at `/` encrypts to the
/// prefix of every key under it: listing by such a prefix still works, and the satellite sees no
/// plaintext name. Encrypted components are base64url without padding, which has no `/`.
public struct PathCipher: Sendable {
    let bucketKey: SymmetricKey
    public let bucket: String

    public init(root: SymmetricKey, bucket: String) {
        self.bucket = bucket
        bucketKey = RootKey.derive(from: root, purpose: "bucket", Array(bucket.utf8))
    }

    /// The encrypted form of `key`.
    public func encrypt(_ key: String) -> String {
        var componentKey = bucketKey
        return key.split(separator: "/", omittingEmptySubsequences: false).map { component in
            let plain = Array(component.utf8)
            let nonce = Array(HMAC<SHA256>.authenticationCode(for: plain, using: componentKey)).prefix(12)
            // A 12-byte nonce and a 256-bit key are always accepted.
            let box = try! AES.GCM.seal(plain, using: componentKey, nonce: try! AES.GCM.Nonce(data: nonce))
            defer { componentKey = Self.next(componentKey, after: plain) }
            return Self.base64url(Data(nonce) + box.ciphertext + box.tag)
        }.joined(separator: "/")
    }

    /// The key `encrypted` is the encrypted form of.
    /// - Throws: ``UplinkError/undecryptableKey(bucket:encrypted:)`` when a component does not
    ///   decrypt with these keys.
    public func decrypt(_ encrypted: String) throws(UplinkError) -> String {
        var componentKey = bucketKey
        var components: [String] = []
        for component in encrypted.split(separator: "/", omittingEmptySubsequences: false) {
            guard let bytes = Self.unbase64url(String(component)), bytes.count >= 28,
                let box = try? AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: bytes.prefix(12)), ciphertext: bytes.dropFirst(12).dropLast(16), tag: bytes.suffix(16)),
                let plain = try? AES.GCM.open(box, using: componentKey), let text = String(bytes: plain, encoding: .utf8)
            else { throw .undecryptableKey(bucket: bucket, encrypted: encrypted) }
            components.append(text)
            componentKey = Self.next(componentKey, after: Array(plain))
        }
        return components.joined(separator: "/")
    }

    /// The encrypted prefix that lists the keys under `prefix`, which is empty or ends at `/`; nil
    /// for another prefix, which matches no whole encrypted component (list under its last `/`
    /// and filter).
    public func encryptPrefix(_ prefix: String) -> String? {
        guard !prefix.isEmpty else { return "" }
        guard prefix.hasSuffix("/") else { return nil }
        let encrypted = encrypt(String(prefix.dropLast()))
        return encrypted + "/"
    }

    /// The key for the component after `plain`.
    private static func next(_ key: SymmetricKey, after plain: [UInt8]) -> SymmetricKey {
        RootKey.derive(from: key, purpose: "path component", plain)
    }

    /// The key an object's content keys come from: the last component's, so that it depends on
    /// the whole key.
    func contentRoot(of key: String) -> SymmetricKey {
        var componentKey = bucketKey
        for component in key.split(separator: "/", omittingEmptySubsequences: false) {
            componentKey = Self.next(componentKey, after: Array(component.utf8))
        }
        return RootKey.derive(from: componentKey, purpose: "content root")
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
