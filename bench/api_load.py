#!/usr/bin/env python3
"""Load on the satellite's own work, beside the same work done by raw SQLite in the same run.

A benchmark, not a test: it prints requests per second and latency percentiles (wrk, from
Debian, on loopback) for node check-in (a write), bucket listing and object reads (reads) and
object begin (node selection, a write), each beside two references measured in the same run:
the HTTP ceiling (`GET /health/live`, a constant answer from the same server through the same
middlewares, so what an operation costs beyond HTTP shows as its share of the ceiling) and the
rows per second raw SQLite manages for the same statements. Run it through scripts/bench.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

CHECKIN_LUA = """
-- 5000 nodes checking in again and again: the overlay stays the size a real one might be. Each
-- body is signed by its node's key (made by checkin-bodies beforehand: Lua cannot sign).
bodies = {}
for line in io.lines("BODIES") do bodies[#bodies + 1] = line end
request = function()
  local body = bodies[math.random(1, #bodies)]
  return wrk.format("POST", "/v1/contact/checkin", {["Content-Type"] = "application/json"}, body)
end
"""

BEGIN_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"key":"load/%d-%d","segment_count":1}', counter, math.random(1, 1000000000))
  return wrk.format("POST", "/v1/buckets/load/objects",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer KEY"}, body)
end
"""

def commit_flow(executable, port, key, seconds):
    """The commit flow, driven by commit-flow over 16 keep-alive connections: (rate, latency, errors) as wrk() gives them."""
    out = subprocess.run([executable, str(port), key, "5000", str(seconds), "16"], check=True, capture_output=True, text=True).stdout
    figures = json.loads(out)
    return figures["rate"], {"50": figures["p50"], "99": figures["p99"]}, figures["errors"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, key=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def wrk(port, path, seconds, script=None, key=None, connections=16, threads=8):
    arguments = ["wrk", "-t%d" % min(connections, threads), "-c%d" % connections, "-d%ds" % seconds, "--latency"]
    if key:
        arguments += ["-H", "Authorization: Bearer " + key]
    if script:
        handle, script_path = tempfile.mkstemp(suffix=".lua")
        with os.fdopen(handle, "w") as out:
            out.write(script.replace("KEY", key or ""))
        arguments += ["-s", script_path]
    output = subprocess.run(arguments + ["http://127.0.0.1:%d%s" % (port, path)], capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {}
    for percentile in ("50", "99"):
        match = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % percentile, output)
        value, unit = float(match.group(1)), match.group(2)
        latency[percentile] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, latency, int(errors.group(1)) if errors else 0


def raw_sqlite(path, seconds):
    """The same statements straight on SQLite (WAL, as the satellite opens it), one connection."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    figures = {}
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        node = (count % 5000 + 1).to_bytes(32, "big")
        db.execute("BEGIN IMMEDIATE")
        db.execute("""INSERT INTO nodes (id, address, last_net, free_disk, version, last_contact_success, created_at)
                      VALUES (?, ?, ?, ?, ?, datetime('now'), datetime('now'))
                      ON CONFLICT(id) DO UPDATE SET address = excluded.address, last_contact_success = excluded.last_contact_success""",
                   (node, "10.9.9.9:1", "10.9.%d.0/24" % (count % 250), 1 << 40, "1"))
        db.execute("COMMIT")
    figures["check-in (upsert a node)"] = count / seconds
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        db.execute("""SELECT name, created_at FROM buckets WHERE project_id = (SELECT id FROM projects WHERE name = 'load')
                      AND name > '' ORDER BY name LIMIT 101""").fetchall()
    figures["list buckets"] = count / seconds
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        row = db.execute("""SELECT * FROM objects WHERE project_id = (SELECT id FROM projects WHERE name = 'load')
                            AND bucket = 'load' AND key = 'read-me' AND status = 'committed' ORDER BY version DESC LIMIT 1""").fetchone()
        db.execute("SELECT * FROM segments WHERE stream_id = ? ORDER BY position", (row[4],)).fetchall()
    figures["get object"] = count / seconds
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        rows = db.execute("SELECT id, address, last_net FROM nodes WHERE disqualified_at IS NULL AND exit_initiated_at IS NULL ORDER BY RANDOM()").fetchmany(200)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO objects (project_id, bucket, key, version, stream_id, status) SELECT project_id, 'load', ?, 1, ?, 'pending' FROM buckets WHERE name = 'load'",
                   ("raw/%d" % count, os.urandom(16)))
        db.execute("COMMIT")
    figures["begin object (select nodes, insert)"] = count / seconds
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        stream = os.urandom(16)
        nodes = db.execute("SELECT id, address, last_net FROM nodes WHERE disqualified_at IS NULL AND exit_initiated_at IS NULL ORDER BY RANDOM()").fetchmany(200)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO objects (project_id, bucket, key, version, stream_id, status) SELECT project_id, 'load', ?, 1, ?, 'pending' FROM buckets WHERE name = 'load'",
                   ("rawflow/%d" % count, stream))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("""INSERT INTO segments (stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total, encrypted_size, pieces)
                      VALUES (?, 0, 2, 3, 4, 5, 1000, ?)""", (stream, b"".join(i.to_bytes(2, "big") + row[0] for i, row in enumerate(nodes[:4]))))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE objects SET status = 'committed' WHERE stream_id = ?", (stream,))
        db.execute("COMMIT")
    figures["commit flow (begin, segment, commit)"] = count * 3 / seconds
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        db.execute("""SELECT * FROM objects WHERE project_id = (SELECT id FROM projects WHERE name = 'load') AND bucket = 'load'
                      AND status = 'committed' AND key >= ? AND key < ? AND key > ? ORDER BY key LIMIT 101""", ("", "\U0010FFFF", "")).fetchall()
    figures["list objects (100 of them)"] = count / seconds
    db.close()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--satellite", required=True)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--checkin-bodies", required=True, help="the checkin-bodies executable")
    parser.add_argument("--commit-flow", required=True, help="the commit-flow executable")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-api-")
    data = os.path.join(work, "data")
    port = free_port()
    launcher = subprocess.Popen([args.satellite, "run", "--data-dir", data, "--api.address=127.0.0.1:%d" % port,
                                 "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true", "--contact.max-nodes-per-source=0", "--contact.max-nodes-per-source-network=0",
                                 "--metainfo.redundancy=2/3/4/5", "--overlay.vetting-audits=0",
                                 "--log.level=warning"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health/ready" % port, timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        subprocess.run([args.satellite, "admin", "create-project", "load", "--data-dir", data], check=True, capture_output=True)
        key = subprocess.run([args.satellite, "admin", "create-api-key", "load", "--data-dir", data], check=True, capture_output=True, text=True).stdout.strip()
        call(port, "POST", "/v1/buckets", {"name": "load"}, key)
        bodies = os.path.join(work, "checkins.jsonl")
        with open(bodies, "w") as out:
            subprocess.run([args.checkin_bodies, "5000"], stdout=out, check=True)
        with open(bodies) as lines:
            for line in list(lines)[:10]:
                call(port, "POST", "/v1/contact/checkin", json.loads(line))
        # Commits carry hashes signed by the nodes' keys, which only commit-flow can make.
        subprocess.run([args.commit_flow, str(port), key, "5000", "once", "read-me"], check=True)

        # The ceiling: the API's own constant answer, through every middleware the operations pass.
        ceiling = wrk(port, "/health/live", args.seconds)
        results = [
            ("check-in (upsert a node)", wrk(port, "/v1/contact/checkin", args.seconds, CHECKIN_LUA.replace("BODIES", bodies))),
            ("list buckets", wrk(port, "/v1/buckets", args.seconds, key=key)),
            ("get object", wrk(port, "/v1/buckets/load/object?key=read-me", args.seconds, key=key)),
            ("begin object (select nodes, insert)", wrk(port, "/v1/buckets/load/objects", args.seconds, BEGIN_LUA, key=key)),
            ("commit flow (begin, segment, commit)", commit_flow(args.commit_flow, port, key, args.seconds)),
            ("list objects (100 of them)", wrk(port, "/v1/buckets/load/objects?limit=100", args.seconds, key=key)),
        ]
        committed = sqlite3.connect(os.path.join(data, "satellite.db")).execute("SELECT COUNT(*) FROM objects WHERE status = 'committed'").fetchone()[0]
        nodes = sqlite3.connect(os.path.join(data, "satellite.db")).execute("SELECT COUNT(*) FROM nodes").fetchone()[0]
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)
    raw = raw_sqlite(os.path.join(data, "satellite.db"), args.seconds)
    print("\nthe API on loopback (wrk, 16 connections, %d s each; %d nodes in the overlay, %d committed objects by the end) beside raw SQLite:"
          % (args.seconds, nodes, committed))
    print("  %-38s %11s %9s %9s %7s %9s %13s %7s" % ("operation", "requests/s", "p50 ms", "p99 ms", "errors", "ceiling", "raw SQLite/s", "ratio"))
    rate, latency, errors = ceiling
    print("  %-38s %11.0f %9.2f %9.2f %7d %8.0f%% %13s %7s" % ("HTTP ceiling (GET /health/live)", rate, latency["50"], latency["99"], errors, 100, "-", "-"))
    for name, (rate, latency, errors) in results:
        print("  %-38s %11.0f %9.2f %9.2f %7d %8.0f%% %13.0f %6.2fx" % (
            name, rate, latency["50"], latency["99"], errors, 100 * rate / ceiling[0], raw[name], rate / raw[name]))
    print("  (ceiling: the operation's rate as a share of the HTTP ceiling's, a constant answer from the same server and middlewares;")
    print("   ratio: the API's rate over raw SQLite's for the same statements on one connection; HTTP, JSON and validation are the difference;")
    print("   the commit flow counts its three requests each, so objects stored per second are a third of its rate)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
