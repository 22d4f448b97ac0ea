import Foundation
import Identity

/// Why a node refused an order limit or what was sent under it. Each has a `code` a client can act
/// on and a message a person can read (the piece protocol sends both).
public enum OrderLimitRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// The limit is for another node.
    case wrongNode(limitFor: NodeID)
    /// The limit's action is not one the request may be made under (a PUT limit for a download).
    case wrongAction(OrderLimit.Action, allowed: [OrderLimit.Action])
    /// Signed by a satellite this node does not trust, or its key does not hash to its id.
    case untrustedSatellite(NodeID)
    case badSignature
    case orderExpired(at: Int64)
    case pieceExpired(at: Int64)
    /// Made longer ago, or further ahead, than the node's clock allows.
    case createdTooFarInPast(seconds: Int64)
    case createdInFuture(seconds: Int64)
    /// The serial was used before: a limit is good for one request.
    case serialUsed(String)
    case negativeLimit(Int64)
    /// More bytes sent than the limit allows.
    case beyondLimit(limit: Int64, sent: Int64)
    /// The uplink's signed hash is not of what was sent, is unsigned by the limit's uplink key, or
    /// gives another size.
    case hashMismatch
    case sizeMismatch(signed: Int64, received: Int64)
    case uplinkSignatureInvalid
    /// The node has no room for the piece.
    case notEnoughSpace(free: Int64, limit: Int64)

    /// A short stable name, as `wrong_node`.
    public var code: String {
        switch self {
        case .malformed: "malformed"
        case .wrongNode: "wrong_node"
        case .wrongAction: "wrong_action"
        case .untrustedSatellite: "untrusted_satellite"
        case .badSignature: "bad_signature"
        case .orderExpired: "order_expired"
        case .pieceExpired: "piece_expired"
        case .createdTooFarInPast: "created_too_far_in_past"
        case .createdInFuture: "created_in_future"
        case .serialUsed: "serial_used"
        case .negativeLimit: "negative_limit"
        case .beyondLimit: "beyond_limit"
        case .hashMismatch: "hash_mismatch"
        case .sizeMismatch: "size_mismatch"
        case .uplinkSignatureInvalid: "uplink_signature_invalid"
        case .notEnoughSpace: "not_enough_space"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): "malformed order limit: \(why)"
        case .wrongNode(let node): "the order limit is for node \(node), not this one"
        case .wrongAction(let action, let allowed): "a \(action) order limit; this request takes \(allowed.map(\.description).joined(separator: " or "))"
        case .untrustedSatellite(let satellite): "the order limit's satellite \(satellite) is not one this node trusts, or its key is not that satellite's"
        case .badSignature: "the satellite's signature of the order limit does not verify"
        case .orderExpired(let at): "the order limit expired at \(at) (seconds since 1970)"
        case .pieceExpired(let at): "the piece expired at \(at) (seconds since 1970)"
        case .createdTooFarInPast(let seconds): "the order limit was made \(seconds) s ago; too long ago for this node's clock"
        case .createdInFuture(let seconds): "the order limit was made \(seconds) s ahead of this node's clock"
        case .serialUsed(let serial): "serial \(serial) was used before"
        case .negativeLimit(let limit): "the order limit allows \(limit) bytes"
        case .beyondLimit(let limit, let sent): "\(sent) bytes sent; the order limit allows \(limit)"
        case .hashMismatch: "the uplink's hash is not the hash of the bytes received"
        case .sizeMismatch(let signed, let received): "the uplink's hash says \(signed) bytes; \(received) were received"
        case .uplinkSignatureInvalid: "the uplink's hash is not signed by the order limit's uplink key"
        case .notEnoughSpace(let free, let limit): "the node has \(free) bytes free; the order limit allows \(limit)"
        }
    }
}
