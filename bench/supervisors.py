#!/usr/bin/env python3
"""Measures the satellite launcher beside supervisord and s6 on the same scripted children.

A benchmark, not a test: it prints figures and their ratios and asserts nothing. Run it through
scripts/bench, which installs supervisord and s6 and builds the release binary first.

Every child, under every supervisor, is the same shell script: it writes "NAME PID EVENT" to a
FIFO that this driver holds open and reads as lines arrive, so each timing is taken the moment
the child itself runs, by the same clock, for all three supervisors.
"""
import argparse
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CHILDREN = ["migration", "core", "api", "repairer"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def now_ms():
    return time.monotonic_ns() / 1e6


class Fifo:
    """Lines children write, each stamped when it arrives."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path)
        # Open read-write so the FIFO never reports end-of-file between writers.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.buffer = b""

    def next(self, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no line from a child within %ss" % timeout_s)
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                self.buffer += os.read(self.fd, 65536)
        line, self.buffer = self.buffer.split(b"\n", 1)
        name, pid, event = line.decode().split(" ", 2)
        return now_ms(), name, int(pid), event

    def drain(self):
        self.buffer = b""
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def close(self):
        os.close(self.fd)


def child_script(name, fifo):
    return 'echo "%s $$ started" > %s; exec sleep 100000' % (name, fifo)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def descendants(pid):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
            children += descendants(int(entry))
    return children


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Supervisor:
    """One supervisor under test, over scripted children (the four peers' names unless told)."""

    name = ""

    def __init__(self, workdir, fifo, children=CHILDREN):
        self.workdir = workdir
        self.fifo = fifo
        self.children = children
        self.process = None

    def start(self):
        raise NotImplementedError

    def supervisor_pids(self):
        return [self.process.pid]

    def stop(self):
        """SIGTERM to the supervisor; returns ms until it and every child are gone."""
        pids = descendants(self.process.pid)
        start = now_ms()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        while any(alive(pid) for pid in pids):
            time.sleep(0.0005)
        return now_ms() - start

    def kill_everything(self):
        if self.process and self.process.poll() is None:
            for pid in descendants(self.process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.kill()
            self.process.wait()


class Launcher(Supervisor):
    name = "satellite"

    def __init__(self, workdir, fifo, binary, children=CHILDREN):
        super().__init__(workdir, fifo, children)
        self.binary = binary

    def start(self):
        config = os.path.join(self.workdir, "satellite.yaml")
        with open(config, "w") as out:
            # Each crash below follows a run the launcher counts as healthy (ready for longer than
            # restart-backoff-reset), as a crash in production does; back-to-back crashes would
            # measure the backoff policy instead of the supervisor.
            out.write("log:\n  level: warning\nsupervisor:\n  restart-backoff-reset: 100ms\nprocesses:\n")
            for name in self.children:
                out.write("  - name: %s\n    exec: /bin/sh\n    args: [\"-c\", %s]\n" % (name, json_string(child_script(name, self.fifo.path))))
        self.process = subprocess.Popen(
            [self.binary, "run", "--config", config, "--data-dir", os.path.join(self.workdir, "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


    def supervisor_pids(self):
        # The launcher and its process-group guard (the only satellite-exec that does not exec).
        return [self.process.pid] + [pid for pid in descendants(self.process.pid) if comm(pid) == "satellite-exec"]


class Supervisord(Supervisor):
    name = "supervisord"

    def __init__(self, workdir, fifo, executable, children=CHILDREN):
        super().__init__(workdir, fifo, children)
        self.executable = executable

    def start(self):
        config = os.path.join(self.workdir, "supervisord.conf")
        with open(config, "w") as out:
            out.write("[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nloglevel=warn\n"
                      % (self.workdir, self.workdir))
            for name in self.children:
                out.write("[program:%s]\ncommand=/bin/sh -c '%s'\nstartsecs=0\nautorestart=true\nstopwaitsecs=10\n"
                          "stopasgroup=true\nkillasgroup=true\nstdout_logfile=%s/%s.log\nredirect_stderr=true\n"
                          % (name, child_script(name, self.fifo.path), self.workdir, name))
        self.process = subprocess.Popen([self.executable, "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class S6(Supervisor):
    name = "s6"

    def start(self):
        scandir = os.path.join(self.workdir, "scan")
        os.makedirs(scandir)
        for name in self.children:
            service = os.path.join(scandir, name)
            os.makedirs(service)
            run = os.path.join(service, "run")
            with open(run, "w") as out:
                out.write("#!/bin/sh\n%s\n" % child_script(name, self.fifo.path))
            os.chmod(run, 0o755)
        self.process = subprocess.Popen(["s6-svscan", scandir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def supervisor_pids(self):
        return [self.process.pid] + [pid for pid in descendants(self.process.pid) if comm(pid) == "s6-supervise"]


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as file:
            return file.read().strip()
    except FileNotFoundError:
        return ""


def json_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wait_started(fifo, count):
    pids = {}
    while len(pids) < count:
        at, name, pid, event = fifo.next()
        if event == "started":
            pids[name] = (pid, at)
    return pids


def start_to_running_once(kind, make, count):
    """Start to `count` scripted children running, once: the launch figure alone."""
    children = ["c%d" % index for index in range(1, count + 1)]
    workdir = tempfile.mkdtemp(prefix="bench-%s-" % kind)
    fifo = Fifo(os.path.join(workdir, "fifo"))
    supervisor = make(workdir, fifo, children)
    try:
        start = now_ms()
        supervisor.start()
        pids = wait_started(fifo, count)
        elapsed = max(at for _, at in pids.values()) - start
        time.sleep(0.05)
        supervisor.stop()
    finally:
        supervisor.kill_everything()
        fifo.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return elapsed


def start_table(args):
    """Start to all running for each count of children, under each supervisor, side by side."""
    makers = {
        "satellite": lambda workdir, fifo, children: Launcher(workdir, fifo, args.satellite, children),
        "supervisord": lambda workdir, fifo, children: Supervisord(workdir, fifo, args.supervisord, children),
        "s6": lambda workdir, fifo, children: S6(workdir, fifo, children),
    }
    counts = [int(count) for count in args.start_counts.split(",")]
    print("\nstart to all running, the same scripted children (sh writing to a FIFO, then exec sleep); median of %d launches"
          " (supervisord: %d), the three taking turns so that each meets the same load:" % (args.start_launches, min(args.supervisord_launches, args.start_launches)))
    print("  %-10s %14s %14s %14s %10s" % ("children", "satellite", "supervisord", "s6", "vs s6"))
    for count in counts:
        times = {kind: [] for kind in makers}
        for turn in range(args.start_launches):
            for kind, make in makers.items():
                # supervisord's figure is its one-second poll, so a few launches show it; each
                # takes it seconds to start and stop.
                if kind == "supervisord" and turn >= args.supervisord_launches:
                    continue
                times[kind].append(start_to_running_once(kind, make, count))
        medians = {kind: median(values) for kind, values in times.items()}
        print("  %-10d %11.1f ms %11.1f ms %11.1f ms %9.2fx" % (
            count, medians["satellite"], medians["supervisord"], medians["s6"], medians["s6"] / medians["satellite"]))
    print("  (vs s6: s6's time over satellite's; 1.00x or more meets issue 18's bar)")


def measure(kind, make, launches, crashes, rest_seconds):
    launch_ms, restart_ms, stop_ms = [], [], []
    rest = None
    for round_number in range(launches):
        workdir = tempfile.mkdtemp(prefix="bench-%s-" % kind)
        fifo = Fifo(os.path.join(workdir, "fifo"))
        supervisor = make(workdir, fifo)
        try:
            start = now_ms()
            supervisor.start()
            pids = wait_started(fifo, len(CHILDREN))
            launch_ms.append(max(at for _, at in pids.values()) - start)
            if round_number == 0:
                for _ in range(crashes):
                    victim = "api"
                    pid = pids[victim][0]
                    time.sleep(0.2)
                    killed = now_ms()
                    os.kill(pid, signal.SIGKILL)
                    while True:
                        at, name, new_pid, event = fifo.next()
                        if name == victim and event == "started":
                            break
                    restart_ms.append(at - killed)
                    pids[victim] = (new_pid, at)
                time.sleep(1)
                watched = supervisor.supervisor_pids()
                before = sum(cpu_ticks(pid) for pid in watched)
                time.sleep(rest_seconds)
                after = sum(cpu_ticks(pid) for pid in watched)
                rest = {
                    "cpu_percent": 100.0 * (after - before) / CLK_TCK / rest_seconds,
                    "rss_mb": sum(rss_kb(pid) for pid in supervisor.supervisor_pids()) / 1024.0,
                }
            time.sleep(0.05)
            stop_ms.append(supervisor.stop())
        finally:
            supervisor.kill_everything()
            fifo.close()
            shutil.rmtree(workdir, ignore_errors=True)
    return {"launch": launch_ms, "restart": restart_ms, "stop": stop_ms, "rest": rest}


def launcher_on_defaults(binary, runs):
    """`satellite run` with embedded defaults: time to the launcher's all-ready line."""
    times, stops = [], []
    for _ in range(runs):
        workdir = tempfile.mkdtemp(prefix="bench-defaults-")
        start = now_ms()
        process = subprocess.Popen([binary, "run", "--data-dir", os.path.join(workdir, "data"), "--log.format=text",
                                    "--api.address=127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for raw in process.stderr:
                line = raw.decode()
                if " launcher launcher: ready " in line and "ms_since_launch" in line:
                    times.append(now_ms() - start)
                    break
            pids = descendants(process.pid)
            time.sleep(0.2)
            stopped = now_ms()
            process.send_signal(signal.SIGTERM)
            process.stderr.read()
            process.wait(timeout=60)
            while any(alive(pid) for pid in pids):
                time.sleep(0.0005)
            stops.append(now_ms() - stopped)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            shutil.rmtree(workdir, ignore_errors=True)
    return times, stops


def launcher_rest(binary, seconds):
    workdir = tempfile.mkdtemp(prefix="bench-rest-")
    process = subprocess.Popen([binary, "run", "--data-dir", os.path.join(workdir, "data"), "--log.format=text",
                                "--api.address=127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for raw in process.stderr:
            if b"ms_since_launch" in raw:
                break
        time.sleep(1)
        before = cpu_ticks(process.pid)
        time.sleep(seconds)
        after = cpu_ticks(process.pid)
        guard = [pid for pid in descendants(process.pid) if comm(pid) == "satellite-exec"]
        return 100.0 * (after - before) / CLK_TCK / seconds, rss_kb(process.pid) / 1024.0, sum(rss_kb(pid) for pid in guard) / 1024.0
    finally:
        process.send_signal(signal.SIGTERM)
        process.stderr.read()
        process.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


def launcher_hang(binary):
    """A notify child that beats three times then stops: time from its last beat to `hung`."""
    workdir = tempfile.mkdtemp(prefix="bench-hang-")
    fifo = Fifo(os.path.join(workdir, "fifo"))
    script = ('echo READY=1 >&$SATELLITE_NOTIFY_FD; for i in 1 2 3; do sleep 0.5; echo WATCHDOG=1 >&$SATELLITE_NOTIFY_FD; done; '
              'echo "quiet $$ last-beat" > %s; exec sleep 100000' % fifo.path)
    config = os.path.join(workdir, "satellite.yaml")
    with open(config, "w") as out:
        out.write("processes:\n  - name: quiet\n    exec: /bin/sh\n    notify: true\n    args: [\"-c\", %s]\n" % json_string(script))
    process = subprocess.Popen([binary, "run", "--config", config, "--data-dir", os.path.join(workdir, "data"), "--log.format=text"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        at, _, _, _ = fifo.next(timeout_s=30)
        for raw in process.stderr:
            if b" hung " in raw:
                age = re.search(rb"heartbeat_age_ms=(\d+)", raw)
                return now_ms() - at, int(age.group(1)) if age else None
    finally:
        process.send_signal(signal.SIGTERM)
        process.stderr.read()
        process.wait(timeout=60)
        fifo.close()
        shutil.rmtree(workdir, ignore_errors=True)


def launcher_restart_memory(binary, restarts):
    """Launcher memory and descriptors after 100 restarts and after `restarts` of a child that exits at once.

    The restart window is 1 ms so that the crash-loop rule, which remembers each restart within its
    window, keeps nothing; what is left to grow would be a leak."""
    workdir = tempfile.mkdtemp(prefix="bench-restarts-")
    config = os.path.join(workdir, "satellite.yaml")
    with open(config, "w") as out:
        out.write("log:\n  format: text\nsupervisor:\n  restart-backoff-initial: 0s\n  restart-backoff-max: 0s\n"
                  "  restart-limit: 1000000\n  restart-window: 1ms\nprocesses:\n  - {name: blink, exec: /bin/true}\n")
    process = subprocess.Popen([binary, "run", "--config", config, "--data-dir", os.path.join(workdir, "data")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = {}
    try:
        seen = 0
        for raw in process.stderr:
            if b" restarting " in raw:
                seen += 1
                if seen in (100, restarts):
                    samples[seen] = (rss_kb(process.pid) / 1024.0, len(os.listdir("/proc/%d/fd" % process.pid)))
                if seen >= restarts:
                    break
        return samples
    finally:
        process.send_signal(signal.SIGTERM)
        process.stderr.read()
        process.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--satellite", required=True, help="the release satellite binary")
    parser.add_argument("--supervisord", required=True, help="supervisord from PyPI")
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--rest-seconds", type=float, default=5)
    parser.add_argument("--restarts", type=int, default=5000)
    parser.add_argument("--start-counts", default="3,50", help="children counts for the start-to-all-running table")
    parser.add_argument("--start-launches", type=int, default=30, help="launches of each supervisor per count in that table")
    parser.add_argument("--supervisord-launches", type=int, default=5, help="launches of supervisord per count in that table (the first turns)")
    parser.add_argument("--only-start", action="store_true", help="print only the start-to-all-running table")
    args = parser.parse_args()

    print("machine: %d cores, %s" % (os.cpu_count(), os.uname().release))
    if args.only_start:
        start_table(args)
        return
    ready, stops = launcher_on_defaults(args.satellite, args.launches)
    cpu, rss, guard_rss = launcher_rest(args.satellite, args.rest_seconds)
    hang = launcher_hang(args.satellite)
    memory = launcher_restart_memory(args.satellite, args.restarts)
    print("\nsatellite run on embedded defaults (migration, then core, api and repairer speaking the notify protocol):")
    print("  launch to all ready          median %7.1f ms  (runs: %s)  bar < 300 ms" % (median(ready), ", ".join("%.0f" % t for t in ready)))
    print("  SIGTERM to all gone          median %7.1f ms  (runs: %s)  bar < 100 ms" % (median(stops), ", ".join("%.0f" % t for t in stops)))
    print("  at rest, 4 peers beating     cpu %.2f %%, launcher resident %.1f MB (+ %.1f MB its guard)  bar 0 %%, < 15 MB" % (cpu, rss, guard_rss))
    print("  hang detected after last beat %7.0f ms  (heartbeat_age_ms=%s)  bar < heartbeat-timeout 5 s + interval 1 s" % hang)
    print("  after 100 and %d restarts      resident %.1f MB -> %.1f MB, descriptors %d -> %d (a child's pidfd may be open at either)"
          % (args.restarts, memory[100][0], memory[args.restarts][0], memory[100][1], memory[args.restarts][1]))

    results = {}
    makers = {
        "satellite": lambda workdir, fifo: Launcher(workdir, fifo, args.satellite),
        "supervisord": lambda workdir, fifo: Supervisord(workdir, fifo, args.supervisord),
        "s6": lambda workdir, fifo: S6(workdir, fifo),
    }
    for kind, make in makers.items():
        results[kind] = measure(kind, make, args.launches, args.crashes, args.rest_seconds)

    print("\nthe same four scripted children (sh writing to a FIFO, then exec sleep) under each supervisor; medians:")
    header = "  %-34s %12s %12s %12s %14s %10s" % ("figure", "satellite", "supervisord", "s6", "vs supervisord", "vs s6")
    print(header)

    def row(label, values, unit, lower_is_better=True):
        ours = values["satellite"]
        cells = ["%10.1f %s" % (values[k], unit) for k in ("satellite", "supervisord", "s6")]
        ratios = []
        for other in ("supervisord", "s6"):
            theirs = values[other]
            if ours > 0 and theirs > 0:
                ratios.append("%9.1fx" % (theirs / ours if lower_is_better else ours / theirs))
            else:
                ratios.append("%10s" % "-")
        print("  %-34s %12s %12s %12s %14s %10s" % (label, cells[0], cells[1], cells[2], ratios[0], ratios[1]))

    row("start to 4 children running", {k: median(v["launch"]) for k, v in results.items()}, "ms")
    row("SIGKILL to replacement running*", {k: median(v["restart"]) for k, v in results.items()}, "ms")
    row("SIGTERM to all gone", {k: median(v["stop"]) for k, v in results.items()}, "ms")
    row("resident memory at rest", {k: v["rest"]["rss_mb"] for k, v in results.items()}, "MB")
    row("cpu at rest", {k: v["rest"]["cpu_percent"] for k, v in results.items()}, "% ")
    print("\n  (ratios are how many times longer or larger theirs is; satellite's memory counts the launcher and its guard,")
    print("   s6's counts s6-svscan and its four s6-supervise)")
    print("  * each crash 200 ms after the last restart; the launcher runs with restart-backoff-reset 100ms so that every crash")
    print("    follows a healthy run and gets the immediate first restart; with the default 60s, back-to-back crashes back off.")
    start_table(args)


if __name__ == "__main__":
    sys.exit(main())
