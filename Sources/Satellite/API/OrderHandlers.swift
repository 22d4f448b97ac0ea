import Foundation
import Identity
import NodeProtocol
import OpenAPIRuntime
import SatelliteAPI
import SatelliteDB

/// The settlement of orders by storage nodes.
extension APIHandlers {
    func settleOrders(_ input: Operations.SettleOrders.Input) async throws -> Operations.SettleOrders.Output {
        guard case .json(let body) = input.body else { return .badRequest(.init(body: .json(ErrorBody(.badRequest, "the body must be JSON")))) }
        let request = SettlementRequest(
            nodeID: body.nodeId, signedAt: body.signedAt, orders: body.orders.map { .init(limit: Data($0.limit.data), amount: $0.amount) },
            signature: body.signature
        )
        let now = Date()
        let node: NodeID
        do {
            node = try await settlement.node(of: request, now: now) { try await database.publicKey(ofNode: $0.bytes) }
        } catch let refusal as SettlementCheck.RequestRefusal {
            switch refusal {
            case .malformedNodeID, .tooManyOrders: return .badRequest(.init(body: .json(ErrorBody(.badRequest, refusal.description))))
            case .unknownNode, .clockSkew, .badSignature: return .unauthorized(.init(body: .json(ErrorBody(.unauthorized, refusal.description))))
            }
        }
        var refused: [SettlementResult.Refusal] = []
        var accepted: [(index: Int, order: SettledOrder)] = []
        for (index, entry) in request.orders.enumerated() {
            switch settlement.order(entry, from: node, now: now) {
            case .success(let order): accepted.append((index, order))
            case .failure(let reason): refused.append(.init(index: index, reason: reason))
            }
        }
        let orders = accepted.map(\.order)
        let fresh = orders.isEmpty ? [] : try await database.settle(orders, at: now)
        for (entry, isNew) in zip(accepted, fresh) where !isNew {
            refused.append(.init(index: entry.index, reason: .alreadySettled))
        }
        refused.sort { $0.index < $1.index }
        return .ok(.init(body: .json(.init(
            accepted: fresh.filter { $0 }.count,
            refused: refused.map { .init(index: $0.index, reason: .init(rawValue: $0.reason.rawValue)!) }
        ))))
    }
}
