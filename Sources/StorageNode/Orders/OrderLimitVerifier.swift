import Foundation
import Identity
import NodeProtocol

/// Every check a node makes of an order limit before it acts on it (Storj's
/// storagenode/piecestore/verification.go): for this node, from a trusted satellite whose key
/// signed it, an allowed action, not expired, made within the node's clock skew, and a serial not
/// used before.
public struct OrderLimitVerifier: Sendable {
    public let node: NodeID
    public let trustedSatellites: Set<NodeID>
    /// How far an order's creation may be from the node's clock, either way.
    public let maxClockSkew: Int64
    public let usedSerials: UsedSerials

    public init(node: NodeID, trustedSatellites: Set<NodeID>, maxClockSkew: Int64 = 3600, usedSerials: UsedSerials = UsedSerials()) {
        self.node = node
        self.trustedSatellites = trustedSatellites
        self.maxClockSkew = maxClockSkew
        self.usedSerials = usedSerials
    }

    /// Nil when the limit may be acted on for one of `actions` (its serial is then used up), or
    /// why not. The serial is claimed last, so a limit refused for another reason can be sent again.
    public func verify(_ limit: OrderLimit, for actions: Set<OrderLimit.Action>, now: Date = Date()) -> OrderLimitRefusal? {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        guard limit.serial.count == 16 else { return .malformed("the serial is not 16 bytes") }
        guard limit.limit >= 0 else { return .negativeLimit(limit.limit) }
        guard limit.storageNodeID == node else { return .wrongNode(limitFor: limit.storageNodeID) }
        guard actions.contains(limit.action) else {
            return .wrongAction(limit.action, allowed: actions.sorted { $0.rawValue < $1.rawValue })
        }
        guard trustedSatellites.contains(limit.satelliteID), NodeID.hash(ofPublicKey: limit.satellitePublicKey) == limit.satelliteID.bytes else {
            return .untrustedSatellite(limit.satelliteID)
        }
        guard Signatures.verify(limit.satelliteSignature, of: limit.signedBytes, publicKey: limit.satellitePublicKey) else { return .badSignature }
        guard limit.orderExpiration > seconds else { return .orderExpired(at: limit.orderExpiration) }
        guard limit.pieceExpiration == 0 || limit.pieceExpiration > seconds else { return .pieceExpired(at: limit.pieceExpiration) }
        guard seconds - limit.orderCreation <= maxClockSkew else { return .createdTooFarInPast(seconds: seconds - limit.orderCreation) }
        guard limit.orderCreation - seconds <= maxClockSkew else { return .createdInFuture(seconds: limit.orderCreation - seconds) }
        guard usedSerials.claim(limit.serial, expiration: limit.orderExpiration, now: seconds) else { return .serialUsed(Hex.encode(limit.serial)) }
        return nil
    }
}
