#!/usr/bin/env python3
"""The Azure benchmark behind `scripts/bench azure`: ARM limits, LRO polling, edgedr against az rest.

    bench/azure_bench.py --edgedr PATH [--parts abc] [--runs N] [--work-dir DIR] [--az PATH]
                         [--docs FILE] [--command-line TEXT]

Every run is `edgedr failover RUNBOOK --yes --simulator URL --time-scale S` against a fresh
`edgedr sim serve --runbook RUNBOOK --world WORLD --time-scale S` (the same S on both sides), and
is measured from the simulator's request log (GET URL/_sim/requests), whose times are the
simulator's clock: simulated time.

(a) 500 Traffic Manager endpoint writes (bench/gen_azure_runbook.py tm 500: 500 one-step services
    over 5 profiles, every fifth a set-priority, the rest disable-endpoint) with ARM's buckets on
    (writes 200, refill 10/s). Failed steps (target 0), 429s, and the write rate of the sustained
    phase (the writes after the burst is spent, over that phase's duration) against the refill
    rate (target >= 90%).
(b) Site Recovery failovers, commits and test failovers (plans and items) and a Backup restore and
    backup, one vault each (bench/gen_azure_runbook.py lro): the calls each operation took (its
    POST, its polls, any other request in its vault while it ran) against 1 + ceil(D / Retry-After)
    (target <= 1.1x).
(c) the 20-step runbook of bench/gen_azure_runbook.py compare, run by edgedr and by
    bench/azure_rest_script.sh (`az rest` once per call, sequential), each --runs times on a fresh
    simulator: wall time, median, ratio; and the requests each sent, compared.

Standard library only. With --docs, the section "## azure: ..." of that file is replaced (or
appended).
"""

import argparse
import collections
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_azure_runbook as gen  # noqa: E402

HEADING = "## azure: ARM limits, long-running operations, and edgedr against az rest"
RUN_TIMEOUT = 900  # seconds; a run that takes longer is a hang, not a measurement

TARGET_FAILED = 0
TARGET_RATE = 0.90
TARGET_LRO = 1.10

N_A = 500
PROFILES_A = 5
SCALE_A = 0.5  # real seconds per simulated second: the sustained phase (~30 simulated s) takes ~15 s
SCALE_B = 1 / 60  # a simulated minute per real second: the 15-minute restore takes 15 s
SCALE_C = 0.05  # 20x: the jobs of (c) take 9 real seconds one after another

WRITE_CAPACITY, WRITE_REFILL = 200, 10.0
RETRY_AFTER = {"site-recovery": 30, "backup": 60}  # what the simulator sends, as Azure does


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def parse_time(text):
    # "2026-11-23T17:40:01.1230000Z": the simulator writes ARM's seven fractional digits.
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", text)
    if not m:
        raise ValueError(f"unexpected time in the request log: {text!r}")
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return t.timestamp() + frac


def med(values):
    return statistics.median(values) if values else float("nan")


def spread(values, fmt):
    if len(values) < 2:
        return fmt.format(med(values))
    return f"{fmt.format(med(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def verdict(ok):
    return "PASS" if ok else "MISS"


