import Foundation
import Lifecycle
import Logging
import PeerRuntime
import Prometheus
import SatelliteConfig
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// GETs a path on a loopback port and returns the status and body.
private func get(port: Int, _ path: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.timeoutInterval = 10
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// A value the test and the peer's tasks share.
private final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

/// A peer of a kind that is not the satellite's: the runtime alone, no database, a readiness
/// check the test turns on and off.
private final class ProbePeer: Peer {
    static let name = "probe"
    let basis: PeerBasis
    let debug: DebugServer?
    let isReady = Shared(false)
    let events = Shared<[String]>([])

    init() async throws {
        let basis = PeerBasis(peer: Self.name, namespace: "probekind", log: Logger(label: "test"), shutdownTimeout: .seconds(10))
        self.basis = basis
        var config = DebugConfig()
        config.address = "127.0.0.1:0"
        let isReady = self.isReady
        let events = self.events
        do {
            debug = try basis.wireDebug(config) { isReady.withLock { $0 } }
            try basis.group.wiring("worker") {
                basis.group.add(PeerItem(
                    name: "worker",
                    run: {
                        events.withLock { $0.append("worker runs") }
                        // Blocking work goes to the peer's own threads.
                        let answer = try await basis.blockingThreads.run { 6 * 7 }
                        events.withLock { $0.append("worker computed \(answer)") }
                        try? await gracefulShutdown()
                    },
                    close: { events.withLock { $0.append("worker closed") } }
                ))
            }
        } catch {
            throw await basis.failed(error)
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct PeerRuntimeTests {
    @Test func closedDebugServerNeverListens() async throws {
        let server = DebugServer(
            address: try #require(HostPort("127.0.0.1:0")),
            registry: PrometheusCollectorRegistry(),
            log: Logger(label: "test"),
            ready: { true }
        )
        server.close()
        try await server.run()
        #expect(await server.listeningPort() == nil)
    }

    @Test func aPeerWhoseHealthCheckAnswersAProblemIsNotReadyUntilItClears() async throws {
        let peer = try await ProbePeer()
        peer.isReady.withLock { $0 = true }
        let problem = Shared<String?>(nil)
        peer.basis.watches { problem.withLock { $0 } }
        let running = Task { try await peer.run() }
        #expect(await peer.untilServing())
        let port = try #require(await peer.debug?.listeningPort())
        #expect(try await get(port: port, "/health/ready") == (200, "ready\n"))
        problem.withLock { $0 = "cannot accept connections: too many open files" }
        #expect(try await get(port: port, "/health/ready") == (503, "not ready\n"))
        #expect(peer.basis.problems() == ["cannot accept connections: too many open files"])
        problem.withLock { $0 = nil }
        #expect(try await get(port: port, "/health/ready") == (200, "ready\n"))
        #expect(peer.basis.problems().isEmpty)
        await peer.shutdown()
        try await running.value
        try await peer.close()
    }

    @Test func aPeerOfAnotherKindRunsOnTheRuntimeAloneWithItsOwnReadinessAndNamespace() async throws {
        let peer = try await ProbePeer()
        #expect(peer.group.names == ["debug", "worker"])
        let running = Task { try await peer.run() }
        #expect(await peer.untilServing())
        let port = try #require(await peer.debug?.listeningPort())
        #expect(try await get(port: port, "/health/live").status == 200)
        #expect(try await get(port: port, "/health/ready") == (503, "not ready\n"))
        peer.isReady.withLock { $0 = true }
        #expect(try await get(port: port, "/health/ready") == (200, "ready\n"))
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while !metrics.contains(#"probekind_peer_ready{peer="probe"} 1"#), ContinuousClock.now < deadline {
            metrics = try await get(port: port, "/metrics").body
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(metrics.contains(#"probekind_peer_ready{peer="probe"} 1"#))
        #expect(!metrics.contains("satellite_"))
        while !peer.events.withLock({ $0.contains("worker computed 42") }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        await peer.shutdown()
        try await running.value
        try await peer.close()
        #expect(peer.events.withLock { $0 } == ["worker runs", "worker computed 42", "worker closed"])
        await #expect(throws: (any Error).self) { try await peer.basis.blockingThreads.run { 1 } }
    }
}
