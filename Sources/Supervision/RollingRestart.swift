/// Replaces processes one at a time, as `restart NAME` does for an entry with instances: the
/// next is stopped only once the one before it runs again and is ready, so all but one keep
/// serving throughout.
struct RollingRestart: Sendable, Equatable {
    /// The entry whose instances are being replaced.
    let name: String
    /// Processes still to replace, in order.
    private(set) var pending: [Int]
    /// The process being replaced now.
    private(set) var current: Int?

    init(name: String, processes: [Int]) {
        self.name = name
        pending = processes
    }

    enum Step: Equatable {
        /// Restart this process now.
        case restart(Int)
        /// The current one is not back yet.
        case wait
        /// Every process was replaced.
        case finished
    }

    /// What to do next, given whether the current process is back (running again and ready).
    mutating func next(isBack: (Int) -> Bool) -> Step {
        if let current {
            guard isBack(current) else { return .wait }
            self.current = nil
        }
        guard !pending.isEmpty else { return .finished }
        let next = pending.removeFirst()
        current = next
        return .restart(next)
    }
}
