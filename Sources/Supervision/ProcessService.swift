import Synchronization

/// One process of a running ``Supervisor`` seen as a ``SupervisedService``.
///
/// Stopping it stops it for good, with the supervisor's own escalation (SIGTERM to the group,
/// SIGKILL after the process's stop timeout); start brings it back.
public final class ProcessService: SupervisedService {
    public let supervisor: Supervisor
    public let name: String
    public let tags: Set<String>
    private let dependantServices = Mutex<[any SupervisedService]>([])

    public init(supervisor: Supervisor, name: String) {
        self.supervisor = supervisor
        self.name = name
        self.tags = Set(supervisor.specs.first { $0.name == name }?.tags ?? [])
    }

    /// A service for every process of `supervisor`, each with the processes that come after it
    /// as its dependants.
    public static func all(of supervisor: Supervisor) -> [ProcessService] {
        let services = supervisor.specs.map { ProcessService(supervisor: supervisor, name: $0.name) }
        for (index, spec) in supervisor.specs.enumerated() {
            for dependency in supervisor.startOrder.dependencies[index] {
                services[dependency].addDependant(services[index])
            }
            _ = spec
        }
        return services
    }

    public var dependants: [any SupervisedService] { dependantServices.withLock { $0 } }

    public func addDependant(_ service: any SupervisedService) {
        dependantServices.withLock { $0.append(service) }
    }

    public func start() async throws { supervisor.start(process: name) }
    public func stop() async { supervisor.stop(process: name) }
    public func kill() async { supervisor.kill(process: name) }
    public var isAlive: Bool { supervisor.isAlive(process: name) }

    public func waitUntilStopped(timeout: Duration) async -> Bool {
        await supervisor.waitUntilStopped(process: name, timeout: timeout)
    }
}
