import CSupport
import Foundation
import Glibc
import Supervision
import Logging
import Synchronization
import Testing

/// The supervisor with real children: `sh` scripts, spawned as the launcher spawns them.
@Suite(.timeLimit(.minutes(1)))
struct SupervisorTests {
    static let ready = "echo READY=1 >&$SATELLITE_NOTIFY_FD"
    static let beat = "while :; do echo WATCHDOG=1 >&$SATELLITE_NOTIFY_FD; sleep 0.05; done"

    @Test func startsInOrderOfReadinessAndStopsInReverse() async throws {
        try await withSupervisor([
            shell("migration", "exit 0", oneshot: true),
            shell("core", "sleep 0.05; \(Self.ready); \(Self.beat)", notify: true) { $0.heartbeatTimeout = .seconds(5) },
            shell("api", "\(Self.ready); exec sleep 1000", notify: true, after: ["core"]),
            shell("repairer", "exec sleep 1000", after: ["api"]),
        ]) { h in
            try await h.events.until("all ready") { $0.contains { $0.process == nil && $0.event.message == "ready" } }
            let starts = h.events.all.filter { if case .spawned = $0.event { true } else { false } }.map(\.process)
            #expect(starts == ["migration", "core", "api", "repairer"])
            #expect(h.events.events(of: "migration") .contains(.exited(.exited(code: 0))))
            let coreReady = h.events.all.firstIndex { $0.process == "core" && $0.event.message == "ready" }!
            let apiSpawned = h.events.all.firstIndex { $0.process == "api" && $0.event.message == "spawned" }!
            #expect(coreReady < apiSpawned)

            let outcome = try await h.stop()
            #expect(outcome == .stopped)
            let stops = h.events.all.filter { $0.event == .stopped }.map(\.process)
            #expect(stops == ["repairer", "api", "core"])
            for pid in h.events.spawnedPids { #expect(isGone(pid)) }
        }
    }

    @Test func firstRestartAfterACrashIsImmediate() async throws {
        try await withSupervisor([shell("worker", "exec sleep 1000")]) { h in
            try await h.events.until("worker", { $0.message == "ready" })
            let first = h.events.spawnedPids[0]
            kill(first, SIGKILL)
            try await h.events.until("worker", count: 2, { $0.message == "spawned" })
            let events = h.events.events(of: "worker")
            #expect(events.contains(.exited(.signalled(SIGKILL))))
            #expect(events.contains(.restarting(delay: .zero, restarts: 1)))
            #expect(h.events.spawnedPids.count == 2 && h.events.spawnedPids[1] != first)
        }
    }

    @Test func repeatedFailuresBackOffExponentially() async throws {
        try await withSupervisor([shell("flaky", "exit 1") {
            $0.restartBackoffInitial = .milliseconds(20)
            $0.restartLimit = 50
        }]) { h in
            try await h.events.until("flaky", count: 4, { $0.message == "restarting" })
            let delays = h.events.events(of: "flaky").compactMap { if case .restarting(let delay, _) = $0 { delay } else { nil } }
            #expect(delays[0] == .zero)
            #expect(delays[1] > .milliseconds(15) && delays[1] <= .milliseconds(20))
            #expect(delays[2] > .milliseconds(31) && delays[2] <= .milliseconds(40))
            #expect(delays[3] > .milliseconds(63) && delays[3] <= .milliseconds(80))
        }
    }

    @Test func aRunThatStayedReadyResetsTheBackoff() async throws {
        try await withSupervisor([shell("steady", "sleep 0.15; exit 1") {
            $0.restartBackoffInitial = .seconds(5)
            $0.restartBackoffReset = .milliseconds(100)
        }]) { h in
            try await h.events.until("steady", count: 3, { $0.message == "restarting" })
            let delays = h.events.events(of: "steady").compactMap { if case .restarting(let delay, _) = $0 { delay } else { nil } }
            #expect(delays.prefix(3) == [.zero, .zero, .zero])
        }
    }

    @Test func aSilentProcessIsHungKilledAndRestarted() async throws {
        try await withSupervisor([shell("quiet", "\(Self.ready); exec sleep 1000", notify: true) {
            $0.heartbeatTimeout = .milliseconds(200)
        }]) { h in
            try await h.events.until("quiet", count: 2, { $0.message == "spawned" })
            let events = h.events.events(of: "quiet")
            let hung = events.first { $0.message == "hung" }
            guard case .hung(let age?, _) = hung else { Issue.record("no hang in \(events)"); return }
            #expect(age >= .milliseconds(200))
            let afterHang = events.drop { $0.message != "hung" }.map(\.message)
            #expect(Array(afterHang.prefix(5)) == ["hung", "stopping", "exited", "restarting", "spawned"])
        }
    }

    @Test func noReadyInTimeIsAHang() async throws {
        try await withSupervisor([shell("mute", "exec sleep 1000", notify: true) { $0.startTimeout = .milliseconds(100) }]) { h in
            try await h.events.until("mute", { $0.message == "restarting" })
            #expect(h.events.events(of: "mute").contains(.hung(heartbeatAge: nil, reason: "no READY within start-timeout 100ms")))
        }
    }

    @Test func aCrashLoopGivesUpAndStopsEverything() async throws {
        try await withSupervisor([
            shell("steady", "exec sleep 1000"),
            shell("broken", "exit 3") {
                $0.restartBackoffInitial = .milliseconds(1)
                $0.restartLimit = 3
            },
        ]) { h in
            let outcome = try await h.finished()
            #expect(outcome == .gaveUp(reason: "broken needed more than 3 restarts within 1m0s"))
            #expect(h.events.events(of: "broken").filter { $0.message == "spawned" }.count == 4)
            #expect(h.events.events(of: "steady").last == .stopped)
        }
    }

    @Test func aFailedOneshotAbortsTheLaunch() async throws {
        try await withSupervisor([shell("migration", "exit 2", oneshot: true), shell("core", "exec sleep 1000")]) { h in
            let outcome = try await h.finished()
            #expect(outcome == .gaveUp(reason: "one-shot process migration failed with exit code 2"))
            #expect(h.events.events(of: "core").isEmpty)
        }
    }

    @Test func aChildThatIgnoresSigtermIsKilledAfterItsStopTimeout() async throws {
        try await withSupervisor([
            shell("first", "exec sleep 1000"),
            shell("stubborn", "trap '' TERM; \(Self.ready); while :; do sleep 0.05; done", notify: true) { $0.stopTimeout = .milliseconds(300) },
        ]) { h in
            try await h.events.until("stubborn", { $0.message == "ready" })
            let outcome = try await h.stop()
            #expect(outcome == .stopped)
            let stubborn = h.events.events(of: "stubborn")
            #expect(stubborn.suffix(4) == [.stopping(signal: SIGTERM), .stopping(signal: SIGKILL), .exited(.signalled(SIGKILL)), .stopped])
            let order = h.events.all.filter { $0.event == .stopped }.map(\.process)
            #expect(order == ["stubborn", "first"])
        }
    }

    @Test func aSecondStopRequestKillsWhatIsLeft() async throws {
        try await withSupervisor([
            shell("stubborn", "trap '' TERM; \(Self.ready); while :; do sleep 0.05; done", notify: true) { $0.stopTimeout = .seconds(30) },
        ]) { h in
            try await h.events.until("stubborn", { $0.message == "ready" })
            h.supervisor.shutdown()
            try await h.events.until("stubborn", { $0 == .stopping(signal: SIGTERM) })
            h.supervisor.shutdown()
            let outcome = try await h.finished()
            #expect(outcome == .forced)
            #expect(h.events.events(of: "stubborn").contains(.exited(.signalled(SIGKILL))))
        }
    }

    @Test func grandchildrenDieWithTheirGroup() async throws {
        let directory = SupervisorHarness.tempDirectory()
        let script = "sleep 1000 & echo $! > \(directory)/grandchild; exec sleep 1000"
        let harness = try SupervisorHarness(directory: directory, [shell("parent", script, restart: .never)])
        do {
            try await eventually("grandchild pid written") { !harness.read("grandchild").isEmpty }
            let grandchild = Int32(harness.read("grandchild").filter(\.isNumber))!
            // The leader crashes; what it left in its group goes with it.
            kill(harness.events.spawnedPids[0], SIGKILL)
            try await eventually("grandchild gone") { isGone(grandchild) }
        } catch {
            await harness.tearDown()
            throw error
        }
        await harness.tearDown()
    }

    @Test func logsKeepEveryLineAcrossACrashAndAppendAcrossRestarts() async throws {
        let directory = SupervisorHarness.tempDirectory()
        let script = "echo run; printf 'one\\ntwo\\npartial'; echo oops >&2; printf 'last words'; kill -KILL $$"
        let harness = try SupervisorHarness(directory: directory, [shell("crasher", script, log: directory + "/crasher.log") {
            $0.restartBackoffInitial = .milliseconds(1)
        }])
        do {
            try await harness.events.until("crasher", count: 2, { $0 == .exited(.signalled(SIGKILL)) })
            let text = harness.read("crasher.log")
            #expect(text.hasPrefix("run\none\ntwo\npartialoops\nlast words\nrun\none\ntwo\npartialoops\nlast words\n"))
        } catch {
            await harness.tearDown()
            throw error
        }
        await harness.tearDown()
    }

    @Test func malformedAndOversizedMessagesAreCountedNotFatal() async throws {
        let flood = "i=0; while [ $i -lt 50 ]; do echo 'not a message' >&$SATELLITE_NOTIFY_FD; i=$((i+1)); done; head -c 100000 /dev/zero | tr '\\0' x >&$SATELLITE_NOTIFY_FD; echo >&$SATELLITE_NOTIFY_FD; \(Self.ready); exec sleep 1000"
        try await withSupervisor([shell("noisy", flood, notify: true)]) { h in
            try await h.events.until("noisy", { $0.message == "ready" })
            let counts = h.events.events(of: "noisy").compactMap { if case .malformedMessage(_, let count) = $0 { count } else { nil } }
            #expect(counts == [1, 2, 4, 8, 16, 32])
        }
    }
}

/// Children of this process that exited and were not reaped.
func zombieChildren() -> [Int32] {
    let me = getpid()
    guard let directory = opendir("/proc") else { return [] }
    defer { closedir(directory) }
    var zombies: [Int32] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let pid = Int32(name), let file = fopen("/proc/\(pid)/stat", "r") else { continue }
        var line = [CChar](repeating: 0, count: 512)
        let read = fgets(&line, Int32(line.count), file)
        fclose(file)
        guard read != nil else { continue }
        let text = cText(line)
        guard let close = text.lastIndex(of: ")") else { continue }
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        if fields.count > 1, fields[0] == "Z", Int32(fields[1]) == me { zombies.append(pid) }
    }
    return zombies
}

