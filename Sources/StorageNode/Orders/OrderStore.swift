import Foundation
import NodeProtocol
import Synchronization

/// The orders a node served and has not yet settled, on disk under `orders/`: served orders are
/// appended to `unsent` as fixed-width records (the encoded limit, then the amount as a
/// big-endian Int64); a settlement first moves `unsent` aside whole, to `sending-<time>`, so that
/// what is sent is never appended to, and deletes that file once the satellite answered every
/// batch of it (Storj's storagenode/orders/ordersfile).
///
/// An order appended but not yet on disk when the machine loses power is the node's loss, not
/// the satellite's: it is paid for less, never for more.
public final class OrderStore: Sendable {
    public let directory: String
    private let lock = Mutex(())

    public static let recordSize = OrderLimit.encodedSize + 8
    private var unsentPath: String { directory + "/unsent" }

    /// - Throws: ``PieceStoreError/io(_:path:)`` when the directory cannot be made.
    public init(directory: String) throws(PieceStoreError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("creating", path: directory, errno: ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { Int32($0.code) } ?? EIO)
        }
    }

    /// Appends one served order.
    /// - Throws: ``PieceStoreError/io(_:path:)`` when it cannot be written.
    public func record(_ order: ServedOrder) throws(PieceStoreError) {
        var record = order.limit.encoded
        withUnsafeBytes(of: order.amount.bigEndian) { record += $0 }
        let path = unsentPath
        try lock.withLock { _ throws(PieceStoreError) in
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw .io("opening", path: path, errno: errno) }
            defer { close(descriptor) }
            // One write of a whole record with O_APPEND: records never interleave.
            let written = record.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == record.count else { throw .io("appending to", path: path, errno: written < 0 ? errno : EIO) }
        }
    }

    /// Moves the unsent orders aside for sending, and lists every file waiting to be sent, oldest
    /// first (those of an earlier settlement that did not finish, then this one's).
    /// - Throws: ``PieceStoreError/io(_:path:)`` when the directory cannot be read.
    public func takeForSending(now: Date = Date()) throws(PieceStoreError) -> [String] {
        let path = unsentPath
        let directory = self.directory
        try lock.withLock { _ throws(PieceStoreError) in
            guard FileManager.default.fileExists(atPath: path) else { return }
            let aside = directory + "/sending-\(Int64(now.timeIntervalSince1970 * 1000))"
            guard rename(path, aside) == 0 else { throw .io("moving aside", path: path, errno: errno) }
        }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("sending-") }
                .sorted { (Int64($0.dropFirst(8)) ?? 0) < (Int64($1.dropFirst(8)) ?? 0) }.map { directory + "/" + $0 }
        } catch {
            throw .io("listing", path: directory, errno: ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { Int32($0.code) } ?? EIO)
        }
    }

    /// The orders in a file ``takeForSending(now:)`` listed; a record cut short at the end (the
    /// node stopped mid-append) and records that do not decode are skipped.
    /// - Throws: ``PieceStoreError/io(_:path:)`` when it cannot be read.
    public static func orders(in path: String) throws(PieceStoreError) -> [ServedOrder] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("reading", path: path, errno: EIO) }
        var orders: [ServedOrder] = []
        var offset = data.startIndex
        while offset + recordSize <= data.endIndex {
            let limitBytes = data[offset..<(offset + OrderLimit.encodedSize)]
            let amount = data[(offset + OrderLimit.encodedSize)..<(offset + recordSize)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            if let limit = try? OrderLimit(decoding: Data(limitBytes)) { orders.append(ServedOrder(limit: limit, amount: amount)) }
            offset += recordSize
        }
        return orders
    }

    /// Forgets a file whose every order the satellite answered.
    public func sent(_ path: String) {
        unlink(path)
    }

    /// The orders served and not yet moved aside for sending.
    public func unsentCount() -> Int {
        lock.withLock { _ in
            let size = (try? FileManager.default.attributesOfItem(atPath: unsentPath)[.size] as? Int) ?? 0
            return size / Self.recordSize
        }
    }
}
