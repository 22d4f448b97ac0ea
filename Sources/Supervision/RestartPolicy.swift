/// When a process that exited is started again, as systemd's `Restart=`.
public enum RestartPolicy: String, Sendable, CaseIterable {
    /// After any exit, clean or not.
    case always
    /// After a non-zero exit code, a signal, or a hang; not after exit code 0.
    case onFailure = "on-failure"
    /// Never; the process stays down.
    case never

    /// Whether a process that ended with `status` is started again.
    public func restarts(after status: ExitStatus) -> Bool {
        switch self {
        case .always: true
        case .onFailure: !status.isSuccess
        case .never: false
        }
    }
}
