/// Services to act on together, narrowed by chainable queries:
/// `list.tagged("peer").alive().kill()`, or `list.alive().withoutAliveDependants()`.
public struct ServiceList: Sendable {
    public let services: [any SupervisedService]

    public init(_ services: [any SupervisedService]) {
        self.services = services
    }

    public var names: [String] { services.map(\.name) }
    public var isEmpty: Bool { services.isEmpty }

    public func filter(_ isIncluded: (any SupervisedService) -> Bool) -> ServiceList {
        ServiceList(services.filter(isIncluded))
    }

    public func alive() -> ServiceList { filter(\.isAlive) }
    public func notAlive() -> ServiceList { filter { !$0.isAlive } }
    public func tagged(_ tag: String) -> ServiceList { filter { $0.tags.contains(tag) } }
    public func named(_ names: String...) -> ServiceList { filter { names.contains($0.name) } }

    /// Those none of whose dependants is alive: safe to stop now.
    public func withoutAliveDependants() -> ServiceList {
        filter { service in !service.dependants.contains { $0.isAlive } }
    }

    public func start() async throws {
        for service in services { try await service.start() }
    }

    public func stop() async {
        for service in services { await service.stop() }
    }

    public func kill() async {
        for service in services { await service.kill() }
    }

    /// Stops every service, dependants before what they depend on, within `deadline`: each
    /// wave of services without alive dependants is asked to stop and waited for. Whatever is
    /// still alive at the deadline is killed, then given `killGrace` to go.
    /// - Returns: the services still alive after that, which a task that ignores cancellation
    ///   can be; empty when everything stopped.
    @discardableResult
    public func stopGradually(deadline: Duration, killGrace: Duration = .seconds(1)) async -> ServiceList {
        let end = ContinuousClock.now + deadline
        var asked: Set<ObjectIdentifier> = []
        while !alive().isEmpty, ContinuousClock.now < end {
            let stopping = alive().filter { asked.contains(ObjectIdentifier($0)) }
            var next = alive().withoutAliveDependants().filter { !asked.contains(ObjectIdentifier($0)) }
            if next.isEmpty, stopping.isEmpty {
                // What is left waits on each other in a cycle: stop it together.
                next = alive()
            }
            for service in next.services { asked.insert(ObjectIdentifier(service)) }
            await next.stop()
            await ServiceList(stopping.services + next.services).waitUntilAnyStops(before: end)
        }
        let survivors = alive()
        guard !survivors.isEmpty else { return survivors }
        await survivors.kill()
        await survivors.waitUntilAllStop(within: killGrace)
        return alive()
    }

    /// Returns when one of the services stops, or at `end`.
    private func waitUntilAnyStops(before end: ContinuousClock.Instant) async {
        let remaining = end - .now
        guard remaining > .zero, !services.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { _ = await service.waitUntilStopped(timeout: remaining) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitUntilAllStop(within timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { _ = await service.waitUntilStopped(timeout: timeout) }
            }
        }
    }
}
