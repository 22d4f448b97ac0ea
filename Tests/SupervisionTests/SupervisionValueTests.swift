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
        let plan = LaunchPlan(specs: specs, settings: ["log-file": "/var/log/satellite/satellite.log", "log-format": "json"])
        #expect(try LaunchPlan(decoding: plan.encoded()) == plan)
    }

    @Test func refusesWhatItDidNotWrite() {
        #expect(throws: LaunchPlanError(detail: "not a launch plan of this version")) { try LaunchPlan(decoding: Array("hello\0".utf8)) }
        let cut = Array(LaunchPlan(specs: [ProcessSpec(name: "a", executable: "/bin/true")]).encoded().dropLast(3))
        #expect(throws: LaunchPlanError.self) { try LaunchPlan(decoding: cut) }
    }
}
