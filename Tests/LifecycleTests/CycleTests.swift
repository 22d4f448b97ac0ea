import Lifecycle
import Testing

/// A running cycle on a manual clock, with each run's reason and the clock time it started.
private struct Harness: Sendable {
    let clock = ManualClock()
    let runs = Recorder<(reason: CycleReason, at: Duration)>()
    let cycle: Cycle<ManualClock>
    let task: Task<Void, any Error>

    init(
        interval: Duration?,
        delayStart: Bool = false,
        body: @escaping @Sendable (CycleReason, ManualClock) async throws -> Void = { _, _ in }
    ) {
        let clock = self.clock
        let runs = self.runs
        let cycle = Cycle(interval: interval, delayStart: delayStart, clock: clock)
        self.cycle = cycle
        self.task = Task {
            try await cycle.run { reason in
                runs.record((reason, clock.now.offset))
                try await body(reason, clock)
            }
        }
    }

    func finish() async throws {
        await cycle.close()
        try await task.value
    }
}

@Suite(.timeLimit(.minutes(1)))
struct CycleTests {
    @Test func runsAtOnceThenEveryInterval() async throws {
        let h = Harness(interval: .seconds(10))
        await h.runs.until(count: 1)
        await h.clock.untilSleepers(1)
        #expect(h.clock.pendingDeadlines == [.seconds(10)])
        h.clock.advance(by: .seconds(10))
        await h.runs.until(count: 2)
        await h.clock.untilSleepers(1)
        #expect(h.clock.pendingDeadlines == [.seconds(20)])
        #expect(h.runs.values.map(\.reason) == [.interval, .interval])
        #expect(h.runs.values.map(\.at) == [.zero, .seconds(10)])
        try await h.finish()
    }

    @Test func slowRunSkipsTicksInsteadOfPilingThemUp() async throws {
        let h = Harness(interval: .seconds(10)) { _, clock in
            if clock.now.offset == .zero { clock.advance(by: .seconds(25)) }
        }
        await h.runs.until(count: 1)
        await h.clock.untilSleepers(1)
        #expect(h.clock.pendingDeadlines == [.seconds(30)])
        h.clock.advance(by: .seconds(5))
        await h.runs.until(count: 2)
        #expect(h.runs.values.map(\.at) == [.zero, .seconds(30)])
        try await h.finish()
        #expect(h.runs.values.count == 2)
    }

    @Test func delayedStartWaitsOneInterval() async throws {
        let h = Harness(interval: .seconds(10), delayStart: true)
        await h.clock.untilSleepers(1)
        #expect(h.runs.values.isEmpty)
        #expect(h.clock.pendingDeadlines == [.seconds(10)])
        h.clock.advance(by: .seconds(10))
        await h.runs.until(count: 1)
        #expect(h.runs.values.map(\.at) == [.seconds(10)])
        try await h.finish()
    }

    @Test func disabledIntervalRunsOnlyOnTrigger() async throws {
        let h = Harness(interval: nil)
        await h.cycle.triggerWait()
        #expect(h.runs.values.map(\.reason) == [.trigger])
        #expect(h.clock.pendingDeadlines.isEmpty)
        h.clock.advance(by: .seconds(3600))
        h.cycle.trigger()
        await h.runs.until(count: 2)
        #expect(h.runs.values.map(\.reason) == [.trigger, .trigger])
        try await h.finish()
    }

    @Test func triggerWaitWaitsForARunThatStartsAfterIt() async throws {
        let gate = Gate()
        let h = Harness(interval: .seconds(10)) { reason, _ in
            if reason == .interval { await gate.wait() }
        }
        await h.runs.until(count: 1)
        let waiter = Task { await h.cycle.triggerWait() }
        // The first run is still blocked, so the waiter must not be served by it.
        try await Task.sleep(for: .milliseconds(20))
        gate.open()
        await waiter.value
        #expect(h.runs.values.map(\.reason) == [.interval, .trigger])
        try await h.finish()
    }

