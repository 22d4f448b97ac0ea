import Logging
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// A peer as ``runUntilSignalled(_:log:)`` drives it in the foreground.
public protocol ForegroundPeer: Sendable {
    func run() async throws
    func shutdown() async
    func close() async throws
}

extension Core: ForegroundPeer {}
extension API: ForegroundPeer {}
extension Repairer: ForegroundPeer {}

/// Runs a peer until SIGTERM or SIGINT, then stops it gracefully and closes it.
///
/// The first signal begins a graceful shutdown (subsystems stop in reverse order, then close);
/// a second one exits the process at once with status 1, for an operator who will not wait.
/// - Throws: what the peer's run or close threw.
public func runUntilSignalled(_ peer: some ForegroundPeer, log: Logger) async throws {
    let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
    let watcher = Task {
        var received = 0
        for await signal in signals {
            received += 1
            if received == 1 {
                log.info("stopping", metadata: ["signal": "\(signal)"])
                await peer.shutdown()
            } else {
                log.warning("second signal; exiting now", metadata: ["signal": "\(signal)"])
                exit(1)
            }
        }
    }
    defer { watcher.cancel() }
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
