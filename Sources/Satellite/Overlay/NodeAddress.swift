#if canImport(Glibc)
import Glibc
#endif

/// A storage node's `host:port`, with the host an IPv4 or IPv6 address, and the network it is
/// counted in for placement: its /24 (IPv4) or /64 (IPv6). Two nodes on one network hold at most
/// one piece of a segment, so one operator's machines cannot hold a segment's redundancy.
public struct NodeAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// `203.0.113.0/24` or `2001:db8:1:2::/64`.
    public let lastNet: String
    /// Where on the Internet the host is.
    public let scope: Scope

    /// Which hosts a node can be reached at from other machines.
    public enum Scope: Sendable, Equatable {
        /// A public address.
        case global
        /// Loopback or a private range (RFC 1918, shared 100.64/10, IPv6 unique local): reachable
        /// on one machine or one network only.
        case local
        /// An address no node can have: unspecified, link-local, multicast, broadcast, reserved.
        case unusable(String)
    }

    /// Why an address was refused, in words for the API's error message.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The addresses accepted, as `openapi.yaml` writes them for a check-in's `address` (a test
    /// holds the two equal): a dotted-quad IPv4 address without leading zeros, or a bracketed
    /// IPv6 address in lowercase hexadecimal, then a port from 1 to 65535 without leading zeros.
    /// The handler refuses exactly what the document refuses, so a client generated from the
    /// document is never surprised either way.
    public static let pattern = #"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}|\[(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|([0-9a-f]{1,4}:){1,7}:|([0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}|([0-9a-f]{1,4}:){1,5}(:[0-9a-f]{1,4}){1,2}|([0-9a-f]{1,4}:){1,4}(:[0-9a-f]{1,4}){1,3}|([0-9a-f]{1,4}:){1,3}(:[0-9a-f]{1,4}){1,4}|([0-9a-f]{1,4}:){1,2}(:[0-9a-f]{1,4}){1,5}|[0-9a-f]{1,4}:(:[0-9a-f]{1,4}){1,6}|:((:[0-9a-f]{1,4}){1,7}|:)|::(ffff(:0{1,4})?:)?(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}|([0-9a-f]{1,4}:){1,4}:(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})\]):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"#

    nonisolated(unsafe) private static let matcher = try! Regex(pattern)

    public init(_ text: String) throws(Invalid) {
        guard text.utf8.count <= 262, (try? Self.matcher.wholeMatch(in: text)) != nil else {
            throw Invalid(description: "address \"\(text.prefix(300))\" is not host:port with an IPv4 or a bracketed IPv6 address and a port from 1 to 65535")
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw Invalid(description: "address \"\(text)\" is not host:port")
        }
        var host = String(text[..<colon])
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]")
        if bracketed { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw Invalid(description: "address \"\(text)\" has no port from 1 to 65535")
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if !bracketed, inet_pton(AF_INET, host, &v4) == 1 {
            let octets = withUnsafeBytes(of: v4) { Array($0) }
            lastNet = "\(octets[0]).\(octets[1]).\(octets[2]).0/24"
            scope = Self.scope(ofIPv4: octets)
        } else if bracketed, inet_pton(AF_INET6, host, &v6) == 1 {
            var network = in6_addr()
            withUnsafeMutableBytes(of: &network) { target in
                withUnsafeBytes(of: v6) { source in
                    for index in 0..<8 { target[index] = source[index] }
                }
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &network, &buffer, socklen_t(buffer.count))
            lastNet = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/64"
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                scope = Self.scope(ofIPv4: Array(bytes[12...]))  // ::ffff:a.b.c.d is that IPv4 address
            } else {
                scope = Self.scope(ofIPv6: bytes)
            }
        } else {
            throw Invalid(description: "address \"\(text)\" does not start with an IPv4 address or a bracketed IPv6 address")
        }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The network a connection's source IP (no port) is counted in, as ``lastNet`` counts a
    /// node's: its /24 or /64; the IP itself when it is neither form.
    public static func network(ofSource ip: String) -> String {
        let text = ip.contains(":") ? "[\(ip.lowercased())]:1" : "\(ip):1"
        return (try? NodeAddress(text))?.lastNet ?? ip
    }

    private static func scope(ofIPv4 octets: [UInt8]) -> Scope {
        switch (octets[0], octets[1]) {
        case (0, _): .unusable("0.0.0.0/8 is \"this network\", not a host")
        case (169, 254): .unusable("169.254.0.0/16 is link-local")
        case (224...239, _): .unusable("224.0.0.0/4 is multicast")
        case (240...255, _): .unusable(octets == [255, 255, 255, 255] ? "255.255.255.255 is broadcast" : "240.0.0.0/4 is reserved")
        case (127, _), (10, _), (172, 16...31), (192, 168), (100, 64...127): .local
        default: .global
        }
    }

    private static func scope(ofIPv6 bytes: [UInt8]) -> Scope {
        if bytes.allSatisfy({ $0 == 0 }) { return .unusable(":: is the unspecified address") }
        if bytes[0..<15].allSatisfy({ $0 == 0 }), bytes[15] == 1 { return .local }
        if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 { return .unusable("fe80::/10 is link-local") }
        if bytes[0] == 0xFF { return .unusable("ff00::/8 is multicast") }
        if bytes[0] & 0xFE == 0xFC { return .local }
        return .global
    }
}
