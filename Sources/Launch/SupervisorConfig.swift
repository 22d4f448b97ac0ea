import SatelliteConfig
import Supervision

/// The `supervisor` section: how the launcher watches, restarts and stops its processes. Every
/// key can also be set on one entry of `processes`, for that process alone.
public struct SupervisorConfig: ConfigSection, Equatable {
    public var timings = SupervisionTimings()
    /// The control socket's path; empty means `<data-dir>/run/satellite.sock`.
    public var controlSocket = ""
    /// Where the launcher serves its operator page, `/status` and `/metrics`; empty turns it off.
    public var debugAddress = ""
    /// Whether the operator page only shows (no restarts from it).
    public var debugReadOnly = false

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .address("debug-address", \.debugAddress, help: "address of the launcher's operator page (/), /status and /metrics (per process: up, restarts, heartbeat age, last exit); empty turns it off; give a loopback address unless the network to it is trusted", optional: true),
        .bool("debug-read-only", \.debugReadOnly, help: "the operator page shows the processes but offers no restart, and POST /restart is refused"),
        .string("control-socket", \.controlSocket, help: "the launcher's control socket (satellite status, restart, stop, log-level); empty means <data-dir>/run/satellite.sock"),
        .duration("heartbeat-interval", \.timings.heartbeatInterval, help: "how often each peer sends WATCHDOG=1 to the launcher", range: .milliseconds(10) ... .seconds(3600)),
        .duration("heartbeat-timeout", \.timings.heartbeatTimeout, help: "silence after which a notify process is hung and restarted; 0s turns hang detection off"),
        .duration("start-timeout", \.timings.startTimeout, help: "time a notify process has to send READY=1 (a one-shot, to finish); 0s waits for ever"),
        .duration("stop-timeout", \.timings.stopTimeout, help: "time between SIGTERM and SIGKILL when a process is stopped"),
        .duration("restart-backoff-initial", \.timings.restartBackoffInitial, help: "delay before the second restart in a row; it doubles with each further failure"),
        .duration("restart-backoff-max", \.timings.restartBackoffMax, help: "longest delay between restarts"),
        .duration("restart-backoff-reset", \.timings.restartBackoffReset, help: "time ready after which a process's backoff starts over"),
        .int("restart-limit", \.timings.restartLimit, help: "restarts of one process allowed within restart-window; one more and the launcher gives up and exits 1", range: 0 ... 1_000_000),
        .duration("restart-window", \.timings.restartWindow, help: "window over which restart-limit counts restarts", range: .milliseconds(1) ... .seconds(86400 * 365)),
    ]
}
