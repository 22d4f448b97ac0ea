import ArgumentParser
import Foundation
import Identity
import Uplink

/// The `uplink` executable: buckets and files on a satellite's network, encrypted on this machine.
@main
struct UplinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uplink",
        abstract: "Store files on a satellite's storage nodes, encrypted and erasure-coded on this machine.",
        discussion: """
            Every command but `access create` needs an access: --access, else the UPLINK_ACCESS \
            variable, else the one `access create --save` saved (~/.config/uplink/access).

            Exit status: 0 success, 1 failure (the satellite or the nodes refused, or a file could \
            not be read or written), 64 usage error, 78 no usable access.
            """,
        subcommands: [AccessCommand.self, MakeBucket.self, RemoveBucket.self, List.self, Copy.self, Remove.self, Cat.self]
    )
}

/// Where the access comes from.
struct AccessOptions: ParsableArguments {
    @Option(help: "the access to use (uplink access create prints one)")
    var access: String?

    /// The saved access's file.
    static var savedPath: String {
        let base = ProcessInfo.processInfo.environment["XDG_CONFIG_HOME"] ?? (NSHomeDirectory() + "/.config")
        return base + "/uplink/access"
    }

    /// The access, from the flag, the environment or the saved file.
    /// - Throws: exit 78 with the reason printed when there is none or it cannot be read.
    func load() throws -> Access {
        let text = access ?? ProcessInfo.processInfo.environment["UPLINK_ACCESS"]
            ?? (try? String(contentsOfFile: Self.savedPath, encoding: .utf8))
        guard let text else {
            fail("no access: pass --access, set UPLINK_ACCESS, or save one with uplink access create --save", code: 78)
        }
        do {
            return try Access(parsing: text)
        } catch {
            fail("\(error)", code: 78)
        }
    }

    /// An uplink for the access; closed by `body`'s end.
    func withUplink<Result>(_ body: (Uplink) async throws -> Result) async throws -> Result {
        let uplink = try Uplink(access: try load())
        do {
            let result = try await body(uplink)
            try await uplink.close()
            return result
        } catch {
            try? await uplink.close()
            if let exit = error as? ExitCode { throw exit }
            fail("\(error)", code: 1)
        }
    }
}

/// Prints `message` to standard error and exits with `code`.
func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("uplink: \(message)\n".utf8))
    exit(code)
}

/// `sj://BUCKET[/KEY]`.
struct Location: ExpressibleByArgument, CustomStringConvertible {
    let bucket: String
    let key: String

    init?(argument: String) {
        guard argument.hasPrefix("sj://") else { return nil }
        let rest = argument.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/") else {
            guard !rest.isEmpty else { return nil }
            bucket = String(rest)
            key = ""
            return
        }
        bucket = String(rest[..<slash])
        key = String(rest[rest.index(after: slash)...])
        guard !bucket.isEmpty else { return nil }
    }

    var description: String { "sj://\(bucket)" + (key.isEmpty ? "" : "/\(key)") }
}

struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "access", abstract: "Make an access.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Derive an access from a passphrase and print it.",
            discussion: "The passphrase is asked for on the terminal, or read from standard input with --passphrase-stdin; it never leaves this machine."
        )

        @Option(help: "the satellite: ID@http://HOST:PORT, or its URL with --satellite-id")
        var satellite: String
        @Option(help: "the satellite's id (satellite setup printed it)")
        var satelliteID: String?
        @Option(help: "an API key of the project (satellite admin create-api-key prints one)")
        var apiKey: String
        @Flag(help: "read the passphrase from standard input")
        var passphraseStdin = false
        @Flag(help: "also save it as the default access (~/.config/uplink/access, mode 0600)")
        var save = false

        func run() async throws {
            var url = satellite
            var id = satelliteID
            if let at = satellite.firstIndex(of: "@"), !satellite[..<at].contains("/") {
                id = String(satellite[..<at])
                url = String(satellite[satellite.index(after: at)...])
            }
            guard let id, let satelliteID = NodeID(hex: id) else {
                throw ValidationError("the satellite's id is needed as 64 hexadecimal digits: --satellite ID@URL or --satellite-id ID")
            }
            guard URL(string: url)?.host != nil else { throw ValidationError("--satellite \(url) is not a URL such as http://127.0.0.1:7777") }
            let passphrase: String
            if passphraseStdin {
                passphrase = readLine(strippingNewline: true) ?? ""
            } else {
                guard let typed = getpass("passphrase: ") else { fail("no passphrase", code: 1) }
                passphrase = String(cString: typed)
            }
            guard !passphrase.isEmpty else { throw ValidationError("the passphrase is empty") }
            let access = try Access.derive(satelliteURL: url, satelliteID: satelliteID, apiKey: apiKey, passphrase: passphrase)
            if save {
                let path = AccessOptions.savedPath
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { fail("cannot write \(path): \(String(cString: strerror(errno)))", code: 1) }
                fchmod(descriptor, 0o600)
                let bytes = Array((access.serialized + "\n").utf8)
                _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                close(descriptor)
            }
            print(access.serialized)
        }
    }
}

struct MakeBucket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mb", abstract: "Make a bucket: uplink mb sj://BUCKET")
    @OptionGroup var access: AccessOptions
    @Argument(help: "sj://BUCKET") var bucket: Location

    func run() async throws {
        try await access.withUplink { try await $0.createBucket(bucket.bucket) }
        print("made \(bucket)")
    }
}

