import Synchronization

/// A clock that moves only when a test advances it, and tells the test who is sleeping on it.
final class ManualClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        var watchers: [(until: @Sendable ([Duration]) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
        var deadlines: [Duration] { sleepers.values.map(\.deadline.offset).sorted() }
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }

    /// The deadlines of the tasks sleeping now, earliest first, as offsets from the start.
    var pendingDeadlines: [Duration] {
        state.withLock { $0.sleepers.values.map(\.deadline.offset).sorted() }
    }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let (immediately, watchers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if deadline <= state.now || Task.isCancelled { return (true, []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (false, Self.satisfiedWatchers(&state))
                }
                watchers.forEach { $0.resume() }
                if immediately {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            let (sleeper, watchers) = state.withLock { state in
                (state.sleepers.removeValue(forKey: id), Self.satisfiedWatchers(&state))
            }
            watchers.forEach { $0.resume() }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    func advance(by duration: Duration) {
        let (due, watchers) = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            due.keys.forEach { state.sleepers.removeValue(forKey: $0) }
            return (Array(due.values), Self.satisfiedWatchers(&state))
        }
        watchers.forEach { $0.resume() }
        due.forEach { $0.continuation.resume() }
    }

    /// Waits until exactly `count` tasks sleep on the clock.
    func untilSleepers(_ count: Int) async {
        await until { $0.count == count }
    }

    /// Waits until the sleepers' deadlines are exactly `deadlines`, as offsets from the start.
    func untilDeadlines(_ deadlines: [Duration]) async {
        await until { $0 == deadlines }
    }

    private func until(_ condition: @escaping @Sendable ([Duration]) -> Bool) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if condition(state.deadlines) { return true }
                state.watchers.append((condition, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func satisfiedWatchers(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let deadlines = state.deadlines
        let ready = state.watchers.filter { $0.until(deadlines) }.map(\.continuation)
        state.watchers.removeAll { $0.until(deadlines) }
        return ready
    }
}
