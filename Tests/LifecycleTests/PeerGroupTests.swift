import Lifecycle
import Logging
import ServiceLifecycle
import Testing

private struct Boom: Error, Equatable {
    let where_: String
}

/// An item that runs until graceful shutdown or cancellation and records when it stops.
private func waitingItem(_ name: String, stops: Recorder<String>, closes: Recorder<String>? = nil) -> PeerItem {
    PeerItem(
        name: name,
        run: {
            try? await gracefulShutdown()
            stops.record(name)
        },
        close: closes.map { closes in { @Sendable in closes.record(name) } }
    )
}

@Suite(.timeLimit(.minutes(1)))
struct PeerGroupTests {
    let logger = Logger(label: "test")

    @Test func closeRunsInReverseOrderAndCollectsEveryError() async throws {
        let group = PeerGroup(logger: logger)
        let closes = Recorder<String>()
        for name in ["db", "overlay", "server"] {
            group.add(
                PeerItem(name: name, close: {
                    closes.record(name)
                    if name == "overlay" { throw Boom(where_: name) }
                })
            )
        }
        group.add(PeerItem(name: "no-close", run: {}))
        let report = await group.close()
        #expect(closes.values == ["server", "overlay", "db"])
        #expect(report.closed == ["server", "db"])
        #expect(report.failures.map(\.item) == ["overlay"])
        #expect(report.failures.first?.underlying as? Boom == Boom(where_: "overlay"))
        let again = await group.close()
        #expect(again.closed.isEmpty)
        #expect(closes.values.count == 3)
    }

    @Test func firstFailureCancelsTheRestAndIsReportedWithItsName() async throws {
        let group = PeerGroup(logger: logger)
        let cancelled = Recorder<String>()
        for name in ["a", "b"] {
            group.add(
                PeerItem(name: name, run: {
                    do {
                        try await Task.sleep(for: .seconds(3600))
                    } catch {
                        cancelled.record(name)
                        throw error
                    }
                })
            )
        }
        group.add(PeerItem(name: "broken", run: { throw Boom(where_: "broken") }))
        let failure = await #expect(throws: PeerItemFailure.self) { try await group.run() }
        #expect(failure?.item == "broken")
        #expect(failure?.underlying as? Boom == Boom(where_: "broken"))
        #expect(Set(cancelled.values) == ["a", "b"])
        #expect(group.runningItems.isEmpty)
    }

    @Test func gracefulShutdownStopsInReverseOrderWithoutError() async throws {
        let group = PeerGroup(logger: logger)
        let stops = Recorder<String>()
        let started = Recorder<String>()
        for name in ["first", "second", "third"] {
            group.add(
                PeerItem(name: name, run: {
                    started.record(name)
                    // Throws CancellationError when shut down: that is not a failure.
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
                })
            )
            group.add(waitingItem(name + ":waiter", stops: stops))
        }
        let running = Task { try await group.run() }
        await started.until(count: 3)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(stops.values == ["third:waiter", "second:waiter", "first:waiter"])
    }

    @Test func cancellationIsNotReportedAsFailure() async throws {
        let group = PeerGroup(logger: logger)
        let started = Recorder<String>()
        group.add(
            PeerItem(name: "sleeper", run: {
                started.record("sleeper")
                try await Task.sleep(for: .seconds(3600))
            })
        )
        let running = Task { try await group.run() }
        await started.until(count: 1)
        running.cancel()
        try await running.value
    }

    @Test func shutdownBeforeRunStartsNothingThatOutlivesIt() async throws {
        let group = PeerGroup(logger: logger)
        let stops = Recorder<String>()
        group.add(waitingItem("early", stops: stops))
        await group.triggerGracefulShutdown()
        try await group.run()
        #expect(stops.values == ["early"])
    }

    @Test func watchdogNamesItemsStillRunningAfterShutdownBegan() async throws {
        let logs = Recorder<(level: Logger.Level, message: String, metadata: Logger.Metadata)>()
        let logger = Logger(label: "peer") { _ in RecordingLogHandler(recorder: logs) }
        let group = PeerGroup(logger: logger, shutdownWatchdog: .milliseconds(50))
        let release = Gate()
        let started = Recorder<String>()
        group.add(
            PeerItem(name: "stubborn", run: {
                started.record("stubborn")
                await release.wait()
            })
        )
        let stops = Recorder<String>()
        group.add(waitingItem("polite", stops: stops))
        let running = Task { try await group.run() }
        await started.until(count: 1)
        await group.triggerGracefulShutdown()

        var warning: (level: Logger.Level, message: String, metadata: Logger.Metadata)?
        var seen = 0
        while warning == nil {
            let all = await logs.until(count: seen + 1)
            seen = all.count
            warning = all.first { $0.message.contains("still running") }
        }
        #expect(warning?.level == .warning)
        #expect(warning?.metadata["items"] == .array([.string("stubborn")]))
        release.open()
        try await running.value
        #expect(stops.values == ["polite"])
    }

    @Test func shutdownTimeoutCancelsItemsThatIgnoreGracefulShutdown() async throws {
        let group = PeerGroup(logger: logger, shutdownTimeout: .milliseconds(50))
        let started = Recorder<String>()
        let cancelled = Recorder<String>()
        group.add(
            PeerItem(name: "deaf", run: {
                started.record("deaf")
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    cancelled.record("deaf")
                    throw error
                }
            })
        )
        let running = Task { try await group.run() }
        await started.until(count: 1)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(cancelled.values == ["deaf"])
    }

    @Test func wiringNamesTheSubsystemThatFailed() throws {
        let group = PeerGroup(logger: logger)
        let made = try group.wiring("debug") { 42 }
        #expect(made == 42)
        let failure = #expect(throws: PeerItemFailure.self) {
            try group.wiring("overlay") { throw Boom(where_: "overlay") }
        }
        #expect(failure?.item == "overlay")
        #expect(failure?.description.hasPrefix("overlay: ") == true)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct PeerGroupStartTests {
    @Test func groupWithNothingToRunWaitsForShutdown() async throws {
        let group = PeerGroup(logger: Logger(label: "test"))
        group.add(PeerItem(name: "close-only", close: {}))
        let returned = Recorder<String>()
        let running = Task {
            try await group.run()
            returned.record("returned")
        }
        #expect(await group.untilStarted())
        try await Task.sleep(for: .milliseconds(20))
        #expect(returned.values.isEmpty)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func untilStartedAnswersOnceEveryItemRunsAndFalseAfterRunEnded() async throws {
        let group = PeerGroup(logger: Logger(label: "test"))
        let stops = Recorder<String>()
        group.add(waitingItemForStart("a", stops: stops))
        group.add(waitingItemForStart("b", stops: stops))
        group.add(PeerItem(name: "close-only", close: {}))
        let running = Task { try await group.run() }
        #expect(await group.untilStarted())
        #expect(Set(group.runningItems) == ["a", "b"])
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(await group.untilStarted() == false)
    }
}

private func waitingItemForStart(_ name: String, stops: Recorder<String>) -> PeerItem {
    PeerItem(name: name, run: {
        try? await gracefulShutdown()
        stops.record(name)
    })
}
