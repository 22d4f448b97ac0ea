import StructuredLogging

#if canImport(Glibc)
import Glibc
#endif

/// Just enough JSON to write the control socket's answers without Foundation.
enum JSONText {
    static func string(_ text: String) -> String { LogLine.jsonString(text) }

    static func object(_ fields: [(String, String?)]) -> String {
        "{" + fields.map { string($0.0) + ":" + ($0.1 ?? "null") }.joined(separator: ",") + "}"
    }

    static func error(_ message: String) -> String {
        object([("ok", "false"), ("error", string(message))])
    }

    /// RFC 3339 in UTC with milliseconds.
    static func time(secondsSinceEpoch: Double) -> String {
        let seconds = secondsSinceEpoch.rounded(.down)
        return LogLine.rfc3339(timespec(tv_sec: Int(seconds), tv_nsec: Int((secondsSinceEpoch - seconds) * 1e9)))
    }
}
