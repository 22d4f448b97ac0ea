import Testing

@testable import Supervision

/// The debug address's request reader: what a scraper, curl and a browser's form send.
struct DebugRequestTests {
    static func parse(_ text: String) -> DebugRequest.Parse {
        DebugRequest.parse(Array(text.utf8))
    }

    @Test func aGetWithItsQuery() {
        #expect(Self.parse("GET /log?process=api%2D1&lines HTTP/1.1\r\nHost: x\r\n\r\n")
            == .request(DebugRequest(method: "GET", path: "/log", query: ["process": "api-1", "lines": ""], form: [:])))
        #expect(Self.parse("GET /metrics HTTP/1.0\n\n") == .request(DebugRequest(method: "GET", path: "/metrics", query: [:], form: [:])))
    }

    @Test func aFormPostIsWaitedForToItsLastByte() {
        let head = "POST /restart HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\ncontent-length:  33\r\n\r\n"
        #expect(Self.parse(head) == .incomplete)
        #expect(Self.parse(head + "token=ab&process=my+api") == .incomplete)
        #expect(Self.parse(head + "token=ab&process=my+api&tag=a%26b")
            == .request(DebugRequest(method: "POST", path: "/restart", query: [:], form: ["token": "ab", "process": "my api", "tag": "a&b"])))
        #expect(Self.parse("GET / HTTP/1.1\r\nHost: x") == .incomplete)
    }

    @Test func whatCannotBeARequestIsMalformed() {
        for text in [
            "GET /\r\n\r\n", "HELLO\r\n\r\n", "GET / SPDY/3\r\n\r\n", "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
            "POST /restart HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "POST /restart HTTP/1.1\r\nContent-Length: many\r\n\r\n",
        ] {
            #expect(Self.parse(text) == .malformed, "\(text.debugDescription)")
        }
    }

    @Test func aBrokenEscapeEmptiesItsValueAndKeepsTheRequest() {
        #expect(DebugRequest.fields("a=%zz&b=%41%42&c=%E2%82%AC&d=%FF") == ["a": "", "b": "AB", "c": "€", "d": ""])
    }

    @Test func thePageEscapesWhatItShows() {
        #expect(OperatorPage.escaped(#"<script>"x" & 'y'"#) == "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;")
        #expect(OperatorPage.shown(.seconds(59)) == "59 s")
        #expect(OperatorPage.shown(.seconds(3725)) == "1 h 2 min")
        #expect(OperatorPage.shown(.seconds(90061)) == "1 d 1 h")
    }

    @Test func tokensAreFreshAndComparedWhole() {
        let first = SupervisorLoop.randomToken(), second = SupervisorLoop.randomToken()
        #expect(first.count == 32 && first != second)
        #expect(SupervisorLoop.sameBytes(first, first))
        #expect(!SupervisorLoop.sameBytes(first, second) && !SupervisorLoop.sameBytes(first, String(first.dropLast())))
    }
}
