import Foundation
import Identity
import NodeProtocol
import PeerRuntime
import SatelliteDB

/// The satellite's checks of a node's settlement (Storj's satellite/orders/endpoint.go): the
/// request is signed by the node's key, and each order is under a limit this satellite signed for
/// that node, still settleable, for no more than the limit allowed.
public struct SettlementCheck: Sendable {
    public let signer: OrderSigner
    /// How far `signed_at` may be from the satellite's clock.
    public let maxClockSkew: Int64

    public init(signer: OrderSigner, maxClockSkew: Int64) {
        self.signer = signer
        self.maxClockSkew = maxClockSkew
    }

    /// Why a whole request is refused.
    public enum RequestRefusal: Error, Equatable, CustomStringConvertible {
        case malformedNodeID
        case tooManyOrders(Int)
        case unknownNode(NodeID)
        case clockSkew(seconds: Int64, allowed: Int64)
        case badSignature

        public var description: String {
            switch self {
            case .malformedNodeID: "field \"node_id\" must be 64 lowercase hexadecimal digits"
            case .tooManyOrders(let count): "\(count) orders; a settlement carries at most \(SettlementRequest.maxOrders)"
            case .unknownNode(let node): "node \(node) has not checked in with a signed check-in"
            case .clockSkew(let seconds, let allowed): "signed_at is \(seconds) s from the satellite's clock; at most \(allowed) s is accepted"
            case .badSignature: "signature does not verify with the node's key over this settlement"
            }
        }
    }

    /// The node a request is from, once its signature proves it.
    /// - Parameter publicKey: looks up the key the node's check-ins showed.
    public func node(of request: SettlementRequest, now: Date, publicKey: (NodeID) async throws -> Data?) async throws -> NodeID {
        guard let node = NodeID(hex: request.nodeID) else { throw RequestRefusal.malformedNodeID }
        guard request.orders.count <= SettlementRequest.maxOrders else { throw RequestRefusal.tooManyOrders(request.orders.count) }
        // A signed_at far from any clock must not overflow the subtraction.
        let (skew, overflowed) = Int64(now.timeIntervalSince1970.rounded(.down)).subtractingReportingOverflow(request.signedAt)
        guard !overflowed, skew.magnitude <= maxClockSkew.magnitude else {
            throw RequestRefusal.clockSkew(seconds: overflowed ? .max : skew, allowed: maxClockSkew)
        }
        guard let key = try await publicKey(node) else { throw RequestRefusal.unknownNode(node) }
        guard let signature = Hex.decode(request.signature, count: 64),
            Signatures.verify(signature, of: SettlementRequest.message(nodeID: node, signedAt: request.signedAt, orders: request.orders), publicKey: key)
        else { throw RequestRefusal.badSignature }
        return node
    }

    /// One order as it will be recorded, or why it is refused.
    public func order(_ entry: SettlementRequest.Entry, from node: NodeID, now: Date) -> Result<SettledOrder, SettlementResult.Refusal.Reason> {
        guard let limit = try? OrderLimit(decoding: entry.limit) else { return .failure(.malformed) }
        guard limit.satelliteID == signer.identity.id, limit.satellitePublicKey == signer.identity.publicKeyBytes,
            Signatures.verify(limit.satelliteSignature, of: limit.signedBytes, publicKey: limit.satellitePublicKey)
        else { return .failure(.notSignedHere) }
        guard limit.storageNodeID == node else { return .failure(.otherNode) }
        guard (0...limit.limit).contains(entry.amount) else { return .failure(.beyondLimit) }
        let until = Date(timeIntervalSince1970: TimeInterval(limit.orderExpiration)) + signer.config.settlementGrace.timeInterval
        guard now <= until else { return .failure(.tooLate) }
        guard let metadata = signer.metadata(of: limit) else { return .failure(.notSignedHere) }
        return .success(SettledOrder(
            serial: limit.serial, node: node.bytes, project: metadata.project, bucket: metadata.bucket, action: limit.action.description,
            amount: entry.amount, settleableUntil: until
        ))
    }
}
