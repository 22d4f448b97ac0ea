import Foundation

/// What a stored piece's file says about the piece, in the 512 bytes before its content: the hash
/// of the content (SHA-256), when it was stored, the order limit it was uploaded under, and the
/// uplink's signature of the hash with the time the uplink signed it at, so that the node can show
/// later what it was asked to store (a repairer checks the piece it reads against it).
public struct PieceHeader: Sendable, Equatable {
    /// The bytes reserved at the start of every piece file.
    public static let size = 512
    private static let magic = Data("SNP1".utf8)

    public var hash: Data
    /// Seconds since 1970.
    public var storedAt: Int64
    /// The order limit as it was sent, opaque to the store.
    public var orderLimit: Data
    public var uplinkSignature: Data
    /// The `timestamp` of the uplink's signed hash (seconds since 1970); 0 in headers written
    /// before it was kept.
    public var uplinkTimestamp: Int64

    public init(hash: Data, storedAt: Int64, orderLimit: Data = Data(), uplinkSignature: Data = Data(), uplinkTimestamp: Int64 = 0) {
        self.hash = hash
        self.storedAt = storedAt
        self.orderLimit = orderLimit
        self.uplinkSignature = uplinkSignature
        self.uplinkTimestamp = uplinkTimestamp
    }

    /// The 512 bytes: `SNP1`, the time as a big-endian Int64, then the hash, the order limit, the
    /// signature and the uplink's timestamp (a big-endian Int64), each after its length as a
    /// big-endian UInt16; zeros after. An older header ends after the signature.
    /// - Throws: ``PieceStoreError/headerTooLarge(_:)`` when the fields do not fit.
    public func encoded() throws(PieceStoreError) -> Data {
        var data = Self.magic
        withUnsafeBytes(of: storedAt.bigEndian) { data += $0 }
        var timestamp = Data()
        withUnsafeBytes(of: uplinkTimestamp.bigEndian) { timestamp += $0 }
        for field in [hash, orderLimit, uplinkSignature, timestamp] {
            guard field.count <= Int(UInt16.max) else { throw .headerTooLarge(field.count) }
            withUnsafeBytes(of: UInt16(field.count).bigEndian) { data += $0 }
            data += field
        }
        guard data.count <= Self.size else { throw .headerTooLarge(data.count) }
        return data + Data(count: Self.size - data.count)
    }

    /// Reads the header from a file's first 512 bytes; nil when they are not one.
    public init?(decoding data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count >= Self.size, bytes.starts(with: Self.magic) else { return nil }
        var offset = 4
        func integer(_ width: Int) -> Int64? {
            guard offset + width <= Self.size else { return nil }
            defer { offset += width }
            return bytes[offset..<offset + width].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        func field() -> Data? {
            guard let length = integer(2), offset + Int(length) <= Self.size else { return nil }
            defer { offset += Int(length) }
            return Data(bytes[offset..<offset + Int(length)])
        }
        guard let storedAt = integer(8), let hash = field(), let orderLimit = field(), let signature = field() else { return nil }
        // Zeros here (a header from before the timestamp was kept) read as an empty field.
        let timestamp = field().flatMap { $0.count == 8 ? $0.reduce(Int64(0)) { $0 << 8 | Int64($1) } : nil } ?? 0
        self.init(hash: hash, storedAt: storedAt, orderLimit: orderLimit, uplinkSignature: signature, uplinkTimestamp: timestamp)
    }
}
