import Crypto
import Foundation
import Identity
import NodeProtocol
import StorageNode
import Testing

@Suite("The piece store: real files, temp then link, trash, used space")
struct PieceStoreTests {
    let satellite = PeerIdentity.generate().id

    private func withStore(allocated: Int64 = 1 << 30, _ body: (String, PieceStore) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "pieces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory, try PieceStore(directory: directory, allocated: allocated))
    }

    private func bytes(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    /// Every regular file under `folder`, with its size, as the file system tells it.
    private func files(under folder: String) -> [String: Int64] {
        var found: [String: Int64] = [:]
        for case let relative as String in FileManager.default.enumerator(atPath: folder) ?? FileManager.default.enumerator(atPath: "/nonexistent")! {
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + relative)
            if attributes?[.type] as? FileAttributeType == .typeRegular { found[relative] = (attributes?[.size] as? NSNumber)?.int64Value }
        }
        return found
    }

    @Test("a piece written in chunks is stored under its path with its header, and reads back")
    func storeAndRead() throws {
        try withStore { directory, store in
            let piece = PieceID.random()
            let content = bytes(100_000)
            let writer = try store.writer(for: piece, satellite: satellite)
            for start in stride(from: 0, to: content.count, by: 30_000) {
                try writer.write(Array(content[start..<min(start + 30_000, content.count)]))
                // Until the commit, the piece is only a temp file.
                #expect(!store.exists(piece, satellite: satellite))
                #expect(files(under: directory + "/temp").count == 1)
            }
            try writer.commit(header: PieceHeader(hash: Data(), storedAt: 1_700_000_000, orderLimit: Data("limit".utf8), uplinkSignature: Data(repeating: 7, count: 64)))
            #expect(files(under: directory + "/temp").isEmpty)
            let relative = "\(satellite.hex)/\(piece.hex.prefix(2))/\(piece.hex.dropFirst(2))"
            #expect(files(under: directory + "/blobs") == [relative: Int64(content.count + PieceHeader.size)])
            #expect(store.usedSpace == Int64(content.count + PieceHeader.size))

            let reader = try store.reader(for: piece, satellite: satellite)
            #expect(reader.size == Int64(content.count))
            #expect(reader.header.hash == Data(SHA256.hash(data: content)))
            #expect(reader.header.storedAt == 1_700_000_000 && reader.header.orderLimit == Data("limit".utf8))
            #expect(reader.header.uplinkSignature == Data(repeating: 7, count: 64))
            #expect(try reader.read(offset: 0, count: content.count) == content)
            #expect(try reader.read(offset: 99_990, count: 10) == Array(content[99_990...]))
            try reader.verify(chunk: 7_000)
            #expect(throws: PieceStoreError.outOfRange(piece, offset: 99_990, count: 11, size: 100_000)) { try reader.read(offset: 99_990, count: 11) }
        }
    }

    @Test("used space after a restart is the size of the blobs; an upload cut off leaves nothing")
    func restart() throws {
        let directory = NSTemporaryDirectory() + "pieces-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stored: Int64 = 0
        do {
            let store = try PieceStore(directory: directory, allocated: 1 << 30)
            for index in 0..<5 {
                let writer = try store.writer(for: .random(), satellite: satellite)
                try writer.write(bytes(1000 * (index + 1)))
                try writer.commit(header: PieceHeader(hash: Data(), storedAt: 0))
            }
            stored = store.usedSpace
            // An upload the process did not live to finish: its temp file stays, as after SIGKILL.
            try Data(bytes(5000)).write(to: URL(fileURLWithPath: directory + "/temp/\(PieceID.random().hex)-1.partial"))
            // And one that was deleted.
            let gone = PieceID.random()
            let writer = try store.writer(for: gone, satellite: satellite)
            try writer.write(bytes(777))
            try writer.commit(header: PieceHeader(hash: Data(), storedAt: 0))
            try store.delete(gone, satellite: satellite)
            #expect(store.usedSpace == stored)
        }
        let reopened = try PieceStore(directory: directory, allocated: 1 << 30)
        let blobs = files(under: directory + "/blobs")
        #expect(blobs.count == 5)
        #expect(reopened.usedSpace == blobs.values.reduce(0, +))
        #expect(reopened.usedSpace == stored)
        #expect(files(under: directory + "/temp").isEmpty, "leftover uploads are deleted at start-up")
    }

    @Test("a rescan puts a drifted count right: a blob removed by hand frees its space")
    func rescan() throws {
        try withStore(allocated: 1 << 20) { directory, store in
            var pieces: [PieceID] = []
            for index in 0..<3 {
                let piece = PieceID.random()
                let writer = try store.writer(for: piece, satellite: satellite)
                try writer.write(bytes(1000 * (index + 1)))
                try writer.commit(header: PieceHeader(hash: Data(), storedAt: 0))
                pieces.append(piece)
            }
            let counted = store.usedSpace
            #expect(store.rescan() == (before: counted, after: counted), "a true count stays")
            let removed = try #require(files(under: directory + "/blobs").first)
            unlink(directory + "/blobs/" + removed.key)
            #expect(store.usedSpace == counted, "the count has drifted")
            let (before, after) = store.rescan()
            #expect(before == counted && after == counted - removed.value)
            #expect(store.usedSpace == files(under: directory + "/blobs").values.reduce(0, +))
        }
    }

