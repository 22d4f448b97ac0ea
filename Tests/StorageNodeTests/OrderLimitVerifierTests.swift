import Foundation
import Identity
import NodeProtocol
import StorageNode
import Testing

@Suite("Every check of an order limit, each refused with its error")
struct OrderLimitVerifierTests {
    let satellite = PeerIdentity.generate()
    let node = PeerIdentity.generate()
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    private var verifier: OrderLimitVerifier { OrderLimitVerifier(node: node.id, trustedSatellites: [satellite.id]) }

    private func limit(
        by signer: PeerIdentity? = nil, serial: Data = Data((0..<16).map { _ in UInt8.random(in: 0...255) }), node: NodeID? = nil,
        action: OrderLimit.Action = .put, limit: Int64 = 1000, pieceExpiration: Int64 = 0, expiresIn: Int64 = 3600, createdAgo: Int64 = 0
    ) -> OrderLimit {
        let seconds = Int64(now.timeIntervalSince1970)
        return OrderLimit.signed(
            by: signer ?? satellite, serial: serial, uplinkPublicKey: PeerIdentity.generate().publicKeyBytes, storageNodeID: node ?? self.node.id,
            pieceID: .random(), action: action, limit: limit, pieceExpiration: pieceExpiration, orderExpiration: seconds + expiresIn,
            orderCreation: seconds - createdAgo
        )
    }

    @Test("a good limit passes once; its serial again is refused")
    func goodThenReplayed() {
        let verifier = self.verifier
        let order = limit()
        #expect(verifier.verify(order, for: OrderLimit.Action.uploads, now: now) == nil)
        #expect(verifier.verify(order, for: OrderLimit.Action.uploads, now: now) == .serialUsed(Hex.encode(order.serial)))
        #expect(verifier.verify(order, for: OrderLimit.Action.uploads, now: now)?.code == "serial_used")
    }

    @Test("each bad limit gets its own error")
    func refusals() {
        let seconds = Int64(now.timeIntervalSince1970)
        let stranger = PeerIdentity.generate()
        var forged = limit()
        forged.limit = 1 << 40  // changed after signing
        var impostor = limit(by: stranger)
        impostor.satelliteID = satellite.id  // claims the trusted id with another key
        var resigned = limit(by: stranger)
        resigned.satelliteID = satellite.id
        resigned.satellitePublicKey = satellite.publicKeyBytes  // the trusted key, a stranger's signature
        let cases: [(String, OrderLimit, Set<OrderLimit.Action>, OrderLimitRefusal)] = [
            ("wrong node", limit(node: stranger.id), OrderLimit.Action.uploads, .wrongNode(limitFor: stranger.id)),
            ("PUT for a download", limit(action: .put), OrderLimit.Action.downloads, .wrongAction(.put, allowed: [.get, .getAudit, .getRepair])),
            ("GET for an upload", limit(action: .get), OrderLimit.Action.uploads, .wrongAction(.get, allowed: [.put, .putRepair])),
            ("DELETE for an upload", limit(action: .delete), OrderLimit.Action.uploads, .wrongAction(.delete, allowed: [.put, .putRepair])),
            ("untrusted satellite", limit(by: stranger), OrderLimit.Action.uploads, .untrustedSatellite(stranger.id)),
            ("trusted id, another key", impostor, OrderLimit.Action.uploads, .untrustedSatellite(satellite.id)),
            ("trusted key, another's signature", resigned, OrderLimit.Action.uploads, .badSignature),
            ("changed after signing", forged, OrderLimit.Action.uploads, .badSignature),
            ("order expired", limit(expiresIn: -1), OrderLimit.Action.uploads, .orderExpired(at: seconds - 1)),
            ("piece expired", limit(pieceExpiration: seconds - 10), OrderLimit.Action.uploads, .pieceExpired(at: seconds - 10)),
            ("made too long ago", limit(expiresIn: 86400, createdAgo: 3601), OrderLimit.Action.uploads, .createdTooFarInPast(seconds: 3601)),
            ("made in the future", limit(createdAgo: -3601), OrderLimit.Action.uploads, .createdInFuture(seconds: 3601)),
            ("negative limit", limit(limit: -1), OrderLimit.Action.uploads, .negativeLimit(-1)),
            ("short serial", limit(serial: Data(count: 3)), OrderLimit.Action.uploads, .malformed("the serial is not 16 bytes")),
        ]
        for (what, order, actions, refusal) in cases {
            #expect(verifier.verify(order, for: actions, now: now) == refusal, "\(what)")
        }
        // A refused limit did not use up its serial.
        var later = limit(createdAgo: -3601)
        #expect(verifier.verify(later, for: OrderLimit.Action.uploads, now: now) != nil)
        later = OrderLimit.signed(
            by: satellite, serial: later.serial, uplinkPublicKey: later.uplinkPublicKey, storageNodeID: node.id, pieceID: later.pieceID,
            action: .put, limit: 10, orderExpiration: seconds + 60, orderCreation: seconds
        )
        #expect(verifier.verify(later, for: OrderLimit.Action.uploads, now: now) == nil)
    }

    @Test("the used-serial table stays bounded, dropping expired serials first")
    func boundedSerials() {
        let serials = UsedSerials(capacity: 100)
        for index in 0..<100 { #expect(serials.claim(Data([UInt8(index)]), expiration: index < 50 ? 10 : 1000, now: 5)) }
        #expect(!serials.claim(Data([7]), expiration: 10, now: 5))
        // At time 20, the first 50 have expired: room is made from them.
        for index in 100..<150 { #expect(serials.claim(Data([UInt8(index)]), expiration: 1000, now: 20)) }
        #expect(serials.count <= 100)
        #expect(!serials.claim(Data([60]), expiration: 1000, now: 20), "an unexpired serial is still known")
    }
}
