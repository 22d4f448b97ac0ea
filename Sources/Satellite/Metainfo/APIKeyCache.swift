import Foundation
import SatelliteDB
import Synchronization

/// The projects of recently presented API keys, by the key's SHA-256, for a bounded time.
///
/// Every metainfo request presents a key; looking it up in the database cost each request a trip
/// to the database threads, as much as the request's own work. Storj's satellite keeps such a
/// cache too (its satellitedb's API key LRU). A key that stops opening its project (none can
/// today: keys are only created) is honoured until its entry expires. Only keys that opened a
/// project are kept, so unknown keys cannot fill the cache.
final class APIKeyCache: Sendable {
    private struct Entry {
        let project: ProjectRecord
        let expires: ContinuousClock.Instant
    }

    /// How long an entry is believed; `.zero` turns the cache off.
    let expiration: Duration
    /// The most entries held; at the limit, expired entries go, then an arbitrary one.
    let capacity: Int
    private let entries = Mutex<[Data: Entry]>([:])

    init(expiration: Duration, capacity: Int) {
        self.expiration = expiration
        self.capacity = capacity
    }

    /// The project of the key whose hash is `hash`, if an unexpired entry holds it.
    func project(forSecretHash hash: Data, now: ContinuousClock.Instant = .now) -> ProjectRecord? {
        entries.withLock { entries in
            guard let entry = entries[hash] else { return nil }
            guard entry.expires > now else {
                entries[hash] = nil
                return nil
            }
            return entry.project
        }
    }

    /// Remembers that the key whose hash is `hash` opens `project`.
    func remember(_ project: ProjectRecord, forSecretHash hash: Data, now: ContinuousClock.Instant = .now) {
        guard expiration > .zero, capacity > 0 else { return }
        entries.withLock { entries in
            if entries[hash] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.remove(at: entries.startIndex) }
            }
            entries[hash] = Entry(project: project, expires: now + expiration)
        }
    }

    /// How many entries it holds, expired ones included.
    var count: Int { entries.withLock { $0.count } }
}
