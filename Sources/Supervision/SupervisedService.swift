/// Work that runs in parallel, in a child process or as a task in this one, behind one
/// interface: it can be started, asked to stop, made to stop, and waited for.
///
/// `dependants` are the services that rely on this one; a gradual stop (``ServiceList``) stops
/// them first.
public protocol SupervisedService: AnyObject, Sendable {
    var name: String { get }
    var tags: Set<String> { get }
    /// Services that rely on this one and are stopped before it.
    var dependants: [any SupervisedService] { get }

    /// Starts the service. Returns once it was started, not once it is ready.
    func start() async throws
    /// Asks the service to stop gracefully. Returns at once.
    func stop() async
    /// Makes the service stop now: SIGKILL for a process, cancellation for a task. Returns at once.
    func kill() async
    /// Whether the service is running, including while it stops.
    var isAlive: Bool { get }
    /// Waits for the service to stop, for at most `timeout`; true if it did. Cancellation ends the
    /// wait early with the answer at that moment.
    func waitUntilStopped(timeout: Duration) async -> Bool
}