/// What the supervisor told its parent, with when.
final class ParentMessages: Sendable {
    private let messages = Mutex<[(String, ContinuousClock.Instant)]>([])
    func append(_ message: String) { messages.withLock { $0.append((message, .now)) } }
    var all: [(String, ContinuousClock.Instant)] { messages.withLock { $0 } }
}

/// A span of time the supervision loop was held.
final class HeldSpan: Sendable {
    let span = Mutex<(start: ContinuousClock.Instant, end: ContinuousClock.Instant)?>(nil)
}

@Suite(.timeLimit(.minutes(1)))
struct SupervisorWatchdogTests {
    @Test func watchdogPingsComeFromTheLoopAndStopWhileItIsHeld() async throws {
        let messages = ParentMessages()
        let held = HeldSpan()
        var options = SupervisorOptions(guardProgram: SupervisorOptions.guardProgramBesideExecutable(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        options.parentNotify = { messages.append($0) }
        options.watchdogInterval = .milliseconds(20)
        // The observer runs on the loop's thread: holding it holds supervision.
        options.observer = { record in
            guard record.event == .stopping(signal: SIGKILL) else { return }
            let start = ContinuousClock.now
            usleep(400_000)
            held.span.withLock { $0 = (start, .now) }
        }
        let supervisor = try Supervisor(specs: [shell("held", "exec sleep 1000"), shell("other", "exec sleep 1000")], options: options)
        let run = Task { try await supervisor.run() }
        try await eventually("ready and a few pings") { messages.all.filter { $0.0 == "WATCHDOG=1" }.count >= 3 }
        #expect(messages.all.first?.0 == "READY=1\nSTATUS=2/2 ready")
        supervisor.kill(process: "held")
        try await eventually("the hold to end") { held.span.withLock { $0 } != nil }
        let span = try #require(held.span.withLock { $0 })
        try await eventually("pings after the hold") { messages.all.contains { $0.0 == "WATCHDOG=1" && $0.1 > span.end } }
        let pingsDuringHold = messages.all.filter { $0.0 == "WATCHDOG=1" && $0.1 > span.start && $0.1 < span.end }
        #expect(pingsDuringHold.isEmpty)
        supervisor.shutdown()
        _ = try await run.value
        let texts = messages.all.map(\.0)
        let stopping = try #require(texts.firstIndex(of: "STOPPING=1\nSTATUS=stopping"))
        #expect(texts[..<stopping].contains("STATUS=1/2 ready"), "\(texts)")
        #expect(texts[stopping...].contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=11000000") })
    }
}

@Suite(.timeLimit(.minutes(1)))
struct LogRotationTests {
    @Test func rotationUnderAFastWriterLosesAndSplitsNoLine() async throws {
        let directory = SupervisorHarness.tempDirectory()
        var spec = shell("chatty", "seq 1 100000; seq 100001 120000 >&2", restart: .never, log: directory + "/chatty.log")
        spec.logMaxSize = 32 * 1024
        spec.logFiles = 100
        let harness = try SupervisorHarness(directory: directory, [spec])
        do {
            try await harness.events.until("chatty", { $0 == .exited(.exited(code: 0)) })
            // Oldest first: chatty.log.N ... chatty.log.1, then chatty.log.
            var generations: [String] = []
            var generation = 1
            while FileManager.default.fileExists(atPath: directory + "/chatty.log.\(generation)") {
                generations.insert("chatty.log.\(generation)", at: 0)
                generation += 1
            }
            #expect(generations.count > 10, "expected many rotations of a 32 KiB log")
            var expected = 1
            var bad: [String] = []
            for name in generations + ["chatty.log"] {
                let text = harness.read(name)
                #expect(text.isEmpty || text.hasSuffix("\n"), "\(name) ends mid-line")
                for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                    if Int(line) != expected, bad.count < 5 { bad.append("\(name): \"\(line)\" where \(expected) was due") }
                    expected += 1
                }
                let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
                #expect(size <= 32 * 1024, "\(name) is \(size) bytes")
            }
            #expect(bad.isEmpty, "\(bad)")
            #expect(expected == 120_001)
        } catch {
            await harness.tearDown()
            throw error
        }
        await harness.tearDown()
    }

    @Test func oldestRotatedFilesAreDropped() async throws {
        let directory = SupervisorHarness.tempDirectory()
        var spec = shell("chatty", "seq 1 20000", restart: .never, log: directory + "/chatty.log")
        spec.logMaxSize = 8 * 1024
        spec.logFiles = 3
        let harness = try SupervisorHarness(directory: directory, [spec])
        do {
            try await harness.events.until("chatty", { $0 == .exited(.exited(code: 0)) })
            let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("chatty.log") }.sorted()
            #expect(names == ["chatty.log", "chatty.log.1", "chatty.log.2", "chatty.log.3"])
            #expect(harness.read("chatty.log").hasSuffix("20000\n"))
        } catch {
            await harness.tearDown()
            throw error
        }
        await harness.tearDown()
    }

    /// Regression: a rotation the directory refused was retried before every line, forever, on
    /// the loop's thread, which then served nothing else.
    @Test func aRotationThatFailsWritesOnIntoTheCurrentFile() async throws {
        let directory = SupervisorHarness.tempDirectory()
        // A directory where the rotated file must go: the rename fails, as in a read-only directory.
        mkdir(directory + "/chatty.log.1", 0o700)
        let blocker = open(directory + "/chatty.log.1/keep", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        close(blocker)
        var spec = shell("chatty", "seq 1 5000; \(SupervisorTests.ready); exec sleep 1000", notify: true, log: directory + "/chatty.log")
        spec.logMaxSize = 4 * 1024
        spec.logFiles = 1
        let harness = try SupervisorHarness(directory: directory, [spec])
        do {
            try await harness.events.until("chatty", { $0.message == "ready" })
            let lines = harness.read("chatty.log").split(separator: "\n")
            #expect(lines.count == 5000 && lines.last == "5000", "every line in the file already open")
        } catch {
            await harness.tearDown()
            throw error
        }
        await harness.tearDown()
    }
}
