import Logging
import ServiceLifecycle
import Synchronization

/// The named parts of a peer, run together and closed in reverse order.
///
/// The Swift form of Storj's `lifecycle.Group`, built on swift-service-lifecycle's
/// `ServiceGroup`: ``run()`` starts every item's run at once; the first item that throws
/// cancels the others and its error is rethrown as ``PeerItemFailure`` with the item's name.
/// Graceful shutdown (from ``triggerGracefulShutdown()`` or a surrounding `ServiceGroup`) stops
/// the items in the reverse order of adding, one at a time, as `ServiceGroup` does. An item
/// that throws because it was cancelled or is shutting down is not a failure.
///
/// ``close()`` then releases every item's resources in the reverse order of adding and
/// reports every error, not only the first.
public final class PeerGroup: Sendable {
    private struct State {
        var items: [PeerItem] = []
        var running: [String] = []
        var runnable = 0
        var started = 0
        var startWaiters: [CheckedContinuation<Bool, Never>] = []
        var finished = false
        var serviceGroup: ServiceGroup?
        var shutdownRequested = false
        var shuttingDown = false
        var watchdog: Task<Void, Never>?
        var closed = false
    }

    private let logger: Logger
    private let shutdownWatchdog: Duration
    private let shutdownTimeout: Duration?
    private let state = Mutex(State())

    /// Creates an empty group.
    /// - Parameters:
    ///   - logger: where the group reports items that are slow to stop.
    ///   - shutdownWatchdog: how long after shutdown begins the group logs the items still running.
    ///   - shutdownTimeout: how long a graceful shutdown may take before the items still running
    ///     are cancelled; `nil` waits for them however long they take.
    public init(logger: Logger, shutdownWatchdog: Duration = .seconds(15), shutdownTimeout: Duration? = nil) {
        self.logger = logger
        self.shutdownWatchdog = shutdownWatchdog
        self.shutdownTimeout = shutdownTimeout
    }

    /// Adds an item. Items run together; they stop and close in the reverse order of adding.
    public func add(_ item: PeerItem) {
        state.withLock { $0.items.append(item) }
    }

    /// Adds an item that runs a `Service` and closes with `close`.
    public func add(
        _ name: String,
        service: some Service,
        close: (@Sendable () async throws -> Void)? = nil
    ) {
        add(PeerItem(name: name, run: { try await service.run() }, close: close))
    }

    /// The names of the items, in the order they were added.
    public var names: [String] { state.withLock { $0.items.map(\.name) } }

    /// The names of the items whose run has started and not yet returned, in the order of adding.
    public var runningItems: [String] {
        state.withLock { state in state.items.map(\.name).filter(state.running.contains) }
    }

