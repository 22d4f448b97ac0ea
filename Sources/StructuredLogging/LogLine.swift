import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a log line is written: one JSON object, or text for a person at a terminal.
public enum LogFormat: String, Sendable, CaseIterable {
    case json
    case text
}

/// Renders one log event as one line, newline included, ready for a single write.
///
/// JSON lines carry `ts` (RFC 3339, UTC, milliseconds), `level`, `process`, `logger`, `msg`,
/// then the metadata as further fields in key order, and `error` when the event has one. A
/// `process` metadata value names the process the line is about in place of the writer, as the
/// launcher does for its children (its `logger` still says who wrote it).
public enum LogLine {
    /// The metadata key that names a logger; see `Logger.named(_:)`.
    public static let loggerKey = "logger"

    public static func render(
        format: LogFormat,
        timestamp: timespec,
        level: Logger.Level,
        process: String,
        logger: String,
        message: String,
        metadata: Logger.Metadata,
        error: (any Error)?
    ) -> String {
        let ts = rfc3339(timestamp)
        var fields = metadata.filter { $0.key != loggerKey }.sorted { $0.key < $1.key }
        if let error { fields.append(("error", .string("\(error)"))) }
        switch format {
        case .json:
            var line = "{\"ts\":\"\(ts)\",\"level\":\"\(level.rawValue)\""
            let subject = metadata["process"].map { "\($0)" } ?? process
            line += ",\"process\":" + jsonString(subject)
            line += ",\"logger\":" + jsonString(logger)
            line += ",\"msg\":" + jsonString(message)
            for (key, value) in fields where !["ts", "level", "process", "msg"].contains(key) {
                line += "," + jsonString(key) + ":" + json(value)
            }
            return line + "}\n"
        case .text:
            var line = "\(ts) \(level.rawValue.uppercased().padding(to: 8)) \(process) \(logger): \(oneLine(message))"
            for (key, value) in fields {
                line += " \(key)=\(text(value))"
            }
            return line + "\n"
        }
    }

    /// `time` as RFC 3339 in UTC with milliseconds, as `2026-11-23T14:15:16.123Z`.
    public static func rfc3339(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(time.tv_nsec / 1_000_000)
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(millis, width: 3))Z"
    }

    private static func pad(_ value: some BinaryInteger, width: Int = 2) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func json(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): jsonString(string)
        case .stringConvertible(let convertible): jsonString(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + json($0.value) }
                .joined(separator: ",") + "}"
        }
    }

    private static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string.contains(where: { $0 == " " || $0 == "\"" || $0.isNewline }) ? jsonString(string) : string
        case .stringConvertible(let convertible): text(.string(convertible.description))
        case .array(let values): "[" + values.map(text).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// Keeps a text line on one line: a newline inside a message would split the record.
    private static func oneLine(_ string: String) -> String {
        string.contains(where: \.isNewline) ? String(jsonString(string).dropFirst().dropLast()) : string
    }

    /// `string` as a JSON string literal, quotes included.
    public static func jsonString(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
