import Logging
import SatelliteConfig
import StructuredLogging

/// The `log` section: how every process of a peer kind writes its log.
public struct LogConfig: ConfigSection {
    /// Where the processes' output goes.
    public enum Output: String, Sendable, CaseIterable {
        /// The journal when running under systemd with the journal as standard output
        /// (JOURNAL_STREAM set), files otherwise.
        case auto
        case file
        case journal
    }

    public var level: Logger.Level = .info
    public var format: LogFormat = .json
    public var dir: String = ""
    public var output = Output.auto
    public var maxSize: Int64 = 64 << 20
    public var maxFiles = 5

    public init() {}

    /// Whether the output goes to the journal, given the environment.
    public func usesJournal(environment: [String: String]) -> Bool {
        switch output {
        case .journal: true
        case .file: false
        case .auto: environment["JOURNAL_STREAM"] != nil
        }
    }

    public static let fields: [ConfigField<Self>] = [
        .choice("level", \.level, help: "least severe level written; trace, debug, info, notice, warning, error or critical"),
        .choice("format", \.format, help: "json for one JSON object per line, text for people"),
        .choice("output", \.output, help: "auto, file or journal: journal sends each process's output to the systemd journal as satellite-NAME; auto does so under systemd"),
        .string("dir", \.dir, help: "directory of the per-process log files; empty means <data-dir>/log"),
        .size("max-size", \.maxSize, help: "a process's log file is rotated (renamed NAME.log.1) when it reaches this size; 0 never rotates (SIGHUP reopens every file, for logrotate)", range: 0 ... 1 << 40),
        .int("max-files", \.maxFiles, help: "rotated log files kept per process", range: 1 ... 1000),
    ]
}

