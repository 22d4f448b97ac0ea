import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One process's log file, which the launcher writes whole lines into: rotated by size between
/// lines, reopened after an outside rename, and never a reason to stop supervising.
///
/// Only the supervisor's thread touches it.
final class ChildLog {
    let process: String
    let path: String
    /// Bytes at which the file is rotated; zero never rotates.
    let maxSize: Int64
    /// Rotated files kept (`NAME.log.1` ... `NAME.log.N`).
    let files: Int
    let descriptor: Int32
    /// Bytes in the current file.
    private(set) var size: Int64 = 0
    /// While writes fail (a full disk): the errno of the first failure, and how many lines were
    /// dropped since. 0 and 0 while writes work.
    private var writeError: Int32 = 0
    private var droppedLines = 0
    /// Whether a failed write (or a launcher killed mid-write) left part of a line in the file;
    /// the next write ends it first, so one lost line never spoils the next.
    private var lineCut = false
    private let log: Logger

    convenience init(process: String, path: String, maxSize: Int64, files: Int, log: Logger) throws(SupervisorSetupError) {
        let file = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard file >= 0 else { throw .logFile(process: process, path: path, errno: errno) }
        self.init(process: process, path: path, maxSize: maxSize, files: files, resuming: file, log: log)
    }

    /// The log open at `descriptor` (opened here, or by a previous launcher before an in-place
    /// upgrade); whether its last line was cut is read from the file.
    init(process: String, path: String, maxSize: Int64, files: Int, resuming descriptor: Int32, log: Logger) {
        self.process = process
        self.path = path
        self.maxSize = maxSize
        self.files = files
        self.descriptor = descriptor
        self.log = log
        measure()
    }

    deinit {
        close(descriptor)
    }

    /// Opens the path afresh onto the same descriptor: after an outside rename (logrotate, then
    /// SIGHUP) or our own rotation, output goes to a new file. If the path cannot be opened (a
    /// read-only directory) output stays on the current file.
    /// - Returns: 0, or the errno of the failed open.
    @discardableResult
    func reopen() -> Int32 {
        let fresh = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fresh >= 0 else { return errno }
        dup2(fresh, descriptor)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        close(fresh)
        measure()
        return 0
    }

    /// Reopens after logrotate renamed the file (SIGHUP); when the path cannot be opened, warns
    /// and writes on to the file already open.
    func reopenAfterRename() {
        let failure = reopen()
        guard failure != 0 else { return }
        log.warning("cannot reopen log; writing on to the file already open", metadata: [
            "process": .string(process), "path": .string(path), "error": .string(String(cString: strerror(failure))),
        ])
    }

    /// Appends whole lines, rotating between lines whenever the next ones would take the file
    /// past its size; a single line longer than that gets a file of its own.
    func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        var rest = bytes[...]
        while !rest.isEmpty {
            var piece = rest
            if maxSize > 0, size + Int64(rest.count) > maxSize {
                let room = Int(max(0, maxSize - size))
                if let end = rest.prefix(room).lastIndex(of: UInt8(ascii: "\n")) {
                    piece = rest[...end]
                } else if size > 0 {
                    rotate()
                    continue
                } else {
                    piece = rest[...(rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.index(before: rest.endIndex))]
                }
            }
            append(piece)
            rest = rest[piece.endIndex...]
            if maxSize > 0, size >= maxSize, !rest.isEmpty { rotate() }
        }
    }

    /// The size of the file now open, and whether its last byte ends a line. (The file is opened
    /// read-write for that one read.)
    private func measure() {
        var info = stat()
        size = fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
        var last: UInt8 = 0
        lineCut = size > 0 && pread(descriptor, &last, 1, off_t(size - 1)) == 1 && last != UInt8(ascii: "\n")
    }

    /// Renames NAME.log to NAME.log.1 (shifting the older ones up, dropping the oldest) and
    /// begins a new file. When the directory refuses (read-only, immutable) output stays on the
    /// current file, which grows past its limit; the next try comes after another `maxSize`
    /// bytes, not on every line.
    private func rotate() {
        let keep = max(1, files)
        unlink("\(path).\(keep)")
        for generation in stride(from: keep - 1, through: 1, by: -1) {
            rename("\(path).\(generation)", "\(path).\(generation + 1)")
        }
        var failure: Int32 = 0
        if rename(path, "\(path).1") != 0 {
            failure = errno
        } else {
            failure = reopen()
        }
        guard failure != 0 else { return }
        size = 0
        log.warning("cannot rotate log; writing on to the file already open", metadata: [
            "process": .string(process), "path": .string(path), "error": .string(String(cString: strerror(failure))),
        ])
    }

    /// Writes whole lines. A write that fails (ENOSPC, EIO) drops what it could not write, once,
    /// with a warning; the next one that works says how many lines were lost.
    private func append(_ lines: ArraySlice<UInt8>) {
        var bytes = Array(lines)
        if lineCut { bytes.insert(UInt8(ascii: "\n"), at: 0) }
        var written = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count >= 0 {
                    written += count
                } else if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        size += Int64(written)
        if failure == 0 {
            lineCut = false
            if writeError != 0 {
                log.notice("log writes work again", metadata: [
                    "process": .string(process), "dropped_lines": "\(droppedLines)", "error_was": .string(String(cString: strerror(writeError))),
                ])
                writeError = 0
                droppedLines = 0
            }
            return
        }
        if writeError == 0 {
            log.warning("cannot write log; dropping lines until writes work again", metadata: [
                "process": .string(process), "path": .string(path), "error": .string(String(cString: strerror(failure))),
            ])
            writeError = failure
        }
        droppedLines += bytes[written...].lazy.filter { $0 == UInt8(ascii: "\n") }.count
        if written > 0 { lineCut = bytes[written - 1] != UInt8(ascii: "\n") }
    }
}