    /// Runs every item that has a run, until all return, one fails, or the group shuts down.
    /// A group with no item to run waits for shutdown or cancellation.
    ///
    /// On cancellation every item is cancelled and the call returns once all have returned.
    /// - Throws: ``PeerItemFailure`` naming the first item that failed.
    public func run() async throws {
        let items = state.withLock { $0.items }.filter { $0.run != nil }
        var configurations = items.map { item in
            ServiceGroupConfiguration.ServiceConfiguration(
                service: ItemService(item: item, group: self),
                successTerminationBehavior: .ignore,
                failureTerminationBehavior: .cancelGroup,
                serviceName: item.name
            )
        }
        if configurations.isEmpty {
            // A peer runs until it is told to stop, even when none of its parts has work of its own.
            configurations = [.init(service: UntilShutdown(), successTerminationBehavior: .ignore, serviceName: "idle")]
        }
        var configuration = ServiceGroupConfiguration(services: configurations, logger: logger)
        configuration.logging.keys.serviceKey = "item"
        configuration.maximumGracefulShutdownDuration = shutdownTimeout
        let serviceGroup = ServiceGroup(configuration: configuration)
        let shutdownAlready = state.withLock { state -> Bool in
            state.serviceGroup = serviceGroup
            state.runnable = items.count
            return state.shutdownRequested
        }
        if shutdownAlready { await serviceGroup.triggerGracefulShutdown() }
        defer {
            let (watchdog, waiters) = state.withLock { state in
                state.serviceGroup = nil
                state.finished = true
                defer { state.startWaiters.removeAll() }
                return (state.watchdog, state.startWaiters)
            }
            watchdog?.cancel()
            waiters.forEach { $0.resume(returning: false) }
        }
        if items.isEmpty { startedAll() }
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await serviceGroup.run()
        } onCancelOrGracefulShutdown: {
            self.triggerGracefulShutdownSoon()
        }
    }

    /// Begins a graceful shutdown: items stop in reverse order of adding. Returns at once.
    /// Before ``run()`` the request is remembered, and run starts nothing that outlives it.
    public func triggerGracefulShutdown() async {
        let serviceGroup = state.withLock { state -> ServiceGroup? in
            state.shutdownRequested = true
            return state.serviceGroup
        }
        await serviceGroup?.triggerGracefulShutdown()
    }

    private func triggerGracefulShutdownSoon() {
        Task { await self.triggerGracefulShutdown() }
    }

    /// Closes every item that has a close, in the reverse order of adding, and reports each error.
    /// A second call closes nothing.
    ///
    /// Cancellation does not skip any close: releasing resources is not optional.
    @discardableResult
    public func close() async -> PeerCloseReport {
        let items = state.withLock { state -> [PeerItem] in
            guard !state.closed else { return [] }
            state.closed = true
            return state.items
        }
        var report = PeerCloseReport()
        for item in items.reversed() {
            guard let close = item.close else { continue }
            do {
                try await close()
                report.closed.append(item.name)
            } catch {
                report.failures.append(PeerItemFailure(item: item.name, underlying: error))
            }
        }
        return report
    }

    /// Creates one subsystem of a peer, naming it in any error its creation throws.
    public func wiring<T>(_ subsystem: String, _ make: () throws -> T) throws -> T {
        do {
            return try make()
        } catch {
            throw PeerItemFailure(item: subsystem, underlying: error)
        }
    }

    /// Creates one subsystem of a peer whose creation awaits (a database call), naming it in any
    /// error its creation throws. Cancellation is `make`'s to honour.
    public func wiring<T>(_ subsystem: String, _ make: () async throws -> T) async throws -> T {
        do {
            return try await make()
        } catch {
            throw PeerItemFailure(item: subsystem, underlying: error)
        }
    }

    /// Waits until every item's run has started; `false` if ``run()`` returned first.
    ///
    /// A peer is ready when this returns true: every subsystem is up. Cancelling the waiting
    /// task does not end the wait.
    public func untilStarted() async -> Bool {
        await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> Bool? in
                if state.serviceGroup != nil || state.runnable > 0, state.started >= state.runnable, !state.finished { return true }
                if state.finished { return false }
                state.startWaiters.append(continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private func startedAll() {
        let waiters = state.withLock { state in
            defer { state.startWaiters.removeAll() }
            return state.startWaiters
        }
        waiters.forEach { $0.resume(returning: true) }
    }

    fileprivate func itemStarted(_ name: String) {
        let all = state.withLock { state -> Bool in
            state.running.append(name)
            state.started += 1
            return state.started == state.runnable
        }
        if all { startedAll() }
    }

    fileprivate func itemReturned(_ name: String) {
        state.withLock { state in
            if let index = state.running.firstIndex(of: name) { state.running.remove(at: index) }
        }
    }

    fileprivate var isShuttingDown: Bool { state.withLock { $0.shuttingDown || $0.shutdownRequested } }

    /// Starts the watchdog that names the items that have not stopped after ``shutdownWatchdog``.
    fileprivate func shutdownBegan() {
        state.withLock { state in
            guard !state.shuttingDown else { return }
            state.shuttingDown = true
            state.watchdog = Task { [logger, shutdownWatchdog] in
                guard (try? await Task.sleep(for: shutdownWatchdog)) != nil else { return }
                let stillRunning = self.runningItems
                guard !stillRunning.isEmpty else { return }
                logger.warning(
                    "items still running after shutdown began",
                    metadata: [
                        "items": .array(stillRunning.map { .string($0) }),
                        "after_ms": "\(shutdownWatchdog.milliseconds)",
                    ]
                )
            }
        }
    }
}

/// Waits for graceful shutdown or cancellation; keeps a group with nothing to run alive.
private struct UntilShutdown: Service {
    func run() async {
        try? await gracefulShutdown()
    }
}

/// Runs one ``PeerItem`` inside the group's `ServiceGroup`.
private struct ItemService: Service, CustomStringConvertible {
    let item: PeerItem
    let group: PeerGroup

    var description: String { item.name }

    func run() async throws {
        guard let run = item.run else { return }
        group.itemStarted(item.name)
        defer { group.itemReturned(item.name) }
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await run()
            } onCancelOrGracefulShutdown: {
                group.shutdownBegan()
            }
        } catch where Task.isCancelled || (error is CancellationError && group.isShuttingDown) {
            return
        } catch {
            throw PeerItemFailure(item: item.name, underlying: error)
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
