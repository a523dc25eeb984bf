#!/usr/bin/env python3
"""The engine benchmark behind `scripts/bench engine`: scheduling, threads and overhead.

    bench/engine_bench.py --edgedr PATH [--runs N] [--parts abcd] [--work-dir DIR]
                          [--docs FILE] [--command-line TEXT]

(a) makespan of a 1,000-service runbook of random `wait` steps at unlimited concurrency against
    its critical path (`edgedr plan -o json`: critical_path.expected_seconds); target <= 1.03;
(b) the same runbook at --concurrency 8 against max(critical path, total work / 8), and against
    FIFO order of ready steps (`--scheduler fifo`); target <= 1.10 of the bound and better than FIFO;
(c) 10,000 independent `wait: 5s` steps at once: peak threads and peak RSS of the edgedr process
    (/proc/PID/status every 50 ms); targets <= 64 threads, <= 256 MB;
(d) per-step overhead, journal fsync included: zero-length waits (read-only: no fsync of their
    own), 2,000 steps in a chain and 2,000 independent steps; and `exec` of /bin/true (a side
    effect: its intent is fsync'ed before it runs; each forks), 500 in a chain and 500 independent;
    fsyncs per step counted with strace on 1- and 200-step runs of each.

Every edgedr run gets a fresh state directory under --work-dir, which must be on the disk the
journal would really use (not tmpfs): the journal's fsyncs are part of the cost. Makespan is the
journal's `ts` of run.started to that of run.finished. Each measurement is run --runs times (default
3); the median is reported with the spread (min-max). With --docs, the section "## engine: ..." of
that file is replaced (or appended). Standard library only.
"""

import argparse
import datetime
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_engine_runbook.py")
HEADING = "## engine: scheduling, threads and overhead"
NON_DURABLE = {"step.progress", "step.retry", "undo.progress", "undo.retry"}
RUN_TIMEOUT = 1800  # seconds; a run that takes longer is a hang, not a measurement

TARGET_A = 1.03
TARGET_B = 1.10
TARGET_THREADS = 64
TARGET_RSS_MB = 256.0

# The sizes of issue 3's targets.
SERVICES_A = 1000
CONCURRENCY_B = 8
FLAT_C = 10000
STEPS_D = 2000
STEPS_D_EXEC = 500  # exec steps fork a process each and wait for its first poll: fewer of them
STRACE_D = 200
# The shapes of (d): (action, kind); wait runbooks are `--duration 0ms`.
SHAPES_D = (("wait", "chain"), ("wait", "flat"), ("exec", "chain"), ("exec", "flat"))


def steps_d(action):
    return STEPS_D_EXEC if action == "exec" else STEPS_D


def gen_d(action, kind, n, path):
    """A (d) runbook: n zero-length waits or n exec of /bin/true, in a chain or flat."""
    gen(kind, n, path, *(("--action", "exec") if action == "exec" else ("--duration", "0ms")))


def log(msg):
    print(f"engine-bench: {msg}", file=sys.stderr, flush=True)


# --- small helpers ---------------------------------------------------------------------------


def parse_ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def duration_seconds(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*", str(text))
    if not m:
        return None
    return float(m.group(1)) * {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def med(values):
    return statistics.median(values)


def spread(values, fmt):
    """'median (min-max)' of values, each formatted with fmt."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(med(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def verdict(ok):
    return "PASS" if ok else "MISS"


def gen(kind, n, path, *extra):
    subprocess.run([sys.executable, GEN, kind, str(n), "-o", path, *extra], check=True)


def plan(edgedr, runbook):
    out = subprocess.run([edgedr, "plan", runbook, "-o", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# --- the disk under the state directories ---------------------------------------------------


def source_fingerprint():
    """SHA-256 (12 hex digits) of the engine's sources as they are on disk (libdr/, apps/, tracked or
    not): uncommitted work changes it, so figures can be matched to the tree they were built from."""
    import hashlib

    try:
        files = subprocess.run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "--", "libdr", "apps"],
                               capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    h = hashlib.sha256()
    for f in sorted(files):
        try:
            with open(os.path.join(REPO, f), "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        h.update(f.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:12]


def describe_disk(path):
    """(text, is_tmpfs) for the filesystem holding path: mount point, type, device, what it is."""
    path = os.path.realpath(path)
    best = None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields, rfields = left.split(), right.split()
                mnt = fields[4].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and (best is None or len(mnt) >= len(best[0])):
                    best = (mnt, fields[2], rfields[0], rfields[1])
    except OSError:
        return "unknown filesystem", False
    if not best:
        return "unknown filesystem", False
    mnt, majmin, fstype, source = best
    text = f"{fstype} on {source} (mounted at {mnt})"
    sysdev = f"/sys/dev/block/{majmin}"
    if os.path.exists(sysdev):
        real = os.path.realpath(sysdev)
        # A partition's queue/ and device/ belong to its parent disk.
        disk = real if os.path.exists(os.path.join(real, "queue")) else os.path.dirname(real)
        notes = []
        try:
            driver = os.path.basename(os.path.realpath(os.path.join(disk, "device", "driver")))
            if driver and driver != "driver":
                notes.append(f"driver {driver}")
        except OSError:
            driver = ""
        try:
            with open(os.path.join(disk, "device", "model"), encoding="utf-8") as f:
                model = f.read().strip()
            if model:
                notes.append(f"model {model}")
        except OSError:
            pass
        try:
            with open(os.path.join(disk, "queue", "rotational"), encoding="utf-8") as f:
                rot = f.read().strip()
            if driver == "virtio_blk":
                notes.append(f"a virtual disk: the host's storage behind it is unknown (rotational={rot}, "
                             "which virtio reports by default)")
            else:
                notes.append("rotational (HDD)" if rot == "1" else "non-rotational (SSD/NVMe)")
        except OSError:
            pass
        if notes:
            text += "; " + ", ".join(notes)
    return text, fstype in ("tmpfs", "ramfs")


def fsync_latency(directory, n=200):
    """Median and p90 (ms) of appending a 300-byte line and fsync'ing it, as the journal does."""
    fd, path = tempfile.mkstemp(dir=directory, prefix="fsync-probe-")
    times = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 299 + b"\n")
            t = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - t) * 1e3)
    finally:
        os.close(fd)
        os.unlink(path)
    return med(times), pct(times, 90)