    @Test func triggersWhileARunIsPendingCoalesce() async throws {
        let gate = Gate()
        let h = Harness(interval: nil) { _, _ in await gate.wait() }
        h.cycle.trigger()
        await h.runs.until(count: 1)
        h.cycle.trigger()
        h.cycle.trigger()
        h.cycle.trigger()
        gate.open()
        await h.cycle.triggerWait()
        // One run for the first trigger, one for the three queued behind it, one for triggerWait.
        #expect(h.runs.values.count <= 3)
        #expect(h.runs.values.allSatisfy { $0.reason == .trigger })
        try await h.finish()
    }

    @Test func pauseStopsTicksButNotTriggersAndRestartResumes() async throws {
        let h = Harness(interval: .seconds(10))
        await h.runs.until(count: 1)
        await h.clock.untilSleepers(1)
        h.cycle.pause()
        #expect(h.cycle.isPaused)
        await h.clock.untilSleepers(0)
        h.clock.advance(by: .seconds(100))
        await h.cycle.triggerWait()
        #expect(h.runs.values.map(\.reason) == [.interval, .trigger])
        #expect(h.clock.pendingDeadlines.isEmpty)

        h.cycle.restart()
        await h.clock.untilDeadlines([.seconds(110)])
        h.clock.advance(by: .seconds(10))
        await h.runs.until(count: 3)
        #expect(h.runs.values.last?.reason == .interval)
        #expect(h.runs.values.last?.at == .seconds(110))
        try await h.finish()
    }

    @Test func changeIntervalRestartsTheGridFromNow() async throws {
        let h = Harness(interval: .seconds(10))
        await h.runs.until(count: 1)
        await h.clock.untilSleepers(1)
        h.clock.advance(by: .seconds(4))
        h.cycle.changeInterval(.seconds(3))
        #expect(h.cycle.interval == .seconds(3))
        await h.clock.untilDeadlines([.seconds(7)])
        h.clock.advance(by: .seconds(3))
        await h.runs.until(count: 2)
        #expect(h.runs.values.map(\.at) == [.zero, .seconds(7)])

        h.cycle.changeInterval(nil)
        #expect(h.cycle.interval == nil)
        await h.clock.untilSleepers(0)
        try await h.finish()
    }

    @Test func stopDuringASlowRunLetsTheRunFinish() async throws {
        let gate = Gate()
        let events = Recorder<String>()
        let h = Harness(interval: .seconds(10)) { _, _ in
            await gate.wait()
            events.record("run finished")
        }
        await h.runs.until(count: 1)
        let closer = Task {
            await h.cycle.close()
            events.record("closed")
        }
        h.cycle.stop()
        try await Task.sleep(for: .milliseconds(20))
        #expect(events.values.isEmpty)
        gate.open()
        await closer.value
        #expect(events.values == ["run finished", "closed"])
        try await h.task.value
        #expect(h.runs.values.count == 1)
    }

    @Test func triggerWaitReturnsWhenTheCycleStops() async throws {
        let cycle = Cycle(interval: nil, clock: ManualClock())
        cycle.stop()
        await cycle.triggerWait()
        try await cycle.run { _ in Issue.record("a stopped cycle must not run") }
    }

    @Test func errorThrownByTheBodyEndsTheLoop() async throws {
        struct Boom: Error {}
        let h = Harness(interval: .seconds(1)) { _, _ in throw Boom() }
        await #expect(throws: Boom.self) { try await h.task.value }
        #expect(h.runs.values.count == 1)
        await h.cycle.triggerWait()
    }

    @Test func cancellationEndsTheLoopWithoutError() async throws {
        let h = Harness(interval: .seconds(10)) { _, _ in try await Task.sleep(for: .seconds(3600)) }
        await h.runs.until(count: 1)
        h.task.cancel()
        try await h.task.value
        #expect(h.runs.values.count == 1)
    }

    @Test func runTwiceIsAnError() async throws {
        let h = Harness(interval: nil)
        await h.cycle.triggerWait()
        await #expect(throws: CycleError.alreadyStarted) { try await h.cycle.run { _ in } }
        try await h.finish()
    }
}
