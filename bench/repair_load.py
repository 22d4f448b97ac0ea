#!/usr/bin/env python3
"""The repair subsystem's own work, beside the same statements done by raw SQLite in the same run.

A benchmark, not a test. It fills a satellite database with a million one-segment objects
(redundancy 4/6/8/10, eight pieces each on 200 nodes, of which 2% are offline, so about 1% of the
segments need repair), then:

- runs the Core peer alone and reads, from its /metrics, how long the repair checker's first full
  pass took: segments scanned per second;
- runs the Repairer peer alone for a while and reads its repair attempts counter: claims per second;
- does the same statements on raw SQLite (Python's sqlite3, WAL, one connection): the scan as one
  statement reading every column the checker reads, plus the same queue upserts, one transaction
  each as the checker does; and the claim transaction plus the release of every claim.

Run it through scripts/bench.
"""
import argparse
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

SEGMENTS_DEFAULT = 1_000_000
NODES = 200
OFFLINE = 4
PIECES = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stamp(seconds_ago):
    return time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime(time.time() - seconds_ago))


def fill(path, segments):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    project = os.urandom(16)
    db.execute("INSERT INTO projects (id, name) VALUES (?, 'load')", (project,))
    db.execute("INSERT INTO buckets (project_id, name) VALUES (?, 'load')", (project,))
    nodes = [os.urandom(32) for _ in range(NODES)]
    for index, node in enumerate(nodes):
        # The first OFFLINE nodes last checked in two days ago: outside the 4 h online window.
        seen = stamp(2 * 86400 if index < OFFLINE else 60)
        db.execute("""INSERT INTO nodes (id, address, last_net, free_disk, version, last_contact_success, created_at)
                      VALUES (?, ?, ?, ?, '1', ?, ?)""",
                   (node, "10.%d.%d.1:28967" % (index // 256, index % 256), "10.%d.%d.0/24" % (index // 256, index % 256), 1 << 40, seen, seen))
    rng = random.Random(7)
    now = stamp(0)

    def objects():
        for index in range(segments):
            yield (project, "obj/%08d" % index, index.to_bytes(16, "big"), now)

    def rows():
        for index in range(segments):
            chosen = rng.sample(range(NODES), PIECES)
            pieces = b"".join(number.to_bytes(2, "big") + nodes[node] for number, node in enumerate(chosen))
            yield (index.to_bytes(16, "big"), pieces, now)

    db.executemany("INSERT INTO objects (project_id, bucket, key, version, stream_id, status, created_at) VALUES (?, 'load', ?, 1, ?, 'committed', ?)", objects())
    db.executemany("""INSERT INTO segments (stream_id, position, redundancy_k, redundancy_repair, redundancy_optimal, redundancy_total,
                      encrypted_size, pieces, created_at) VALUES (?, 0, 4, 6, 8, 10, 1048576, ?, ?)""", rows())
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def metric(port, name, labels):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name) and all('%s="%s"' % pair in line for pair in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def run_peer(satellite, peer, data, port, flags):
    return subprocess.Popen([satellite, "run", peer, "--data-dir", data, "--debug.address=127.0.0.1:%d" % port, "--log.level=warning"] + flags,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(what, condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit("repair bench: timed out waiting for " + what)


def checker_pass(satellite, data):
    port = free_port()
    core = run_peer(satellite, "core", data, port, ["--checker.interval=24h", "--tally.interval=0s", "--deletion.interval=0s"])
    try:
        labels = {"chore": "repair:checker"}
        wait_for("the checker's first pass", lambda: (metric(port, "satellite_chore_duration_seconds_count", labels) or 0) >= 1, 3600)
        seconds = metric(port, "satellite_chore_duration_seconds_sum", labels)
    finally:
        core.terminate()
        core.wait(timeout=60)
    return seconds


def repairer_claims(satellite, data, seconds):
    port = free_port()
    repairer = run_peer(satellite, "repairer", data, port, ["--repairer.interval=1ms", "--repairer.max-concurrent=20"])
    try:
        wait_for("the repairer's first attempt", lambda: (metric(port, "satellite_repair_attempts_total", {}) or 0) > 0, 60)
        first = metric(port, "satellite_repair_attempts_total", {})
        start = time.monotonic()
        time.sleep(seconds)
        last = metric(port, "satellite_repair_attempts_total", {})
        elapsed = time.monotonic() - start
    finally:
        repairer.terminate()
        repairer.wait(timeout=60)
    return (last - first) / elapsed


def raw_checker(path, queued):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout=5000")
    start = time.monotonic()
    db.execute("""SELECT count(*), sum(length(pieces)), sum(redundancy_k + redundancy_repair + redundancy_optimal + redundancy_total)
                  FROM (SELECT * FROM segments ORDER BY stream_id, position)""").fetchone()
    db.execute("SELECT count(*) FROM nodes").fetchone()
    for index in range(queued):
        db.execute("BEGIN IMMEDIATE")
        db.execute("""INSERT INTO repair_queue (stream_id, position, segment_health, inserted_at, updated_at) VALUES (?, 0, 0.5, ?, ?)
                      ON CONFLICT(stream_id, position) DO UPDATE SET segment_health = excluded.segment_health, updated_at = excluded.updated_at""",
                      (b"raw" + index.to_bytes(13, "big"), stamp(0), stamp(0)))
        db.execute("COMMIT")
    elapsed = time.monotonic() - start
    db.execute("DELETE FROM repair_queue WHERE stream_id >= x'726177' AND stream_id < x'726178'")
    db.close()
    return elapsed


def raw_claims(path, seconds, batch=20):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout=5000")
    claims = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute("""SELECT stream_id, position, segment_health, attempts FROM repair_queue WHERE attempted_at IS NULL OR attempted_at < ?
                             ORDER BY segment_health, inserted_at LIMIT ?""", (stamp(1800), batch)).fetchall()
        for row in rows:
            db.execute("UPDATE repair_queue SET attempted_at = ?, attempts = attempts + 1 WHERE stream_id = ? AND position = ?", (stamp(0), row[0], row[1]))
        db.execute("COMMIT")
        for row in rows:
            db.execute("SELECT * FROM segments WHERE stream_id = ? AND position = ?", (row[0], row[1])).fetchone()
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE repair_queue SET attempted_at = NULL, last_error = 'raw' WHERE stream_id = ? AND position = ?", (row[0], row[1]))
            db.execute("COMMIT")
        claims += len(rows)
    db.close()
    return claims / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--satellite", required=True)
    parser.add_argument("--segments", type=int, default=SEGMENTS_DEFAULT)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-repair-")
    data = os.path.join(work, "data")
    try:
        subprocess.run([args.satellite, "setup", "--data-dir", data], check=True, capture_output=True)
        path = os.path.join(data, "satellite.db")
        began = time.monotonic()
        fill(path, args.segments)
        print("\nrepair: %d segments on %d nodes (%d offline) written in %.0f s; database %.0f MB"
              % (args.segments, NODES, OFFLINE, time.monotonic() - began, os.path.getsize(path) / 1e6))
        pass_seconds = checker_pass(args.satellite, data)
        queued = sqlite3.connect(path).execute("SELECT count(*) FROM repair_queue").fetchone()[0]
        raw_pass = raw_checker(path, queued)
        claims = repairer_claims(args.satellite, data, args.seconds)
        raw = raw_claims(path, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("  %-52s %14s %14s %7s" % ("work", "satellite", "raw SQLite", "ratio"))
    print("  %-52s %12.0f/s %12.0f/s %6.2fx" % ("checker: segments scanned (full pass, %d queued)" % queued,
                                               args.segments / pass_seconds, args.segments / raw_pass, raw_pass / pass_seconds))
    print("  %-52s %12.0f/s %12.0f/s %6.2fx" % ("repairer: claims (claim, look, release; 20 at a time)", claims, raw, claims / raw))
    print("  (ratio: the satellite's rate over raw SQLite's for the same statements; raw scans in one statement)")


if __name__ == "__main__":
    main()
