#!/usr/bin/env python3
"""Load on the satellite's own work, beside the same work done by raw SQLite in the same run.

A benchmark, not a test: it prints requests per second and latency percentiles (wrk, from
Debian, on loopback) for node check-in (a write), bucket listing and object reads (reads) and
object begin (node selection, a write), each beside two references measured in the same run:
the HTTP ceiling (`GET /health/live`, a constant answer from the same server through the same
middlewares, so what an operation costs beyond HTTP shows as its share of the ceiling) and the
rows per second raw SQLite manages for the same statements. Then the same satellite on a
PostgreSQL server (a throwaway cluster made by scripts/postgres, on this machine): node check-in
and the commit flow again, beside pgbench running the statements the satellite's PostgreSQL
backend sends for them, in the same transactions, on the same server. Run it through scripts/bench.
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


# The statement PostgreSQLDatabase sends for a check-in (recordCheckIn): one upsert, atomic alone.
PGBENCH_CHECKIN = """
\\set n random(1, 5000)
INSERT INTO nodes (id, address, last_net, free_disk, version, last_contact_success, created_at, public_key)
VALUES (decode(lpad(to_hex(:n::bigint), 64, '0'), 'hex'), '10.9.9.9:1', '10.9.' || (:n::bigint % 250) || '.0', 1099511627776, '1', now(), now(), NULL)
ON CONFLICT (id) DO UPDATE SET
address = excluded.address, last_net = excluded.last_net, free_disk = excluded.free_disk,
version = excluded.version, last_contact_success = excluded.last_contact_success,
public_key = COALESCE(excluded.public_key, nodes.public_key);
"""

# The statements of one object's commit flow as PostgreSQLDatabase sends them: beginObject (with
# its segment's offer), offeredSegment (the snapshot read the API checks the piece hashes
# against), commitSegment and commitObject, each in the transaction the backend opens, with the
# locks it takes. Node selection comes from the API's cache and API keys from its key cache, so
# neither is here.
PGBENCH_COMMIT_FLOW = """
\\set s random(1, 9223372036854775806)
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT 1 FROM buckets WHERE project_id = :project AND name = 'load' FOR SHARE;
SELECT pg_advisory_xact_lock(1396790347, hashtext(encode(:project::bytea, 'hex') || '/' || 'load' || '/' || 'pgbench/' || :s::bigint));
SELECT MAX(version) FROM objects WHERE project_id = :project AND bucket = 'load' AND key = 'pgbench/' || :s::bigint;
INSERT INTO objects (project_id, bucket, key, version, stream_id, status, created_at, expires_at, zombie_deadline, segment_count)
VALUES (:project, 'load', 'pgbench/' || :s::bigint, 1, decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex'), 'pending', now(), NULL, now() + interval '1 day', 1);
INSERT INTO segment_offers (stream_id, position, nodes, root_piece_id, offered_at) VALUES (decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex'), 0, :offer, :root, now())
ON CONFLICT (stream_id, position) DO UPDATE SET nodes = excluded.nodes, root_piece_id = excluded.root_piece_id, offered_at = excluded.offered_at;
COMMIT;
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT status, segment_count FROM objects WHERE project_id = :project AND stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex');
SELECT nodes, root_piece_id FROM segment_offers WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') AND position = 0;
SELECT id, public_key FROM nodes WHERE id = ANY(ARRAY[:n1::bytea, :n2::bytea, :n3::bytea, :n4::bytea, :n5::bytea]) AND public_key IS NOT NULL;
COMMIT;
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT status, segment_count FROM objects WHERE project_id = :project AND stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') FOR UPDATE;
SELECT 1 FROM segments WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') AND position = 0;
SELECT COUNT(*) FROM nodes WHERE id = ANY(ARRAY[:n1::bytea, :n2::bytea, :n3::bytea, :n4::bytea]);
SELECT nodes, root_piece_id FROM segment_offers WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') AND position = 0;
INSERT INTO segments (stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total, redundancy_share_size,
encrypted_size, pieces, root_piece_id, created_at)
VALUES (decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex'), 0, 2, 3, 4, 5, 256, 1000, :pieces, :root, now());
UPDATE objects SET zombie_deadline = now() + interval '1 day' WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') AND status = 'pending';
COMMIT;
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT bucket, key FROM objects WHERE project_id = :project AND stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex');
SELECT pg_advisory_xact_lock(1396790347, hashtext(encode(:project::bytea, 'hex') || '/' || 'load' || '/' || 'pgbench/' || :s::bigint));
SELECT status, segment_count, bucket, key, version, created_at, expires_at FROM objects WHERE project_id = :project AND stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') FOR UPDATE;
SELECT position FROM segments WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex') ORDER BY position;
DELETE FROM segment_offers WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex');
DELETE FROM objects WHERE project_id = :project AND bucket = 'load' AND key = 'pgbench/' || :s::bigint AND version < 1 AND status = 'committed';
UPDATE objects SET status = 'committed', zombie_deadline = NULL, segment_count = 1 WHERE stream_id = decode(lpad(to_hex(:s::bigint), 32, '0'), 'hex');
COMMIT;
"""


def psql(url, sql):
    """One statement's rows through psql (unaligned, tab-separated)."""
    out = subprocess.run(["psql", url, "-qAtF", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def pgbench(url, script, seconds, clients, variables):
    """pgbench running `script` with `clients` connections for `seconds`: (scripts per second, failed)."""
    handle, path = tempfile.mkstemp(suffix=".sql")
    with os.fdopen(handle, "w") as out:
        out.write(script)
    arguments = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", path]
    for name, value in variables.items():
        arguments += ["-D", "%s=%s" % (name, value)]
    run = subprocess.run(arguments + [url], capture_output=True, text=True)
    os.unlink(path)
    if run.returncode != 0:
        raise SystemExit("pgbench failed (%d):\n%s%s" % (run.returncode, run.stdout, run.stderr))
    rate = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", run.stdout)
    return rate, int(failed.group(1)) if failed else 0


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


class Satellite:
    """`satellite run` on a data directory (and a database URL), with the bench's project, key and bucket."""

    def __init__(self, executable, data, database_url=None):
        self.executable, self.data = executable, data
        self.database = ["--database.url=" + database_url] if database_url else []
        self.port = free_port()
        self.launcher = subprocess.Popen([executable, "run", "--data-dir", data, "--api.address=127.0.0.1:%d" % self.port,
                                          "--contact.checkin-interval=0s", "--contact.allow-private-addresses=true",
                                          "--contact.max-nodes-per-source=0", "--contact.max-nodes-per-source-network=0",
                                          "--metainfo.redundancy=2/3/4/5", "--overlay.vetting-audits=0",
                                          "--log.level=warning"] + self.database,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health/ready" % self.port, timeout=1)
                break
            except Exception:
                if time.monotonic() > deadline or self.launcher.poll() is not None:
                    self.stop()
                    raise SystemExit("the satellite on %s did not become ready; its logs are in %s/logs" % (data, data))
                time.sleep(0.05)

    def prepare(self, bodies, commit_flow_executable):
        """The project, its key, the bucket, ten nodes checked in and one committed object to read."""
        subprocess.run([self.executable, "admin", "create-project", "load", "--data-dir", self.data] + self.database, check=True, capture_output=True)
        self.key = subprocess.run([self.executable, "admin", "create-api-key", "load", "--data-dir", self.data] + self.database,
                                  check=True, capture_output=True, text=True).stdout.strip()
        call(self.port, "POST", "/v1/buckets", {"name": "load"}, self.key)
        with open(bodies) as lines:
            for line in list(lines)[:10]:
                call(self.port, "POST", "/v1/contact/checkin", json.loads(line))
        # Commits carry hashes signed by the nodes' keys, which only commit-flow can make.
        subprocess.run([commit_flow_executable, str(self.port), self.key, "5000", "once", "read-me"], check=True)

    def stop(self):
        self.launcher.send_signal(signal.SIGTERM)
        self.launcher.wait(timeout=60)


def on_postgres(args, work, bodies, sqlite_results):
    """Check-in and the commit flow through the API on PostgreSQL, then pgbench on the same server."""
    cluster = os.path.join(work, "postgres")
    url = subprocess.run(["scripts/postgres", "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
    try:
        satellite = Satellite(args.satellite, os.path.join(work, "data-postgres"), url)
        try:
            satellite.prepare(bodies, args.commit_flow)
            ceiling = wrk(satellite.port, "/health/live", args.seconds)
            checkin = wrk(satellite.port, "/v1/contact/checkin", args.seconds, CHECKIN_LUA.replace("BODIES", bodies))
            flow = commit_flow(args.commit_flow, satellite.port, satellite.key, args.seconds)
        finally:
            satellite.stop()
        # pgbench's clients are as many as the API's pool may open (database.max-connections).
        clients = 20
        project = psql(url, "SELECT encode(id, 'hex') FROM projects WHERE name = 'load'")[0][0]
        nodes = [row[0] for row in psql(url, "SELECT encode(id, 'hex') FROM nodes ORDER BY id LIMIT 5")]
        variables = {"project": "\\x" + project, "offer": "\\x" + "".join(nodes), "root": "\\x" + os.urandom(32).hex(),
                     "pieces": "\\x" + "".join("%04x" % i + node for i, node in enumerate(nodes[:4]))}
        variables.update({"n%d" % (i + 1): "\\x" + node for i, node in enumerate(nodes)})
        raw_checkin = pgbench(url, PGBENCH_CHECKIN, args.seconds, clients, {})
        raw_flow = pgbench(url, PGBENCH_COMMIT_FLOW, args.seconds, clients, variables)
    finally:
        subprocess.run(["scripts/postgres", "stop", cluster], check=False)
    print("\nthe same on PostgreSQL %s (a throwaway cluster on this machine: fsync off, synchronous_commit on), beside pgbench:"
          % psql_version())
    print("  %-38s %12s %14s %9s %9s %7s %12s %7s %8s" % ("operation", "SQLite API/s", "PostgreSQL API/s", "p50 ms", "p99 ms", "errors", "pgbench/s", "ratio", "failed"))
    rate, latency, errors = ceiling
    print("  %-38s %12.0f %14.0f %9.2f %9.2f %7d %12s %7s %8s" % ("HTTP ceiling (GET /health/live)", sqlite_results["ceiling"][0], rate, latency["50"], latency["99"], errors, "-", "-", "-"))
    rate, latency, errors = checkin
    print("  %-38s %12.0f %14.0f %9.2f %9.2f %7d %12.0f %6.2fx %8d" % (
        "check-in (upsert a node)", sqlite_results["check-in (upsert a node)"][0], rate, latency["50"], latency["99"], errors,
        raw_checkin[0], rate / raw_checkin[0], raw_checkin[1]))
    rate, latency, errors = flow
    # pgbench counts one object's whole flow as one script: three requests of the API's.
    print("  %-38s %12.0f %14.0f %9.2f %9.2f %7d %12.0f %6.2fx %8d" % (
        "commit flow (begin, segment, commit)", sqlite_results["commit flow (begin, segment, commit)"][0], rate, latency["50"], latency["99"], errors,
        raw_flow[0] * 3, rate / (raw_flow[0] * 3), raw_flow[1]))
    print("  (pgbench: the statements the PostgreSQL backend sends, in its transactions, %d clients (database.max-connections), prepared;" % clients)
    print("   the commit flow's script is one object's four transactions, counted as its three requests; ratio: the API's rate over pgbench's;")
    print("   failed: pgbench's scripts ended by a serialization failure or deadlock, which the satellite would have retried)")


def psql_version():
    out = subprocess.run(["pgbench", "--version"], capture_output=True, text=True).stdout
    return re.search(r"\d+\.\d+", out).group(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--satellite", required=True)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--checkin-bodies", required=True, help="the checkin-bodies executable")
    parser.add_argument("--commit-flow", required=True, help="the commit-flow executable")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-api-")
    if os.geteuid() == 0:
        # The PostgreSQL cluster runs as the postgres user, which must reach its directory.
        os.chmod(work, 0o755)
    data = os.path.join(work, "data")
    bodies = os.path.join(work, "checkins.jsonl")
    with open(bodies, "w") as out:
        subprocess.run([args.checkin_bodies, "5000"], stdout=out, check=True)
    satellite = Satellite(args.satellite, data)
    port = satellite.port
    try:
        satellite.prepare(bodies, args.commit_flow)
        key = satellite.key
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
        satellite.stop()
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
    if not args.no_postgres:
        sqlite_results = dict(results)
        sqlite_results["ceiling"] = ceiling
        on_postgres(args, work, bodies, sqlite_results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
