/// Everything a launcher process needs, handed from the program that read the configuration to
/// the small one that supervises: the process specs and a few settings of its own (where and
/// how it logs). Encoded as NUL-separated text, so that the supervising program can read it
/// without Foundation and stay small in memory.
public struct LaunchPlan: Sendable, Equatable {
    public var specs: [ProcessSpec]
    public var settings: [String: String]

    public init(specs: [ProcessSpec], settings: [String: String] = [:]) {
        self.specs = specs
        self.settings = settings
    }

    static let magic = "satellite-launch-plan-2"

    public func encoded() -> [UInt8] {
        FieldWriter.bytes(fields)
    }

    var fields: [String] {
        var fields: [String] = [Self.magic, String(settings.count)]
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) { fields += [key, value] }
        fields.append(String(specs.count))
        for spec in specs {
            fields += [spec.name, spec.executable, spec.logPath ?? "", spec.logPath == nil ? "0" : "1"]
            fields += [spec.oneshot ? "1" : "0", spec.notify ? "1" : "0", spec.restart.rawValue]
            for list in [spec.arguments, spec.after, spec.tags] {
                fields.append(String(list.count))
                fields += list
            }
            fields.append(String(spec.environment.count))
            for (key, value) in spec.environment.sorted(by: { $0.key < $1.key }) { fields += [key, value] }
            let t = spec.timings
            for duration in [t.heartbeatInterval, t.heartbeatTimeout, t.startTimeout, t.stopTimeout, t.restartBackoffInitial, t.restartBackoffMax, t.restartBackoffReset, t.restartWindow] {
                fields.append(String(duration.nanoseconds))
            }
            fields.append(String(t.restartLimit))
            fields += [String(spec.logMaxSize), String(spec.logFiles), spec.journalIdentifier ?? "", spec.journalIdentifier == nil ? "0" : "1", String(spec.listenDescriptor ?? -1)]
            fields += [spec.instanceOf ?? "", spec.instanceOf == nil ? "0" : "1"]
        }
        return fields
    }

    /// - Throws: ``LaunchPlanError`` when the bytes are not a plan this version wrote.
    public init(decoding bytes: [UInt8]) throws(LaunchPlanError) {
        var reader = FieldReader(bytes: bytes)
        try self.init(reading: &reader)
        guard reader.atEnd else { throw LaunchPlanError(detail: "bytes left after the last process") }
    }

    init(reading reader: inout FieldReader) throws(LaunchPlanError) {
        guard try reader.text() == Self.magic else { throw LaunchPlanError(detail: "not a launch plan of this version") }
        var settings: [String: String] = [:]
        for _ in 0..<(try reader.count()) {
            settings[try reader.text()] = try reader.text()
        }
        var specs: [ProcessSpec] = []
        for _ in 0..<(try reader.count()) {
            var spec = ProcessSpec(name: try reader.text(), executable: try reader.text())
            let logPath = try reader.text()
            spec.logPath = try reader.flag() ? logPath : nil
            spec.oneshot = try reader.flag()
            spec.notify = try reader.flag()
            guard let restart = RestartPolicy(rawValue: try reader.text()) else { throw LaunchPlanError(detail: "unknown restart policy") }
            spec.restart = restart
            spec.arguments = try reader.list()
            spec.after = try reader.list()
            spec.tags = try reader.list()
            for _ in 0..<(try reader.count()) {
                spec.environment[try reader.text()] = try reader.text()
            }
            var t = SupervisionTimings()
            t.heartbeatInterval = try reader.duration()
            t.heartbeatTimeout = try reader.duration()
            t.startTimeout = try reader.duration()
            t.stopTimeout = try reader.duration()
            t.restartBackoffInitial = try reader.duration()
            t.restartBackoffMax = try reader.duration()
            t.restartBackoffReset = try reader.duration()
            t.restartWindow = try reader.duration()
            t.restartLimit = try reader.count()
            spec.timings = t
            spec.logMaxSize = Int64(try reader.count())
            spec.logFiles = try reader.count()
            let identifier = try reader.text()
            spec.journalIdentifier = try reader.flag() ? identifier : nil
            let listen = try reader.text()
            spec.listenDescriptor = Int32(listen).flatMap { $0 >= 0 ? $0 : nil }
            let instanceOf = try reader.text()
            spec.instanceOf = try reader.flag() ? instanceOf : nil
            specs.append(spec)
        }
        self.init(specs: specs, settings: settings)
    }
}

public struct LaunchPlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public let detail: String
    public var description: String { "launch plan: \(detail)" }
}
