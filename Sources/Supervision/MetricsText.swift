/// The launcher's `/metrics` in Prometheus' text format: per process, whether it is up, its
/// restarts, its heartbeat age and its last exit; and whether the whole launch has been ready.
enum MetricsText {
    static func render(machines: [ChildMachine], launchReady: Bool, now: ContinuousClock.Instant) -> String {
        func label(_ name: String) -> String { "{process=" + JSONText.string(name) + "}" }
        var lines = [
            "# HELP satellite_process_up Whether the process is running (1) or not (0).", "# TYPE satellite_process_up gauge",
        ]
        lines += machines.map { "satellite_process_up\(label($0.name)) \($0.isAlive ? 1 : 0)" }
        lines += ["# HELP satellite_process_restarts_total Restarts by the restart policy since launch.", "# TYPE satellite_process_restarts_total counter"]
        lines += machines.map { "satellite_process_restarts_total\(label($0.name)) \($0.restarts)" }
        lines += ["# HELP satellite_process_heartbeat_age_seconds Time since the last WATCHDOG=1 of a ready notify process.", "# TYPE satellite_process_heartbeat_age_seconds gauge"]
        for machine in machines {
            if machine.notify, case .ready(let run) = machine.state {
                lines.append("satellite_process_heartbeat_age_seconds\(label(machine.name)) \(Double((now - run.heartbeat).wholeMilliseconds) / 1000)")
            }
        }
        lines += ["# HELP satellite_process_last_exit_code The exit code of the last run, or -signal when a signal ended it.", "# TYPE satellite_process_last_exit_code gauge"]
        for machine in machines {
            switch machine.lastExit {
            case .exited(let code)?: lines.append("satellite_process_last_exit_code\(label(machine.name)) \(code)")
            case .signalled(let signal)?: lines.append("satellite_process_last_exit_code\(label(machine.name)) -\(signal)")
            case nil: break
            }
        }
        lines += ["# HELP satellite_supervisor_ready Whether every process has been ready since launch.", "# TYPE satellite_supervisor_ready gauge"]
        lines.append("satellite_supervisor_ready \(launchReady ? 1 : 0)")
        return lines.joined(separator: "\n") + "\n"
    }
}
