import ArgumentParser
import CSupport
import Foundation
import PeerCommandLine
import Satellite
import SatelliteConfig

/// Talks to a running launcher over its control socket.
enum ControlClient {
    /// Sends one request line and returns the launcher's JSON answer.
    static func ask(_ request: String, config: SatelliteConfiguration, waiting seconds: Int = 10) throws -> [String: Any] {
        let path = config.controlSocketPath
        let fd = cs_unix_connect(path)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            fail("cannot reach the launcher's control socket \(path): \(reason); is `satellite run` running with this configuration?")
        }
        defer { close(fd) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var line = request + "\n"
        _ = line.withUTF8 { cs_write_all(fd, $0.baseAddress, $0.count) }
        var answer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            answer.append(contentsOf: chunk[..<count])
        }
        guard let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
            fail("the launcher at \(path) gave no answer (it may be stopping)")
        }
        if object["ok"] as? Bool == false {
            fail("the launcher refused: \(object["error"] as? String ?? "no reason given")")
        }
        return object
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("satellite: " + message + "\n").utf8))
        Foundation.exit(1)
    }
}

/// `satellite status [--json]`.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each process of the running launcher: pid, state, ready since, restarts, last exit, heartbeat age, tags."
    )

    @Flag(help: "Print the launcher's JSON document (documented in the README) instead of a table.") var json = false
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let status = try ControlClient.ask("status", config: config)
        if json {
            let data = try JSONSerialization.data(withJSONObject: status, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(Self.table(status))
    }

    /// An aligned table, as `systemctl list-units` prints.
    static func table(_ status: [String: Any]) -> String {
        let header = ["NAME", "PID", "STATE", "READY SINCE", "RESTARTS", "LAST EXIT", "HEARTBEAT", "TAGS"]
        var rows = [header]
        for process in status["processes"] as? [[String: Any]] ?? [] {
            let lastExit: String
            if let code = process["last_exit_code"] as? Int {
                lastExit = "code \(code)"
            } else if let signal = process["last_exit_signal"] as? String {
                lastExit = signal
            } else {
                lastExit = "-"
            }
            rows.append([
                process["name"] as? String ?? "?",
                (process["pid"] as? Int).map(String.init) ?? "-",
                process["state"] as? String ?? "?",
                process["ready_since"] as? String ?? "-",
                String(process["restarts"] as? Int ?? 0),
                lastExit,
                (process["heartbeat_age_ms"] as? Int).map { "\($0)ms" } ?? "-",
                (process["tags"] as? [String] ?? []).joined(separator: ","),
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        let launcher = status["launcher"] as? [String: Any] ?? [:]
        let summary = "launcher pid \(launcher["pid"] as? Int ?? 0), \(launcher["phase"] as? String ?? "?"), started \(launcher["started_at"] as? String ?? "?")"
            + ((launcher["version"] as? String).map { ", version \($0)" } ?? "")
        return (lines + ["", summary]).joined(separator: "\n")
    }
}

/// `satellite restart NAME | --tag TAG`.
struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart one process of the running launcher, or every process with a tag.")

    @Option(help: "Restart every process with this tag.") var tag: String?
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        // The name is taken by hand, as `run` takes its peer: a positional before free-form
        // configuration flags is ambiguous.
        let (name, options) = try ConfigOptions.firstWord(of: self.options)
        guard (name == nil) != (tag == nil) else { throw ValidationError("name a process, or give --tag TAG, not both") }
        let config = try options.load()
        let answer = try ControlClient.ask(tag.map { "restart --tag \($0)" } ?? "restart \(name!)", config: config)
        print("restarting " + (answer["restarting"] as? [String] ?? []).joined(separator: ", "))
    }
}

/// `satellite stop`.
struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the running launcher and its processes in reverse order, as SIGTERM does.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        _ = try ControlClient.ask("stop", config: try options.load())
        print("stopping")
    }
}

/// `satellite log-level LEVEL [NAME]`.
struct LogLevel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log-level", abstract: "Change the running launcher's log level.")

    @Argument(help: "trace, debug, info, notice, warning, error or critical.") var level: String
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let (name, options) = try ConfigOptions.firstWord(of: self.options)
        _ = try ControlClient.ask("log-level \(level)" + (name.map { " \($0)" } ?? ""), config: try options.load())
        print("log level \(level)")
    }
}

/// `satellite upgrade`.
struct Upgrade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upgrade the running launcher in place: it executes the satellite program now installed in its own process, keeping its pid and every process running.",
        discussion: "The new program is tried first; if it fails its trial the running launcher goes on and this command says why (exit 1)."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        // The trial may take the launcher up to 10 s; the new launcher answers once it supervises.
        let answer = try ControlClient.ask("upgrade", config: try options.load(), waiting: 30)
        let previous = answer["previous_version"] as? String ?? "?"
        let version = answer["version"] as? String ?? "?"
        print("launcher pid \(answer["pid"] as? Int ?? 0) upgraded in place: \(previous) -> \(version)")
    }
}
