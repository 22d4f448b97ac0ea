import CSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The descriptors and buffers of one supervised process, kept across its restarts: the pipes
/// are made once, so a restart costs one posix_spawn and one pidfd.
///
/// Only the supervisor's thread touches it.
final class ChildIO {
    let spec: ProcessSpec
    let command: SpawnCommand
    /// Read end, write end (the child's, at the notify descriptor).
    let notifyPipe: (read: Int32, write: Int32)?
    /// Read end, write end (the child's stdout and stderr); nil when output goes to the journal
    /// or to our stderr.
    let outputPipe: (read: Int32, write: Int32)?
    /// Where the output pipe's lines go; nil when there is no output pipe.
    let log: ChildLog?
    /// A stream into the systemd journal that the child writes to directly; -1 when none.
    let journalStream: Int32
    var pidfd: Int32 = -1
    var notifyFramer = NotifyFramer()
    var outputFramer = OutputFramer()
    var malformedMessages = 0

    init(spec: ProcessSpec, notifyDescriptor: Int32, log: Logger) throws(SupervisorSetupError) {
        self.spec = spec
        var opened: [Int32] = []
        do throws(SupervisorSetupError) {
            if spec.notify {
                let pipe = try Self.pipe()
                opened += [pipe.read, pipe.write]
                notifyPipe = pipe
            } else {
                notifyPipe = nil
            }
            var stream: Int32 = -1
            if let identifier = spec.journalIdentifier {
                stream = cs_sd_journal_stream_fd(identifier, LOG_INFO, 0)
                if stream >= 0 {
                    _ = fcntl(stream, F_SETFD, FD_CLOEXEC)
                    opened.append(stream)
                }
            }
            journalStream = stream
            if stream < 0, let path = spec.logPath {
                self.log = try ChildLog(process: spec.name, path: path, maxSize: spec.logMaxSize, files: spec.logFiles, log: log)
                outputPipe = try Self.pipe()
            } else {
                self.log = nil
                outputPipe = nil
            }
        } catch {
            for fd in opened { close(fd) }
            throw error
        }
        command = SpawnCommand(spec: spec, notifyDescriptor: spec.notify ? notifyDescriptor : nil)
    }

    /// The descriptors and half-read lines a previous launcher handed over for this process.
    init(spec: ProcessSpec, notifyDescriptor: Int32, handed: HandedChild, log: Logger) {
        self.spec = spec
        notifyPipe = handed.notifyRead >= 0 ? (handed.notifyRead, handed.notifyWrite) : nil
        outputPipe = handed.outputRead >= 0 ? (handed.outputRead, handed.outputWrite) : nil
        journalStream = handed.journalStream
        if handed.logDescriptor >= 0, let path = spec.logPath {
            self.log = ChildLog(process: spec.name, path: path, maxSize: spec.logMaxSize, files: spec.logFiles, resuming: handed.logDescriptor, log: log)
        } else {
            self.log = nil
        }
        pidfd = handed.pidfd
        notifyFramer.pending = handed.notifyPending
        notifyFramer.discarding = handed.notifyDiscarding
        outputFramer.pending = handed.outputPending
        malformedMessages = handed.malformedMessages
        command = SpawnCommand(spec: spec, notifyDescriptor: spec.notify ? notifyDescriptor : nil)
    }

    /// This process's part of a handover, with `machine`'s state.
    func handed(_ machine: ChildMachine.Saved) -> HandedChild {
        HandedChild(
            machine: machine, pidfd: pidfd, notifyRead: notifyPipe?.read ?? -1, notifyWrite: notifyPipe?.write ?? -1,
            outputRead: outputPipe?.read ?? -1, outputWrite: outputPipe?.write ?? -1, logDescriptor: log?.descriptor ?? -1,
            journalStream: journalStream, notifyPending: notifyFramer.pending, notifyDiscarding: notifyFramer.discarding,
            outputPending: outputFramer.pending, malformedMessages: malformedMessages
        )
    }

    deinit {
        for fd in [notifyPipe?.read, notifyPipe?.write, outputPipe?.read, outputPipe?.write, journalStream, pidfd] {
            if let fd, fd >= 0 { close(fd) }
        }
    }

    /// Reads what the child wrote to its output pipe (everything, when `draining`) and writes
    /// the whole lines to its log; a partial line waits for its end.
    func readOutput(into buffer: inout [UInt8], draining: Bool) {
        guard let pipe = outputPipe else { return }
        repeat {
            let count = buffer.withUnsafeMutableBytes { read(pipe.read, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            let lines = buffer.withUnsafeBytes { outputFramer.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            log?.write(lines)
        } while draining
    }

    /// Reads the child's notify pipe (everything, when `draining`) into messages.
    func readNotify(into buffer: inout [UInt8], draining: Bool) -> [NotifyFramer.Item] {
        guard let pipe = notifyPipe else { return [] }
        var items: [NotifyFramer.Item] = []
        repeat {
            let count = buffer.withUnsafeMutableBytes { read(pipe.read, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            items += buffer.withUnsafeBytes { notifyFramer.feed($0[..<count]) }
        } while draining
        return items
    }

    /// A pipe whose read end (ours) does not block and whose write end (the child's) does, as
    /// programs expect of their standard output.
    private static func pipe() throws(SupervisorSetupError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard cs_pipe2(&fds, O_CLOEXEC) == 0 else { throw .system("pipe2", errno: errno) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }
}
