import ArgumentParser
import Foundation

/// What `setup` of every peer kind does with files: it never overwrites, and it sets modes
/// outright, whatever the umask.
public enum SetupFiles {
    /// Prints which of `paths` exists and exits 1, if one does.
    public static func refuseOverwriting(_ paths: [String]) throws {
        for existing in paths where FileManager.default.fileExists(atPath: existing) {
            FileHandle.standardError.write(Data("setup: \(existing) already exists; not overwriting it\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Creates `path` (and its parents) with `mode`.
    public static func makeDirectory(_ path: String, mode: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// Writes a new config file, readable by its group (0640).
    public static func writeConfig(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o640]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
    }
}
