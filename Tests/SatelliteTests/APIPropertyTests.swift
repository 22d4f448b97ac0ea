import Foundation
import Satellite
import SatelliteAPI
import SatelliteDB
import SatelliteDBSQLite
import TestPlanet
import Testing
import Yams

/// A property-based pass over the API generated from its own OpenAPI document: for every
/// operation, requests with parameters and bodies drawn from the document's schemas, valid and
/// broken at random. Whatever is sent, the answer is one the document lists for the operation
/// (or 404/405 for a path that is not one), never a 5xx, and every error body has the document's
/// error shape; afterwards the database is intact.
@Suite(.timeLimit(.minutes(2)))
struct APIPropertyTests {
    /// A deterministic generator, so that a failure can be replayed from its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// One operation of the document; its node is only read.
    struct Operation: @unchecked Sendable {
        let method: String
        let path: String
        let node: [String: Any]
    }

    /// The parsed document; read-only once made.
    final class Tree: @unchecked Sendable {
        let root: [String: Any] = (try? Yams.load(yaml: APIDocument.yaml) as? [String: Any]) ?? [:]
    }

    static let tree = Tree()
    static var document: [String: Any] { tree.root }

    /// Walks `keys` down from the document's root.
    static func lookup(_ keys: String...) -> Any? {
        var node: Any? = document
        for key in keys { node = (node as? [String: Any])?[key] }
        return node
    }

    static var operations: [Operation] {
        let paths = document["paths"] as? [String: Any] ?? [:]
        return paths.keys.sorted().flatMap { path in
            ((paths[path] as? [String: Any]) ?? [:]).keys.sorted().compactMap { method in
                ((paths[path] as? [String: Any])?[method] as? [String: Any]).map { Operation(method: method.uppercased(), path: path, node: $0) }
            }
        }
    }

    /// Follows a `$ref` within the document.
    static func resolve(_ node: Any?) -> [String: Any] {
        guard var object = node as? [String: Any] else { return [:] }
        while let ref = object["$ref"] as? String {
            var target: Any? = document
            for part in ref.dropFirst(2).split(separator: "/") { target = (target as? [String: Any])?[String(part)] }
            object = target as? [String: Any] ?? [:]
        }
        return object
    }

