import Foundation
import Identity

/// The satellite's permission for one action on one piece at one node, signed with its key: a
/// node stores, serves or deletes a piece only under one (Storj's `OrderLimit`, pb/orders.proto).
public struct OrderLimit: Sendable, Equatable {
    public enum Action: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case put = 1
        case get = 2
        case getAudit = 3
        case getRepair = 4
        case putRepair = 5
        case delete = 6

        public var description: String {
            switch self {
            case .put: "PUT"
            case .get: "GET"
            case .getAudit: "GET_AUDIT"
            case .getRepair: "GET_REPAIR"
            case .putRepair: "PUT_REPAIR"
            case .delete: "DELETE"
            }
        }

        /// The actions an upload may be made under.
        public static let uploads: Set<Action> = [.put, .putRepair]
        /// The actions a download may be made under.
        public static let downloads: Set<Action> = [.get, .getAudit, .getRepair]
    }

    /// 16 random bytes; a node accepts each serial once.
    public var serial: Data
    public var satelliteID: NodeID
    /// The satellite's Ed25519 public key: the node checks that it hashes to `satelliteID` (one of
    /// those it trusts) and that it verifies ``satelliteSignature``.
    public var satellitePublicKey: Data
    /// The key the uplink signs this piece's hash with (a key of its own for the segment).
    public var uplinkPublicKey: Data
    public var storageNodeID: NodeID
    public var pieceID: PieceID
    public var action: Action
    /// The most bytes the action may move.
    public var limit: Int64
    /// When the piece may be deleted, in seconds since 1970; 0 for never.
    public var pieceExpiration: Int64
    /// When this limit stops being good, in seconds since 1970.
    public var orderExpiration: Int64
    /// When the satellite made it, in seconds since 1970.
    public var orderCreation: Int64
    /// What the satellite needs back when the node settles the order (the bucket it is billed
    /// to), sealed with a key only the satellite has: opaque to nodes and uplinks
    /// (``metadataSize`` bytes; Storj's `encrypted_metadata`).
    public var encryptedMetadata: Data
    /// The satellite's signature of ``signedBytes``.
    public var satelliteSignature: Data

    /// The bytes of the sealed metadata.
    public static let metadataSize = 108
    /// The bytes of an encoded limit: a version byte, the fields at fixed widths, the signature.
    public static let encodedSize = 1 + 16 + 32 + 32 + 32 + 32 + 32 + 1 + 8 * 4 + metadataSize + 64
    private static let tag = Data("satellite order limit v1\u{0}".utf8)

    public init(
        serial: Data, satelliteID: NodeID, satellitePublicKey: Data, uplinkPublicKey: Data, storageNodeID: NodeID, pieceID: PieceID,
        action: Action, limit: Int64, pieceExpiration: Int64, orderExpiration: Int64, orderCreation: Int64, encryptedMetadata: Data = Data(),
        satelliteSignature: Data = Data()
    ) {
        self.serial = serial
        self.satelliteID = satelliteID
        self.satellitePublicKey = satellitePublicKey
        self.uplinkPublicKey = uplinkPublicKey
        self.storageNodeID = storageNodeID
        self.pieceID = pieceID
        self.action = action
        self.limit = limit
        self.pieceExpiration = pieceExpiration
        self.orderExpiration = orderExpiration
        self.orderCreation = orderCreation
        // Held at its encoded width, so that a limit equals itself decoded.
        self.encryptedMetadata = Self.fixed(encryptedMetadata, Self.metadataSize)
        self.satelliteSignature = satelliteSignature
    }

    /// A limit made and signed by `satellite`.
    public static func signed(
        by satellite: PeerIdentity, serial: Data, uplinkPublicKey: Data, storageNodeID: NodeID, pieceID: PieceID, action: Action,
        limit: Int64, pieceExpiration: Int64 = 0, orderExpiration: Int64, orderCreation: Int64, encryptedMetadata: Data = Data()
    ) -> OrderLimit {
        var order = OrderLimit(
            serial: serial, satelliteID: satellite.id, satellitePublicKey: satellite.publicKeyBytes, uplinkPublicKey: uplinkPublicKey,
            storageNodeID: storageNodeID, pieceID: pieceID, action: action, limit: limit, pieceExpiration: pieceExpiration,
            orderExpiration: orderExpiration, orderCreation: orderCreation, encryptedMetadata: encryptedMetadata
        )
        order.satelliteSignature = satellite.sign(order.signedBytes)
        return order
    }

    /// What the satellite signs: a tag no other signed message starts with, then every field.
    public var signedBytes: Data {
        Self.tag + fields
    }

    /// The limit as it travels and as a piece's header keeps it (``encodedSize`` bytes).
    public var encoded: Data {
        Data([1]) + fields + satelliteSignature
    }

    private var fields: Data {
        var data = Data()
        data += Self.fixed(serial, 16)
        data += satelliteID.bytes
        data += Self.fixed(satellitePublicKey, 32)
        data += Self.fixed(uplinkPublicKey, 32)
        data += storageNodeID.bytes
        data += pieceID.bytes
        data.append(action.rawValue)
        for value in [limit, pieceExpiration, orderExpiration, orderCreation] {
            withUnsafeBytes(of: value.bigEndian) { data += $0 }
        }
        data += Self.fixed(encryptedMetadata, Self.metadataSize)
        return data
    }

    /// Decodes ``encoded``.
    /// - Throws: ``OrderLimitRefusal/malformed(_:)`` naming what is wrong.
    public init(decoding data: Data) throws(OrderLimitRefusal) {
        let bytes = [UInt8](data)
        guard bytes.count == Self.encodedSize else { throw .malformed("an order limit is \(Self.encodedSize) bytes, not \(bytes.count)") }
        guard bytes[0] == 1 else { throw .malformed("order limit version \(bytes[0]) is not 1") }
        var offset = 1
        func take(_ count: Int) -> Data {
            defer { offset += count }
            return Data(bytes[offset..<offset + count])
        }
        func integer() -> Int64 {
            take(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        let serial = take(16)
        let satelliteID = NodeID(bytes: take(32))!
        let satelliteKey = take(32)
        let uplinkKey = take(32)
        let nodeID = NodeID(bytes: take(32))!
        let pieceID = PieceID(bytes: take(32))!
        let actionByte = take(1)[0]
        guard let action = Action(rawValue: actionByte) else { throw .malformed("action \(actionByte) is none of 1 to 6") }
        let limit = integer()
        let pieceExpiration = integer()
        let orderExpiration = integer()
        let orderCreation = integer()
        let metadata = take(Self.metadataSize)
        self.init(
            serial: serial, satelliteID: satelliteID, satellitePublicKey: satelliteKey, uplinkPublicKey: uplinkKey, storageNodeID: nodeID,
            pieceID: pieceID, action: action, limit: limit, pieceExpiration: pieceExpiration, orderExpiration: orderExpiration,
            orderCreation: orderCreation, encryptedMetadata: metadata, satelliteSignature: take(64)
        )
    }

    /// `data` cut or zero-padded to `count` bytes, so the layout stays fixed; a field of the wrong
    /// length fails the signature or the checks instead.
    private static func fixed(_ data: Data, _ count: Int) -> Data {
        data.count >= count ? data.prefix(count) : data + Data(count: count - data.count)
    }
}