# --- one edgedr run -------------------------------------------------------------------------


def read_status(pid):
    vals = {}
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Threads", "VmRSS", "VmHWM"):
                    vals[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return vals


class Run:
    """One `edgedr failover` run, sampled every 50 ms, and what its journal says."""

    def __init__(self, edgedr, runbook, work, concurrency, extra=(), label="run"):
        self.args = [edgedr, "failover", runbook, "--yes", "--state-dir", None, "--concurrency", str(concurrency),
                     "-o", "json", *extra]
        state = tempfile.mkdtemp(prefix=f"{label}-", dir=work)
        self.args[5] = state
        env = dict(os.environ, EDGEDR_NO_COLOR="1")
        out_path, err_path = os.path.join(state, "stdout.json"), os.path.join(state, "stderr.txt")
        self.peak_threads = 0
        self.peak_rss_kb = 0
        self.samples = 0
        try:
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                start = time.perf_counter()
                proc = subprocess.Popen(self.args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
                status, rusage = None, None
                next_sample = start
                while True:
                    s = read_status(proc.pid)
                    if s:
                        self.samples += 1
                        self.peak_threads = max(self.peak_threads, s.get("Threads", 0))
                        self.peak_rss_kb = max(self.peak_rss_kb, s.get("VmRSS", 0), s.get("VmHWM", 0))
                    pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                    if pid == proc.pid:
                        break
                    if time.perf_counter() - start > RUN_TIMEOUT:
                        proc.kill()
                        _, status, rusage = os.wait4(proc.pid, 0)
                        raise RuntimeError(f"timed out after {RUN_TIMEOUT}s: {' '.join(self.args)}")
                    next_sample += 0.05
                    time.sleep(max(0.0, next_sample - time.perf_counter()))
                self.wall = time.perf_counter() - start
                proc.returncode = os.waitstatus_to_exitcode(status)
            # Not ru_maxrss: on Linux a child's ru_maxrss also counts the forking parent's (this Python
            # process's) peak from before exec. VmHWM is the process's own high-water mark, so a peak
            # between two samples is caught all the same (except in the last 50 ms).
            self.cpu = rusage.ru_utime + rusage.ru_stime
            if proc.returncode != 0:
                with open(err_path, encoding="utf-8", errors="replace") as f:
                    tail = f.read()[-2000:]
                raise RuntimeError(f"exit {proc.returncode}: {' '.join(self.args)}\n{tail}")
            with open(out_path, encoding="utf-8") as f:
                self.report = json.load(f)
            journals = glob.glob(os.path.join(glob.escape(state), "runs", "*", "journal.jsonl"))
            if len(journals) != 1:
                raise RuntimeError(f"expected one journal under {state}, found {len(journals)}")
            with open(journals[0], encoding="utf-8") as f:
                self.events = [json.loads(line) for line in f]
        finally:
            shutil.rmtree(state, ignore_errors=True)
        self.analyse()
        del self.events, self.report  # keep this process small: it is the parent of the next runs

    @property
    def peak_rss_mb(self):
        return self.peak_rss_kb / 1024.0

    def analyse(self):
        ev = self.events
        first = next(e for e in ev if e["type"] == "run.started")
        last = next(e for e in reversed(ev) if e["type"] == "run.finished")
        if last.get("status") != "succeeded":
            raise RuntimeError(f"run finished {last.get('status')}: {' '.join(self.args)}")
        self.t0 = parse_ts(first["ts"])
        self.makespan = parse_ts(last["ts"]) - self.t0
        self.seconds = float(self.report.get("seconds", float("nan")))
        self.n_events = len(ev)
        self.n_durable = sum(1 for e in ev if e["type"] not in NON_DURABLE)
        self.intent, self.accepted, self.succeeded, self.duration = {}, {}, {}, {}
        inflight = peak = 0
        for e in ev:
            t = e["type"]
            if t == "step.intent" and e["step"] not in self.intent:
                self.intent[e["step"]] = parse_ts(e["ts"])
                self.duration[e["step"]] = duration_seconds((e.get("with") or {}).get("duration", "")) or 0.0
                inflight += 1
                peak = max(peak, inflight)
            elif t == "step.accepted" and e["step"] not in self.accepted:
                self.accepted[e["step"]] = parse_ts(e["ts"])
            elif t == "step.succeeded":
                self.succeeded[e["step"]] = parse_ts(e["ts"])
                inflight -= 1
        self.peak_inflight = peak
        # How much longer than asked each wait took, from its intent to its success.
        self.overshoot = [self.succeeded[s] - self.intent[s] - self.duration[s] for s in self.succeeded if s in self.intent]
        # Steps whose `step.accepted` was written only after their wait should already have ended,
        # and for those, how long after that event the step succeeded, beyond its duration: near 0
        # if the wait runs from the submit, about the full duration if it starts over at `accepted`.
        late = [s for s in self.accepted if s in self.succeeded and self.accepted[s] - self.intent[s] > self.duration[s]]
        self.late_accepted = len(late)
        self.after_late_accept = [self.succeeded[s] - self.accepted[s] - self.duration[s] for s in late]
        self.queue_intent_accepted = [self.accepted[s] - self.intent[s] for s in self.accepted]
        self.last_intent = max(self.intent.values()) - self.t0 if self.intent else float("nan")
        self.first_accepted = min(self.accepted.values()) - self.t0 if self.accepted else float("nan")
        self.last_accepted = max(self.accepted.values()) - self.t0 if self.accepted else float("nan")
        self.first_success = min(self.succeeded.values()) - self.t0 if self.succeeded else float("nan")

    def dispatch_delays(self, plan_doc):
        """Per step: its intent's ts minus the moment its last dependency finished (run start if none)."""
        finish, delays = {}, []
        for node in plan_doc["nodes"]:  # an order that respects every dependency
            ready = max((finish[d] for d in node.get("depends_on", []) if d in finish), default=self.t0)
            if node.get("kind") == "step":
                if node["id"] in self.intent:
                    delays.append(self.intent[node["id"]] - ready)
                finish[node["id"]] = self.succeeded.get(node["id"], ready)
            else:
                finish[node["id"]] = ready
        return delays


def chain_phases(run):
    """For a chain (steps one after another): per step, the seconds from the previous step's success
    to its `step.intent`, from its intent to its `step.accepted`, and from that to its success."""
    order = sorted(run.intent, key=lambda s: run.intent[s])
    gap = [run.intent[b] - run.succeeded[a] for a, b in zip(order, order[1:]) if a in run.succeeded]
    to_accepted = [run.accepted[s] - run.intent[s] for s in order if s in run.accepted]
    to_success = [run.succeeded[s] - run.accepted[s] for s in order if s in run.accepted and s in run.succeeded]
    return gap, to_accepted, to_success


def simulate(plan_doc, slots, fifo):
    """Makespan (s) of a list schedule of the plan's graph on `slots` slots with no overhead: ready
    steps start by longest remaining path (critical-path order) or in the order they became ready."""
    import heapq

    nodes = plan_doc["nodes"]
    index = {n["id"]: i for i, n in enumerate(nodes)}
    dur = [float(n.get("expected_seconds") or 0.0) if n.get("kind") == "step" else 0.0 for n in nodes]
    dependents = [[] for _ in nodes]
    pending = [0] * len(nodes)
    for i, n in enumerate(nodes):
        for d in n.get("depends_on", []):
            dependents[index[d]].append(i)
            pending[i] += 1
    remaining = [0.0] * len(nodes)
    for i in reversed(range(len(nodes))):  # nodes come in dependency order
        remaining[i] = dur[i] + max((remaining[j] for j in dependents[i]), default=0.0)
    ready, running, seq, now, done = [], [], 0, 0.0, 0

    def release(i):
        nonlocal seq, done
        work = [i]
        while work:
            k = work.pop()
            if nodes[k].get("kind") == "step":
                heapq.heappush(ready, (seq if fifo else -remaining[k], seq, k))
                seq += 1
                continue
            done += 1
            for j in dependents[k]:
                pending[j] -= 1
                if pending[j] == 0:
                    work.append(j)

    for i in range(len(nodes)):
        if pending[i] == 0:
            release(i)
    while ready or running:
        while ready and len(running) < slots:
            _, _, k = heapq.heappop(ready)
            heapq.heappush(running, (now + dur[k], k))
        now, k = heapq.heappop(running)
        done += 1
        for j in dependents[k]:
            pending[j] -= 1
            if pending[j] == 0:
                release(j)
    return now


def strace_fsyncs(edgedr, runbook, work, label):
    """(fsync+fdatasync calls, seconds spent in them (wall), run wall) of one run under strace."""
    state = tempfile.mkdtemp(prefix=f"{label}-", dir=work)
    out = os.path.join(work, f"{label}.strace")
    try:
        start = time.perf_counter()
        subprocess.run(["strace", "-f", "-c", "-w", "-e", "trace=fsync,fdatasync", "-o", out, edgedr, "failover",
                        runbook, "--yes", "--state-dir", state, "--concurrency", "100000", "-o", "json"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, EDGEDR_NO_COLOR="1"))
        wall = time.perf_counter() - start
        calls = secs = 0
        with open(out, encoding="utf-8") as f:
            for line in f:
                cols = line.split()
                if cols and cols[-1] in ("fsync", "fdatasync"):
                    secs += float(cols[1])
                    calls += int(cols[3])
        return calls, secs, wall
    finally:
        shutil.rmtree(state, ignore_errors=True)
        if os.path.exists(out):
            os.unlink(out)


# --- the benchmark --------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--edgedr", required=True, help="the edgedr binary (a Release build)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3; median reported)")
    p.add_argument("--parts", default="abcd", help="which measurements: any of a, b, c, d (default abcd)")
    p.add_argument("--work-dir", default=os.path.join(REPO, "build-bench", "engine-bench"),
                   help="runbooks and state directories; must be on the real disk (default build-bench/engine-bench)")
    p.add_argument("--docs", help="Markdown file whose engine section to replace with the results")
    p.add_argument("--command-line", default="scripts/bench engine", help="the command shown in the docs")
    p.add_argument("--no-diagnostics", action="store_true", help="skip the tmpfs comparison runs")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, to check this script (figures mean nothing)")
    a = p.parse_args()
    if a.smoke:
        global SERVICES_A, FLAT_C, STEPS_D, STEPS_D_EXEC, STRACE_D
        SERVICES_A, FLAT_C, STEPS_D, STEPS_D_EXEC, STRACE_D = 40, 300, 60, 30, 20
        a.docs = None
    parts = set(a.parts)
    if not parts or parts - set("abcd") or a.runs < 1:
        p.error("--parts takes letters from abcd, --runs at least 1")
    fingerprint = source_fingerprint()
    built = datetime.datetime.fromtimestamp(os.path.getmtime(a.edgedr), datetime.timezone.utc)
    bench_start = time.perf_counter()
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_before = open("/proc/loadavg", encoding="utf-8").read().split()[0]

    os.makedirs(a.work_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=a.work_dir)
    try:
        # A private copy: a rebuild of the build directory during the benchmark cannot change it.
        edgedr = os.path.join(work, "edgedr")
        shutil.copy2(a.edgedr, edgedr)
        results = measure(a, parts, edgedr, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        try:
            os.rmdir(a.work_dir)
        except OSError:
            pass
    results["elapsed"] = time.perf_counter() - bench_start
    results["fingerprint"] = fingerprint
    results["fingerprint_after"] = source_fingerprint()
    results["built"] = built
    results["started_at"] = started_at
    results["load_before"] = load_before
    results["load_after"] = open("/proc/loadavg", encoding="utf-8").read().split()[0]
    section = render(a, parts, results)
    print(section)
    if a.docs:
        write_section(a.docs, section)
        log(f"wrote {os.path.relpath(a.docs, REPO) if a.docs.startswith(REPO) else a.docs}")


def measure(a, parts, edgedr, work):
    r = {"runs": a.runs}
    r["disk"], is_tmpfs = describe_disk(work)
    if is_tmpfs:
        log(f"warning: {work} is on {r['disk']}: fsync costs nothing there; use --work-dir on the real disk")
    r["fsync_ms"] = fsync_latency(work)
    log(f"state directories under {work}: {r['disk']}")
    log(f"raw append+fsync of a 300-byte line: median {r['fsync_ms'][0]:.2f} ms, p90 {r['fsync_ms'][1]:.2f} ms")
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and describe_disk("/dev/shm")[1] and os.access("/dev/shm", os.W_OK) else None

    def runs(label, runbook, concurrency, extra=(), where=work, n=a.runs):
        out = []
        for i in range(n):
            run = Run(edgedr, runbook, where, concurrency, extra, label)
            log(f"{label} {i + 1}/{n}: makespan {run.makespan:.3f} s (json seconds {run.seconds:.3f}, process "
                f"{run.wall:.2f} s), {run.peak_threads} threads, {run.peak_rss_mb:.1f} MB")
            out.append(run)
        return out

    if parts & set("ab"):
        rb = os.path.join(work, f"random-{SERVICES_A}.yaml")
        gen("random", SERVICES_A, rb)
        pd = plan(edgedr, rb)
        steps = [n for n in pd["nodes"] if n.get("kind") == "step"]
        r["cp"] = float(pd["critical_path"]["expected_seconds"])
        r["work_total"] = sum(float(n["expected_seconds"]) for n in steps)
        r["steps_a"] = len(steps)
        r["cp_steps"] = len(pd["critical_path"]["steps"])
        log(f"random-{SERVICES_A}: {len(steps)} steps, critical path {r['cp']:.3f} s "
            f"({r['cp_steps']} steps), total work {r['work_total']:.3f} s")
        if "a" in parts:
            r["a"] = runs("a", rb, 100000)
            r["a_delays"] = [d for run in r["a"] for d in run.dispatch_delays(pd)]
            if shm and not a.no_diagnostics:
                r["a_tmpfs"] = runs("a-tmpfs", rb, 100000, where=shm, n=1)[0]
        if "b" in parts:
            # The plan's own list schedule at concurrency 8: the same runbook with `concurrency: 8`.
            rb8 = os.path.join(work, f"random-{SERVICES_A}-c{CONCURRENCY_B}.yaml")
            with open(rb, encoding="utf-8") as f:
                text = f.read()
            with open(rb8, "w", encoding="utf-8") as f:
                f.write(re.sub(r"(?m)^concurrency: \d+$", f"concurrency: {CONCURRENCY_B}", text))
            r["b_plan"] = float(plan(edgedr, rb8)["expected_seconds"])
            r["b_bound"] = max(r["cp"], r["work_total"] / CONCURRENCY_B)
            # What each order can do at best: list schedules of the plan's graph with no overhead.
            r["b_sim_cp"] = simulate(pd, CONCURRENCY_B, fifo=False)
            r["b_sim_fifo"] = simulate(pd, CONCURRENCY_B, fifo=True)
            log(f"bound {r['b_bound']:.3f} s; zero-overhead list schedules: critical-path order "
                f"{r['b_sim_cp']:.3f} s, FIFO {r['b_sim_fifo']:.3f} s (plan: {r['b_plan']:.3f} s)")
            # Interleaved, so drift on the machine hits both schedulers alike.
            r["b_cp"], r["b_fifo"] = [], []
            for i in range(a.runs):
                r["b_cp"] += runs(f"b-critical-path-{i + 1}", rb, CONCURRENCY_B, n=1)
                r["b_fifo"] += runs(f"b-fifo-{i + 1}", rb, CONCURRENCY_B, ("--scheduler", "fifo"), n=1)
            if shm and not a.no_diagnostics:
                r["b_tmpfs_cp"] = runs("b-critical-path-tmpfs", rb, CONCURRENCY_B, where=shm, n=1)[0]
                r["b_tmpfs_fifo"] = runs("b-fifo-tmpfs", rb, CONCURRENCY_B, ("--scheduler", "fifo"), where=shm, n=1)[0]

    if "c" in parts:
        rb = os.path.join(work, f"flat-{FLAT_C}.yaml")
        gen("flat", FLAT_C, rb, "--duration", "5s")
        r["c"] = runs("c", rb, 100000)

    if "d" in parts:
        # Keys "wait-chain", "wait-flat", "exec-chain", "exec-flat" (and "...-tmpfs": one run).
        r["d"] = {}
        for action, kind in SHAPES_D:
            key, n = f"{action}-{kind}", steps_d(action)
            rb = os.path.join(work, f"{key}-{n}.yaml")
            gen_d(action, kind, n, rb)
            r["d"][key] = runs(f"d-{key}", rb, 100000)
            if shm and not a.no_diagnostics:
                r["d"][key + "-tmpfs"] = runs(f"d-{key}-tmpfs", rb, 100000, where=shm, n=1)[0]
        r["strace"] = {}
        if shutil.which("strace"):
            for action, kind in SHAPES_D:
                key = f"{action}-{kind}"
                one, many = (os.path.join(work, f"{key}-{n}-strace.yaml") for n in (1, STRACE_D))
                gen_d(action, kind, 1, one)
                gen_d(action, kind, STRACE_D, many)
                c1, _, _ = strace_fsyncs(edgedr, one, work, f"strace-{key}-1")
                cn, secs, wall = strace_fsyncs(edgedr, many, work, f"strace-{key}-{STRACE_D}")
                r["strace"][key] = {"c1": c1, "cn": cn, "secs": secs, "wall": wall,
                                    "per_step": (cn - c1) / (STRACE_D - 1)}
                log(f"strace {key}: {c1} fsyncs for 1 step, {cn} for {STRACE_D}: "
                    f"{(cn - c1) / (STRACE_D - 1):.2f} per step; {secs / max(cn, 1) * 1e3:.2f} ms per fsync")
        else:
            log("strace not found: fsyncs per step not counted")
    return r


# --- the report -----------------------------------------------------------------------------


def render(a, parts, r):
    runs = r["runs"]
    lines = []
    w = lines.append
    try:
        git = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "diff", "--quiet", "HEAD"]).returncode != 0
        untracked = bool(subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "libdr", "apps"],
                                        capture_output=True, text=True).stdout.strip())
        git += ", with uncommitted changes" if dirty or untracked else ""
    except (OSError, subprocess.CalledProcessError):
        git = "unknown"
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_gb = int(f.readline().split()[1]) / 1048576
    try:
        compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        compiler = "unknown compiler"

    w(HEADING)
    w("")
    w(f"Command: `{a.command_line}` ({r['started_at'].strftime('%Y-%m-%d %H:%M UTC')}, git {git}); the whole "
      f"benchmark took {r['elapsed'] / 60:.1f} min. edgedr built {r['built'].strftime('%Y-%m-%d %H:%M UTC')}; "
      f"sources of libdr/ and apps/ at the start: fingerprint {r['fingerprint']} (bench/engine_bench.py "
      "`source_fingerprint`)" + ("." if r["fingerprint_after"] == r["fingerprint"] else
                                 f", changed to {r['fingerprint_after']} during the benchmark (the runs used the "
                                 "binary built at the start)."))
    w(f"Machine: {os.cpu_count()} cores, {cpu}, {mem_gb:.0f} GB; {compiler}, Release build; load average "
      f"{r['load_before']} at the start, {r['load_after']} at the end (other work on the machine inflates the "
      "times, and contends for the disk the journal fsyncs to).")
    w(f"State directories (one fresh per run) on {r['disk']}. Appending a 300-byte line and `fsync`ing it "
      f"there takes {r['fsync_ms'][0]:.2f} ms (median of 200; p90 {r['fsync_ms'][1]:.2f} ms): the price of one "
      "durable journal event.")
    w("")
    w("Every run is `edgedr failover FILE --yes --state-dir TMP --concurrency C -o json` (plus `--scheduler fifo` "
      "where named), with runbooks of `wait` steps only (in (d) also `exec` steps) from `bench/gen_engine_runbook.py` "
      "(seed 1, no tiers, no targets). *Makespan* is the journal's `ts` of `run.started` to that of `run.finished` (ms resolution; "
      "the JSON's `seconds` agrees within a few ms). "
      f"Each figure is the median of {runs} run{'s' if runs > 1 else ''}"
      f"{', with the spread (min-max) in brackets' if runs > 1 else ''}. Peak threads and RSS come from "
      "`/proc/PID/status` (`Threads`, `VmRSS`, `VmHWM`: the high-water mark, so a peak between samples counts) "
      "sampled every 50 ms; MB = 2^20 bytes.")
    checks = []

    if "a" in parts:
        ra = r["a"]
        ratios = [x.makespan / r["cp"] for x in ra]
        w("")
        w(f"### (a) unlimited concurrency: makespan against the critical path")
        w("")
        w(f"`bench/gen_engine_runbook.py random {SERVICES_A}`: {SERVICES_A:,} services of 3 `wait` steps "
          f"({r['steps_a']:,} steps) of 10-200 ms, each service depending on 0-3 random earlier ones; "
          f"`--concurrency 100000`. Critical path (`edgedr plan FILE -o json`: `critical_path.expected_seconds`): "
          f"{r['cp']:.3f} s over {r['cp_steps']} steps; total work {r['work_total']:.1f} s.")
        w("")
        w("| critical path s | makespan s | makespan / critical path | target | peak threads | peak RSS MB |")
        w("|---:|---:|---:|---:|---:|---:|")
        w(f"| {r['cp']:.3f} | {spread([x.makespan for x in ra], '{:.3f}')} | {spread(ratios, '{:.3f}')} | "
          f"<= {TARGET_A} | {max(x.peak_threads for x in ra)} | {max(x.peak_rss_mb for x in ra):.1f} |")
        checks.append(f"- (a) makespan / critical path: {med(ratios):.3f} (target <= {TARGET_A}: "
                      f"{verdict(med(ratios) <= TARGET_A)})")

    if "b" in parts:
        cp, fifo = r["b_cp"], r["b_fifo"]
        bound = r["b_bound"]
        w("")
        w(f"### (b) --concurrency {CONCURRENCY_B}: against the lower bound and FIFO")
        w("")
        w(f"The same runbook with `--concurrency {CONCURRENCY_B}`. Lower bound: max(critical path {r['cp']:.3f} s, "
          f"total work {r['work_total']:.3f} s / {CONCURRENCY_B} = {r['work_total'] / CONCURRENCY_B:.3f} s) = "
          f"{bound:.3f} s. FIFO is the same command with the hidden `--scheduler fifo` (ready steps in the order "
          f"they became ready). For reference, `edgedr plan` of the runbook with `concurrency: {CONCURRENCY_B}` "
          f"predicts {r['b_plan']:.3f} s; a list schedule of the plan's graph with no overhead (bench/engine_bench.py "
          f"`simulate`) takes {r['b_sim_cp']:.3f} s in critical-path order and {r['b_sim_fifo']:.3f} s in FIFO order, so "
          f"on this runbook the best critical-path order can do is {(r['b_sim_fifo'] - r['b_sim_cp']) / r['b_sim_fifo'] * 100:.1f}% "
          "shorter than FIFO.")
        w("")
        w("| scheduler | makespan s | makespan / bound | target |")
        w("|---|---:|---:|---:|")
        w(f"| lower bound | {bound:.3f} | 1.000 | |")
        w(f"| critical-path (default) | {spread([x.makespan for x in cp], '{:.3f}')} | "
          f"{spread([x.makespan / bound for x in cp], '{:.3f}')} | <= {TARGET_B} |")
        w(f"| fifo | {spread([x.makespan for x in fifo], '{:.3f}')} | "
          f"{spread([x.makespan / bound for x in fifo], '{:.3f}')} | |")
        m_cp, m_fifo = med([x.makespan for x in cp]), med([x.makespan for x in fifo])
        checks.append(f"- (b) critical-path makespan / bound: {m_cp / bound:.3f} (target <= {TARGET_B}: "
                      f"{verdict(m_cp / bound <= TARGET_B)})")
        checks.append(f"- (b) critical-path against FIFO: {m_cp:.3f} s vs {m_fifo:.3f} s, "
                      f"{(m_fifo - m_cp) / m_fifo * 100:+.1f}% shorter (target: better than FIFO: "
                      f"{verdict(m_cp < m_fifo)})")

    if "c" in parts:
        rc = r["c"]
        w("")
        w(f"### (c) {FLAT_C:,} `wait` steps at once: threads and memory")
        w("")
        w(f"`bench/gen_engine_runbook.py flat {FLAT_C} --duration 5s`: {FLAT_C:,} independent services of one "
          f"`wait: 5s` step; `--concurrency 100000`.")
        w("")
        w("| peak threads | target | peak RSS MB | target | makespan s | most steps in flight (journal) | "
          "last intent written at s | samples per run |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|")
        w(f"| {spread([x.peak_threads for x in rc], '{:.0f}')} | <= {TARGET_THREADS} | "
          f"{spread([x.peak_rss_mb for x in rc], '{:.1f}')} | <= {TARGET_RSS_MB:.0f} | "
          f"{spread([x.makespan for x in rc], '{:.2f}')} | {spread([x.peak_inflight for x in rc], '{:.0f}')} | "
          f"{spread([x.last_intent for x in rc], '{:.2f}')} | {med([x.samples for x in rc]):.0f} |")
        checks.append(f"- (c) peak threads: {med([x.peak_threads for x in rc]):.0f} (target <= {TARGET_THREADS}: "
                      f"{verdict(med([x.peak_threads for x in rc]) <= TARGET_THREADS)})")
        checks.append(f"- (c) peak RSS: {med([x.peak_rss_mb for x in rc]):.1f} MB (target <= {TARGET_RSS_MB:.0f}: "
                      f"{verdict(med([x.peak_rss_mb for x in rc]) <= TARGET_RSS_MB)})")

    if "d" in parts:
        d = r["d"]
        w("")
        w(f"### (d) per-step overhead: zero-length waits and exec of /bin/true, journal fsync included")
        w("")
        w(f"`bench/gen_engine_runbook.py chain {STEPS_D} --duration 0ms` (each service depends on the one before) "
          f"and `... flat {STEPS_D} --duration 0ms` (all independent), one `wait` step of `duration: 0ms` each; "
          f"`... chain {STEPS_D_EXEC} --action exec` and `... flat {STEPS_D_EXEC} --action exec`, one `exec` step "
          f"of `command: [/bin/true]` each (fewer: each forks a process). `wait` is read-only, `exec` a side "
          f"effect whose intent must be on disk before the command runs. `--concurrency 100000`. ms per step = "
          f"makespan / steps. fsyncs per step: `strace -f -c -w -e trace=fsync,fdatasync` of a 1-step and a "
          f"{STRACE_D}-step run of the same shape, (calls at {STRACE_D} - calls at 1) / {STRACE_D - 1}.")
        w("")
        w("| shape | ms per step | makespan s | process wall s | durable events per step | fsyncs per step (strace) | "
          f"fsyncs of a 1-step run | ms per fsync (strace, {STRACE_D} steps) |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for action, kind in SHAPES_D:
            key, n = f"{action}-{kind}", steps_d(action)
            rd = d[key]
            st = r["strace"].get(key)
            per_step = f"{st['per_step']:.2f}" if st else "n/a"
            one_step = f"{st['c1']}" if st else "n/a"
            fsync_ms = f"{st['secs'] / st['cn'] * 1e3:.2f}" if st and st["cn"] else "n/a"
            w(f"| {action} {kind}, {n:,} steps | {spread([x.makespan / n * 1e3 for x in rd], '{:.2f}')} | "
              f"{spread([x.makespan for x in rd], '{:.2f}')} | {spread([x.wall for x in rd], '{:.2f}')} | "
              f"{(rd[0].n_durable - 2) / n:.2f} | {per_step} | {one_step} | {fsync_ms} |")

    # Where the time goes: the journal's own timing.
    obs = []
    fs = r["fsync_ms"][0]
    if "a" in parts:
        ra = r["a"]
        per_event = med([x.makespan / x.n_durable * 1e3 for x in ra])
        obs.append(f"- (a) The journal holds {ra[0].n_events:,} events, {ra[0].n_durable:,} of them durable "
                   f"(on disk before the next side effect; the engine puts each loop round's records on disk with one "
                   f"`fsync`), {ra[0].n_durable / r['steps_a']:.1f} per step (intent, accepted, succeeded). "
                   f"Makespan / durable events = {per_event:.2f} ms per event, against {fs:.2f} ms for a raw "
                   "append+fsync" + (f": {fs / per_event:.1f} events per fsync's time, so the events of a round "
                   "share their fsync." if per_event < 0.5 * fs else ".") +
                   " The process used "
                   f"{med([x.cpu for x in ra]):.1f} s of CPU (user + system) in a {med([x.wall for x in ra]):.1f} s "
                   "run: it is waiting, not computing.")
        delays = r["a_delays"]
        over = [o for x in ra for o in x.overshoot]
        obs.append(f"- (a) From the journal, a step whose dependencies were all done waited "
                   f"{pct(delays, 50) * 1e3:.0f} ms (median; p95 {pct(delays, 95) * 1e3:.0f} ms, max "
                   f"{max(delays):.2f} s) before its `step.intent` was written, although nothing limited concurrency; "
                   f"each wait took {pct(over, 50) * 1e3:.0f} ms longer than its duration from intent to success "
                   f"(median; p95 {pct(over, 95) * 1e3:.0f} ms). At most {max(x.peak_inflight for x in ra):,} steps "
                   "were between intent and success at the same time.")
        obs.append(late_accept_note("(a)", ra))
        if "a_tmpfs" in r:
            t = r["a_tmpfs"]
            obs.append(f"- (a, diagnostic) The same run with its state directory on tmpfs (`/dev/shm`, where fsync "
                       f"costs nothing; one run, not a measurement of the target): makespan {t.makespan:.3f} s, "
                       f"{t.makespan / r['cp']:.3f} x the critical path, against "
                       f"{med([x.makespan for x in ra]) / r['cp']:.3f} on the disk." +
                       (" The scheduler itself keeps to the critical path." if t.makespan / r["cp"] <= TARGET_A else ""))
    if "b" in parts:
        cp = r["b_cp"]
        per_event = med([x.makespan / x.n_durable * 1e3 for x in cp])
        over = [o for x in cp for o in x.overshoot]
        one_by_one = cp[0].n_durable * fs / 1e3
        m_cp = med([x.makespan for x in cp])
        obs.append(f"- (b) {per_event:.2f} ms of makespan per durable event at concurrency {CONCURRENCY_B}; "
                   f"fsync'ed one by one, {cp[0].n_durable:,} durable events x {fs:.2f} ms would take "
                   f"{one_by_one:.1f} s" +
                   (f", more than the whole makespan ({m_cp:.1f} s), so the records of a round share their fsync. "
                    if one_by_one > m_cp else
                    f", which would fit in the makespan ({m_cp:.1f} s; bound {r['b_bound']:.1f} s): with "
                    f"{CONCURRENCY_B} slots the waits, not the journal, set the pace. "
                    # Only when the tmpfs run (no fsync cost) is hardly shorter.
                    if "b_tmpfs_cp" in r and m_cp <= 1.02 * r["b_tmpfs_cp"].makespan else
                    f", which would fit in the makespan ({m_cp:.1f} s; bound {r['b_bound']:.1f} s). ") +
                   "A step held its "
                   f"slot {pct(over, 50) * 1e3:.0f} ms (median; p95 {pct(over, 95) * 1e3:.0f} ms) longer than its "
                   f"duration from intent to success, against a mean duration of "
                   f"{r['work_total'] / r['steps_a'] * 1e3:.0f} ms" +
                   (f": with {CONCURRENCY_B} slots and a bound set by the total work, that idle slot time is what "
                    "stretches the makespan." if r["work_total"] / CONCURRENCY_B > r["cp"] else "."))
        if "b_tmpfs_cp" in r:
            tc, tf = r["b_tmpfs_cp"], r["b_tmpfs_fifo"]
            obs.append(f"- (b, diagnostic) On tmpfs (one run each): critical-path {tc.makespan:.3f} s "
                       f"({tc.makespan / r['b_bound']:.3f} x the bound), FIFO {tf.makespan:.3f} s "
                       f"({tf.makespan / r['b_bound']:.3f} x).")
    if "c" in parts:
        rc = r["c"]
        # A poll timer was due (first accepted + 5 s) while accepted answers were still being taken in,
        # and still no wait succeeded before the last of them.
        starved = all(x.first_accepted + 5.0 < x.last_accepted <= x.first_success for x in rc)
        obs.append(f"- (c) Starting all {FLAT_C:,} steps took until {med([x.last_intent for x in rc]):.1f} s "
                   f"(the last `step.intent`), the last `step.accepted` was written at "
                   f"{med([x.last_accepted for x in rc]):.1f} s, and the first wait succeeded at "
                   f"{med([x.first_success for x in rc]):.1f} s"
                   f"{' (in every run, no wait succeeded before the last accepted answer was journaled, although the first poll was due 5 s after the first one)' if starved else ''}. "
                   f"At most {med([x.peak_inflight for x in rc]):,.0f} steps were between intent and success at "
                   f"once. Makespan {med([x.makespan for x in rc]):.1f} s for 5 s waits, with {rc[0].n_durable:,} "
                   "durable events "
                   f"({med([x.makespan / x.n_durable * 1e3 for x in rc]):.2f} ms each).")
        obs.append(late_accept_note("(c)", rc))
    if "d" in parts:
        obs.extend(d_notes(r))
    obs = [o for o in obs if o]
    if checks:
        w("")
        w("### Targets")
        w("")
        lines.extend(checks)
    if obs:
        w("")
        w("### Where the time goes")
        w("")
        lines.extend(obs)
    return "\n".join(lines) + "\n"


def d_notes(r):
    """What (d) says: which steps need an fsync of their own, and where an exec step's time goes."""
    d, st, fs, notes = r["d"], r["strace"], r["fsync_ms"][0], []

    def ms_step(key):
        return med([x.makespan / steps_d(key.split("-")[0]) * 1e3 for x in d[key]])

    def tmpfs_ms_step(key):
        t = d.get(key + "-tmpfs")
        return t.makespan / steps_d(key.split("-")[0]) * 1e3 if t else None

    wc, wf = st.get("wait-chain"), st.get("wait-flat")
    if wc and wf:
        text = (f"- (d) `wait`: {wc['per_step']:.2f} fsyncs per step in a chain, {wf['per_step']:.2f} flat "
                f"({wc['c1']} fsyncs in a 1-step run: the run's own records)")
        if max(wc["per_step"], wf["per_step"]) < 0.05:
            text += (". A wait is read-only: its call goes out without waiting for the round's fsync, so no step "
                     "needs an fsync of its own, and the steps' records reach the disk with the run's own fsyncs. "
                     "These rows are the engine's own cost per step, not that of a step with a side effect: the "
                     "exec rows are.")
        else:
            text += "."
        notes.append(text)

    ec, ef = st.get("exec-chain"), st.get("exec-flat")
    chain_runs = d["exec-chain"]
    events = (chain_runs[0].n_durable - 2) / steps_d("exec")
    if ec:
        pc = ec["per_step"]
        text = f"- (d) `exec` chain: {pc:.2f} fsyncs per step"
        if pc >= 0.9:
            text += (": each step needs its own fsync round, because its intent must be on disk before its "
                     "command runs and the next step's intent can only be written once this one has succeeded")
            if 1.5 <= pc < 2.5 and abs(events - 3) < 0.05:
                text += ("; the second is that of the round that writes `step.accepted` (the process's handle), "
                         "which is put on disk before the engine sleeps until the step's first poll")
        text += "."
        tmp = tmpfs_ms_step("exec-chain")
        if tmp is not None:
            extra = ms_step("exec-chain") - tmp
            ratio = extra / fs
            if pc - ratio >= 0.6 and 0.6 <= ratio <= 1.4:
                text += (f" Yet the disk adds {extra:.1f} ms per step to the tmpfs run, {ratio:.1f} x the {fs:.2f} ms "
                         "of a raw append+fsync: one fsync per step lengthens the chain (the intent's, before the "
                         "spawn); the other is made while the engine waits for the first poll anyway.")
        notes.append(text)

    # Where an exec step's time goes, from the journal: the step before -> intent -> accepted -> succeeded.
    phases = [chain_phases(x) for x in chain_runs]
    gap, to_acc, to_ok = ([v for p in phases for v in p[i]] for i in range(3))
    if gap and to_acc and to_ok:
        g, a_, s_ = pct(gap, 50) * 1e3, pct(to_acc, 50) * 1e3, pct(to_ok, 50) * 1e3
        total = ms_step("exec-chain")
        text = (f"- (d) An `exec` step of the chain, from the journal (median over the {len(to_ok):,} steps of "
                f"{len(chain_runs)} run{'s' if len(chain_runs) > 1 else ''}; ms resolution): its `step.intent` came "
                f"{g:.0f} ms after the step before it succeeded, its `step.accepted` (written once the command was "
                f"spawned) {a_:.0f} ms after the intent, and its `step.succeeded` {s_:.0f} ms after that, of "
                f"{total:.1f} ms per step in all.")
        t = d.get("exec-chain-tmpfs")
        if t is not None:
            _, t_acc, t_ok = chain_phases(t)
            ta, ts_ = pct(t_acc, 50) * 1e3, pct(t_ok, 50) * 1e3
            text += f" On tmpfs: {ta:.0f} ms from intent to accepted"
            text += (f" (the spawn without an fsync, so about {a_ - ta:.0f} ms of it on the disk is the intent's fsync)"
                     if a_ - ta >= 0.5 * fs else "")
            text += f", {ts_:.0f} ms from accepted to succeeded."
            if s_ >= 0.5 * total and abs(s_ - ts_) <= max(3.0, 0.2 * s_):
                text += (f" /bin/true ends within a few ms, and that last interval does not depend on the disk: it "
                         f"is the wait for the exec action's first poll (`kFirstPoll`, "
                         "libdr/src/actions/exec_action.cpp), which checks whether the command ended. So a "
                         f"one-millisecond command costs {total:.0f} ms of a chain, {s_ / total * 100:.0f}% of it "
                         "that first poll's delay, rather than one fsync and one fork.")
        notes.append(text)

    if ef:
        pf = ef["per_step"]
        text = (f"- (d) `exec` flat: {pf:.2f} fsyncs per step ({ef['cn']} for {STRACE_D} steps, {ef['c1']} for "
                "one)")
        if ec and ef["cn"] - ef["c1"] <= 3 and ec["per_step"] >= 0.9:
            text += (f": all {STRACE_D} steps are ready at once, so the intents of all of them are written in one "
                     "round and share one fsync before any command runs")
        text += "."
        flat_runs, n = d["exec-flat"], steps_d("exec")
        text += (f" With {n:,} steps the run took {ms_step('exec-flat'):.2f} ms per step, against "
                 f"{ms_step('exec-chain'):.2f} ms in the chain")
        if all(x.first_accepted >= x.last_intent for x in flat_runs):
            # Every intent, then the spawns one after another, then every accepted handle.
            spawn = med([(x.first_accepted - x.last_intent) / n * 1e3 for x in flat_runs])
            text += (f": the journal has every `step.intent` (the last at "
                     f"{med([x.last_intent for x in flat_runs]) * 1e3:.0f} ms) before the first `step.accepted` (at "
                     f"{med([x.first_accepted for x in flat_runs]) * 1e3:.0f} ms); in between, the intents' fsync and "
                     f"the {n:,} spawns, one after another on the engine thread: {spawn:.2f} ms per step")
            t = d.get("exec-flat-tmpfs")
            if t is not None and t.first_accepted >= t.last_intent:
                text += f" ({(t.first_accepted - t.last_intent) / n * 1e3:.2f} ms on tmpfs)"
        text += "."
        notes.append(text)

    for action, kind in SHAPES_D:
        key = f"{action}-{kind}"
        tmp = tmpfs_ms_step(key)
        if tmp is None:
            continue
        disk = ms_step(key)
        text = (f"- (d, diagnostic) {action} {kind} on tmpfs (one run): {tmp:.3f} ms per step, against {disk:.3f} ms "
                "on the disk")
        extra = disk - tmp
        noise = max(0.2 * tmp, 0.05)  # what single runs differ by anyway
        if (extra > noise or extra >= 0.5 * fs) and st.get(key) and st[key]["per_step"] < 0.05:
            text += (f": {extra:.2f} ms per step more on the disk, though strace counts no fsync per step, so "
                     "not the steps' fsyncs.")
        elif extra > noise or extra >= 0.5 * fs:
            text += f": the difference, {extra:.2f} ms per step, is the journal's fsyncs"
            if st.get(key):
                text += f" ({st[key]['per_step']:.2f} per step counted by strace, {fs:.2f} ms each raw)"
            text += "."
        elif extra >= -noise:
            text += ": about the same"
            if st.get(key) and st[key]["per_step"] < 0.05:
                text += ", as it should be with no fsync per step"
            text += "."
        else:
            text += f": {-extra:.2f} ms per step less on the disk (the spread between single runs)."
        notes.append(text)
    return notes


def late_accept_note(label, runs):
    """What the journal says about a wait whose `step.accepted` is written after it should have ended."""
    run = runs[0]
    q = run.queue_intent_accepted
    text = f"- {label} `step.intent` to `step.accepted` of a step took {pct(q, 50) * 1e3:.0f} ms (median, first run; " \
           f"max {max(q):.2f} s)"
    if pct(q, 50) > 0.05:
        text += ", although the wait action answers at once"
        # The engine takes in answers at the start of a round: if every intent came before the first
        # accepted answer, all the steps were started in one round and answered in the next.
        if all(x.last_intent <= x.first_accepted for x in runs):
            text += (f". In every run the last `step.intent` was written no later than the first `step.accepted` "
                     f"(at {med([x.last_intent for x in runs]):.2f} s and {med([x.first_accepted for x in runs]):.2f} s, "
                     "medians): "
                     f"all {len(run.intent):,} steps were started in one engine round and their accepted answers "
                     "taken in the next, so an answer waited for the rest of that first round (writing the other "
                     "intents) and then for the answers taken in before it.")
        else:
            text += "."
    else:
        text += "."
    if run.late_accepted and min(run.after_late_accept) >= 0:
        after = run.after_late_accept
        text += (f" {run.late_accepted:,} of {len(run.accepted):,} steps got their `step.accepted` only after their wait "
                 f"should already have ended, yet every one of them still succeeded at least its full duration after "
                 f"that event (excess beyond the duration: min {min(after) * 1e3:.0f} ms, median "
                 f"{pct(after, 50) * 1e3:.0f} ms): the poll is scheduled a whole duration after the engine takes in "
                 "the accepted answer, so time spent queued is added to the wait instead of overlapping it.")
    elif run.late_accepted:
        text += (f" {run.late_accepted:,} of {len(run.accepted):,} steps got their `step.accepted` only after their wait "
                 "should already have ended.")
    return text


def write_section(path, section):
    """Replaces this benchmark's section of path (from its heading to the next '## '), or appends it."""
    intro = ("# Benchmarks\n\n"
             "Figures from `scripts/bench NAME`, one section per benchmark; each run replaces its own\n"
             "section. Absolute times depend on the machine; the ratios and the growth with N are what\n"
             "to watch.\n")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else intro
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip("\n") == HEADING), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        text = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
