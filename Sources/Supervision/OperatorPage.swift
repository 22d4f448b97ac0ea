#if canImport(Glibc)
import Glibc
#endif

/// The launcher's page for operators, at `/` on its debug address: one row per process (state,
/// pid, uptime, restarts, last exit, heartbeat age, tags) and the launcher's own, refreshed by
/// the browser every few seconds, with a restart button per process and per tag and a link to
/// the tail of each process's log.
///
/// Plain HTML written here, without script: the refresh is a `<meta>` tag and the actions are
/// forms that POST to `/restart` with a token only this page carries (a page of another site
/// can send the form but cannot read the token). With `readOnly` there are no forms.
enum OperatorPage {
    /// What the page says of the launcher itself.
    struct Launcher {
        var pid: Int32
        var phase: String
        var uptime: Duration
        var version: String?
    }

    /// Seconds between the browser's reloads.
    static let refreshSeconds = 3

    /// - Parameter token: the actions' token; nil when the page is read-only.
    static func render(
        machines: [ChildMachine], specs: [ProcessSpec], launcher: Launcher, token: String?, now: ContinuousClock.Instant
    ) -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <title>satellite launcher</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
            table{border-collapse:collapse}th,td{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}
            th{background:#f4f4f4}.ready{color:#176c2e}.starting,.stopping,.waiting{color:#8a6d00}.down,.backing-off{color:#b3261e}
            form{display:inline;margin:0}button{font:inherit}code{font-size:13px}.tags{margin-top:1em}
            </style></head><body>
            <h1>satellite launcher</h1>
            <p>pid <code>\(launcher.pid)</code> · \(escaped(launcher.phase)) · up \(shown(launcher.uptime))\(launcher.version.map { " · version <code>\(escaped($0))</code>" } ?? "")\
             · <a href="/status">status</a> · <a href="/metrics">metrics</a>\(token == nil ? " · read-only" : "")</p>
            <table><thead><tr><th>process</th><th>state</th><th>pid</th><th>uptime</th><th>restarts</th><th>last exit</th>\
            <th>heartbeat</th><th>tags</th><th>instance of</th><th>version</th><th></th></tr></thead><tbody>

            """
        for (index, machine) in machines.enumerated() {
            let state = StatusDocument.stateName(machine.state)
            let run = machine.state.run
            let heartbeat = machine.notify && run?.readyAt != nil ? shown(now - run!.heartbeat) + " ago" : "–"
            let spec = specs[index]
            var actions = spec.logPath != nil ? "<a href=\"/log?process=\(escaped(machine.name))\">log</a>" : ""
            if let token { actions += " " + form(token: token, field: "process", value: machine.name, label: "restart") }
            html += "<tr><td>\(escaped(machine.name))</td><td class=\"\(state)\">\(state)</td><td>\(run.map { String($0.pid) } ?? "–")</td>"
            html += "<td>\(run.map { shown(now - $0.spawnedAt) } ?? "–")</td><td>\(machine.restarts)</td><td>\(lastExit(machine.lastExit))</td>"
            html += "<td>\(heartbeat)</td><td>\(spec.tags.map(escaped).joined(separator: ", "))</td>"
            html += "<td>\(spec.instanceOf.map(escaped) ?? "–")</td><td>\(run?.version.map(escaped) ?? "–")</td><td>\(actions)</td></tr>\n"
        }
        html += "</tbody></table>\n"
        let entries = specs.compactMap(\.instanceOf).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if let token, !entries.isEmpty {
            html += "<div class=\"tags\">restart one instance at a time: "
                + entries.map { form(token: token, field: "process", value: $0, label: "restart \($0)") }.joined(separator: " ") + "</div>\n"
        }
        let allTags = specs.flatMap(\.tags).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if let token, !allTags.isEmpty {
            html += "<div class=\"tags\">restart by tag: " + allTags.map { form(token: token, field: "tag", value: $0, label: "restart \($0)") }.joined(separator: " ") + "</div>\n"
        }
        return html + "</body></html>\n"
    }

    private static func form(token: String, field: String, value: String, label: String) -> String {
        "<form method=\"post\" action=\"/restart\"><input type=\"hidden\" name=\"token\" value=\"\(token)\">"
            + "<input type=\"hidden\" name=\"\(field)\" value=\"\(escaped(value))\"><button type=\"submit\">\(escaped(label))</button></form>"
    }

    private static func lastExit(_ status: ExitStatus?) -> String {
        switch status {
        case .exited(let code)?: "code \(code)"
        case .signalled(let signal)?: SignalName.of(signal)
        case nil: "–"
        }
    }

    /// `3 s`, `4 min 12 s`, `2 h 5 min`, `3 d 4 h`.
    static func shown(_ duration: Duration) -> String {
        let seconds = max(0, duration.components.seconds)
        switch seconds {
        case ..<60: return "\(seconds) s"
        case ..<3600: return "\(seconds / 60) min \(seconds % 60) s"
        case ..<86400: return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        default: return "\(seconds / 86400) d \(seconds % 86400 / 3600) h"
        }
    }

    /// `text` safe in HTML text and in a quoted attribute.
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
