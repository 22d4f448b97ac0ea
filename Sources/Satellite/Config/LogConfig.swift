import Logging
import SatelliteConfig
import StructuredLogging

/// The `log` section: how every process of the satellite writes its log.
public struct LogConfig: ConfigSection {
    public var level: Logger.Level = .info
    public var format: LogFormat = .json
    public var dir: String = ""
    public var maxSize: Int64 = 64 << 20
    public var maxFiles = 5

    public init() {}

    public static let fields: [ConfigField<Self>] = [
        .choice("level", \.level, help: "least severe level written; trace, debug, info, notice, warning, error or critical"),
        .choice("format", \.format, help: "json for one JSON object per line, text for people"),
        .string("dir", \.dir, help: "directory of the per-process log files; empty means <data-dir>/log"),
        .size("max-size", \.maxSize, help: "a process's log file is rotated (renamed NAME.log.1) when it reaches this size; 0 never rotates (SIGHUP reopens every file, for logrotate)", range: 0 ... 1 << 40),
        .int("max-files", \.maxFiles, help: "rotated log files kept per process", range: 1 ... 1000),
    ]
}

