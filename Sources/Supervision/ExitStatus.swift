/// How a child process ended: its exit code, or the signal that killed it.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signalled(Int32)

    /// Exit code 0.
    public var isSuccess: Bool { self == .exited(code: 0) }

    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signalled(let signal): "signal \(SignalName.of(signal))"
        }
    }
}