class Sim:
    """`edgedr sim serve` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, edgedr, runbook, world, scale, log_path):
        self.log_file = open(log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [edgedr, "sim", "serve", "--runbook", runbook, "--world", world, "--time-scale", repr(scale),
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log_file, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise SystemExit(f"bench: edgedr sim serve did not print its URL (got {line!r}); see {log_path}")
        self.url = line

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=60) as r:
            return json.loads(r.read().decode("utf-8"))

    def requests(self):
        return self.get("/_sim/requests")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def run_edgedr(edgedr, runbook, url, scale, state_dir):
    """edgedr failover against the simulator; returns (wall seconds, JSON document, exit code)."""
    os.makedirs(state_dir, exist_ok=True)
    cmd = [edgedr, "failover", runbook, "--yes", "--simulator", url, "--time-scale", repr(scale),
           "--state-dir", state_dir, "-o", "json"]
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    wall = time.monotonic() - start
    with open(os.path.join(state_dir, "stderr.txt"), "w", encoding="utf-8") as f:
        f.write(p.stderr)
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"bench: edgedr printed no JSON (exit {p.returncode}); stderr:\n{p.stderr[-3000:]}")
    return wall, doc, p.returncode


def arm_requests(reqs):
    return [r for r in reqs if r["path"].lower().startswith("/subscriptions/")]


def is_write(r):
    return r["method"].upper() in ("PUT", "PATCH", "POST")


# ---- (a) -----------------------------------------------------------------------------------------

def sustained_phase(write_times, capacity=WRITE_CAPACITY, refill=WRITE_REFILL):
    """The writes after the burst is spent. The bucket is replayed from the log: it starts full at
    the first write, refills `refill` per second up to `capacity`, and each accepted write takes a
    token; the burst is spent at the first write after which less than one token is left. Returns
    (start time, writes after it, duration) or None when the burst was never spent."""
    level, last = float(capacity), write_times[0]
    for i, t in enumerate(write_times):
        level = min(capacity, level + (t - last) * refill)
        last = t
        level -= 1
        if level < 1:
            after = write_times[i + 1:]
            if not after:
                return None
            return t, len(after), after[-1] - t
    return None


def part_a(a, edgedr, work):
    d = os.path.join(work, "a")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_azure_runbook.py"), "tm", str(N_A), "--profiles",
                    str(PROFILES_A), "-o", d], check=True)
    runbook, world = os.path.join(d, "runbook.yaml"), os.path.join(d, "world.yaml")
    runs = []
    for i in range(a.runs):
        sim = Sim(edgedr, runbook, world, SCALE_A, os.path.join(d, f"sim-{i}.log"))
        try:
            wall, doc, rc = run_edgedr(edgedr, runbook, sim.url, SCALE_A, os.path.join(d, f"state-{i}"))
            reqs = sim.requests()
        finally:
            sim.stop()
        with open(os.path.join(d, f"requests-{i}.json"), "w", encoding="utf-8") as f:
            json.dump(reqs, f)
        arm = arm_requests(reqs)
        steps = doc.get("steps", [])
        failed = [s for s in steps if s.get("status") != "succeeded"]
        writes = [r for r in arm if is_write(r)]
        accepted = sorted(parse_time(r["time"]) for r in writes if r["status"] != 429)
        phase = sustained_phase(accepted)
        reads = [r for r in arm if not is_write(r)]
        run = {
            "exit": rc, "wall": wall, "seconds": doc.get("seconds"), "steps": len(steps), "failed": len(failed),
            "failed_errors": [s.get("error", "") for s in failed][:3],
            "writes": len(writes), "writes_accepted": len(accepted),
            "reads": len(reads), "reads_per_write": len(reads) / max(1, len(accepted)),
            "429": sum(1 for r in arm if r["status"] == 429),
            "429_writes": sum(1 for r in writes if r["status"] == 429),
            "errors": sum(1 for r in arm if r["status"] >= 400 and r["status"] != 429),
            "first_to_last": accepted[-1] - accepted[0] if accepted else 0,
            "first_write": accepted[0] - min(parse_time(r["time"]) for r in arm) if accepted else 0,
        }
        if phase:
            t, n, dur = phase
            run.update({"phase_start": t - accepted[0], "phase_writes": n, "phase_seconds": dur,
                        "rate": n / dur if dur > 0 else float("inf")})
        runs.append(run)
        log(f"(a) run {i + 1}: exit {rc}, {run['failed']} failed of {run['steps']} steps, {run['429']} 429s, "
            f"{run['writes_accepted']} writes, sustained {run.get('rate', float('nan')):.2f} writes/s "
            f"over {run.get('phase_seconds', float('nan')):.1f} s, wall {wall:.1f} s")
    return runs


# ---- (b) -----------------------------------------------------------------------------------------

POLL_PATH = re.compile(r"/(replicationjobs|backupjobs|operationsstatus|operationresults|replicationoperationstatus)/",
                       re.I)
VAULT = re.compile(r"/vaults/([^/]+)", re.I)


def lro_expectations():
    """vault -> list of (kind, duration s, Retry-After s) in the order the service runs them."""
    out = {}
    for _service, vault, what, _subject, op, dur, commit in gen.LRO_SR:
        kinds = [(f"site-recovery {op}, {what}", dur, RETRY_AFTER["site-recovery"])]
        if commit:
            kinds.append((f"site-recovery commit, {what}", gen.LRO_COMMIT_S, RETRY_AFTER["site-recovery"]))
        out[vault.lower()] = kinds
    out["rsv-bench-restore"] = [("backup restore", gen.LRO_RESTORE_S, RETRY_AFTER["backup"])]
    out["rsv-bench-backup"] = [("backup backup-now", gen.LRO_BACKUP_S, RETRY_AFTER["backup"])]
    return out


def lro_calls(arm):
    """Per vault, per action POST: its polls and the other requests in the vault until its last poll."""
    by_vault = collections.defaultdict(list)
    for r in arm:
        m = VAULT.search(r["path"])
        if m:
            by_vault[m.group(1).lower()].append(r)
    result = {}
    for vault, rs in by_vault.items():
        rs.sort(key=lambda r: parse_time(r["time"]))
        posts = [i for i, r in enumerate(rs) if r["method"].upper() == "POST" and r["status"] < 300]
        ops = []
        for k, i in enumerate(posts):
            end = posts[k + 1] if k + 1 < len(posts) else len(rs)
            window = rs[i + 1:end]
            polls = [j for j, r in enumerate(window) if r["method"].upper() == "GET" and POLL_PATH.search(r["path"])]
            last = polls[-1] if polls else -1
            others = [r for j, r in enumerate(window[:last + 1]) if j not in set(polls)]
            times = [parse_time(rs[i]["time"])] + [parse_time(window[j]["time"]) for j in polls]
            gaps = [b - a for a, b in zip(times, times[1:]) if b - a > 1]  # a Backup job's first poll follows at once
            ops.append({"operation": rs[i]["operation"], "polls": len(polls), "others": len(others), "gaps": gaps,
                        "other_kinds": sorted({r["operation"] for r in others}),
                        "seconds": (parse_time(window[last]["time"]) - parse_time(rs[i]["time"])) if polls else 0.0})
        result[vault] = ops
    return result


def part_b(a, edgedr, work):
    d = os.path.join(work, "b")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_azure_runbook.py"), "lro", "-o", d], check=True)
    runbook, world = os.path.join(d, "runbook.yaml"), os.path.join(d, "world.yaml")
    expect = lro_expectations()
    runs = []
    for i in range(a.runs):
        sim = Sim(edgedr, runbook, world, SCALE_B, os.path.join(d, f"sim-{i}.log"))
        try:
            wall, doc, rc = run_edgedr(edgedr, runbook, sim.url, SCALE_B, os.path.join(d, f"state-{i}"))
            reqs = sim.requests()
        finally:
            sim.stop()
        with open(os.path.join(d, f"requests-{i}.json"), "w", encoding="utf-8") as f:
            json.dump(reqs, f)
        failed = [s for s in doc.get("steps", []) if s.get("status") != "succeeded"]
        if rc != 0 or failed:
            raise SystemExit(f"bench: (b) run failed (exit {rc}): " +
                             "; ".join(f"{s.get('id')}: {s.get('error')}" for s in failed))
        found = lro_calls(arm_requests(reqs))
        rows = []
        for vault, kinds in expect.items():
            ops = found.get(vault, [])
            if len(ops) != len(kinds):
                raise SystemExit(f"bench: (b) vault {vault}: expected {len(kinds)} operations, the log shows {len(ops)}")
            for (kind, dur, ra), op in zip(kinds, ops):
                minimum = 1 + math.ceil(dur / ra)
                calls = 1 + op["polls"] + op["others"]
                rows.append({"kind": kind, "operation": op["operation"], "duration": dur, "retry_after": ra,
                             "gap_ratio": med([g / ra for g in op["gaps"]]) if op["gaps"] else float("nan"),
                             "minimum": minimum, "calls": calls, "polls": op["polls"], "others": op["others"],
                             "other_kinds": op["other_kinds"], "seconds": op["seconds"]})
        runs.append({"wall": wall, "rows": rows})
        log(f"(b) run {i + 1}: " + ", ".join(f"{r['kind']} {r['calls']}/{r['minimum']}" for r in rows) +
            f"; wall {wall:.1f} s")
    return runs


# ---- (c) -----------------------------------------------------------------------------------------

ID_SEGMENT = re.compile(r"/(replicationjobs|operationresults|replicationoperationstatus|operationsstatus|backupjobs|"
                        r"recoverypoints)/[^/]+", re.I)


def shape(r):
    """A request with its generated ids (jobs, operations, recovery points) left out."""
    path = ID_SEGMENT.sub(lambda m: "/" + m.group(1).lower() + "/{id}", r["path"].lower())
    return f"{r['method'].upper()} {path}"


def summarize_requests(reqs):
    arm = arm_requests(reqs)
    polls = [r for r in arm if r["method"].upper() == "GET" and POLL_PATH.search(r["path"])]
    rest = collections.Counter(shape(r) for r in arm if r not in polls)
    tokens = sum(1 for r in reqs if "oauth2" in r["path"].lower())
    bodies = sorted(r["body-sha256"] for r in arm if r.get("body-sha256"))
    return {"arm": len(arm), "polls": len(polls), "other": rest, "tokens": tokens, "bodies": bodies,
            "errors": sum(1 for r in arm if r["status"] >= 400)}


def part_c(a, edgedr, work):
    d = os.path.join(work, "c")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_azure_runbook.py"), "compare", "-o", d], check=True)
    runbook, world = os.path.join(d, "runbook.yaml"), os.path.join(d, "world.yaml")
    script = os.path.join(HERE, "azure_rest_script.sh")
    az_version = subprocess.run([a.az, "version", "-o", "json"], capture_output=True, text=True,
                                env=az_env(d)).stdout
    try:
        az_version = json.loads(az_version)["azure-cli"]
    except (json.JSONDecodeError, KeyError):
        az_version = "unknown"
    results = {"edgedr": [], "bash": [], "az_version": az_version}
    for i in range(a.runs):
        for side in ("edgedr", "bash"):
            sim = Sim(edgedr, runbook, world, SCALE_C, os.path.join(d, f"sim-{side}-{i}.log"))
            try:
                if side == "edgedr":
                    wall, doc, rc = run_edgedr(edgedr, runbook, sim.url, SCALE_C, os.path.join(d, f"state-{i}"))
                    failed = [s for s in doc.get("steps", []) if s.get("status") != "succeeded"]
                    if rc != 0 or failed or len(doc.get("steps", [])) != 20:
                        raise SystemExit(f"bench: (c) edgedr run failed (exit {rc}, {len(doc.get('steps', []))} steps)")
                else:
                    body_log = os.path.join(d, f"bash-bodies-{i}.txt")
                    env = az_env(d)
                    env["BENCH_BODY_LOG"] = body_log
                    start = time.monotonic()
                    p = subprocess.run(["bash", script, sim.url, repr(SCALE_C), a.az], capture_output=True, text=True,
                                       timeout=RUN_TIMEOUT, env=env)
                    wall = time.monotonic() - start
                    with open(os.path.join(d, f"bash-{i}.log"), "w", encoding="utf-8") as f:
                        f.write(p.stdout + p.stderr)
                    if p.returncode != 0:
                        raise SystemExit(f"bench: (c) the az rest script failed (exit {p.returncode}):\n"
                                         f"{(p.stdout + p.stderr)[-3000:]}")
                reqs = sim.requests()
            finally:
                sim.stop()
            with open(os.path.join(d, f"requests-{side}-{i}.json"), "w", encoding="utf-8") as f:
                json.dump(reqs, f)
            s = summarize_requests(reqs)
            s["wall"] = wall
            if side == "bash":
                # az rest re-serializes a JSON body (Python's ", " and ": " separators) before
                # sending it, so the simulator's hashes differ from edgedr's byte for byte; the
                # bodies the script gave az rest are compared instead.
                s["sent_bodies"] = len(s["bodies"])
                with open(body_log, encoding="utf-8") as f:
                    s["bodies"] = sorted(hashlib.sha256(line.rstrip("\n").encode()).hexdigest() for line in f)
            results[side].append(s)
            log(f"(c) run {i + 1}, {side}: {wall:.1f} s, {s['arm']} ARM requests ({s['polls']} polls), "
                f"{s['tokens']} token requests")
    return results


def az_env(work):
    env = dict(os.environ)
    env["AZURE_CONFIG_DIR"] = os.path.join(work, "az-config")
    env["AZURE_CORE_COLLECT_TELEMETRY"] = "false"
    env["AZURE_CORE_NO_COLOR"] = "true"
    env["AZURE_CORE_SURVEY_MESSAGE"] = "false"
    os.makedirs(env["AZURE_CONFIG_DIR"], exist_ok=True)
    return env


# ---- rendering -------------------------------------------------------------------------------------

def machine_lines(load_before, load_after):
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
    return (f"Machine: {os.cpu_count()} cores, {cpu}, {mem_gb:.0f} GB; {compiler}, Release build; load average "
            f"{load_before} at the start, {load_after} at the end (other work on the machine slows both sides).")


def git_text():
    try:
        git = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "diff", "--quiet", "HEAD"]).returncode != 0
        return git + (", with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(a, parts, r, started, minutes):
    lines = []
    w = lines.append
    w(HEADING)
    w("")
    w(f"Command: `{a.command_line}` ({started}, git {git_text()}); the whole benchmark took {minutes:.1f} min.")
    w(machine_lines(r["load_before"], r["load_after"]))
    w("")
    w("Every edgedr run is `edgedr failover RUNBOOK --yes --simulator URL --time-scale S --state-dir TMP -o json`"
      " against a fresh `edgedr sim serve --runbook RUNBOOK --world WORLD --time-scale S` (runbooks and worlds from "
      "`bench/gen_azure_runbook.py`), both processes on the same time scale S (real seconds per simulated second). "
      "Everything is counted in the simulator's request log (`GET URL/_sim/requests`), whose timestamps are the "
      "simulator's clock, so rates and durations below are in simulated seconds whatever S is.")
    w("")
    if "a" in parts:
        render_a(w, r["a"])
    if "b" in parts:
        render_b(w, r["b"])
    if "c" in parts:
        render_c(w, r["c"])
    w("### Targets")
    w("")
    for line in r["targets"]:
        w(line)
    return "\n".join(lines) + "\n"


def render_a(w, runs):
    w(f"### (a) {N_A} Traffic Manager writes under ARM's write limit")
    w("")
    w(f"`bench/gen_azure_runbook.py tm {N_A} --profiles {PROFILES_A}`: {N_A} independent one-step services over "
      f"{PROFILES_A} profiles of {N_A // PROFILES_A} endpoints, every fifth step `traffic-manager.set-priority` (to a "
      "free priority), the others `traffic-manager.disable-endpoint`, all with `endpoint-type` given; "
      "`concurrency: 100000`. The world file states ARM's buckets (reads 250 + 25/s, writes 200 + 10/s per "
      f"subscription); edgedr's client-side buckets are the same numbers. S = {SCALE_A}. A write is a PATCH. "
      "*Sustained phase*: the simulator's write bucket is replayed from the log (full at the first write, "
      "+10 tokens per simulated second up to 200, one token per accepted write); the burst is spent at the "
      "first write that leaves it below one token; the rate is the writes after that one divided by the time "
      "from it to the last write. Median of the runs, spread in brackets.")
    w("")
    w("| steps | failed steps | 429s (on writes) | writes | reads per write | burst spent at s | sustained writes "
      "| sustained phase s | sustained writes/s | / refill 10/s | makespan s (simulated) | wall s |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    g = lambda k: [x[k] for x in runs if k in x]  # noqa: E731
    w(f"| {runs[0]['steps']} | {spread(g('failed'), '{:.0f}')} | {spread(g('429'), '{:.0f}')} "
      f"({spread(g('429_writes'), '{:.0f}')}) | {spread(g('writes_accepted'), '{:.0f}')} | "
      f"{spread(g('reads_per_write'), '{:.2f}')} | {spread(g('phase_start'), '{:.1f}')} | "
      f"{spread(g('phase_writes'), '{:.0f}')} | {spread(g('phase_seconds'), '{:.1f}')} | "
      f"{spread(g('rate'), '{:.2f}')} | {spread([x / WRITE_REFILL for x in g('rate')], '{:.3f}')} | "
      f"{spread([x for x in g('seconds') if x is not None], '{:.1f}')} | {spread(g('wall'), '{:.1f}')} |")
    w("")
    w(f"The first write reaches the simulator {med(g('first_write')):.1f} s after the first request: each step "
      f"first reads its endpoint (the prior state its undo needs), and {N_A} reads pass the read bucket at 250 "
      "at once, then 25/s; a step then writes from that read without reading again (a set-priority step also "
      "reads the profile for the priorities in use).")
    if med(g("429")) > 0:
        w("")
        w("The 429s: edgedr's client-side buckets hold ARM's numbers exactly. A request takes its client-side "
          "token when it leaves edgedr's queue and the simulator's when it arrives; one that gets from the "
          "queue to the simulator faster than the first request of the burst did (thread scheduling on a "
          "loaded machine, the first request's token fetch) arrives a few milliseconds before its token is "
          "there, and is answered 429 with Retry-After. The pipeline waits as told and resends it; no step "
          "failed, and the sustained rate is not affected. A client-side margin of a token or two would "
          "absorb that jitter at the cost of the same number of requests of burst.")
    w("")


def b_rows(runs):
    """Median calls per kind over the runs."""
    kinds = collections.OrderedDict()
    for run in runs:
        for row in run["rows"]:
            kinds.setdefault(row["kind"], []).append(row)
    return kinds


def render_b(w, runs):
    w("### (b) API calls per long-running operation against the minimum Retry-After allows")
    w("")
    w("`bench/gen_azure_runbook.py lro`: one vault per service, so each vault's log holds one service's "
      "operations: a recovery plan's and an item's unplanned failover, each then committed; a plan's and an "
      "item's test failover; a Backup restore (the newest recovery point) and a backup-now. Simulated job "
      f"durations from the world file: failover and test failover 360 s, commit {gen.LRO_COMMIT_S} s, restore "
      f"{gen.LRO_RESTORE_S} s, backup {gen.LRO_BACKUP_S} s, Backup's operation status names the job after "
      f"{gen.LRO_OPERATION_DELAY_S} s. The simulator sends Retry-After: 30 (Site Recovery) and 60 (Backup), as "
      f"Azure does. S = 1/60.")
    w("")
    w("*Calls* of an operation: its POST, its polls (GETs of `replicationJobs/`, `operationsStatus/`, "
      "`backupJobs/`, ...), and any other request to its vault between the POST and the last poll. "
      "*Minimum*: a client that obeys Retry-After sends the POST at 0 and may poll at RA, 2 RA, ...; a job "
      "of duration D is first seen finished by the poll at ceil(D / RA) x RA, so no client that waits as "
      "asked can use fewer than 1 + ceil(D / RA) calls. (Backup's operation status stage is part of the "
      "same wait: its first poll, at RA, already names the job, and the job itself ran from the POST.) "
      "Requests before the POST (reading the plan or item to check the operation is allowed, listing "
      "recovery points) and after the last poll (backup-now reads the new recovery point) are the "
      "step's, not the operation's, and are not counted.")
    w("")
    w("| operation | D s | RA s | minimum calls | calls (POST + polls + other) | calls / minimum |")
    w("|---|---:|---:|---:|---:|---:|")
    tot_calls, tot_min = [], []
    kinds = b_rows(runs)
    for kind, rows in kinds.items():
        calls = [r["calls"] for r in rows]
        m = rows[0]["minimum"]
        others = sorted({k for r in rows for k in r["other_kinds"]})
        detail = f"1 + {med([r['polls'] for r in rows]):.0f} + {med([r['others'] for r in rows]):.0f}"
        if others:
            detail += f" ({', '.join(others)})"
        w(f"| {kind} | {rows[0]['duration']} | {rows[0]['retry_after']} | {m} | {spread(calls, '{:.0f}')}: "
          f"{detail} | {spread([c / m for c in calls], '{:.2f}')} |")
    for run in runs:
        tot_calls.append(sum(r["calls"] for r in run["rows"]))
        tot_min.append(sum(r["minimum"] for r in run["rows"]))
    w(f"| **all** | | | {tot_min[0]} | {spread(tot_calls, '{:.0f}')} | "
      f"{spread([c / m for c, m in zip(tot_calls, tot_min)], '{:.3f}')} |")
    w("")
    gap = med([r["gap_ratio"] for run in runs for r in run["rows"] if r["gap_ratio"] == r["gap_ratio"]])
    w(f"Polls come at {gap:.3f} x Retry-After apart (median over every operation; simulated time): edgedr waits "
      "Retry-After after each answer, and the time a poll takes in real seconds counts 60 times at S = 1/60, "
      "so a poll can come a little later than the minimum's schedule, and then sometimes one poll fewer is "
      "needed. A Backup operation takes one call more than the minimum: when the operation status names the "
      "job, edgedr reads the job at once (a short job may be done already) instead of waiting another "
      "Retry-After. An item's test failover used to read the protected item after every job poll (its "
      "`testFailoverState`, a fallback for a job that does not show it waits for cleanup), twice the calls; "
      "it now reads the item only once the job has no task left to run.")
    w("")


def render_c(w, r):
    e, b = r["edgedr"], r["bash"]
    ew, bw = [x["wall"] for x in e], [x["wall"] for x in b]
    w("### (c) the same 20 steps: edgedr against a bash script of `az rest` calls")
    w("")
    w("`bench/gen_azure_runbook.py compare`: a recovery plan's unplanned failover then its commit (simulated "
      f"jobs of {gen.CMP_FAILOVER_S} s and {gen.CMP_COMMIT_S} s), in parallel with a Backup restore "
      f"({gen.CMP_RESTORE_S} s job); then, depending on both, one endpoint enable, {gen.CMP_TM_ENDPOINTS} endpoint disables and "
      f"{gen.CMP_TM_ENDPOINTS} priority changes on a Traffic Manager profile, one after another. S = {SCALE_C}. "
      f"The script is `bench/azure_rest_script.sh URL S`: `az rest --skip-authorization-header` (azure-cli "
      f"{r['az_version']}, Debian's package; `AZURE_CONFIG_DIR` a fresh directory, "
      "`AZURE_CORE_COLLECT_TELEMETRY=false`) once per request, with the simulator's static bearer token in "
      "`--headers`; it sends the same requests in the same dependency order, **sequentially**, as a bash "
      "script does (edgedr runs the failover and the restore side by side, as the runbook allows), and "
      "follows each long-running operation the way a careful script would: it reads the `Location` / "
      "`Azure-AsyncOperation` and `Retry-After` headers of the 202 (from `az rest --debug`, the only way "
      "`az rest` shows headers) and polls until the job ends, sleeping Retry-After x S between polls. "
      "`az rest` sends plain `http://` to 127.0.0.1 without complaint (it refuses nothing with "
      "`--skip-authorization-header`), so the simulator needs no TLS. Wall time of the whole process, "
      "each side on a fresh simulator, median of the runs.")
    w("")
    w("| side | wall s | ARM requests (polls) | token requests | requests other than polls: same as edgedr's | "
      "request bodies: same as edgedr's |")
    w("|---|---:|---:|---:|---:|---:|")
    same_other = all(x["other"] == e[0]["other"] for x in b)
    same_bodies = all(x["bodies"] == e[0]["bodies"] for x in b)
    w(f"| edgedr | {spread(ew, '{:.2f}')} | {spread([x['arm'] for x in e], '{:.0f}')} "
      f"({spread([x['polls'] for x in e], '{:.0f}')}) | {spread([x['tokens'] for x in e], '{:.0f}')} | | |")
    w(f"| bash + az rest | {spread(bw, '{:.2f}')} | {spread([x['arm'] for x in b], '{:.0f}')} "
      f"({spread([x['polls'] for x in b], '{:.0f}')}) | {spread([x['tokens'] for x in b], '{:.0f}')} | "
      f"{'yes' if same_other else 'NO'} | {'yes' if same_bodies else 'NO'} |")
    w("")
    w(f"Ratio (bash / edgedr, medians): **{med(bw) / med(ew):.2f}x**. Requests are compared by method and path "
      "(job, operation and recovery point ids left out), polls apart: the number of polls depends on how late "
      "each side polls. Bodies are compared as each side wrote them: `az rest` re-serializes a JSON body with "
      "Python's `json.dumps` (spaces after `,` and `:`) before sending it, so the bytes that reach the "
      "simulator differ while the JSON is the same. edgedr also asks the simulator's token endpoint for a "
      "token once (as it asks Entra ID); the script sends the world's static token. Where the time goes: "
      "each `az rest` starts a Python process that loads the CLI "
      f"(about {med(bw) / max(1, med([x['arm'] for x in b])):.1f} s per request here, sleeps included), and "
      "the script waits for the failover and the restore one after the other. The ratio depends on S: "
      f"here edgedr's run is mostly the jobs' own time (the longer branch, {gen.CMP_FAILOVER_S + gen.CMP_COMMIT_S} "
      f"simulated s, is {(gen.CMP_FAILOVER_S + gen.CMP_COMMIT_S) * SCALE_C:.0f} real s), the script's mostly "
      "the cost of its calls; at real time (S = 1) the jobs' minutes would dominate both sides, and the "
      "script would still wait for the two branches one after the other.")
    if not same_other:
        diff = (b[0]["other"] - e[0]["other"]) + (e[0]["other"] - b[0]["other"])
        w(f"Requests that differ: {dict(diff)}.")
    w("")


def targets(parts, r):
    out = []
    if "a" in parts:
        runs = r["a"]
        failed = med([x["failed"] for x in runs])
        rate = med([x.get("rate", 0) for x in runs]) / WRITE_REFILL
        out.append(f"- (a) failed steps: {failed:.0f} (target {TARGET_FAILED}: {verdict(failed <= TARGET_FAILED)}); "
                   f"429s: {med([x['429'] for x in runs]):.0f}")
        out.append(f"- (a) sustained write rate / refill rate: {rate:.3f} (target >= {TARGET_RATE}: "
                   f"{verdict(rate >= TARGET_RATE)})")
    if "b" in parts:
        runs = r["b"]
        worst = max(med([row["calls"] for row in rows]) / rows[0]["minimum"] for rows in b_rows(runs).values())
        tot = med([sum(x["calls"] for x in run["rows"]) / sum(x["minimum"] for x in run["rows"]) for run in runs])
        out.append(f"- (b) calls per operation / minimum: overall {tot:.3f}, worst kind {worst:.2f} (target <= "
                   f"{TARGET_LRO}: {verdict(worst <= TARGET_LRO)})")
    if "c" in parts:
        e, b = r["c"]["edgedr"], r["c"]["bash"]
        out.append(f"- (c) bash + az rest / edgedr wall time: {med([x['wall'] for x in b]) / med([x['wall'] for x in e]):.2f}x "
                   "(no target)")
    return out


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
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgedr", required=True)
    ap.add_argument("--parts", default="abc")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work-dir", default=None)
    ap.add_argument("--az", default=shutil.which("az"))
    ap.add_argument("--docs", default=None)
    ap.add_argument("--command-line", default="bench/azure_bench.py")
    a = ap.parse_args()
    parts = a.parts
    if "c" in parts and not a.az:
        raise SystemExit("bench: (c) needs the Azure CLI (`az`); scripts/bench azure installs Debian's azure-cli")
    work = a.work_dir or tempfile.mkdtemp(prefix="edgedr-azure-bench-")
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    # A copy: another build into the build directory must not relink it mid-run.
    edgedr = os.path.join(work, "edgedr-copy")  # not "edgedr": scripts/bench finds the build by that name
    shutil.copy2(a.edgedr, edgedr)

    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    r = {"load_before": open("/proc/loadavg").read().split()[0]}
    if "a" in parts:
        r["a"] = part_a(a, edgedr, work)
    if "b" in parts:
        r["b"] = part_b(a, edgedr, work)
    if "c" in parts:
        r["c"] = part_c(a, edgedr, work)
    r["load_after"] = open("/proc/loadavg").read().split()[0]
    r["targets"] = targets(parts, r)
    section = render(a, parts, r, started, (time.monotonic() - t0) / 60)
    print(section)
    if a.docs:
        write_section(a.docs, section)
        log(f"wrote {a.docs}")


if __name__ == "__main__":
    main()
