#if canImport(Glibc)
import Glibc
#endif

/// The answer to `status` on the control socket, and the one-line summary systemd shows; its fields are documented in the README and
/// stay stable (a field is added only with a new `version`).
enum StatusDocument {
    /// The document for processes `machines` (with their `specs`, in configuration order) of a
    /// launch in `phase` that began at `launchedAt`.
    static func render(
        machines: [ChildMachine], specs: [ProcessSpec], phase: LaunchPhase, launchedAt: ContinuousClock.Instant, version: String?, now: ContinuousClock.Instant
    ) -> String {
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let wallNow = Double(realtime.tv_sec) + Double(realtime.tv_nsec) / 1e9
        func wall(_ instant: ContinuousClock.Instant) -> String {
            JSONText.string(JSONText.time(secondsSinceEpoch: wallNow - Double((now - instant).wholeMilliseconds) / 1000))
        }
        let processes = machines.indices.map { index -> String in
            let machine = machines[index]
            let run = machine.state.run
            var exitCode: String?
            var exitSignal: String?
            switch machine.lastExit {
            case .exited(let code)?: exitCode = String(code)
            case .signalled(let signal)?: exitSignal = JSONText.string(SignalName.of(signal))
            case nil: break
            }
            let heartbeatAge: String? = machine.notify && run?.readyAt != nil ? String((now - run!.heartbeat).wholeMilliseconds) : nil
            return JSONText.object([
                ("name", JSONText.string(machine.name)),
                ("pid", run.map { String($0.pid) }),
                ("state", JSONText.string(stateName(machine.state))),
                ("ready_since", run?.readyAt.map(wall)),
                ("restarts", String(machine.restarts)),
                ("last_exit_code", exitCode),
                ("last_exit_signal", exitSignal),
                ("heartbeat_age_ms", heartbeatAge),
                ("tags", "[" + specs[index].tags.map(JSONText.string).joined(separator: ",") + "]"),
                ("instance_of", specs[index].instanceOf.map(JSONText.string)),
                ("version", run?.version.map(JSONText.string)),
            ])
        }
        return JSONText.object([
            ("version", "2"),
            ("launcher", JSONText.object([
                ("pid", String(getpid())), ("phase", JSONText.string(phase.name)), ("started_at", wall(launchedAt)),
                ("version", version.map(JSONText.string) ?? "null"),
            ])),
            ("processes", "[" + processes.joined(separator: ",") + "]"),
        ])
    }

    /// One line for operators (systemd's `STATUS=`): how many processes are ready, and which
    /// restarted.
    static func summary(machines: [ChildMachine], phase: LaunchPhase) -> String {
        if case .stopping = phase { return "stopping" }
        let ready = machines.filter { machine in
            if case .ready = machine.state { return true }
            return machine.oneshot && machine.satisfiesDependants
        }.count
        let restarted = machines.filter { $0.restarts > 0 }.map { "\($0.name) restarted \($0.restarts) time\($0.restarts == 1 ? "" : "s")" }
        return (["\(ready)/\(machines.count) ready"] + restarted).joined(separator: "; ")
    }

    /// A process's `state` field.
    static func stateName(_ state: ChildState) -> String {
        switch state {
        case .idle: "waiting"
        case .starting: "starting"
        case .ready: "ready"
        case .stopping: "stopping"
        case .backingOff: "backing-off"
        case .down: "down"
        }
    }
}
