import Foundation
import Identity

/// One order a node served: the limit it acted under and the bytes it moved (stored for an
/// upload, sent for a download).
public struct ServedOrder: Sendable, Equatable {
    public var limit: OrderLimit
    public var amount: Int64

    public init(limit: OrderLimit, amount: Int64) {
        self.limit = limit
        self.amount = amount
    }
}

/// A node's batch of served orders, signed with its identity, as `POST /v1/orders/settle` takes
/// it (Storj's `Orders.SettlementWithWindow`): the satellite pays for bandwidth only to the node the
/// limits name, and only once a serial.
public struct SettlementRequest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// The encoded ``OrderLimit``, base64 in JSON.
        public var limit: Data
        public var amount: Int64

        public init(limit: Data, amount: Int64) {
            self.limit = limit
            self.amount = amount
        }
    }

    /// 64 hexadecimal digits.
    public var nodeID: String
    /// When the node signed, in seconds since 1970.
    public var signedAt: Int64
    public var orders: [Entry]
    /// 128 hexadecimal digits: the node's signature of ``message(nodeID:signedAt:orders:)``.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", signedAt = "signed_at", orders, signature
    }

    /// The most orders one request carries.
    public static let maxOrders = 1000

    /// A request as it arrived, its signature not yet checked.
    public init(nodeID: String, signedAt: Int64, orders: [Entry], signature: String) {
        self.nodeID = nodeID
        self.signedAt = signedAt
        self.orders = orders
        self.signature = signature
    }

    /// `orders` signed by `identity` at `date`.
    public init(identity: PeerIdentity, orders: [ServedOrder], at date: Date = Date()) {
        nodeID = identity.id.hex
        signedAt = Int64(date.timeIntervalSince1970.rounded(.down))
        self.orders = orders.map { Entry(limit: $0.limit.encoded, amount: $0.amount) }
        signature = Hex.encode(identity.sign(Self.message(nodeID: identity.id, signedAt: signedAt, orders: self.orders)))
    }

    /// The request body.
    public var json: Data {
        // Strings, integers and bytes always encode.
        try! JSONEncoder().encode(self)
    }

    /// The bytes signed: a tag no other signed message starts with, the node, the time, the
    /// count, then each limit (fixed width) and its amount.
    public static func message(nodeID: NodeID, signedAt: Int64, orders: [Entry]) -> Data {
        var message = Data("storagenode settlement v1\u{0}".utf8)
        message += nodeID.bytes
        withUnsafeBytes(of: signedAt.bigEndian) { message += $0 }
        withUnsafeBytes(of: Int64(orders.count).bigEndian) { message += $0 }
        for order in orders {
            withUnsafeBytes(of: Int64(order.limit.count).bigEndian) { message += $0 }
            message += order.limit
            withUnsafeBytes(of: order.amount.bigEndian) { message += $0 }
        }
        return message
    }
}

/// What the satellite made of a settlement: how many orders it recorded, and why it refused the
/// others (by their index in the request).
public struct SettlementResult: Codable, Sendable, Equatable {
    public struct Refusal: Codable, Sendable, Equatable {
        /// Why one order was not recorded.
        public enum Reason: String, Codable, Sendable, Error {
            /// Not an encoded order limit.
            case malformed
            /// The limit is not signed by this satellite.
            case notSignedHere = "not_signed_here"
            /// The limit is for another node than the one settling it.
            case otherNode = "other_node"
            /// The amount is negative or past the limit.
            case beyondLimit = "beyond_limit"
            /// The limit expired longer ago than the satellite's settlement grace.
            case tooLate = "too_late"
            /// The serial was settled before; it is paid once.
            case alreadySettled = "already_settled"
        }

        public var index: Int
        public var reason: Reason

        public init(index: Int, reason: Reason) {
            self.index = index
            self.reason = reason
        }
    }

    public var accepted: Int
    public var refused: [Refusal]

    public init(accepted: Int, refused: [Refusal]) {
        self.accepted = accepted
        self.refused = refused
    }
}
