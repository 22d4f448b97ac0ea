import Crypto
import Foundation
import Identity
import Testing
import Uplink

/// The uplink's encryption: what the satellite is given is never plaintext, and what comes back
/// decrypts only with the access that sealed it.
@Suite("Encryption: keys, paths and content")
struct EncryptionTests {
    static let satellite = PeerIdentity.generate().id
    static let root = try! RootKey.derive(passphrase: "correct horse battery staple", satellite: satellite)

    @Test("one passphrase gives one root key a satellite, and another on another satellite")
    func rootKeys() throws {
        let again = try RootKey.derive(passphrase: "correct horse battery staple", satellite: Self.satellite)
        let elsewhere = try RootKey.derive(passphrase: "correct horse battery staple", satellite: PeerIdentity.generate().id)
        let other = try RootKey.derive(passphrase: "correct horse battery stable", satellite: Self.satellite)
        func bytes(_ key: SymmetricKey) -> Data { key.withUnsafeBytes { Data($0) } }
        #expect(bytes(again) == bytes(Self.root))
        #expect(bytes(elsewhere) != bytes(Self.root))
        #expect(bytes(other) != bytes(Self.root))
    }

    static func base64urlDecoded(_ text: Substring) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    @Test("keys encrypt a component at a time: deterministic, prefix-preserving at /, unreadable, and only this access's")
    func paths() throws {
        let cipher = PathCipher(root: Self.root, bucket: "photos")
        let keys = ["2026/cats/tom.jpg", "2026/cats/felix.jpg", "2026/dogs/rex.jpg", "2025/cats/tom.jpg", "notes", "a//b", "trailing/", "ünïcödé/名前"]
        for key in keys {
            let encrypted = cipher.encrypt(key)
            #expect(encrypted == cipher.encrypt(key), "deterministic")
            #expect(try cipher.decrypt(encrypted) == key)
            #expect(encrypted.split(separator: "/", omittingEmptySubsequences: false).count == key.split(separator: "/", omittingEmptySubsequences: false).count)
            // Compared as bytes: a component's text may turn up in base64 by chance (once in a
            // full run, "cats" did), its four bytes in the sealed bytes once in 2^32 places.
            let pairs = zip(key.split(separator: "/", omittingEmptySubsequences: false), encrypted.split(separator: "/", omittingEmptySubsequences: false))
            for (component, sealed) in pairs where component.utf8.count > 3 {
                let bytes = try #require(Self.base64urlDecoded(sealed), "\(sealed) is base64url")
                #expect(bytes.firstRange(of: Data(component.utf8)) == nil, "\(component) readable in \(sealed)")
            }
            #expect(encrypted.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 })
        }
        let prefix = try #require(cipher.encryptPrefix("2026/cats/"))
        let under = keys.filter { cipher.encrypt($0).hasPrefix(prefix) }
        #expect(under == ["2026/cats/tom.jpg", "2026/cats/felix.jpg"])
        #expect(cipher.encryptPrefix("2026/ca") == nil, "a prefix inside a component matches no encrypted prefix")
        #expect(cipher.encryptPrefix("") == "")
        // The same name in another bucket, or under another passphrase, is another ciphertext.
        #expect(PathCipher(root: Self.root, bucket: "videos").encrypt("notes") != cipher.encrypt("notes"))
        let stranger = PathCipher(root: try RootKey.derive(passphrase: "guess", satellite: Self.satellite), bucket: "photos")
        #expect(throws: UplinkError.undecryptableKey(bucket: "photos", encrypted: cipher.encrypt("notes"))) { try stranger.decrypt(cipher.encrypt("notes")) }
        #expect(throws: UplinkError.self) { try cipher.decrypt("not/base64!") }
    }

    @Test("content seals in 64 KiB blocks that open alone, and fail when altered, moved or another upload's")
    func content() throws {
        let path = PathCipher(root: Self.root, bucket: "b")
        let stream = Data((0..<16).map(UInt8.init))
        let cipher = ContentCipher(path: path, key: "k", streamID: stream)
        for size in [0, 1, ContentCipher.plainBlockSize - 1, ContentCipher.plainBlockSize, ContentCipher.plainBlockSize + 1, 3 * ContentCipher.plainBlockSize + 7] {
            let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let sealed = cipher.seal(plain, segment: 2)
            #expect(sealed.count == ContentCipher.sealedSize(ofPlain: size))
            #expect(ContentCipher.plainSize(ofSealed: sealed.count) == size)
            #expect(try cipher.open(sealed, segment: 2) == plain)
            if size > ContentCipher.plainBlockSize {
                // The second block alone.
                let second = sealed[ContentCipher.sealedBlockSize..<min(2 * ContentCipher.sealedBlockSize, sealed.count)]
                #expect(try cipher.open(second, segment: 2, firstBlock: 1) == Array(plain[ContentCipher.plainBlockSize..<min(2 * ContentCipher.plainBlockSize, size)]))
                #expect(throws: UplinkError.undecryptableContent(bucket: "b", key: "k", segment: 2, block: 0)) { try cipher.open(second, segment: 2, firstBlock: 0) }
            }
            if size > 0 {
                var altered = sealed
                altered[altered.count / 2] ^= 1
                #expect(throws: UplinkError.self) { try cipher.open(altered, segment: 2) }
                #expect(throws: UplinkError.self) { try cipher.open(sealed, segment: 3) }
                let otherUpload = ContentCipher(path: path, key: "k", streamID: Data(count: 16))
                #expect(otherUpload.seal(plain, segment: 2) != sealed)
                #expect(throws: UplinkError.self) { try otherUpload.open(sealed, segment: 2) }
            }
        }
        #expect(ContentCipher.plainSize(ofSealed: 10) == nil, "shorter than a tag")
    }

    @Test("an access round-trips as one word and refuses what is not one")
    func access() throws {
        let access = Access(satelliteURL: "http://127.0.0.1:7777", satelliteID: Self.satellite, apiKey: "key-123", rootKey: Self.root)
        let text = access.serialized
        #expect(text.hasPrefix("sa1") && !text.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "+" }))
        #expect(try Access(parsing: text + "\n") == access)
        #expect(throws: UplinkError.self) { try Access(parsing: "hello") }
        #expect(throws: UplinkError.self) { try Access(parsing: String(text.dropLast(5))) }
        #expect(throws: UplinkError.self) { try Access(parsing: "sa1" + "e30") }
    }
}
