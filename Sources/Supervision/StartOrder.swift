/// Why a list of processes cannot be started in any order.
public struct StartOrderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case duplicateName(String)
        case unknownDependency(process: String, dependency: String)
        case cycle([String])
    }

    public let problem: Problem

    public var description: String {
        switch problem {
        case .duplicateName(let name):
            "two processes are named \"\(name)\"; names must be unique"
        case .unknownDependency(let process, let dependency):
            "process \"\(process)\" comes after \"\(dependency)\", which is not a process"
        case .cycle(let names):
            "processes wait on each other in a cycle: " + names.joined(separator: " -> ")
        }
    }
}

/// The order in which processes start, and the dependencies each one waits for.
///
/// A process waits for every process in its `after`, and for every one-shot process listed
/// before it, so that a migration at the top of the list runs before everything else without
/// each entry naming it. Among processes whose dependencies are met, list order decides. Stop
/// order is the exact reverse.
public struct StartOrder: Sendable, Equatable {
    /// Indexes into the process list, in start order.
    public let order: [Int]
    /// For each process (by list index), the indexes of the processes it waits for.
    public let dependencies: [[Int]]

    public init(_ specs: [ProcessSpec]) throws(StartOrderError) {
        var indexByName: [String: Int] = [:]
        for (index, spec) in specs.enumerated() {
            guard indexByName.updateValue(index, forKey: spec.name) == nil else {
                throw StartOrderError(problem: .duplicateName(spec.name))
            }
        }
        var dependencies: [[Int]] = []
        for (index, spec) in specs.enumerated() {
            var waits: [Int] = []
            for name in spec.after {
                guard let dependency = indexByName[name] else {
                    throw StartOrderError(problem: .unknownDependency(process: spec.name, dependency: name))
                }
                if !waits.contains(dependency) { waits.append(dependency) }
            }
            for earlier in 0..<index where specs[earlier].oneshot && !waits.contains(earlier) {
                waits.append(earlier)
            }
            dependencies.append(waits)
        }
        var order: [Int] = []
        var placed = Array(repeating: false, count: specs.count)
        while order.count < specs.count {
            guard let next = specs.indices.first(where: { !placed[$0] && dependencies[$0].allSatisfy { placed[$0] } }) else {
                throw StartOrderError(problem: .cycle(Self.cycle(among: placed, dependencies: dependencies, specs: specs)))
            }
            placed[next] = true
            order.append(next)
        }
        self.order = order
        self.dependencies = dependencies
    }

    /// One cycle among the processes not yet placed, named in the order they wait on each other.
    private static func cycle(among placed: [Bool], dependencies: [[Int]], specs: [ProcessSpec]) -> [String] {
        var current = placed.firstIndex(of: false)!
        var path: [Int] = []
        while !path.contains(current) {
            path.append(current)
            current = dependencies[current].first { !placed[$0] }!
        }
        let loop = path[path.firstIndex(of: current)!...] + [current]
        return loop.map { specs[$0].name }
    }
}