    /// A value for `schema`: most often a valid one, sometimes one of the wrong type, out of
    /// bounds, or absurd.
    static func value(for schemaNode: Any?, depth: Int = 0, using rng: inout SplitMix) -> Any {
        let schema = resolve(schemaNode)
        if Int.random(in: 0..<8, using: &rng) == 0 {
            let absurd: [Any] = [NSNull(), -1, Int64.max, 3.5, "", String(repeating: "x", count: 5000), [1, 2], ["nested": true], true, "\u{0}\u{1F600}"]
            return absurd.randomElement(using: &rng)!
        }
        switch schema["type"] as? String {
        case "integer":
            let low = schema["minimum"] as? Int ?? -10
            let high = schema["maximum"] as? Int ?? 100_000
            return Int.random(in: (low - 2)...(high + 2), using: &rng)
        case "string":
            if schema["format"] as? String == "date-time" {
                return ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: Double.random(in: -1e6...1e6, using: &rng)))
            }
            if let options = schema["enum"] as? [String] { return options.randomElement(using: &rng)! }
            if let pattern = schema["pattern"] as? String, pattern.contains("[0-9a-f]"), Bool.random(using: &rng) {
                let length = pattern.contains("{64}") ? 64 : 32
                return String((0..<length).map { _ in "0123456789abcdef".randomElement(using: &rng)! })
            }
            let alphabet = Array("abcxyz019-./_ ÄЖ\u{7}")
            return String((0..<Int.random(in: 0...(schema["maxLength"] as? Int ?? 40) + 3, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        case "array":
            guard depth < 3 else { return [] }
            return (0..<Int.random(in: 0...6, using: &rng)).map { _ in value(for: schema["items"], depth: depth + 1, using: &rng) }
        case "object":
            guard depth < 3 else { return [:] }
            var object: [String: Any] = [:]
            let required = Set(schema["required"] as? [String] ?? [])
            let properties = schema["properties"] as? [String: Any] ?? [:]
            // In name order: a dictionary's own order changes from run to run, and the seed would not replay.
            for (name, property) in properties.sorted(by: { $0.key < $1.key }) where required.contains(name) || Bool.random(using: &rng) {
                if required.contains(name), Int.random(in: 0..<10, using: &rng) == 0 { continue }
                object[name] = value(for: property, depth: depth + 1, using: &rng)
            }
            if Int.random(in: 0..<10, using: &rng) == 0 { object["unexpected"] = 1 }
            return object
        default:
            return "?"
        }
    }

    static func errorShapeProblem(_ answer: HTTPAnswer, codes: Set<String>) -> String? {
        guard let error = answer.json?["error"] as? [String: Any] else { return "no error object in \(answer.text)" }
        guard let code = error["code"] as? String, codes.contains(code) else { return "code not in the document: \(answer.text)" }
        guard let message = error["message"] as? String, !message.isEmpty else { return "no message: \(answer.text)" }
        return nil
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func everyAnswerIsOneTheDocumentPromises(seed: UInt64) async throws {
        var reconfigure = TestPlanet.Reconfigure()
        reconfigure.api = { $0.contact.checkInInterval = .zero }
        let operations = Self.operations
        #expect(operations.count >= 12)
        let codes = Set(Self.lookup("components", "schemas", "Error", "properties", "error", "properties", "code", "enum") as? [String] ?? [])
        #expect(codes.contains("bad_request"))
        try await TestPlanet.run(reconfigure: reconfigure) { planet in
            _ = try await planet.startNodes(6)
            let key = try await planet.makeProject("fuzz")
            let client = MetainfoClient(planet: planet, key: key)
            #expect(try await client.call("POST", "/v1/buckets", ["name": "bucket"]).status == 201)
            var rng = SplitMix(state: seed)
            for round in 0..<120 {
                let operation = operations.randomElement(using: &rng)!
                var path = operation.path
                var query: [String] = []
                for parameterNode in operation.node["parameters"] as? [Any] ?? [] {
                    let parameter = Self.resolve(parameterNode)
                    let name = parameter["name"] as? String ?? ""
                    let drawn = Bool.random(using: &rng) && name == "bucket" ? "bucket" : "\(Self.value(for: parameter["schema"], using: &rng))"
                    let encoded = drawn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                    if parameter["in"] as? String == "path" {
                        path = path.replacingOccurrences(of: "{\(name)}", with: encoded.isEmpty ? "x" : encoded)
                    } else if parameter["required"] as? Bool == true || Bool.random(using: &rng) {
                        query.append("\(name)=\(encoded)")
                    }
                }
                let bodySchema = (((operation.node["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
                var body: Data?
                if let bodySchema {
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0: body = Data((0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                    case 1: body = Data("{\"truncated\": [1, 2".utf8)
                    default: body = try JSONSerialization.data(withJSONObject: ["v": Self.value(for: bodySchema, using: &rng)]).dropFirst(5).dropLast()
                    }
                }
                let authorization = Int.random(in: 0..<6, using: &rng) == 0 ? [:] : ["Authorization": "Bearer \(key)"]
                let target = path + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
                let sent = "seed \(seed) round \(round): \(operation.method) \(target) \(body.map { String(decoding: $0.prefix(200), as: UTF8.self) } ?? "")"
                let answer: HTTPAnswer
                do {
                    answer = try await planet.request(operation.method, target, body: body, headers: authorization)
                } catch {
                    Issue.record(error, "no answer to \(sent)")
                    break
                }
                let promised = Set(((operation.node["responses"] as? [String: Any]) ?? [:]).keys.compactMap(Int.init))
                let context = "\(sent) -> \(answer.status) \(answer.text.prefix(300))"
                #expect(answer.status < 500 || answer.status == 503, "\(context)")
                #expect(promised.contains(answer.status) || answer.status == 404 || answer.status == 405, "\(context)")
                if answer.status >= 400, operation.path != "/health/ready" {
                    #expect(Self.errorShapeProblem(answer, codes: codes) == nil, "\(context)")
                }
            }
            // Nothing half-written: every reference holds and the file is sound.
            await #expect(try planet.sqlite.integrityProblems() == [])
        }
    }
}
