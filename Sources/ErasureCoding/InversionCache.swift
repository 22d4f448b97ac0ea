import Synchronization

/// The rows that rebuild a stripe's missing data shares from a given set of present shares, kept
/// per set: a download reads the same pieces for every stripe of a segment, so the inversion is
/// done once per segment instead of once per stripe as storj/infectious does.
final class InversionCache: Sendable {
    private let entries = Mutex<[ShareSet: CodingRows]>([:])
    private let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// The cached rows for `present`, or what `make` returns, cached. When full, an arbitrary
    /// entry gives way: sets change rarely, and any entry is cheap to remake.
    func rows(for present: ShareSet, make: () -> CodingRows) -> CodingRows {
        if let cached = entries.withLock({ $0[present] }) { return cached }
        let made = make()
        entries.withLock { entries in
            if entries.count >= capacity, let victim = entries.keys.first { entries[victim] = nil }
            entries[present] = made
        }
        return made
    }

    var count: Int { entries.withLock { $0.count } }
}
