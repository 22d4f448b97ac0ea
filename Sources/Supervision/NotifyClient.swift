import CSupport

#if canImport(Glibc)
import Glibc
#endif

extension NotifyMessage {
    /// The message as the line a child writes, without its newline.
    public var line: String {
        switch self {
        case .ready: "READY=1"
        case .watchdog: "WATCHDOG=1"
        case .stopping: "STOPPING=1"
        case .status(let text): "STATUS=" + text.filter { $0 != "\n" }
        case .version(let text): "VERSION=" + text.filter { $0 != "\n" }
        case .other(let key): key + "="
        }
    }
}

/// The child's end of the notify protocol: the descriptor named by `SATELLITE_NOTIFY_FD`.
public struct NotifyClient: Sendable {
    public let descriptor: Int32

    /// The client for this process, if a supervisor gave it a notify descriptor. The descriptor
    /// is marked close-on-exec so that programs this process starts do not inherit it.
    public static func fromEnvironment() -> NotifyClient? {
        guard let text = getenv("SATELLITE_NOTIFY_FD"), let fd = Int32(String(decoding: UnsafeRawBufferPointer(start: text, count: strlen(text)), as: UTF8.self)), fd >= 0,
            fcntl(fd, F_GETFD) >= 0
        else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return NotifyClient(descriptor: fd)
    }

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Writes the messages as lines in one write, so they arrive together. Returns false if the
    /// supervisor is gone (the pipe has no reader) or the write failed.
    @discardableResult
    public func send(_ messages: NotifyMessage...) -> Bool {
        send(messages)
    }

    /// Writes the messages as lines in one write; false if the supervisor is gone.
    @discardableResult
    public func send(_ messages: [NotifyMessage]) -> Bool {
        var text = messages.map { $0.line + "\n" }.joined()
        return text.withUTF8 { cs_write_all(descriptor, $0.baseAddress, $0.count) } == 0
    }
}
