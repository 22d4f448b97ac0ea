import Synchronization

/// Work in this process, run as a task, seen as a ``SupervisedService``: how the same peers that
/// the launcher runs as processes run side by side in one test.
///
/// Stop calls the work's own graceful shutdown; kill cancels its task. Unlike a thread, a task
/// can be told to stop by force, and ``waitUntilStopped(timeout:)`` says whether it listened.
public final class TaskService: SupervisedService {
    public let name: String
    public let tags: Set<String>
    private let work: @Sendable () async throws -> Void
    private let shutdown: @Sendable () async -> Void
    private let state = Mutex<State>(State())

    private struct State {
        var task: Task<Void, Never>?
        var finished = false
        var failure: (any Error)?
        var dependants: [any SupervisedService] = []
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
    }

    /// - Parameters:
    ///   - work: runs until done or shut down; what it throws is kept as ``failure``.
    ///   - shutdown: asks `work` to return soon.
    public init(
        name: String,
        tags: Set<String> = [],
        work: @escaping @Sendable () async throws -> Void,
        shutdown: @escaping @Sendable () async -> Void
    ) {
        self.name = name
        self.tags = tags
        self.work = work
        self.shutdown = shutdown
    }

    public var dependants: [any SupervisedService] { state.withLock { $0.dependants } }

    public func addDependant(_ service: any SupervisedService) {
        state.withLock { $0.dependants.append(service) }
    }

    /// What the work threw, once it has finished.
    public var failure: (any Error)? { state.withLock { $0.failure } }

    /// Starts the work; a service runs once, so a second start is an error.
    public func start() async throws {
        try state.withLock { state in
            guard state.task == nil else { throw TaskServiceError.alreadyStarted(name) }
            state.task = Task { [work] in
                var failure: (any Error)?
                do { try await work() } catch { failure = error }
                self.finish(failure)
            }
        }
    }

    public func stop() async {
        guard isAlive else { return }
        await shutdown()
    }

    public func kill() async {
        state.withLock { $0.task }?.cancel()
    }

    public var isAlive: Bool { state.withLock { $0.task != nil && !$0.finished } }

    public func waitUntilStopped(timeout: Duration) async -> Bool {
        let id: Int? = state.withLock { state in
            guard state.task != nil, !state.finished else { return nil }
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        guard let id else { return true }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resumeWaiter(id, with: false)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let finished = state.withLock { state in
                    if !state.finished { state.waiters[id] = continuation }
                    return state.finished
                }
                if finished { continuation.resume(returning: true) }
            }
        } onCancel: {
            resumeWaiter(id, with: !isAlive)
        }
    }

    private func resumeWaiter(_ id: Int, with value: Bool) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: value)
    }

    private func finish(_ failure: (any Error)?) {
        let waiters = state.withLock { state in
            state.finished = true
            state.failure = failure
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }
}

public enum TaskServiceError: Error, Equatable, CustomStringConvertible {
    case alreadyStarted(String)

    public var description: String {
        switch self {
        case .alreadyStarted(let name): "service \(name) was already started; a task service runs once"
        }
    }
}
