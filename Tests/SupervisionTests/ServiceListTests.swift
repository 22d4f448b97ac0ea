import Dispatch
import Glibc
import Supervision
import Synchronization
import Testing

/// Names in the order things happened to them.
private final class Order: Sendable {
    private let names = Mutex<[String]>([])
    func append(_ name: String) { names.withLock { $0.append(name) } }
    var all: [String] { names.withLock { $0 } }
}

/// A flag set from one task and read from another.
private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// A task service whose graceful shutdown ends its work, recording when it was asked to stop.
private func worker(_ name: String, tags: Set<String> = [], order: Order? = nil, obeysStop: Bool = true, obeysCancel: Bool = true, release: Flag = Flag()) -> TaskService {
    let stopRequested = Flag()
    return TaskService(name: name, tags: tags) {
        while !stopRequested.isSet, !release.isSet {
            if obeysCancel, Task.isCancelled { return }
            if obeysCancel {
                try? await Task.sleep(for: .milliseconds(2))
            } else {
                await sleepIgnoringCancellation()
            }
        }
    } shutdown: {
        order?.append(name)
        if obeysStop { stopRequested.set() }
    }
}

/// Two milliseconds that cancellation does not cut short, as a task that ignores it waits; no
/// thread is held meanwhile (a `usleep` here held one of the two threads of the shared pool, and
/// other tests of the suite ran out of their deadlines).
private func sleepIgnoringCancellation() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) { continuation.resume() }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ServiceListTests {
    @Test func taskServiceStartsStopsAndRunsOnce() async throws {
        let service = worker("core")
        #expect(!service.isAlive)
        try await service.start()
        #expect(service.isAlive)
        await #expect(throws: TaskServiceError.alreadyStarted("core")) { try await service.start() }
        #expect(await service.waitUntilStopped(timeout: .milliseconds(20)) == false)
        await service.stop()
        #expect(await service.waitUntilStopped(timeout: .seconds(5)))
        #expect(!service.isAlive)
    }

    @Test func killCancelsATaskThatWillNotStopGracefully() async throws {
        let service = worker("stubborn", obeysStop: false)
        try await service.start()
        await service.stop()
        #expect(await service.waitUntilStopped(timeout: .milliseconds(50)) == false)
        await service.kill()
        #expect(await service.waitUntilStopped(timeout: .seconds(5)))
    }

    @Test func queriesChain() async throws {
        let core = worker("core", tags: ["peer"])
        let api = worker("api", tags: ["peer", "http"])
        let helper = worker("helper")
        core.addDependant(api)
        let list = ServiceList([core, api, helper])
        try await ServiceList([core, api]).start()
        #expect(list.alive().names == ["core", "api"])
        #expect(list.tagged("peer").alive().names == ["core", "api"])
        #expect(list.tagged("http").names == ["api"])
        #expect(list.alive().withoutAliveDependants().names == ["api"])
        #expect(list.notAlive().names == ["helper"])
        await list.tagged("http").stop()
        #expect(await api.waitUntilStopped(timeout: .seconds(5)))
        #expect(list.alive().withoutAliveDependants().names == ["core"])
        #expect(await list.stopGradually(deadline: .seconds(5)).isEmpty)
    }

    @Test func gradualStopStopsDependantsFirst() async throws {
        let order = Order()
        let database = worker("database", order: order)
        let core = worker("core", order: order)
        let api = worker("api", order: order)
        let gateway = worker("gateway", order: order)
        database.addDependant(core)
        core.addDependant(api)
        api.addDependant(gateway)
        let list = ServiceList([database, core, api, gateway])
        try await list.start()
        let survivors = await list.stopGradually(deadline: .seconds(30))
        #expect(survivors.isEmpty)
        #expect(order.all == ["gateway", "api", "core", "database"])
    }

    @Test func gradualStopKillsWhatOutlivesTheDeadlineAndNamesWhatSurvivesEvenThat() async throws {
        let cancellable = worker("cancellable", obeysStop: false)
        let release = Flag()
        let wedged = worker("wedged", obeysStop: false, obeysCancel: false, release: release)
        let list = ServiceList([cancellable, wedged])
        try await list.start()
        let survivors = await list.stopGradually(deadline: .milliseconds(100), killGrace: .milliseconds(100))
        #expect(survivors.names == ["wedged"])
        #expect(!cancellable.isAlive)
        // Let the wedged task go so the test leaves nothing behind.
        release.set()
        #expect(await wedged.waitUntilStopped(timeout: .seconds(5)))
    }

    @Test func processServicesShareTheInterface() async throws {
        try await withSupervisor([
            shell("core", "exec sleep 1000"),
            shell("api", "exec sleep 1000", after: ["core"]),
            shell("stubborn", "trap '' TERM; echo READY=1 >&3; while :; do sleep 0.05; done", notify: true, after: ["api"]) { $0.stopTimeout = .milliseconds(200) },
        ]) { h in
            try await h.events.until("all ready") { $0.contains { $0.process == nil && $0.event.message == "ready" } }
            let services = ServiceList(ProcessService.all(of: h.supervisor))
            #expect(services.alive().names == ["core", "api", "stubborn"])
            #expect(services.alive().withoutAliveDependants().names == ["stubborn"])

            let core = services.named("core").services[0]
            await core.stop()
            #expect(await core.waitUntilStopped(timeout: .seconds(5)))
            #expect(!core.isAlive)
            // The supervisor's state says stopped before its events reach the recorder.
            try await h.events.until("core's exit and stop recorded") { records in records.filter { $0.process == "core" }.map(\.event).suffix(2) == [.exited(.signalled(SIGTERM)), .stopped] }
            try await core.start()
            try await h.events.until("core", count: 2, { $0.message == "ready" })
            #expect(core.isAlive)

            let survivors = await services.stopGradually(deadline: .seconds(5))
            #expect(survivors.isEmpty)
            // The supervisor's loop records an exit a moment after the service has seen it.
            try await h.events.until("every stop recorded") { $0.filter { $0.event == .stopped }.count >= 4 }
            let order = h.events.all.filter { $0.event == .stopped }.map(\.process)
            #expect(order == ["core", "stubborn", "api", "core"])
            #expect(h.events.events(of: "stubborn").contains(.stopping(signal: SIGKILL)))
        }
    }
}
