import Crypto
import Foundation
import Identity
import Testing

@Suite("Identities: keys on disk, ids from keys, signatures")
struct IdentityTests {
    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "identity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    @Test("a key file is created 0600 whatever the umask, reads back the same, and is never overwritten")
    func createAndLoad() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/identity.key"
        let previous = umask(0)
        defer { umask(previous) }
        let created = try IdentityFile.create(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(IdentityFile.isReadableByOthers(path) == false)
        let loaded = try IdentityFile.load(from: path)
        #expect(loaded.id == created.id)
        #expect(loaded.publicKey.rawRepresentation == created.publicKey.rawRepresentation)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: IdentityFileError(path: path, problem: "already exists; an identity is never overwritten")) { try IdentityFile.create(at: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let text = String(decoding: before, as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----\n") && text.hasSuffix("-----END PRIVATE KEY-----\n"))
    }

    @Test("openssl reads the key file and finds the same public key", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func opensslReadsIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = try IdentityFile.create(at: directory + "/identity.key")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["pkey", "-in", directory + "/identity.key", "-pubout", "-outform", "DER"]
        let output = Pipe()
        openssl.standardOutput = output
        try openssl.run()
        let der = output.fileHandleForReading.readDataToEndOfFile()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        // SubjectPublicKeyInfo for Ed25519: 12 bytes of header, then the 32-byte key.
        #expect(der.suffix(32) == identity.publicKey.rawRepresentation)
    }

    @Test("an id is the SHA-256 of the public key, and only that key proves it")
    func idFromKey() throws {
        let identity = PeerIdentity.generate()
        #expect(identity.id.bytes == Data(SHA256.hash(data: identity.publicKey.rawRepresentation)))
        #expect(identity.id.isProved(by: identity.publicKey))
        #expect(!identity.id.isProved(by: PeerIdentity.generate().publicKey))
        #expect(NodeID(hex: identity.id.hex) == identity.id)
        #expect(NodeID(hex: "00") == nil && NodeID(bytes: Data(count: 31)) == nil)
    }

    @Test("a signature verifies with its key and message only")
    func signatures() throws {
        let identity = PeerIdentity.generate()
        let message = Data("check-in".utf8)
        let signature = identity.sign(message)
        #expect(signature.count == 64)
        #expect(Signatures.verify(signature, of: message, publicKey: identity.publicKey.rawRepresentation))
        #expect(!Signatures.verify(signature, of: Data("check-out".utf8), publicKey: identity.publicKey.rawRepresentation))
        #expect(!Signatures.verify(signature, of: message, publicKey: PeerIdentity.generate().publicKey.rawRepresentation))
        var bent = signature
        bent[10] ^= 1
        #expect(!Signatures.verify(bent, of: message, publicKey: identity.publicKey.rawRepresentation))
        #expect(!Signatures.verify(signature, of: message, publicKey: Data(count: 5)))
    }

    @Test("a file that is not a key is refused with its path and what is wrong")
    func badFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("hello", "is not a PEM private key (-----BEGIN PRIVATE KEY-----)"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "is not a PKCS#8 Ed25519 private key"),
        ]
        for (index, (content, problem)) in cases.enumerated() {
            let path = directory + "/bad\(index).key"
            try content.write(toFile: path, atomically: false, encoding: .utf8)
            #expect(throws: IdentityFileError(path: path, problem: problem)) { try IdentityFile.load(from: path) }
        }
        #expect(throws: IdentityFileError(path: directory + "/none.key", problem: "does not exist; create it with setup")) {
            try IdentityFile.load(from: directory + "/none.key")
        }
    }
}
