/// A message a child sends its supervisor over the notify descriptor: one `KEY=value` line in
/// the vocabulary of systemd's sd_notify.
public enum NotifyMessage: Sendable, Equatable {
    /// `READY=1`: the process has started and serves.
    case ready
    /// `WATCHDOG=1`: the process is alive; the heartbeat.
    case watchdog
    /// `STATUS=text`: a free-form line for operators.
    case status(String)
    /// `STOPPING=1`: the process is shutting down of its own accord.
    case stopping
    /// `VERSION=text`: the version of the program, sent with `READY=1` (systemd ignores it).
    case version(String)
    /// A well-formed assignment outside this vocabulary (as `MAINPID=`); ignored.
    case other(key: String)

    /// Reads one line (without its newline); nil when it is not a `KEY=value` assignment.
    public init?(line: some Collection<UInt8>) {
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let key = line[..<equals]
        guard !key.isEmpty, key.allSatisfy({ ($0 >= 65 && $0 <= 90) || $0 == 95 || ($0 >= 48 && $0 <= 57) }) else { return nil }
        let value = line[line.index(after: equals)...]
        guard let keyText = String(validating: key, as: UTF8.self), let valueText = String(validating: value, as: UTF8.self) else {
            return nil
        }
        switch (keyText, valueText) {
        case ("READY", "1"): self = .ready
        case ("WATCHDOG", "1"): self = .watchdog
        case ("STOPPING", "1"): self = .stopping
        case ("STATUS", _): self = .status(valueText)
        case ("VERSION", _) where !valueText.isEmpty: self = .version(valueText)
        case ("READY", _), ("WATCHDOG", _), ("STOPPING", _): return nil
        default: self = .other(key: keyText)
        }
    }
}
