/// What went wrong in the uplink, naming the thing it went wrong with.
public enum UplinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An access string that cannot be read.
    case badAccess(String)
    /// An encrypted object key that does not decrypt with this access's keys.
    case undecryptableKey(bucket: String, encrypted: String)
    /// Encrypted content that does not authenticate: altered, or another key's.
    case undecryptableContent(bucket: String, key: String, segment: Int, block: Int)
    /// An object key whose encrypted form is longer than the satellite takes.
    case keyTooLong(key: String, encryptedLength: Int, limit: Int)

    public var description: String {
        switch self {
        case .badAccess(let why): "the access cannot be used: \(why)"
        case .undecryptableKey(let bucket, let encrypted):
            "an object key in bucket \"\(bucket)\" does not decrypt with this access (\(encrypted.prefix(40))...): another passphrase made it"
        case .undecryptableContent(let bucket, let key, let segment, let block):
            "sj://\(bucket)/\(key): segment \(segment), block \(block) does not decrypt: altered, or stored with another passphrase"
        case .keyTooLong(let key, let length, let limit):
            "the key \"\(key.prefix(60))\" is \(length) characters once encrypted; the satellite takes at most \(limit)"
        }
    }
}