    @Test("an upload past the allocation is refused as it writes, and the space comes back when cancelled")
    func allocation() throws {
        try withStore(allocated: 10_000) { directory, store in
            let first = try store.writer(for: .random(), satellite: satellite)
            try first.write(bytes(6000))
            #expect(store.freeSpace == 4000)
            let second = try store.writer(for: .random(), satellite: satellite)
            try second.write(bytes(3000))
            #expect(throws: PieceStoreError.full(allocated: 10_000, used: 9000, wanted: 2000)) { try second.write(bytes(2000)) }
            #expect(second.size == 3000)
            second.cancel()
            #expect(store.freeSpace == 4000)
            try first.commit(header: PieceHeader(hash: Data(), storedAt: 0))
            #expect(store.usedSpace == 6000 + Int64(PieceHeader.size))
            #expect(files(under: directory + "/temp").isEmpty)
        }
    }

    @Test("a piece is never overwritten, even by an upload that began before it was stored")
    func neverOverwritten() throws {
        try withStore { _, store in
            let piece = PieceID.random()
            let early = try store.writer(for: piece, satellite: satellite)
            let late = try store.writer(for: piece, satellite: satellite)
            try early.write(bytes(100, seed: 1))
            try late.write(bytes(100, seed: 2))
            try early.commit(header: PieceHeader(hash: Data(), storedAt: 0))
            #expect(throws: PieceStoreError.alreadyStored(piece)) { try late.commit(header: PieceHeader(hash: Data(), storedAt: 0)) }
            #expect(throws: PieceStoreError.alreadyStored(piece)) { try store.writer(for: piece, satellite: satellite) }
            #expect(try store.reader(for: piece, satellite: satellite).read(offset: 0, count: 100) == bytes(100, seed: 1))
            #expect(store.usedSpace == 100 + Int64(PieceHeader.size))
        }
    }

    @Test("a deleted piece goes to the trash, which is emptied after the grace period")
    func trash() throws {
        try withStore { directory, store in
            let piece = PieceID.random()
            let writer = try store.writer(for: piece, satellite: satellite)
            try writer.write(bytes(500))
            try writer.commit(header: PieceHeader(hash: Data(), storedAt: 0))
            try store.delete(piece, satellite: satellite)
            #expect(!store.exists(piece, satellite: satellite))
            #expect(throws: PieceStoreError.notFound(piece)) { try store.reader(for: piece, satellite: satellite) }
            #expect(throws: PieceStoreError.notFound(piece)) { try store.delete(piece, satellite: satellite) }
            #expect(store.usedSpace == 0)
            #expect(files(under: directory + "/trash").count == 1)
            #expect(store.emptyTrash(olderThan: Date().addingTimeInterval(-3600)) == 0)
            #expect(store.emptyTrash(olderThan: Date().addingTimeInterval(5)) == 1)
            #expect(files(under: directory + "/trash").isEmpty)
        }
    }

    @Test("a corrupted piece is reported, not served as good")
    func corruption() throws {
        try withStore { directory, store in
            let piece = PieceID.random()
            let writer = try store.writer(for: piece, satellite: satellite)
            try writer.write(bytes(10_000))
            try writer.commit(header: PieceHeader(hash: Data(), storedAt: 0))
            let path = directory + "/blobs/\(satellite.hex)/\(piece.hex.prefix(2))/\(piece.hex.dropFirst(2))"
            var file = try Data(contentsOf: URL(fileURLWithPath: path))
            file[PieceHeader.size + 4321] ^= 0x40
            try file.write(to: URL(fileURLWithPath: path))
            #expect(throws: PieceStoreError.corrupted(piece, "its bytes do not hash to the hash it was stored with")) {
                try store.reader(for: piece, satellite: satellite).verify()
            }
            file[0] = UInt8(ascii: "X")
            try file.write(to: URL(fileURLWithPath: path))
            #expect(throws: PieceStoreError.corrupted(piece, "its header is unreadable")) { try store.reader(for: piece, satellite: satellite) }
        }
    }

    @Test("a header round-trips and refuses what does not fit its 512 bytes")
    func header() throws {
        let header = PieceHeader(hash: Data(repeating: 1, count: 32), storedAt: -5, orderLimit: Data(repeating: 2, count: 300), uplinkSignature: Data(repeating: 3, count: 64))
        let encoded = try header.encoded()
        #expect(encoded.count == 512)
        #expect(PieceHeader(decoding: encoded) == header)
        #expect(throws: PieceStoreError.self) { try PieceHeader(hash: Data(), storedAt: 0, orderLimit: Data(count: 600)).encoded() }
        var garbage = encoded
        garbage[12] = 0xFF  // a hash length past the header's end
        #expect(PieceHeader(decoding: garbage) == nil)
        #expect(PieceHeader(decoding: Data(count: 100)) == nil)
    }
}
