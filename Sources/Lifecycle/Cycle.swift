import Logging
import ServiceLifecycle
import Synchronization

/// Why a ``Cycle`` ran its body.
public enum CycleReason: Sendable, Equatable {
    /// The interval elapsed (or the cycle just started).
    case interval
    /// Someone called ``Cycle/trigger()`` or ``Cycle/triggerWait()``.
    case trigger
}

/// The chore loop: runs a body at once, then every interval.
///
/// The Swift form of Storj's `sync2.Cycle`. Ticks lie on a fixed grid that starts when the
/// loop starts (or when the interval changes or the cycle restarts); a run that overruns one or
/// more ticks skips them instead of letting them pile up. A `nil` interval disables the ticks:
/// the body then runs only when triggered.
///
/// A body that wants the chore to keep going logs its error and returns; an error it throws
/// ends the loop and is rethrown from ``run(_:)``.
///
/// Every control method may be called from any task, before, during or after ``run(_:)``.
public final class Cycle<C: Clock>: Sendable where C.Duration == Duration {
    private struct State {
        var interval: Duration?
        var paused = false
        var stopRequested = false
        var started = false
        var finished = false
        var restartGrid = false
        var triggerRequested = false
        var nextWaiterID = 0
        var triggerWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
        var wakeup: CheckedContinuation<Void, Never>?
        var wakePending = false
    }

    private let clock: C
    private let delayStart: Bool
    private let state: Mutex<State>

    /// Creates a cycle.
    /// - Parameters:
    ///   - interval: time between runs; `nil` (or a duration that is not positive) runs only on triggers.
    ///   - delayStart: wait one interval before the first run instead of running at once.
    ///   - clock: the clock that measures the interval; tests pass one they control.
    public init(interval: Duration?, delayStart: Bool = false, clock: C) {
        self.clock = clock
        self.delayStart = delayStart
        self.state = Mutex(State(interval: Self.enabled(interval)))
    }

    /// The current interval, or `nil` when ticks are disabled.
    public var interval: Duration? { state.withLock { $0.interval } }

    /// Whether ticks are paused by ``pause()``.
    public var isPaused: Bool { state.withLock { $0.paused } }

