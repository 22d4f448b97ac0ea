import Foundation
import Synchronization

/// The serials of the order limits a node has served, until they expire: a limit is good for one
/// request. Bounded in memory: when full, expired serials go first, then those closest to
/// expiring (Storj's table drops entries at random when full); a serial dropped that way could be
/// replayed until its limit expires.
public final class UsedSerials: Sendable {
    private let serials = Mutex<[Data: Int64]>([:])
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// Records `serial`, good until `expiration` (seconds since 1970); false if it is there already.
    public func claim(_ serial: Data, expiration: Int64, now: Int64) -> Bool {
        serials.withLock { serials in
            if let known = serials[serial], known >= now { return false }
            if serials.count >= capacity {
                serials = serials.filter { $0.value >= now }
                if serials.count >= capacity {
                    for (old, _) in serials.sorted(by: { $0.value < $1.value }).prefix(serials.count - capacity + 1) { serials[old] = nil }
                }
            }
            serials[serial] = expiration
            return true
        }
    }

    public var count: Int { serials.withLock { $0.count } }
}
