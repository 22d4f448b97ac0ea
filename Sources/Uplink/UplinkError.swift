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
    /// The satellite refused a request, in its own words.
    case satellite(operation: String, status: Int, code: String, message: String)
    /// The satellite could not be reached or answered what the document does not say.
    case unreachable(operation: String, reason: String)
    /// A node refused or failed a piece transfer.
    case node(address: String, what: String, reason: String)
    /// Too few nodes stored a piece of a segment for it to be committed.
    case notEnoughStored(bucket: String, key: String, segment: Int, stored: Int, needed: Int, offered: Int, failures: [String])
    /// Too few nodes served a piece of a segment for it to be rebuilt.
    case notEnoughServed(bucket: String, key: String, segment: Int, served: Int, needed: Int, asked: Int, failures: [String])
    /// The data to upload ended before the size given.
    case sourceShort(key: String, expected: Int, got: Int)
    /// A segment that does not decode: its pieces do not agree.
    case undecodable(bucket: String, key: String, segment: Int, reason: String)

    public var description: String {
        switch self {
        case .badAccess(let why): "the access cannot be used: \(why)"
        case .undecryptableKey(let bucket, let encrypted):
            "an object key in bucket \"\(bucket)\" does not decrypt with this access (\(encrypted.prefix(40))...): another passphrase made it"
        case .undecryptableContent(let bucket, let key, let segment, let block):
            "sj://\(bucket)/\(key): segment \(segment), block \(block) does not decrypt: altered, or stored with another passphrase"
        case .keyTooLong(let key, let length, let limit):
            "the key \"\(key.prefix(60))\" is \(length) characters once encrypted; the satellite takes at most \(limit)"
        case .satellite(let operation, let status, let code, let message): "the satellite refused \(operation) (\(status) \(code)): \(message)"
        case .unreachable(let operation, let reason): "the satellite did not answer \(operation): \(reason)"
        case .node(let address, let what, let reason): "node \(address) failed \(what): \(reason)"
        case .notEnoughStored(let bucket, let key, let segment, let stored, let needed, let offered, let failures):
            "sj://\(bucket)/\(key): segment \(segment) was stored on \(stored) of the \(offered) nodes offered; \(needed) are needed"
                + (failures.isEmpty ? "" : " (" + failures.prefix(5).joined(separator: "; ") + (failures.count > 5 ? "; and \(failures.count - 5) more" : "") + ")")
        case .notEnoughServed(let bucket, let key, let segment, let served, let needed, let asked, let failures):
            "sj://\(bucket)/\(key): segment \(segment) was served by \(served) of the \(asked) nodes asked; \(needed) are needed"
                + (failures.isEmpty ? "" : " (" + failures.prefix(5).joined(separator: "; ") + (failures.count > 5 ? "; and \(failures.count - 5) more" : "") + ")")
        case .sourceShort(let key, let expected, let got): "the data for \(key) ended after \(got) of \(expected) bytes"
        case .undecodable(let bucket, let key, let segment, let reason): "sj://\(bucket)/\(key): segment \(segment) does not decode: \(reason)"
        }
    }
}
