import Foundation
import Identity

/// The satellite's word to a node about which of its pieces to keep (Storj's `Retain`): every
/// piece of this satellite the node stored before `createdBefore` that is certainly not in
/// `filter` may be trashed. Signed by the satellite, so no one else can make a node drop data.
public struct RetainRequest: Sendable, Equatable {
    public let satelliteID: NodeID
    public let satellitePublicKey: Data
    /// Seconds since 1970: pieces stored at or after it are kept whatever the filter says.
    public let createdBefore: Int64
    public let filter: BloomFilter
    public let signature: Data

    /// The request, signed by `satellite`.
    public static func signed(by satellite: PeerIdentity, createdBefore: Int64, filter: BloomFilter) -> RetainRequest {
        let unsigned = RetainRequest(
            satelliteID: satellite.id, satellitePublicKey: satellite.publicKeyBytes, createdBefore: createdBefore, filter: filter, signature: Data()
        )
        return RetainRequest(
            satelliteID: satellite.id, satellitePublicKey: satellite.publicKeyBytes, createdBefore: createdBefore, filter: filter,
            signature: satellite.sign(unsigned.signedBytes)
        )
    }

    /// What the signature covers: a context string and a zero byte, the satellite's id, the time
    /// as a big-endian Int64, and the encoded filter.
    public var signedBytes: Data {
        var data = Data("storagenode retain v1".utf8) + Data([0]) + satelliteID.bytes
        withUnsafeBytes(of: createdBefore.bigEndian) { data += $0 }
        return data + filter.encoded
    }

    /// Whether the satellite whose key it carries signed it, and that key is the satellite's id's.
    public var isSignedBySatellite: Bool {
        NodeID.hash(ofPublicKey: satellitePublicKey) == satelliteID.bytes && Signatures.verify(signature, of: signedBytes, publicKey: satellitePublicKey)
    }

    /// The id, the public key, the time, the signature, then the filter.
    public var encoded: Data {
        var data = satelliteID.bytes + satellitePublicKey
        withUnsafeBytes(of: createdBefore.bigEndian) { data += $0 }
        return data + signature + filter.encoded
    }

    /// Nil when `data` is not an encoded request.
    public init?(decoding data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count > 32 + 32 + 8 + 64, let id = NodeID(bytes: Data(bytes[0..<32])),
            let filter = BloomFilter(decoding: Data(bytes[136...]))
        else { return nil }
        satelliteID = id
        satellitePublicKey = Data(bytes[32..<64])
        createdBefore = bytes[64..<72].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        signature = Data(bytes[72..<136])
        self.filter = filter
    }

    private init(satelliteID: NodeID, satellitePublicKey: Data, createdBefore: Int64, filter: BloomFilter, signature: Data) {
        self.satelliteID = satelliteID
        self.satellitePublicKey = satellitePublicKey
        self.createdBefore = createdBefore
        self.filter = filter
        self.signature = signature
    }
}
