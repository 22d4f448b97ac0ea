import Testing

@testable import Supervision

private func spec(_ name: String, after: [String] = [], oneshot: Bool = false) -> ProcessSpec {
    ProcessSpec(name: name, executable: "/bin/true", after: after, oneshot: oneshot)
}

@Suite struct StartOrderTests {
    @Test func followsAfterWithTiesInListOrder() throws {
        let order = try StartOrder([spec("api", after: ["core"]), spec("core"), spec("helper")])
        #expect(order.order == [1, 0, 2])
        #expect(order.dependencies == [[1], [], []])
    }

    @Test func aOneshotGatesEveryLaterEntry() throws {
        let order = try StartOrder([spec("migration", oneshot: true), spec("core"), spec("api", after: ["core"])])
        #expect(order.order == [0, 1, 2])
        #expect(order.dependencies == [[], [0], [2 - 1, 0]])
    }

    @Test func refusesUnknownNamesDuplicatesAndCycles() {
        #expect(throws: StartOrderError(problem: .unknownDependency(process: "api", dependency: "kore"))) {
            try StartOrder([spec("core"), spec("api", after: ["kore"])])
        }
        #expect(throws: StartOrderError(problem: .duplicateName("core"))) {
            try StartOrder([spec("core"), spec("core")])
        }
        let error = #expect(throws: StartOrderError.self) {
            try StartOrder([spec("a", after: ["c"]), spec("b", after: ["a"]), spec("c", after: ["b"]), spec("d")])
        }
        #expect(error?.description == "processes wait on each other in a cycle: a -> c -> b -> a")
    }
}

@Suite struct RestartBackoffTests {
    @Test func firstRestartIsImmediateThenDoublesToTheMaximum() {
        var backoff = RestartBackoff(initial: .milliseconds(100), maximum: .seconds(1), reset: .seconds(60))
        let delays = (0..<7).map { _ in backoff.nextDelay(readyFor: .seconds(1), jitter: 0) }
        #expect(delays == [.zero, .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
    }

    @Test func aLongHealthyRunStartsOver() {
        var backoff = RestartBackoff(initial: .milliseconds(100), maximum: .seconds(30), reset: .seconds(60))
        _ = backoff.nextDelay(readyFor: nil, jitter: 0)
        _ = backoff.nextDelay(readyFor: nil, jitter: 0)
        #expect(backoff.nextDelay(readyFor: .seconds(59), jitter: 0) == .milliseconds(200))
        #expect(backoff.nextDelay(readyFor: .seconds(60), jitter: 0) == .zero)
        #expect(backoff.nextDelay(readyFor: nil, jitter: 0) == .milliseconds(100))
    }

    @Test func jitterTakesAtMostAFifthOff() {
        var backoff = RestartBackoff(initial: .seconds(1), maximum: .seconds(30), reset: .seconds(60))
        _ = backoff.nextDelay(readyFor: nil, jitter: 0.5)
        #expect(backoff.nextDelay(readyFor: nil, jitter: 0.999_999) > .milliseconds(800))
        #expect(backoff.nextDelay(readyFor: nil, jitter: 0.5) == .milliseconds(1800))
    }
}

@Suite struct RestartIntensityTests {
    @Test func givesUpOnTheRestartPastTheLimitWithinTheWindow() {
        var intensity = RestartIntensity(limit: 3, window: .seconds(10))
        let start = ContinuousClock.now
        let accepted = [0, 1, 2, 3].map { intensity.record(at: start + .seconds($0)) }
        #expect(accepted == [true, true, true, false])
    }

    @Test func forgetsRestartsOlderThanTheWindow() {
        var intensity = RestartIntensity(limit: 2, window: .seconds(10))
        let start = ContinuousClock.now
        let accepted = [0, 5, 10].map { intensity.record(at: start + .seconds($0)) }
        #expect(accepted == [true, true, true])
        #expect(intensity.recent == 2)
    }
}

