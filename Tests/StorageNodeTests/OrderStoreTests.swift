import Foundation
import Identity
import NodeProtocol
import StorageNode
import Testing

/// The orders a node keeps for settlement: each upload and download it served, on disk until the
/// satellite answered them.
@Suite("Served orders are kept until they are settled")
struct OrderStoreTests {
    @Test("an upload and a download are kept with the bytes they moved")
    func servedOrdersAreKept() async throws {
        try await NodeUnderTest.run { node in
            let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
            let put = node.limit(.put)
            #expect(try await node.post("/v1/pieces/upload", node.frames(data, limit: put)).status == 200)
            let get = node.limit(.get, piece: put.pieceID)
            #expect(try await node.download(get, offset: 100, count: 4000).status == 200)
            // A refused request moved nothing and is not kept.
            #expect(try await node.download(node.limit(.put, piece: put.pieceID), count: 10).status == 403)
            // The download's order is kept once its last byte went out, which may be after the
            // client has it.
            let deadline = ContinuousClock.now + .seconds(10)
            while node.node.orders.unsentCount() < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(node.node.orders.unsentCount() == 2)
            let files = try node.node.orders.takeForSending()
            #expect(files.count == 1)
            let kept = try OrderStore.orders(in: try #require(files.first))
            #expect(kept == [ServedOrder(limit: put, amount: 10_000), ServedOrder(limit: get, amount: 4000)])
            #expect(node.node.orders.unsentCount() == 0, "new orders go to a new file")
        }
    }

    @Test("a file not yet sent is sent again first; a record cut short is skipped")
    func unfinishedSettlementsComeFirst() throws {
        let directory = NSTemporaryDirectory() + "orders-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try OrderStore(directory: directory)
        let satellite = PeerIdentity.generate()
        func order(_ amount: Int64) -> ServedOrder {
            ServedOrder(
                limit: OrderLimit.signed(
                    by: satellite, serial: Data(count: 16), uplinkPublicKey: Data(count: 32), storageNodeID: satellite.id, pieceID: .random(), action: .get,
                    limit: 100, orderExpiration: 2, orderCreation: 1
                ),
                amount: amount
            )
        }
        try store.record(order(1))
        let first = try store.takeForSending(now: Date(timeIntervalSince1970: 1000))
        try store.record(order(2))
        // The node stopped halfway through appending a record.
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/unsent"))
        handle.seekToEndOfFile()
        handle.write(Data(count: 100))
        try handle.close()
        let both = try store.takeForSending(now: Date(timeIntervalSince1970: 2000))
        #expect(both.count == 2 && both.first == first.first)
        #expect(try OrderStore.orders(in: both[0]).map(\.amount) == [1])
        #expect(try OrderStore.orders(in: both[1]).map(\.amount) == [2])
        store.sent(both[0])
        #expect(try store.takeForSending(now: Date(timeIntervalSince1970: 3000)) == [both[1]])
        #expect(try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int == 0o700)
    }
}
