import NIOPosix

/// Threads of a peer's own for calls that block: SQLite, files.
///
/// A write that meets another process's lock waits up to `database.busy-timeout` inside SQLite.
/// Were it waiting on a thread of Swift's cooperative pool (two threads on a two-core machine),
/// two such writes would stall every task of the peer, its heartbeat among them, and the
/// launcher would kill a peer that is only waiting. Here it holds one of these threads instead.
public final class BlockingThreads: Sendable {
    /// Enough for SQLite's one writer waiting on a lock while the readers (WAL lets them go on)
    /// keep serving.
    public static let defaultCount = 8

    private let pool: NIOThreadPool

    /// Starts `count` threads.
    public init(count: Int = BlockingThreads.defaultCount) {
        pool = NIOThreadPool(numberOfThreads: count)
        pool.start()
    }

    /// Runs `work` on one of the threads and returns what it returned.
    ///
    /// Cancelling the calling task does not interrupt `work` once it has started (a blocking call
    /// cannot be interrupted midway); work not yet started when the task is cancelled does not start.
    /// - Throws: what `work` threw, `CancellationError` when the task was cancelled before the work
    ///   started, or NIO's `NIOThreadPoolError.ThreadPoolInactive` after ``close()``.
    public func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try Task.checkCancellation()
        return try await pool.runIfActive(work)
    }

    /// Lets the work in flight finish, then stops the threads; later ``run(_:)`` calls throw.
    public func close() async {
        try? await pool.shutdownGracefully()
    }

    /// ``close()`` for a caller that cannot await (a `defer`, a `deinit`): blocks the calling
    /// thread until the work in flight has finished.
    public func closeBlocking() {
        try? pool.syncShutdownGracefully()
    }
}
