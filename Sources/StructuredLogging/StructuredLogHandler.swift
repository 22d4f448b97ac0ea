import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The satellite's `LogHandler`: one JSON object (or text line) per event, written whole.
///
/// The level comes from a shared ``LogLevelControl`` unless this handler's `logLevel` was set.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let process: String
    private let format: LogFormat
    private let sinks: [LogSink]
    private let levelControl: LogLevelControl
    private var levelOverride: Logger.Level?

    public init(label: String, process: String, format: LogFormat, sinks: [LogSink], level: LogLevelControl) {
        self.label = label
        self.process = process
        self.format = format
        self.sinks = sinks
        self.levelControl = level
    }

    public var logLevel: Logger.Level {
        get { levelOverride ?? levelControl.level }
        set { levelOverride = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let eventMetadata = event.metadata { merged.merge(eventMetadata) { $1 } }
        var name = label
        if case .string(let named)? = merged[LogLine.loggerKey] { name = named }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let line = LogLine.render(
            format: format,
            timestamp: now,
            level: event.level,
            process: process,
            logger: name,
            message: event.message.description,
            metadata: merged,
            error: event.error
        )
        for sink in sinks { sink.write(line) }
    }
}

extension Logger {
    /// A logger for a subsystem, as Storj's `log.Named("repair:checker")`: names nest with a dot.
    public func named(_ name: String) -> Logger {
        var child = self
        if case .string(let parent)? = self[metadataKey: LogLine.loggerKey], !parent.isEmpty {
            child[metadataKey: LogLine.loggerKey] = .string(parent + "." + name)
        } else {
            child[metadataKey: LogLine.loggerKey] = .string(name)
        }
        return child
    }
}
