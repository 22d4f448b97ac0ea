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
    }

    private let stopWaiters = StopWaiters()

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
        await stopWaiters.wait(for: name, timeout: timeout) { !self.isAlive }
    }

    private func finish(_ failure: (any Error)?) {
        state.withLock { state in
            state.finished = true
            state.failure = failure
        }
        stopWaiters.stopped([name])
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
