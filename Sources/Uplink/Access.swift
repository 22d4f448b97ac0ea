import Crypto
import Foundation
import Identity

/// Everything an uplink needs to reach its data: the satellite's address and id, an API key, and
/// the root key derived from the passphrase, serialized as one string. It holds keys: whoever has
/// it reads and writes what it reaches, so it is kept as a secret (files of it are 0600).
public struct Access: Sendable, Equatable {
    public let satelliteURL: String
    public let satelliteID: NodeID
    public let apiKey: String
    public let rootKey: SymmetricKey

    /// The prefix of every serialized access, and its version.
    static let prefix = "sa1"

    public init(satelliteURL: String, satelliteID: NodeID, apiKey: String, rootKey: SymmetricKey) {
        self.satelliteURL = satelliteURL
        self.satelliteID = satelliteID
        self.apiKey = apiKey
        self.rootKey = rootKey
    }

    /// An access whose root key is derived from `passphrase` (scrypt: a tenth of a second).
    public static func derive(satelliteURL: String, satelliteID: NodeID, apiKey: String, passphrase: String) throws -> Access {
        Access(satelliteURL: satelliteURL, satelliteID: satelliteID, apiKey: apiKey, rootKey: try RootKey.derive(passphrase: passphrase, satellite: satelliteID))
    }

    private struct Fields: Codable {
        var satellite: String
        var satelliteID: String
        var apiKey: String
        var rootKey: String

        enum CodingKeys: String, CodingKey {
            case satellite, satelliteID = "satellite_id", apiKey = "api_key", rootKey = "root_key"
        }
    }

    /// `sa1` and the fields as base64url JSON: one word, safe in a shell and an environment variable.
    public var serialized: String {
        let fields = Fields(
            satellite: satelliteURL, satelliteID: satelliteID.hex, apiKey: apiKey,
            rootKey: rootKey.withUnsafeBytes { Data($0).base64EncodedString() }
        )
        // Strings always encode.
        return Self.prefix + PathCipher.base64url(try! JSONEncoder().encode(fields))
    }

    /// - Throws: ``UplinkError/badAccess(_:)`` saying what is wrong.
    public init(parsing text: String) throws(UplinkError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(Self.prefix) else { throw .badAccess("it does not start with \(Self.prefix); make one with uplink access create") }
        guard let json = PathCipher.unbase64url(String(trimmed.dropFirst(Self.prefix.count))),
            let fields = try? JSONDecoder().decode(Fields.self, from: json)
        else { throw .badAccess("it is cut short or altered") }
        guard let satellite = NodeID(hex: fields.satelliteID) else { throw .badAccess("its satellite id is not 64 hexadecimal digits") }
        guard let key = Data(base64Encoded: fields.rootKey), key.count == 32 else { throw .badAccess("its root key is not 32 bytes") }
        guard URL(string: fields.satellite)?.host != nil else { throw .badAccess("its satellite address \"\(fields.satellite)\" is not a URL") }
        self.init(satelliteURL: fields.satellite, satelliteID: satellite, apiKey: fields.apiKey, rootKey: SymmetricKey(data: key))
    }

    public static func == (left: Access, right: Access) -> Bool {
        left.satelliteURL == right.satelliteURL && left.satelliteID == right.satelliteID && left.apiKey == right.apiKey
            && left.rootKey.withUnsafeBytes { Data($0) } == right.rootKey.withUnsafeBytes { Data($0) }
    }
}
