import Foundation
import Synchronization

/// How long this process's writes wait for a lock another connection holds: at most the busy
/// timeout each, counted from when the lock was first met, not per waiting write.
///
/// SQLite's own busy timeout restarts for every statement. The pool's writes queue one behind
/// another, so under a lock held for a minute the tenth write in the queue would wait ten
/// timeouts. Here the writes that meet the same lock (the one waiting, and those that meet it
/// within moments after) share one deadline: when it passes, every one of them fails, and
/// a write that meets the lock later starts a new wait.
final class LockWait: Sendable {
    private struct Episode {
        var since: ContinuousClock.Instant?
        var lastSeen: ContinuousClock.Instant?
    }

    /// Writes that meet the lock within this long after the last look at it share its deadline.
    private static let sameEpisode = Duration.milliseconds(50)
    /// SQLite's own back-off between retries, in milliseconds.
    private static let delays = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

    let timeout: Duration
    private let episode = Mutex(Episode())

    init(timeout: Duration) {
        self.timeout = timeout
    }

    /// SQLite's busy callback: whether to try the lock again (after sleeping a little).
    func shouldRetry(tries: Int) -> Bool {
        let now = ContinuousClock.now
        let since = episode.withLock { episode in
            let continuing = episode.lastSeen.map { now - $0 < Self.sameEpisode } ?? false
            if episode.since == nil || (tries == 0 && !continuing) { episode.since = now }
            episode.lastSeen = now
            return episode.since!
        }
        let left = timeout - (now - since)
        guard left > .zero else { return false }
        let delay = min(Duration.milliseconds(Self.delays[min(tries, Self.delays.count - 1)]), left)
        usleep(UInt32(delay.components.seconds * 1_000_000 + delay.components.attoseconds / 1_000_000_000_000))
        return true
    }
}
