import Crypto
import CryptoExtras
import Foundation
import Identity

/// The key every other key of an access is derived from: scrypt of the user's passphrase, salted
/// with the satellite's id, so that one passphrase gives one key per satellite and a table of
/// passphrases made for one satellite is no use against another. (Storj salts with the project's
/// id and uses Argon2id, which swift-crypto does not have; scrypt is as memory-hard.)
public enum RootKey {
    /// scrypt's cost: N = 2^15, r = 8, p = 1, 32 MiB of memory and about a tenth of a second.
    static let rounds = 1 << 15

    /// - Throws: what swift-crypto throws for parameters it refuses (never for these).
    public static func derive(passphrase: String, satellite: NodeID) throws -> SymmetricKey {
        try KDF.Scrypt.deriveKey(
            from: Array(passphrase.utf8), salt: Array("satellite uplink root key v1".utf8) + satellite.bytes, outputByteCount: 32,
            rounds: rounds, blockSize: 8, parallelism: 1
        )
    }

    /// A key derived from `key` for one use, named by `purpose` and `context`.
    static func derive(from key: SymmetricKey, purpose: String, _ context: some DataProtocol = Data()) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array("\(purpose)\u{0}".utf8) + Array(context), outputByteCount: 32)
    }
}