@Suite struct NotifyFramerTests {
    @Test func readsMessagesSplitAcrossReads() {
        var framer = NotifyFramer()
        #expect(framer.feed(Array("READY=1\nWATCH".utf8)) == [.message(.ready)])
        #expect(framer.feed(Array("DOG=1\nSTATUS=serving 3 nodes\nSTOPPING=1\n".utf8))
            == [.message(.watchdog), .message(.status("serving 3 nodes")), .message(.stopping)])
    }

    @Test func namesMalformedLinesAndIgnoresOtherKeys() {
        var framer = NotifyFramer()
        let items = framer.feed(Array("hello\nREADY=2\n=1\nMAINPID=7\nready=1\n".utf8))
        #expect(items == [
            .malformed(sample: "hello"), .malformed(sample: "READY=2"), .malformed(sample: "=1"),
            .message(.other(key: "MAINPID")), .malformed(sample: "ready=1"),
        ])
    }

    @Test func anEndlessLineCostsNoMoreThanTheLimit() {
        var framer = NotifyFramer(limit: 100)
        let flood = [UInt8](repeating: UInt8(ascii: "x"), count: 70)
        #expect(framer.feed(flood) == [])
        let items = framer.feed(flood)
        #expect(items.count == 1)
        if case .malformed(let sample) = items.first { #expect(sample.hasSuffix("(longer than 100 bytes)")) }
        for _ in 0..<1000 { #expect(framer.feed(flood) == []) }
        #expect(framer.feed(Array("tail\nWATCHDOG=1\n".utf8)) == [.message(.watchdog)])
    }
}

@Suite struct OutputFramerTests {
    private func feed(_ framer: inout OutputFramer, _ text: String) -> String {
        let out = Array(text.utf8).withUnsafeBytes { framer.feed($0) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func holdsAnUnfinishedLineUntilItEnds() {
        var framer = OutputFramer()
        #expect(feed(&framer, "one\ntw") == "one\n")
        #expect(feed(&framer, "o") == "")
        #expect(feed(&framer, "\nthree\nfo") == "two\nthree\n")
        #expect(String(decoding: framer.flush(), as: UTF8.self) == "fo\n")
        #expect(framer.flush().isEmpty)
    }

    @Test func letsAnOverlongLineThroughInPieces() {
        var framer = OutputFramer(limit: 8)
        #expect(feed(&framer, "abcd") == "")
        #expect(feed(&framer, "efghij") == "abcdefghij")
        #expect(!framer.hasPending)
    }
}

@Suite struct LaunchPlanTests {
    @Test func roundTripsEverySpecField() throws {
        var timings = SupervisionTimings()
        timings.heartbeatTimeout = .milliseconds(1500)
        timings.restartLimit = 7
        let specs = [
            ProcessSpec(name: "migration", executable: "/usr/bin/satellite", arguments: ["run", "migration"], oneshot: true, notify: true),
            ProcessSpec(
                name: "helper", executable: "/bin/sh", arguments: ["-c", "echo 'a b'\nexit 0", ""], environment: ["A": "1", "EMPTY": ""],
                after: ["migration"], restart: .onFailure, tags: ["edge", "x"], timings: timings, logPath: "/var/log/satellite/helper.log"
            ),
        ]
        var instance = ProcessSpec(name: "api@2", executable: "/usr/bin/satellite", arguments: ["run", "api"], notify: true)
        instance.instanceOf = "api"
        instance.listenDescriptor = 7
        let plan = LaunchPlan(specs: specs + [instance], settings: ["log-file": "/var/log/satellite/satellite.log", "log-format": "json"])
        #expect(try LaunchPlan(decoding: plan.encoded()) == plan)
    }

    @Test func refusesWhatItDidNotWrite() {
        #expect(throws: LaunchPlanError(detail: "not a launch plan of this version")) { try LaunchPlan(decoding: Array("hello\0".utf8)) }
        let cut = Array(LaunchPlan(specs: [ProcessSpec(name: "a", executable: "/bin/true")]).encoded().dropLast(3))
        #expect(throws: LaunchPlanError.self) { try LaunchPlan(decoding: cut) }
    }
}

@Suite struct HandoverTests {
    /// Within a millisecond: an instant travels as an age and a clock reading.
    func near(_ a: ContinuousClock.Instant?, _ b: ContinuousClock.Instant?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return abs((a - b).nanoseconds) < 1_000_000
    }

    func same(_ a: ChildState, _ b: ChildState) -> Bool {
        func runs(_ x: ChildRun, _ y: ChildRun) -> Bool {
            x.pid == y.pid && near(x.spawnedAt, y.spawnedAt) && near(x.readyAt, y.readyAt) && near(x.heartbeat, y.heartbeat)
        }
        switch (a, b) {
        case (.idle, .idle): return true
        case (.starting(let x), .starting(let y)), (.ready(let x), .ready(let y)): return runs(x, y)
        case (.stopping(let x, let r, let k, let killed), .stopping(let y, let s, let l, let killed2)):
            return runs(x, y) && r == s && near(k, l) && killed == killed2
        case (.backingOff(let x), .backingOff(let y)): return near(x, y)
        case (.down(let x), .down(let y)): return x == y
        default: return false
        }
    }

    @Test func carriesEveryStateCountDescriptorAndHalfLine() throws {
        let now = ContinuousClock.now
        var run = ChildRun(pid: 4242, spawnedAt: now - .seconds(90))
        run.readyAt = now - .seconds(89)
        run.heartbeat = now - .milliseconds(300)
        let states: [ChildState] = [
            .idle, .starting(ChildRun(pid: 7, spawnedAt: now - .milliseconds(5))), .ready(run),
            .stopping(run, .hung, killAt: now + .seconds(9), killed: false), .stopping(run, .requested, killAt: now - .seconds(1), killed: true),
            .backingOff(until: now + .seconds(30)), .down(.exited(code: 0)), .down(.signalled(9)), .down(nil),
        ]
        let specs = states.indices.map { ProcessSpec(name: "p\($0)", executable: "/bin/sleep", arguments: ["1000"]) }
        let children = states.enumerated().map { index, state in
            HandedChild(
                machine: ChildMachine.Saved(
                    state: state, backoffFailures: index, intensityTimes: [now - .seconds(index), now - .milliseconds(index)], restarts: index * 3,
                    lastExit: index % 2 == 0 ? .exited(code: Int32(index)) : .signalled(15), restartsAllowed: index % 3 != 0
                ),
                pidfd: Int32(10 + index), notifyRead: index == 0 ? -1 : 40, notifyWrite: index == 0 ? -1 : 41, outputRead: 42, outputWrite: 43,
                logDescriptor: 44, journalStream: -1, notifyPending: [0, 10, 255, UInt8(index)], notifyDiscarding: index == 4,
                outputPending: Array("half a line \u{0}".utf8), malformedMessages: index
            )
        }
        let launcher = HandedLauncher(
            launchedAt: now - .seconds(100), startedSequence: [2, 0, 1], restartWhenDown: [3], controlListener: 5, debugListener: -1,
            guardPid: 999, guardPidfd: 6, guardChannel: 8, requesters: [12, 13]
        )
        let handover = Handover(
            plan: LaunchPlan(specs: specs, settings: ["log-format": "text"]), previousVersion: "0.1.0-dev", launcher: launcher, children: children
        )
        let decoded = try Handover(decoding: handover.encoded())
        #expect(decoded.plan == handover.plan)
        #expect(decoded.previousVersion == "0.1.0-dev")
        #expect(near(decoded.launcher.launchedAt, launcher.launchedAt))
        var launcherRest = decoded.launcher
        launcherRest.launchedAt = launcher.launchedAt
        #expect(launcherRest == launcher)
        for (got, sent) in zip(decoded.children, children) {
            #expect(same(got.machine.state, sent.machine.state), "\(got.machine.state) != \(sent.machine.state)")
            #expect(zip(got.machine.intensityTimes, sent.machine.intensityTimes).allSatisfy { near($0, $1) } && got.machine.intensityTimes.count == 2)
            var rest = got
            rest.machine.state = sent.machine.state
            rest.machine.intensityTimes = sent.machine.intensityTimes
            #expect(rest == sent)
        }
        #expect(Set(decoded.descriptors) == Set([5, 6, 8, 12, 13] + (10..<19).map(Int32.init) + [40, 41, 42, 43, 44]))
        // A machine restored from it goes on from the same counts.
        let machine = ChildMachine(specs[2], restoring: decoded.children[2].machine)
        #expect(machine.restarts == 6 && machine.backoff.failures == 2 && machine.intensity.recent == 2 && machine.lastExit == .exited(code: 2))
    }

    @Test func refusesAPlanOrAnythingElse() {
        let plan = LaunchPlan(specs: [ProcessSpec(name: "a", executable: "/bin/true")]).encoded()
        #expect(throws: LaunchPlanError(detail: "not a launcher's handover of this version")) { try Handover(decoding: plan) }
    }
}

@Suite struct RollingRestartTests {
    @Test func restartsTheNextOnlyOnceTheOneBeforeIsBack() {
        var roll = RollingRestart(name: "api", processes: [2, 3, 4])
        var back: Set<Int> = []
        #expect(roll.next { back.contains($0) } == .restart(2))
        #expect(roll.next { back.contains($0) } == .wait)
        #expect(roll.next { back.contains($0) } == .wait)
        back.insert(2)
        #expect(roll.next { back.contains($0) } == .restart(3))
        back.insert(4)  // another's readiness does not move it on
        #expect(roll.next { back.contains($0) } == .wait)
        back.insert(3)
        #expect(roll.next { back.contains($0) } == .restart(4))
        #expect(roll.next { back.contains($0) } == .finished)
    }
}
