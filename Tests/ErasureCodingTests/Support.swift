import Foundation
import ErasureCoding
import SeededRandom

/// The bytes storj/infectious's `NewFEC(k, n).Encode` was given for the golden vectors:
/// byte i is (i·131 + 7) mod 251.
func goldenInput(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(($0 * 131 + 7) % 251) }
}

/// Seeded bytes that come out the same however they are cut: byte p is byte p % 8 of word p / 8.
struct ByteStream {
    private let seed: UInt64
    private var position = 0

    init(seed: UInt64) {
        self.seed = seed
    }

    mutating func next(_ count: Int) -> [UInt8] {
        let firstWord = position / 8
        let lastWord = (position + count + 7) / 8
        var words = [UInt64](repeating: 0, count: lastWord - firstWord)
        for index in words.indices {
            var generator = SeededGenerator(seed: seed &+ UInt64(firstWord + index) &* 0x2545_F491_4F6C_DD1D)
            words[index] = generator.next()
        }
        let skip = position - firstWord * 8
        position += count
        return words.withUnsafeBytes { Array($0[skip..<skip + count]) }
    }
}

/// Runs CPU-bound work on a serial dispatch queue of its own instead of Swift's shared pool. Swift
/// Testing runs test bodies on that pool, which has one thread per core (two here): the erasure
/// tests' seconds of arithmetic on both would leave the suite's timing-sensitive tests (a 200 ms
/// header timeout, a heartbeat) without a thread to resume on. The work stays in the test's task,
/// so its expectations are the test's.
func onOwnThread<Value: Sendable>(_ work: @Sendable () throws -> Value) async throws -> Value {
    try await withTaskExecutorPreference(OwnQueueExecutor.shared) { try work() }
}

final class OwnQueueExecutor: TaskExecutor {
    static let shared = OwnQueueExecutor()
    /// Serial: one CPU-bound test at a time leaves the other core to the rest of the suite.
    private let queue = DispatchQueue(label: "erasure-coding-tests")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
