import Crypto
import Foundation

/// A peer's private key on disk: PKCS#8 in PEM (`-----BEGIN PRIVATE KEY-----`), the form
/// `openssl pkey` reads, created with mode 0600 whatever the umask and never overwritten.
public enum IdentityFile {
    /// The DER of a PKCS#8 Ed25519 private key up to its 32-byte seed (RFC 8410).
    private static let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// Generates an identity and writes its key to `path`.
    /// - Throws: ``IdentityFileError`` when the file exists (it is never overwritten) or cannot be written.
    @discardableResult
    public static func create(at path: String) throws(IdentityFileError) -> PeerIdentity {
        let identity = PeerIdentity.generate()
        let text = pem(identity.privateKey)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            throw IdentityFileError(path: path, problem: code == EEXIST ? "already exists; an identity is never overwritten" : String(cString: strerror(code)))
        }
        defer { close(descriptor) }
        // The mode given to open is cut by the umask; set it outright.
        guard fchmod(descriptor, 0o600) == 0 else { throw IdentityFileError(path: path, problem: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                let problem = String(cString: strerror(errno))
                unlink(path)
                throw IdentityFileError(path: path, problem: "writing: \(problem)")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else { throw IdentityFileError(path: path, problem: "fsync: \(String(cString: strerror(errno)))") }
        return identity
    }

    /// Reads the identity whose key is at `path`.
    /// - Throws: ``IdentityFileError`` naming the path and what is wrong with the file.
    public static func load(from path: String) throws(IdentityFileError) -> PeerIdentity {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IdentityFileError(path: path, problem: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist; create it with setup")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw IdentityFileError(path: path, problem: "is not text") }
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard text.contains("-----BEGIN PRIVATE KEY-----"), let der = Data(base64Encoded: body) else {
            throw IdentityFileError(path: path, problem: "is not a PEM private key (-----BEGIN PRIVATE KEY-----)")
        }
        guard der.count == prefix.count + 32, Array(der.prefix(prefix.count)) == prefix else {
            throw IdentityFileError(path: path, problem: "is not a PKCS#8 Ed25519 private key")
        }
        do {
            return PeerIdentity(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32)))
        } catch {
            throw IdentityFileError(path: path, problem: "holds an unusable key: \(error)")
        }
    }

    /// Whether anyone but the owner can read the file at `path` (nil when it cannot be looked at).
    public static func isReadableByOthers(_ path: String) -> Bool? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o077 != 0
    }

    static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        let base64 = (Data(prefix) + key.rawRepresentation).base64EncodedString()
        return "-----BEGIN PRIVATE KEY-----\n\(base64)\n-----END PRIVATE KEY-----\n"
    }
}

/// A key file that cannot be created or read, with its path.
public struct IdentityFileError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "identity \(path): \(problem)" }
}
