import Logging
import PeerRuntime
import StructuredLogging

/// Sets up this process's logging once, from the `log` section.
public enum ProcessLogging {
    /// Logs go to standard error and to `alsoTo`; the level can change while the process runs.
    public static func bootstrap(process: String, config: LogConfig, label: String, alsoTo extra: [LogSink] = []) -> (Logger, LogLevelControl) {
        let level = LogLevelControl(config.level)
        let sinks = [LogSink.standardError] + extra
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, process: process, format: config.format, sinks: sinks, level: level)
        }
        return (Logger(label: label), level)
    }
}
