#!/usr/bin/env python3
"""The uplink on a network of storage nodes on this machine, as `satellite network setup` makes it.

Throughput: `uplink cp` of 1 GiB up and back on 10 nodes with the dev code (4/6/8/10), beside dd
writing the bytes the nodes write (the encoded size, fsynced, as each node fsyncs its pieces) and
reading them back, in the same run; and the peak resident memory of the uplink and of each node.

Long tail: 64 MiB up and back with every node fast, then with 2 and 3 of the 10 nodes answering
2 s late (a proxy in front of them holds back every byte they send by 2 s), the median of three
runs each.

A benchmark, not a test: nothing here asserts a time. Run it through `scripts/bench network`.
"""
import argparse
import asyncio
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

GIB = 1 << 30
MIB = 1 << 20
PLAIN_BLOCK = 65_536 - 16
SEGMENT_PLAIN = 1024 * PLAIN_BLOCK


def encoded_size(size, k=4, n=10, share=256, segment=SEGMENT_PLAIN):
    """Bytes the nodes store for `size` bytes: every segment sealed, padded to stripes, and n pieces."""
    total = 0
    while size > 0:
        plain = min(size, segment)
        sealed = plain + 16 * -(-plain // PLAIN_BLOCK)
        stripe = k * share
        padded = -(-(sealed + 4) // stripe) * stripe
        total += padded // k * n
        size -= plain
    return total


def free_base(count):
    """The first of `count` consecutive loopback ports that are free now, below the ephemeral range."""
    import random
    import socket

    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for _ in range(100):
        base = random.randint(10_000, low - count - 1)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in sockets:
                s.close()
    sys.exit("bench: no free ports")


class DelayProxy:
    """Forwards a node's port; what the node sends back reaches the client `delay` seconds late."""

    def __init__(self, loop, port, target):
        self.delay = 0.0
        # Bytes the node sent back through this proxy: proof the node was used, not skipped.
        self.answered = 0
        self.port = port
        self.target = target
        asyncio.run_coroutine_threadsafe(self._listen(), loop).result()

    async def _listen(self):
        self.connections = set()
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def _accept(self, reader, writer):
        # Held here until done: the loop keeps only weak references to tasks.
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)

    def close(self, loop):
        def stop():
            self.server.close()
            for task in self.connections:
                task.cancel()

        loop.call_soon_threadsafe(stop)

    async def _serve(self, client_reader, client_writer):
        try:
            node_reader, node_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_writer.close()
            return
        held = asyncio.Queue()

        async def upstream():
            while chunk := await client_reader.read(1 << 20):
                node_writer.write(chunk)
                await node_writer.drain()
            node_writer.write_eof() if node_writer.can_write_eof() else None

        async def downstream():
            while chunk := await node_reader.read(1 << 20):
                self.answered += len(chunk)
                await held.put((time.monotonic() + self.delay, chunk))
            await held.put((time.monotonic() + self.delay, b""))

        async def release():
            while True:
                due, chunk = await held.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    break
                client_writer.write(chunk)
                await client_writer.drain()
            client_writer.close()

        tasks = [asyncio.create_task(t()) for t in (upstream, downstream, release)]
        try:
            await asyncio.gather(*tasks)
        except (OSError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception as error:
            print(f"bench: proxy to {self.target}: {error!r}", file=sys.stderr)
        finally:
            for t in tasks:
                t.cancel()
            node_writer.close()
            client_writer.close()


class Network:
    """`satellite network setup` in `work`, run under the launcher until `stop`."""

    def __init__(self, bin_dir, work, nodes, proxied=(), loop=None, configure=None, configure_node=None):
        self.bin = bin_dir
        self.root = os.path.join(work, "net")
        self.nodes = nodes
        base = free_base(nodes + 1 + len(proxied))
        out = subprocess.run(
            [f"{bin_dir}/satellite", "network", "setup", "--dir", self.root, "--nodes", str(nodes), "--base-port", str(base)],
            check=True, capture_output=True, text=True,
        ).stdout
        self.access = out.strip().splitlines()[-1]
        if configure:
            path = os.path.join(self.root, "satellite.yaml")
            text = open(path).read()
            open(path, "w").write(configure(text))
        if configure_node:
            for index in range(1, nodes + 1):
                path = os.path.join(self.root, f"node{index}", "storagenode.yaml")
                text = open(path).read()
                open(path, "w").write(configure_node(text))
        self.proxies = []
        self.loop = loop
        for offset, index in enumerate(proxied):
            port = base + nodes + 1 + offset
            config = os.path.join(self.root, f"node{index}", "storagenode.yaml")
            text = open(config).read()
            text = text.replace('external-address: ""', f'external-address: "127.0.0.1:{port}"')
            open(config, "w").write(text)
            self.proxies.append(DelayProxy(loop, port, base + index))
        self.launcher = subprocess.Popen(
            [f"{bin_dir}/satellite", "run", "--config", os.path.join(self.root, "satellite.yaml")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 120
        database = os.path.join(self.root, "satellite", "satellite.db")
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                    if db.execute("SELECT count(*) FROM nodes").fetchone()[0] >= nodes:
                        return
            except sqlite3.Error:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit("bench: the network's nodes did not check in within 120 s")

    def uplink(self, *arguments, stdout=subprocess.DEVNULL):
        """Runs `uplink ARGUMENTS`; returns (seconds, peak resident KiB, CPU seconds)."""
        environment = dict(os.environ, UPLINK_ACCESS=self.access, HOME=self.root)
        started = time.monotonic()
        process = subprocess.Popen([f"{self.bin}/uplink", *arguments], env=environment, stdout=stdout, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        if status != 0:
            sys.exit(f"bench: uplink {' '.join(arguments)} failed: {process.stderr.read().decode()}")
        return seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime

    def node_cpu(self):
        """CPU seconds the nodes have used so far, all of them together."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.node_pids():
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def node_pids(self):
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if command and command[0].endswith(b"/storagenode") and any(self.root.encode() in part for part in command):
                pids.append(pid)
        return pids

    def node_peaks(self):
        """Each node's peak resident memory so far, KiB (VmHWM)."""
        peaks = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
                status = open(f"/proc/{pid}/status").read()
            except OSError:
                continue
            if command and command[0].endswith(b"/storagenode") and any(self.root.encode() in part for part in command):
                peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))
        return peaks

    def stop(self):
        for proxy in self.proxies:
            proxy.close(self.loop)
        try:
            os.kill(self.launcher.pid, signal.SIGTERM)
            self.launcher.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.launcher.pid, signal.SIGKILL)
            self.launcher.wait()


def dd_seconds(arguments):
    """dd's own figure of the seconds it took."""
    text = subprocess.run(["dd", *arguments], check=True, capture_output=True, text=True).stderr
    return float(re.search(r"copied, ([0-9.]+) s", text).group(1))


def throughput(bin_dir, work, size):
    os.makedirs(work)
    source = os.path.join(work, "source")
    with open("/dev/urandom", "rb") as random, open(source, "wb") as out:
        left = size
        while left > 0:
            chunk = random.read(min(left, 16 * MIB))
            out.write(chunk)
            left -= len(chunk)
    network = Network(bin_dir, work, nodes=10)
    try:
        subprocess.run([f"{bin_dir}/uplink", "mb", "sj://bench"], env=dict(os.environ, UPLINK_ACCESS=network.access, HOME=network.root), check=True, capture_output=True)
        nodes_before = network.node_cpu()
        up, up_rss, up_cpu = network.uplink("cp", source, "sj://bench/file")
        nodes_up = network.node_cpu() - nodes_before
        down, down_rss, down_cpu = network.uplink("cp", "sj://bench/file", os.path.join(work, "back"))
        if subprocess.run(["cmp", "-s", source, os.path.join(work, "back")]).returncode != 0:
            sys.exit("bench: the file came back different")
        os.remove(os.path.join(work, "back"))
        nodes_before = network.node_cpu()
        down_null, _, down_null_cpu = network.uplink("cp", "sj://bench/file", "-")
        nodes_down = network.node_cpu() - nodes_before
        nodes = network.node_peaks()
    finally:
        network.stop()
    encoded = encoded_size(size)
    dd_file = os.path.join(work, "dd.bin")
    dd_write = dd_seconds(["if=/dev/zero", f"of={dd_file}", "bs=1M", f"count={encoded // MIB}", "conv=fsync"])
    dd_read = dd_seconds([f"if={dd_file}", "of=/dev/null", "bs=1M"])
    os.remove(dd_file)
    mb = size / 1e6
    print(f"\n1 GiB through uplink cp, dev code 4/6/8/10 on 10 local nodes (the nodes write {encoded / 1e6:.0f} MB):")
    print(f"  {'':34} {'seconds':>8} {'MB/s':>8} {'dd':>8} {'ratio':>6}")
    print(f"  {'upload':34} {up:8.2f} {mb / up:8.1f} {dd_write:8.2f} {up / dd_write:6.2f}")
    print(f"  {'download to a file':34} {down:8.2f} {mb / down:8.1f} {dd_read:8.2f} {down / dd_read:6.2f}")
    print(f"  {'download to standard output':34} {down_null:8.2f} {mb / down_null:8.1f} {dd_read:8.2f} {down_null / dd_read:6.2f}")
    print(f"  dd: writing the {encoded / 1e6:.0f} MB (fsynced) and reading them back; ratio = uplink seconds / dd seconds")
    print(f"  CPU seconds (2 cores): upload uplink {up_cpu:.1f} + nodes {nodes_up:.1f}; "
          f"download to standard output uplink {down_null_cpu:.1f} + nodes {nodes_down:.1f}")
    print(f"  peak memory: uplink {up_rss / 1024:.0f} MiB up, {down_rss / 1024:.0f} MiB down; "
          f"nodes {min(nodes) / 1024:.0f} to {max(nodes) / 1024:.0f} MiB (median {statistics.median(nodes) / 1024:.0f})")


def long_tail(bin_dir, work, runs, nodes, slow_cases, code, loop):
    """Uploads and downloads of 64 MiB with `slow` of the `nodes` nodes 2 s late, for each case."""
    os.makedirs(work)
    source = os.path.join(work, "tail")
    with open(source, "wb") as out:
        out.write(os.urandom(64 * MIB))
    network = Network(bin_dir, work, nodes=nodes, proxied=range(1, max(slow_cases) + 1), loop=loop)
    rows = []
    try:
        subprocess.run([f"{bin_dir}/uplink", "mb", "sj://tail"], env=dict(os.environ, UPLINK_ACCESS=network.access, HOME=network.root), check=True, capture_output=True)
        for slow in slow_cases:
            for index, proxy in enumerate(network.proxies):
                proxy.delay = 2.0 if index < slow else 0.0
            ups, downs = [], []
            answered = sum(proxy.answered for proxy in network.proxies[:slow])
            for run in range(runs):
                key = f"sj://tail/{slow}-{run}"
                ups.append(network.uplink("cp", source, key)[0])
                downs.append(network.uplink("cp", key, "-")[0])
            answered = sum(proxy.answered for proxy in network.proxies[:slow]) - answered
            if slow and answered == 0:
                sys.exit(f"bench: the {slow} slow nodes answered nothing; the proxies are not in the path")
            rows.append((slow, statistics.median(ups), statistics.median(downs)))
    finally:
        network.stop()
    fast_up, fast_down = rows[0][1], rows[0][2]
    print(f"\nLong tail: 64 MiB on {nodes} nodes, code {code}, median of {runs} runs; slow nodes answer 2 s late:")
    print(f"  {'slow nodes':>10} {'upload s':>9} {'x fast':>7} {'download s':>11} {'x fast':>7}")
    for slow, up, down in rows:
        print(f"  {slow:>10} {up:9.2f} {up / fast_up:7.2f} {down:11.2f} {down / fast_down:7.2f}")


def repair(bin_dir, work, objects=8, size=32 * MIB):
    """Repair throughput on 14 nodes: nodes stopped until segments are at their repair threshold,
    then segments and bytes per second until the queue is empty, beside the uplink downloading and
    uploading the same bytes in the same run."""
    os.makedirs(work)
    source = os.path.join(work, "object")
    with open(source, "wb") as out:
        out.write(os.urandom(size))
    network = Network(bin_dir, work, nodes=14, configure=lambda text: text
                      .replace("online-window: 4h0m0s", "online-window: 5s")
                      # The API's cached node list must be younger than the online window.
                      .replace("selection-cache-staleness: 30s", "selection-cache-staleness: 1s")
                      .replace("checkin-interval: 5s", "checkin-interval: 0s")
                      .replace("# time between passes over every segment; 0s runs passes only when triggered\n  interval: 30s", "interval: 1s")
                      .replace("# time between claims of queued segments; 0s claims only when triggered\n  interval: 10s", "interval: 1s"),
                      configure_node=lambda text: text.replace("  interval: 1h0m0s", "  interval: 1s"))
    database = os.path.join(network.root, "satellite", "satellite.db")
    try:
        environment = dict(os.environ, UPLINK_ACCESS=network.access, HOME=network.root)
        subprocess.run([f"{bin_dir}/uplink", "mb", "sj://heal"], env=environment, check=True, capture_output=True)
        for index in range(objects):
            network.uplink("cp", source, f"sj://heal/{index}")
        # The uplink's own figure for the same bytes: one object down and up again.
        down = network.uplink("cp", "sj://heal/0", os.path.join(work, "back"))[0]
        up = network.uplink("cp", os.path.join(work, "back"), "sj://heal/again")[0]
        uplink_rate = size / (down + up)
        # Stop 4 of the 14 nodes: a segment of 8 to 10 pieces keeps 4 or more, most keep 6 or fewer.
        statuses = subprocess.run([f"{bin_dir}/satellite", "status", "--config", os.path.join(network.root, "satellite.yaml")],
                                  capture_output=True, text=True).stdout.splitlines()
        pids = {row.split()[0]: row.split()[1] for row in statuses if row.startswith("node")}
        for name in ["node1", "node2", "node3", "node4"]:
            os.kill(int(pids[name]), signal.SIGTERM)
        # From the first queued segment until the queue holds nothing the repairer can still do:
        # empty, or no segment repaired for 10 s (what is left is irreparable or above threshold).
        started = None
        last_progress = time.monotonic()
        repaired_so_far = 0
        deadline = time.monotonic() + 300
        log_path = os.path.join(network.root, "satellite", "log", "repairer.log")
        while time.monotonic() < deadline:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                queued = db.execute("SELECT count(*) FROM repair_queue").fetchone()[0]
            if queued and started is None:
                started = time.monotonic()
            count = open(log_path).read().count('"msg":"segment repaired"')
            if count != repaired_so_far:
                repaired_so_far, last_progress = count, time.monotonic()
            if started is not None and (queued == 0 or time.monotonic() - last_progress > 10):
                break
            time.sleep(0.05)
        # The last repair's time, not the 10 s of waiting after it.
        finished = last_progress if queued else time.monotonic()
        finished = time.monotonic()
        log = open(os.path.join(network.root, "satellite", "log", "repairer.log")).read()
        repaired = log.count('"msg":"segment repaired"')
    finally:
        network.stop()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        segment_bytes = db.execute("SELECT avg(encrypted_size) FROM segments").fetchone()[0] or 0
    seconds = finished - (started or finished)
    moved = repaired * segment_bytes
    print(f"\nRepair on 14 local nodes, dev code 4/6/8/10, {objects} objects of {size // MIB} MiB, 4 nodes stopped:")
    print(f"  {repaired} segments repaired in {seconds:.2f} s from the first queued: {repaired / max(seconds, 0.001):.2f} segments/s, "
          f"{moved / max(seconds, 0.001) / 1e6:.1f} MB/s of segments")
    print(f"  the uplink, same run: {size // MIB} MiB down then up in {down + up:.2f} s, {uplink_rate / 1e6:.1f} MB/s; "
          f"ratio repair / uplink {moved / max(seconds, 0.001) / uplink_rate:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="directory of satellite, storagenode and uplink")
    parser.add_argument("--size", type=int, default=GIB, help="bytes of the throughput file")
    parser.add_argument("--runs", type=int, default=3, help="runs of each long-tail case")
    parser.add_argument("--only", choices=["throughput", "tail", "repair"], help="one part alone")
    arguments = parser.parse_args()
    work = tempfile.mkdtemp(prefix="network-bench-")
    # The delaying proxies' loop, on a thread of its own for the whole run.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    try:
        if arguments.only in (None, "throughput"):
            throughput(arguments.bin, os.path.join(work, "throughput"), arguments.size)
        if arguments.only in (None, "repair"):
            repair(arguments.bin, os.path.join(work, "repair"))
        if arguments.only in (None, "tail"):
            long_tail(arguments.bin, os.path.join(work, "tail-dev"), arguments.runs, 10, (0, 2, 3), "4/6/8/10", loop)
            long_tail(arguments.bin, os.path.join(work, "tail-release"), arguments.runs, 110, (0, 30), "29/35/80/110", loop)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    # The proxies' connections may still be closing; nothing of them is worth a traceback.
    os._exit(0)


if __name__ == "__main__":
    main()
