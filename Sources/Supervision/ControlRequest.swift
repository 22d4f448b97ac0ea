/// A request on the control socket: one line of words.
public enum ControlRequest: Sendable, Equatable {
    case status
    case restart(name: String)
    case restartTagged(tag: String)
    case stop
    case logLevel(level: String, process: String?)
    /// Execute the launcher program now on disk in the launcher's place (an in-place upgrade).
    case upgrade

    /// Reads `status`, `restart NAME`, `restart --tag TAG`, `stop`, `log-level LEVEL [NAME]`,
    /// `upgrade`.
    public init(line: String) throws(ControlRequestError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        switch words.first {
        case "status" where words.count == 1: self = .status
        case "stop" where words.count == 1: self = .stop
        case "upgrade" where words.count == 1: self = .upgrade
        case "restart" where words.count == 3 && words[1] == "--tag": self = .restartTagged(tag: words[2])
        case "restart" where words.count == 2: self = .restart(name: words[1])
        case "log-level" where words.count == 2 || words.count == 3: self = .logLevel(level: words[1], process: words.count == 3 ? words[2] : nil)
        case nil: throw ControlRequestError(message: "empty request; expected status, restart NAME, restart --tag TAG, stop, log-level LEVEL [NAME] or upgrade")
        default: throw ControlRequestError(message: "unknown request \"\(line.prefix(100))\"; expected status, restart NAME, restart --tag TAG, stop, log-level LEVEL [NAME] or upgrade")
        }
    }

    /// The request as its line, without the newline.
    public var line: String {
        switch self {
        case .status: "status"
        case .stop: "stop"
        case .upgrade: "upgrade"
        case .restart(let name): "restart \(name)"
        case .restartTagged(let tag): "restart --tag \(tag)"
        case .logLevel(let level, let process): "log-level \(level)" + (process.map { " \($0)" } ?? "")
        }
    }
}

public struct ControlRequestError: Error, Sendable, Equatable {
    public let message: String
}
