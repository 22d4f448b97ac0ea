import Logging
import Satellite
import StructuredLogging

/// Sets up this process's logging once, from the `log` section.
enum ProcessLogging {
    static func bootstrap(process: String, config: LogConfig) -> Logger {
        let level = LogLevelControl(config.level)
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, process: process, format: config.format, sinks: [.standardError], level: level)
        }
        return Logger(label: "satellite")
    }
}
