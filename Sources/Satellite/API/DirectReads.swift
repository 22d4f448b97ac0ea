import Foundation
import SatelliteDB
import Synchronization

/// Read-only connections whose reads never wait for a lock, for the API's reads to run on the
/// request's own thread.
///
/// A trip to the peer's blocking threads and back, with GRDB's pool of readers in between, cost
/// a read several times the read itself (two thread hand-overs, a semaphore, queues shared by
/// eight threads: the profile of `GET /v1/buckets` in the README). In WAL mode a read waits for
/// nothing in normal operation, so it can run where the request runs; on the rare lock that
/// would make it wait (see ``SatelliteDatabase/openReadOnlyWithoutWaiting(path:)``), and when
/// every connection is in use, the caller goes to the blocking threads as before, so a read
/// never holds a thread of Swift's shared pool longer than its own work.
final class DirectReads: Sendable {
    /// What ``read(_:)`` did.
    enum Outcome<Value> {
        case done(Value)
        /// Every connection was in use, or SQLite refused at once rather than wait for a lock:
        /// nothing was read.
        case wouldWait
    }

    private let connections: [SatelliteDatabase]
    private let idle: Mutex<[SatelliteDatabase]>

    /// Opens `count` connections to the database at `path` (one per thread of Swift's shared
    /// pool is enough: a read never suspends while it holds one).
    init(path: String, count: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        var opened: [SatelliteDatabase] = []
        do {
            for _ in 0..<max(1, count) { opened.append(try SatelliteDatabase.openReadOnlyWithoutWaiting(path: path)) }
        } catch {
            for connection in opened { try? connection.close() }
            throw error
        }
        connections = opened
        idle = Mutex(opened)
    }

    /// Runs `work` on the calling thread with a connection of its own.
    /// - Throws: what `work` threw, but for a refused lock, which is ``Outcome/wouldWait``.
    func read<Value>(_ work: (SatelliteDatabase) throws -> Value) throws -> Outcome<Value> {
        guard let connection = idle.withLock({ $0.popLast() }) else { return .wouldWait }
        defer { idle.withLock { $0.append(connection) } }
        do {
            return .done(try work(connection))
        } catch where SatelliteDatabase.isLockTimeout(error) {
            return .wouldWait
        }
    }

    /// Closes every connection; later reads fail.
    func close() throws {
        for connection in connections { try connection.close() }
    }
}
