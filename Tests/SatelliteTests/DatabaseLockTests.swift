import Foundation
import GRDB
import Satellite
import SatelliteDB
import SatelliteDBSQLite
import Synchronization
import TestPlanet
import Testing

/// The database locked by another connection for longer than the busy timeout, as a backup
/// tool or an operator's `sqlite3` shell would lock it.
@Suite(.timeLimit(.minutes(1)))
struct DatabaseLockTests {
    /// Holds the write lock from a connection of its own until released.
    final class Lock: @unchecked Sendable {
        let queue: DatabaseQueue

        init(path: String) throws {
            var configuration = Configuration()
            // The point is a transaction left open between two accesses.
            configuration.allowsUnsafeTransactions = true
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.inDatabase { try $0.execute(sql: "BEGIN EXCLUSIVE") }
        }

        func release() throws {
            try queue.inDatabase { try $0.execute(sql: "COMMIT") }
        }
    }

    final class AnsweredCount: Sendable {
        let value = Mutex(0)
    }

    @Test func everyWriteWaitingOnALockIsRefusedAtTheBusyTimeoutWith503() async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.busyTimeout = .seconds(1)
        reconfigure.api = { $0.contact.checkInInterval = .zero }
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            let lock = try Lock(path: planet.sqlite.path)
            let finished = AnsweredCount()
            let nodes = (0..<8).map { SimulatedNode.make(index: $0) }
            let answers = Task {
                try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for node in nodes {
                        group.addTask {
                            let answer = try await planet.checkIn(node)
                            finished.value.withLock { $0 += 1 }
                            return answer
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            // The lock is held until five busy timeouts after the first refusal: every write that
            // met it is refused when the first timeout ends, not one per timeout in turn (the
            // sixth and later would then have gone through once the lock was released). Counted
            // from the first refusal, not from the start, as a busy machine may be slow to bring
            // the requests to the database at all.
            let giveUp = ContinuousClock.now + .seconds(30)
            var release: ContinuousClock.Instant?
            while finished.value.withLock({ $0 }) < nodes.count, ContinuousClock.now < min(giveUp, release ?? giveUp) {
                if release == nil, finished.value.withLock({ $0 }) > 0 { release = .now + .seconds(5) }
                try await Task.sleep(for: .milliseconds(20))
            }
            try lock.release()
            let refused = try await answers.value
            #expect(refused.count == 8)
            for answer in refused {
                #expect(answer.status == 503, "\(answer.text)")
                #expect(answer.error?.code == "unavailable")
                #expect(answer.headers["retry-after"] == "1")
            }
            // Nothing refused was written; once the lock is gone the same writes succeed.
            await #expect(try planet.database.nodeCount() == 0)
            for node in nodes { #expect(try await planet.checkIn(node).status == 200) }
            await #expect(try planet.database.nodeCount() == 8)
        }
    }
}
