import Logging
import StructuredLogging
import Supervision
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Runs a peer until SIGTERM or SIGINT, then stops it gracefully and closes it.
///
/// Once every subsystem has started and its listeners are bound the peer sends `READY=1` to
/// whoever started it (the launcher's notify pipe or systemd), then `WATCHDOG=1` every
/// `heartbeatInterval` from a task on the same executor as its work, so a wedged peer stops
/// beating. If the launcher is gone (the pipe has no reader) the peer stops. The first signal
/// begins a graceful shutdown (`STOPPING=1`; subsystems stop in reverse order, then close); a
/// second one exits the process at once with status 1, for an operator who will not wait.
/// SIGUSR2 sets `level` to what the process's ``LogLevelFile`` names.
/// - Throws: what the peer's run or close threw.
public func runUntilSignalled(
    _ peer: some Peer,
    log: Logger,
    heartbeatInterval: Duration = .seconds(1),
    level: LogLevelControl? = nil,
    version: String? = nil
) async throws {
    let notifier = PeerNotifier.current()
    let levelFile = LogLevelFile.fromEnvironment()
    let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sigusr2)
    let watcher = Task {
        var received = 0
        for await signal in signals {
            if signal == .sigusr2 {
                // `satellite log-level LEVEL NAME`: the launcher left the level in the file.
                if let level, let wanted = levelFile?.read() {
                    level.level = wanted
                    log.notice("log level changed", metadata: ["level_now": .string(wanted.rawValue)])
                }
                continue
            }
            received += 1
            if received == 1 {
                log.info("stopping", metadata: ["signal": "\(signal)"])
                notifier.send(.stopping)
                await peer.shutdown()
            } else {
                log.warning("second signal; exiting now", metadata: ["signal": "\(signal)"])
                exit(1)
            }
        }
    }
    let heartbeat = Task {
        guard await peer.untilServing() else { return }
        // One message, so that whoever reads READY has the version with it.
        if let version {
            notifier.send(.ready, .status("\(type(of: peer).name) running"), .version(version))
        } else {
            notifier.send(.ready, .status("\(type(of: peer).name) running"))
        }
        var reported: [String] = []
        while !Task.isCancelled {
            try? await Task.sleep(for: heartbeatInterval)
            guard !Task.isCancelled else { return }
            // An unhealthy peer withholds its heartbeat: one that stays unable to work past
            // the launcher's heartbeat timeout is restarted, which a restart may cure (a
            // process out of descriptors gets them all back).
            let problems = peer.basis.problems()
            if problems != reported {
                reported = problems
                if problems.isEmpty {
                    log.notice("healthy again")
                    notifier.send(.status("\(type(of: peer).name) running"))
                } else {
                    log.warning("unhealthy; withholding the heartbeat", metadata: ["problems": .array(problems.map { .string($0) })])
                    notifier.send(.status("\(type(of: peer).name) unhealthy: " + problems.joined(separator: "; ")))
                }
            }
            guard problems.isEmpty else { continue }
            guard notifier.send(.watchdog) else {
                log.warning("the launcher is gone; stopping")
                await peer.shutdown()
                return
            }
        }
    }
    defer {
        watcher.cancel()
        heartbeat.cancel()
    }
    var runError: (any Error)?
    do {
        try await peer.run()
    } catch {
        runError = error
    }
    try await peer.close()
    if let runError { throw runError }
    log.info("stopped")
}
