import Glibc
import Testing

@testable import Supervision

/// The per-process state machine driven by hand: no processes, no clocks.
@Suite struct ChildMachineTests {
    let t0 = ContinuousClock.now

    func machine(notify: Bool = true, oneshot: Bool = false, restart: RestartPolicy = .always, _ adjust: (inout SupervisionTimings) -> Void = { _ in }) -> ChildMachine {
        var timings = SupervisionTimings()
        adjust(&timings)
        let spec = ProcessSpec(name: "api", executable: "/bin/true", oneshot: oneshot, restart: restart, notify: notify, timings: timings)
        return ChildMachine(spec, jitter: { 0 })
    }

    @Test func notifyProcessIsReadyOnReadyAndHungWithoutHeartbeat() {
        var m = machine()
        #expect(m.handle(.start, at: t0) == [.spawn])
        #expect(m.handle(.spawned(pid: 10), at: t0) == [.report(.spawned(pid: 10))])
        #expect(!m.satisfiesDependants)
        #expect(m.nextDeadline == t0 + .seconds(30))
        #expect(m.handle(.message(.ready), at: t0 + .milliseconds(40)) == [.report(.ready(sinceSpawn: .milliseconds(40)))])
        #expect(m.satisfiesDependants)
        #expect(m.handle(.message(.watchdog), at: t0 + .seconds(1)) == [])
        #expect(m.nextDeadline == t0 + .seconds(6))
        #expect(m.handle(.tick, at: t0 + .seconds(5)) == [])
        let hung = m.handle(.tick, at: t0 + .seconds(6))
        #expect(hung == [
            .report(.hung(heartbeatAge: .seconds(5), reason: "no WATCHDOG within heartbeat-timeout 5s")),
            .signal(SIGTERM), .report(.stopping(signal: SIGTERM)),
        ])
        #expect(m.handle(.tick, at: t0 + .seconds(16)) == [.signal(SIGKILL), .report(.stopping(signal: SIGKILL))])
        #expect(m.handle(.exited(.signalled(SIGKILL)), at: t0 + .seconds(16)) == [
            .report(.exited(.signalled(SIGKILL))), .report(.restarting(delay: .zero, restarts: 1)), .spawn,
        ])
    }

    @Test func noReadyWithinTheStartTimeoutIsAHang() {
        var m = machine { $0.startTimeout = .seconds(2) }
        _ = m.handle(.spawned(pid: 10), at: t0)
        let actions = m.handle(.tick, at: t0 + .seconds(2))
        #expect(actions.first == .report(.hung(heartbeatAge: nil, reason: "no READY within start-timeout 2s")))
        #expect(actions.contains(.signal(SIGTERM)))
    }

    @Test func plainProcessIsReadyWhenSpawnedAndNeverHung() {
        var m = machine(notify: false)
        #expect(m.handle(.spawned(pid: 10), at: t0) == [.report(.spawned(pid: 10)), .report(.ready(sinceSpawn: .zero))])
        #expect(m.nextDeadline == nil)
        #expect(m.handle(.tick, at: t0 + .seconds(3600)) == [])
    }

    @Test func repeatedCrashesBackOffUntilTheLimitThenGiveUp() {
        var m = machine(notify: false) { $0.restartLimit = 3 }
        var now = t0
        var delays: [Duration] = []
        for pid in Int32(1)...3 {
            _ = m.handle(.spawned(pid: pid), at: now)
            let actions = m.handle(.exited(.exited(code: 1)), at: now)
            guard case .report(.restarting(let delay, _)) = actions[1] else { Issue.record("no restart: \(actions)"); return }
            delays.append(delay)
            now = now + delay
            if delay > .zero { #expect(m.handle(.tick, at: now) == [.spawn]) }
        }
        #expect(delays == [.zero, .milliseconds(100), .milliseconds(200)])
        _ = m.handle(.spawned(pid: 4), at: now)
        #expect(m.handle(.exited(.exited(code: 1)), at: now) == [
            .report(.exited(.exited(code: 1))), .giveUp(reason: "api needed more than 3 restarts within 1m0s"),
        ])
        #expect(m.state == .down(.exited(code: 1)))
    }

    @Test func restartPolicies() {
        var onFailure = machine(notify: false, restart: .onFailure)
        _ = onFailure.handle(.spawned(pid: 1), at: t0)
        #expect(onFailure.handle(.exited(.exited(code: 0)), at: t0) == [.report(.exited(.exited(code: 0)))])
        #expect(onFailure.state == .down(.exited(code: 0)))

        var never = machine(notify: false, restart: .never)
        _ = never.handle(.spawned(pid: 1), at: t0)
        _ = never.handle(.exited(.signalled(SIGSEGV)), at: t0)
        #expect(never.state == .down(.signalled(SIGSEGV)))
    }

    @Test func requestedStopEscalatesAndStaysDown() {
        var m = machine { $0.stopTimeout = .seconds(3) }
        _ = m.handle(.spawned(pid: 10), at: t0)
        _ = m.handle(.message(.ready), at: t0)
        #expect(m.handle(.stop, at: t0) == [.signal(SIGTERM), .report(.stopping(signal: SIGTERM))])
        #expect(m.nextDeadline == t0 + .seconds(3))
        #expect(m.handle(.tick, at: t0 + .seconds(3)) == [.signal(SIGKILL), .report(.stopping(signal: SIGKILL))])
        #expect(m.nextDeadline == nil)
        #expect(m.handle(.exited(.signalled(SIGKILL)), at: t0 + .seconds(3)) == [.report(.exited(.signalled(SIGKILL))), .report(.stopped)])
        #expect(m.state == .down(.signalled(SIGKILL)))
    }

    @Test func oneshotSatisfiesDependantsOnlyByExitingZero() {
        var ok = machine(oneshot: true)
        _ = ok.handle(.spawned(pid: 1), at: t0)
        #expect(ok.handle(.message(.ready), at: t0) == [])
        #expect(!ok.satisfiesDependants)
        #expect(ok.handle(.exited(.exited(code: 0)), at: t0) == [.report(.exited(.exited(code: 0)))])
        #expect(ok.satisfiesDependants)

        var failing = machine(oneshot: true)
        _ = failing.handle(.spawned(pid: 1), at: t0)
        #expect(failing.handle(.exited(.exited(code: 3)), at: t0).last == .giveUp(reason: "one-shot process api failed with exit code 3"))
        #expect(!failing.satisfiesDependants)
    }

    @Test func heldRestartsKeepACrashedProcessDown() {
        var m = machine(notify: false)
        _ = m.handle(.spawned(pid: 1), at: t0)
        _ = m.handle(.exited(.exited(code: 1)), at: t0)
        _ = m.handle(.spawned(pid: 2), at: t0)
        _ = m.handle(.exited(.exited(code: 1)), at: t0)
        #expect(m.state == .backingOff(until: t0 + .milliseconds(100)))
        #expect(m.holdRestarts() == [.report(.stopped)])
        #expect(m.state == .down(nil))
        #expect(m.handle(.tick, at: t0 + .seconds(1)) == [])
    }
}
