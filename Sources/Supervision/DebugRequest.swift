/// One HTTP request to the launcher's debug address: its method, path, query and, for a POST,
/// its form fields (`application/x-www-form-urlencoded`, what an HTML form sends).
///
/// The launcher links no HTTP stack; this reads the one request a connection carries, bounded
/// by the endpoint's size limit, and nothing of HTTP beyond what a browser, curl and a
/// Prometheus scraper send.
struct DebugRequest: Equatable {
    let method: String
    let path: String
    let query: [String: String]
    let form: [String: String]

    /// What the bytes received so far make.
    enum Parse: Equatable {
        /// The head, or the body its Content-Length announces, has not all arrived.
        case incomplete
        case malformed
        case request(DebugRequest)
    }

    static func parse(_ bytes: [UInt8]) -> Parse {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) ?? bytes.firstRange(of: [10, 10]) else { return .incomplete }
        // Lines split on the bytes: as a String, "\r\n" is one Character and "\n" not in it.
        let lines = bytes[..<end.lowerBound].split(separator: 10).map { line in
            Substring(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
        }
        let words = lines.first?.split(separator: " ") ?? []
        guard words.count == 3, words[2].hasPrefix("HTTP/1.") else { return .malformed }
        var length = 0
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed }
            if line[..<colon].lowercased() == "content-length" {
                guard let value = Int(String(line[line.index(after: colon)...].filter { $0 != " " && $0 != "\t" })), value >= 0 else { return .malformed }
                length = value
            }
        }
        let body = bytes[end.upperBound...]
        guard body.count >= length else { return .incomplete }
        let target = words[1]
        let question = target.firstIndex(of: "?")
        let path = question.map { String(target[..<$0]) } ?? String(target)
        let query = question.map { fields(target[target.index(after: $0)...]) } ?? [:]
        let form = words[0] == "POST" ? fields(Substring(decoding: body.prefix(length), as: UTF8.self)) : [:]
        return .request(DebugRequest(method: String(words[0]), path: path, query: query, form: form))
    }

    /// `a=1&b=two+words` as fields; of a name given twice, the last.
    static func fields(_ text: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? percentDecoded(parts[1]) ?? "" : ""
        }
        return fields
    }

    /// `+` as a space and `%XX` as its byte; nil when an escape is broken or the bytes are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
