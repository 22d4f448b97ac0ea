import Foundation
import GRDB
import Synchronization

/// Read-only connections whose reads never wait for a lock, for short reads to run on the
/// caller's own thread.
///
/// A trip to the blocking threads and back, with GRDB's pool of readers in between, cost a read
/// several times the read itself (two thread hand-overs, a semaphore, queues shared by eight
/// threads: the profile of `GET /v1/buckets` in the README). In WAL mode a read waits for
/// nothing in normal operation (not for writers, not for a checkpoint), so it can run where the
/// request runs. Where SQLite would wait for another connection's lock, a read here fails at
/// once with `SQLITE_BUSY` instead of waiting out a busy timeout (another process holding the
/// database in exclusive locking mode, a WAL index being recovered after a crash), and when every
/// connection is in use, the caller reads through connections that wait, on threads of their
/// own, so a read never holds a thread of Swift's shared pool longer than its own work. (The
/// readers of a pool cannot be made so: GRDB gives them a 10 s busy timeout of their own.)
final class DirectReads: Sendable {
    /// What ``read(_:)`` did.
    enum Outcome<Value> {
        case done(Value)
        /// Every connection was in use, or SQLite refused at once rather than wait for a lock:
        /// nothing was read.
        case wouldWait
    }

    private let connections: [DatabaseQueue]
    private let idle: Mutex<[DatabaseQueue]>

    /// Opens `count` connections to the database at `path` (one per thread of Swift's shared
    /// pool is enough: a read never suspends while it holds one).
    init(path: String, count: Int) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .immediateError
        configuration.label = "satellite-reads"
        var opened: [DatabaseQueue] = []
        do {
            for _ in 0..<max(1, count) { opened.append(try DatabaseQueue(path: path, configuration: configuration)) }
        } catch {
            for connection in opened { try? connection.close() }
            throw error
        }
        connections = opened
        idle = Mutex(opened)
    }

    /// Runs `work` on the calling thread with a connection of its own.
    /// - Throws: what `work` threw, but for a refused lock, which is ``Outcome/wouldWait``.
    func read<Value>(_ work: (DatabaseQueue) throws -> Value) throws -> Outcome<Value> {
        guard let connection = idle.withLock({ $0.popLast() }) else { return .wouldWait }
        defer { idle.withLock { $0.append(connection) } }
        do {
            return .done(try work(connection))
        } catch where SQLiteDatabase.isLockTimeout(error) {
            return .wouldWait
        }
    }

    /// Closes every connection; later reads fail.
    func close() throws {
        for connection in connections { try connection.close() }
    }
}