struct RemoveBucket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rb", abstract: "Remove an empty bucket: uplink rb sj://BUCKET")
    @OptionGroup var access: AccessOptions
    @Argument(help: "sj://BUCKET") var bucket: Location

    func run() async throws {
        try await access.withUplink { try await $0.deleteBucket(bucket.bucket) }
        print("removed \(bucket)")
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List buckets, or the objects of sj://BUCKET[/PREFIX].")
    @OptionGroup var access: AccessOptions
    @Argument(help: "sj://BUCKET[/PREFIX]") var location: Location?

    func run() async throws {
        try await access.withUplink { uplink in
            guard let location else {
                for name in try await uplink.listBuckets() { print("sj://\(name)") }
                return
            }
            let formatter = ISO8601DateFormatter()
            for object in try await uplink.listObjects(bucket: location.bucket, prefix: location.key) {
                print("\(formatter.string(from: object.createdAt))  sj://\(location.bucket)/\(object.key)")
            }
        }
    }
}

struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy a file up (uplink cp FILE sj://BUCKET/KEY) or down (uplink cp sj://BUCKET/KEY FILE); - is standard input or output."
    )
    @OptionGroup var access: AccessOptions
    @Argument(help: "a file, - or sj://BUCKET/KEY") var source: String
    @Argument(help: "a file, - or sj://BUCKET/KEY") var destination: String
    @Option(help: "download only bytes OFFSET:LENGTH") var range: String?

    func run() async throws {
        var meter: ProgressMeter?
        defer { meter?.finish() }
        switch (Location(argument: source), Location(argument: destination)) {
        case (nil, let to?):
            guard !to.key.isEmpty else { throw ValidationError("\(destination) names no key: sj://BUCKET/KEY") }
            guard range == nil else { throw ValidationError("--range is for downloads") }
            if source == "-" {
                // Standard input's length is unknown until its end: it streams, a segment at a time.
                let progress = ProgressMeter(total: nil)
                meter = progress
                _ = try await access.withUplink { uplink in
                    try await uplink.upload(bucket: to.bucket, key: to.key, size: nil) { count in
                        let bytes = try Self.read(count, from: FileHandle.standardInput)
                        progress.add(bytes.count)
                        return bytes
                    }
                }
            } else {
                guard let file = FileHandle(forReadingAtPath: source),
                    let size = (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? NSNumber)?.intValue
                else { fail("cannot read \(source)", code: 1) }
                defer { try? file.close() }
                let progress = ProgressMeter(total: size)
                meter = progress
                _ = try await access.withUplink { uplink in
                    try await uplink.upload(bucket: to.bucket, key: to.key, size: size) { count in
                        let bytes = try Self.read(count, from: file)
                        progress.add(bytes.count)
                        return bytes
                    }
                }
            }
        case (let from?, nil):
            guard !from.key.isEmpty else { throw ValidationError("\(source) names no key: sj://BUCKET/KEY") }
            var window: Range<Int>?
            if let range {
                let parts = range.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count == 2, let offset = parts[0], let length = parts[1], offset >= 0, length >= 0, offset <= Int.max - length else {
                    throw ValidationError("--range must be OFFSET:LENGTH, two whole numbers of bytes, not \"\(range)\"")
                }
                window = offset..<offset + length
            }
            let progress = ProgressMeter(total: window?.count)
            meter = progress
            if destination == "-" {
                _ = try await access.withUplink { uplink in
                    try await uplink.download(bucket: from.bucket, key: from.key, range: window) {
                        try FileHandle.standardOutput.write(contentsOf: $0)
                        progress.add($0.count)
                    }
                }
            } else {
                // Written beside the destination and renamed over it once all is in: a download
                // that fails leaves whatever was there before.
                let partial = destination + ".uplink-\(UInt32.random(in: 0...UInt32.max))"
                guard FileManager.default.createFile(atPath: partial, contents: nil), let file = FileHandle(forWritingAtPath: partial) else {
                    fail("cannot write beside \(destination) (\(partial))", code: 1)
                }
                _ = try await access.withUplink { uplink in
                    do {
                        let written = try await uplink.download(bucket: from.bucket, key: from.key, range: window) {
                            try file.write(contentsOf: $0)
                            progress.add($0.count)
                        }
                        try file.close()
                        return written
                    } catch {
                        try? file.close()
                        unlink(partial)
                        throw error
                    }
                }
                guard rename(partial, destination) == 0 else {
                    let reason = String(cString: strerror(errno))
                    unlink(partial)
                    fail("cannot move the download \(partial) to \(destination): \(reason)", code: 1)
                }
            }
        default:
            throw ValidationError("copy a file to sj://BUCKET/KEY or sj://BUCKET/KEY to a file")
        }
    }

    /// `count` bytes of `file`, fewer only at its end: a pipe's read returns what is there, so
    /// it is asked until all is in.
    static func read(_ count: Int, from file: FileHandle) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count, let chunk = try file.read(upToCount: count - bytes.count), !chunk.isEmpty { bytes += chunk }
        return bytes
    }
}

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an object: uplink rm sj://BUCKET/KEY")
    @OptionGroup var access: AccessOptions
    @Argument(help: "sj://BUCKET/KEY") var location: Location

    func run() async throws {
        guard !location.key.isEmpty else { throw ValidationError("\(location) names no key") }
        try await access.withUplink { try await $0.deleteObject(bucket: location.bucket, key: location.key) }
        print("removed \(location)")
    }
}

struct Cat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cat", abstract: "Write an object to standard output: uplink cat sj://BUCKET/KEY")
    @OptionGroup var access: AccessOptions
    @Argument(help: "sj://BUCKET/KEY") var location: Location

    func run() async throws {
        guard !location.key.isEmpty else { throw ValidationError("\(location) names no key") }
        _ = try await access.withUplink { uplink in
            try await uplink.download(bucket: location.bucket, key: location.key) { try FileHandle.standardOutput.write(contentsOf: $0) }
        }
    }
}