    /// Runs `body` on every tick and trigger until the cycle is stopped, the task is cancelled,
    /// the surrounding `ServiceGroup` shuts down gracefully, or `body` throws.
    ///
    /// On cancellation or graceful shutdown the run in progress finishes first (the body sees the
    /// cancellation itself, if it is cancelled); no new run starts. A `CancellationError` thrown by
    /// the body after the task was cancelled ends the loop quietly.
    /// - Throws: the error `body` threw, or ``CycleError/alreadyStarted`` on a second call.
    public func run(_ body: @Sendable (CycleReason) async throws -> Void) async throws {
        let firstRun = state.withLock { state -> Bool in
            guard !state.started else { return false }
            state.started = true
            return true
        }
        guard firstRun else { throw CycleError.alreadyStarted }
        defer { finish() }
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await loop(body)
        } onCancelOrGracefulShutdown: {
            self.stop()
        }
    }

    /// Runs `body` as a chore: like ``run(_:)``, but a run that throws is logged as `what failed`
    /// and the next tick tries again, so one bad pass never stops the chore.
    /// `finished` hears how long each run took, whether it failed or not.
    public func runLoggingFailures(
        _ log: Logger,
        what: String,
        finished: @Sendable @escaping (Duration) -> Void = { _ in },
        _ body: @Sendable @escaping () async throws -> Void
    ) async throws {
        try await run { _ in
            let start = ContinuousClock.now
            defer { finished(ContinuousClock.now - start) }
            do {
                try await body()
            } catch {
                log.error("\(what) failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Asks the loop to end after the run in progress, if any. Returns at once.
    public func stop() {
        mutate { $0.stopRequested = true }
    }

    /// Stops the loop and waits until ``run(_:)`` has returned. Returns at once if it never started.
    ///
    /// Cancelling the waiting task does not cancel the run in progress; the wait simply goes on
    /// until that run has finished.
    public func close() async {
        stop()
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.finished || !state.started { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Stops the ticks; triggers still run the body.
    public func pause() {
        mutate { $0.paused = true }
    }

    /// Resumes the ticks after ``pause()``; the next tick comes one interval from now.
    public func restart() {
        mutate {
            $0.paused = false
            $0.restartGrid = true
        }
    }

    /// Changes the interval; the next tick comes one new interval from now. `nil` disables ticks.
    public func changeInterval(_ interval: Duration?) {
        mutate {
            $0.interval = Self.enabled(interval)
            $0.restartGrid = true
        }
    }

    /// Asks for a run as soon as the one in progress, if any, has finished. Returns at once.
    /// Triggers that arrive while a run is pending are served by that one run.
    public func trigger() {
        mutate { $0.triggerRequested = true }
    }

    /// Triggers a run and waits until a run that started after this call has finished.
    ///
    /// Returns at once if the loop has been stopped, and as soon as it stops if it stops before
    /// serving the trigger. Cancelling the waiting task stops the wait, not the run.
    public func triggerWait() async {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let servedAlready = state.withLock { state -> Bool in
                    if state.finished || state.stopRequested || Task.isCancelled { return true }
                    state.triggerWaiters[id] = continuation
                    state.triggerRequested = true
                    return false
                }
                if servedAlready { continuation.resume() } else { wake() }
            }
        } onCancel: {
            state.withLock { $0.triggerWaiters.removeValue(forKey: id) }?.resume()
        }
    }

    private enum Step {
        case exit
        case run(CycleReason, waiters: [CheckedContinuation<Void, Never>])
        case sleep(until: C.Instant?)
    }

    private func loop(_ body: @Sendable (CycleReason) async throws -> Void) async throws {
        var nextTick: C.Instant? = state.withLock { state in
            state.interval.map { delayStart ? clock.now.advanced(by: $0) : clock.now }
        }
        while true {
            let now = clock.now
            let step = state.withLock { state -> Step in
                if state.stopRequested || Task.isCancelled { return .exit }
                if state.restartGrid {
                    state.restartGrid = false
                    nextTick = state.interval.map { now.advanced(by: $0) }
                } else if nextTick == nil, let interval = state.interval {
                    nextTick = now.advanced(by: interval)
                }
                if state.triggerRequested {
                    state.triggerRequested = false
                    let waiters = Array(state.triggerWaiters.values)
                    state.triggerWaiters.removeAll()
                    return .run(.trigger, waiters: waiters)
                }
                guard !state.paused, state.interval != nil, let tick = nextTick else {
                    return .sleep(until: nil)
                }
                return tick <= now ? .run(.interval, waiters: []) : .sleep(until: tick)
            }
            switch step {
            case .exit:
                return
            case .sleep(let deadline):
                await sleep(until: deadline)
            case .run(let reason, let waiters):
                defer { waiters.forEach { $0.resume() } }
                do {
                    try await body(reason)
                } catch is CancellationError where Task.isCancelled {
                    return
                }
                if reason == .interval, let tick = nextTick, let interval = self.interval {
                    nextTick = Self.tick(after: tick, every: interval, now: clock.now)
                }
            }
        }
    }

    /// The first tick on the grid of `tick` that lies after `now`.
    private static func tick(after tick: C.Instant, every interval: Duration, now: C.Instant) -> C.Instant {
        let next = tick.advanced(by: interval)
        guard next <= now else { return next }
        let skipped = Int((next.duration(to: now) / interval).rounded(.down)) + 1
        return next.advanced(by: interval * skipped)
    }

    private func sleep(until deadline: C.Instant?) async {
        let timer = deadline.map { deadline in
            Task { [clock] in
                try? await clock.sleep(until: deadline, tolerance: nil)
                if !Task.isCancelled { self.wake() }
            }
        }
        await withCheckedContinuation { continuation in
            let wakeNow = state.withLock { state -> Bool in
                if state.wakePending {
                    state.wakePending = false
                    return true
                }
                state.wakeup = continuation
                return false
            }
            if wakeNow { continuation.resume() }
        }
        timer?.cancel()
    }

    private func mutate(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
        wake()
    }

    private func wake() {
        let sleeper = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let sleeper = state.wakeup else {
                state.wakePending = true
                return nil
            }
            state.wakeup = nil
            return sleeper
        }
        sleeper?.resume()
    }

    private func finish() {
        let (triggerWaiters, finishWaiters) = state.withLock { state in
            state.finished = true
            state.stopRequested = true
            defer {
                state.triggerWaiters.removeAll()
                state.finishWaiters.removeAll()
            }
            return (Array(state.triggerWaiters.values), state.finishWaiters)
        }
        triggerWaiters.forEach { $0.resume() }
        finishWaiters.forEach { $0.resume() }
    }

    private static func enabled(_ interval: Duration?) -> Duration? {
        guard let interval, interval > .zero else { return nil }
        return interval
    }
}

extension Cycle where C == ContinuousClock {
    /// Creates a cycle on the continuous clock.
    public convenience init(interval: Duration?, delayStart: Bool = false) {
        self.init(interval: interval, delayStart: delayStart, clock: ContinuousClock())
    }
}

/// Misuse of a ``Cycle``.
public enum CycleError: Error, Equatable, CustomStringConvertible {
    /// ``Cycle/run(_:)`` was called a second time; a cycle runs once.
    case alreadyStarted

    public var description: String {
        switch self {
        case .alreadyStarted: "cycle: run called a second time; a cycle runs once"
        }
    }
}
