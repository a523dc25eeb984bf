#!/usr/bin/env bash
# Reliability P1/P2/P3 for the local actions: SIGKILL `edgedr failover` at many points of a run,
# then check what the journal on disk says against the side effects that happened, resume, and
# check that nothing was done twice that must not be.
#
# The runbook's exec steps append a line to a file; http.probe steps hit probe_server.py. Each
# side effect records how many intents of its step were in the journal at the moment it happened
# (the exec step greps the journal itself; the server does it for requests carrying ?step=), so
# "the intent was written before the side effect" is checked at the side effect, not afterwards.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

STATE=$TMP/state
SIDE=$TMP/side
start_server "$STATE/runs/*/journal.jsonl"

# effect.sh STATE SIDE NAME STEP-ID SLEEP: the side effect of one exec step. The sleep after it
# keeps the command running for a while, so crashes also land after the effect but before edgedr
# has seen the command finish.
cat >"$TMP/effect.sh" <<'EOF'
#!/bin/sh
n=$(cat "$1"/runs/*/journal.jsonl 2>/dev/null | grep -c "\"type\":\"step.intent\",\"step\":\"$4\"")
echo "$3 $n" >>"$2"
sleep "$5"
EOF

effect() { # effect NAME SLEEP: the exec command of step NAME
  echo "[/bin/sh, $TMP/effect.sh, $STATE, $SIDE, $1, svc/failover/$1, \"$2\"]"
}

# Steps in order (concurrency 1): a and c are not idempotent, b and d are.
cat >"$TMP/crash.yaml" <<EOF
edgedr: 1
name: crash-test
concurrency: 1
services:
  svc:
    failover:
      - name: a
        action: exec
        with: { command: $(effect a 0.15) }
      - name: w1
        action: wait
        with: { duration: 250ms }
      - name: p1
        action: http.probe
        with: { url: "http://127.0.0.1:$PORT/p1?step=svc/failover/p1&delay=0.15" }
      - name: b
        action: exec
        idempotent: true
        with: { command: $(effect b 0.15) }
      - name: w2
        action: wait
        with: { duration: 200ms }
      - name: c
        action: exec
        with: { command: $(effect c 0.15) }
      - name: p2
        action: http.probe
        with: { url: "http://127.0.0.1:$PORT/p2?step=svc/failover/p2&delay=0.2" }
      - name: w3
        action: wait
        with: { duration: 250ms }
      - name: d
        action: exec
        idempotent: true
        with: { command: $(effect d 0.15) }
EOF
expect_code 0 "the crash runbook is valid" "$EDGEDR" validate "$TMP/crash.yaml"

# check.py crash|resume ...: the invariants, one failure per line on stdout.
cat >"$TMP/check.py" <<'EOF'
import json, re, sys

ORDER = ["a", "w1", "p1", "b", "w2", "c", "p2", "w3", "d"]
EXEC = {"a": False, "b": True, "c": False, "d": True}   # step -> idempotent
PROBES = {"p1", "p2"}
sid = lambda name: "svc/failover/" + name

def events(path):
    out = []
    try:
        data = open(path, "rb").read().decode("utf-8", "replace")
    except OSError:
        return out
    for line in data.split("\n"):
        try:
            e = json.loads(line)
        except ValueError:
            continue                      # a torn tail; the binary's own recovery is tested elsewhere
        if isinstance(e, dict) and "type" in e:
            out.append(e)
    return out

def effects(side, requests):
    """name -> list of intent counts seen by each side effect, in order."""
    seen = {n: [] for n in ORDER}
    for line in open(side).read().splitlines():
        name, n = line.split()
        seen[name].append(int(n))
    for line in open(requests).read().splitlines():
        m = re.match(r"GET /(p\d)\?\S* intents=(\d+)$", line)
        if not m:
            print("unexpected request line: %r" % line)
            continue
        seen[m.group(1)].append(int(m.group(2)))
    return seen

def states(evs):
    st, intents = {}, {}
    for e in evs:
        t, step = e["type"], e.get("step", "")
        if not step.startswith("svc/failover/"):
            continue
        name = step.rsplit("/", 1)[1]
        if t == "step.intent":
            intents[name] = intents.get(name, 0) + 1
            st[name] = "intent"
        elif t == "step.accepted":
            st[name] = "accepted"
        elif t in ("step.succeeded", "step.skipped"):
            st[name] = "done"
        elif t == "step.failed":
            st[name] = "failed" if e.get("final") else "between-attempts"
    return st, intents

def p1(seen, intents, when, resent=()):
    # Every side effect saw its own intent (and one per earlier effect of the same step) on disk.
    # A step caught in flight by the crash may be sent once more on resume under the same intent
    # (same attempt and idempotency key) when its action reconciles it as never started or
    # idempotent: `resent` names those steps.
    for name, counts in seen.items():
        extra = 1 if name in resent else 0
        for k, n in enumerate(counts, 1):
            if n < max(1, k - extra):
                print("%s: side effect #%d of %s happened with only %d intent(s) in the journal (P1)" % (when, k, name, n))
        if len(counts) > intents.get(name, 0) + extra:
            print("%s: %s happened %d times but the journal has %d intent(s) (P1)" % (when, name, len(counts), intents.get(name, 0)))

mode = sys.argv[1]
if mode == "crash":
    journal, side, requests, out = sys.argv[2:6]
    evs = events(journal)
    st, intents = states(evs)
    seen = effects(side, requests)
    p1(seen, intents, "after the kill")
    started = any(e["type"] == "run.started" for e in evs)
    finished = any(e["type"] == "run.finished" for e in evs)
    json.dump({"started": started, "finished": finished, "states": st, "intents": intents,
               "counts": {n: len(c) for n, c in seen.items()}}, open(out, "w"))
    # For the shell: whether the run started, and each step's state at the crash.
    with open(out + ".sh", "w") as f:
        f.write("started=%s\nfinished=%s\nstates='%s'\n" % (started, finished, " ".join("%s:%s" % kv for kv in st.items())))
else:
    crash, journal, side, requests, code, show, run_id = sys.argv[2:9]
    code = int(code)
    c = json.load(open(crash))
    evs = events(journal)
    st, intents = states(evs)
    seen = effects(side, requests)
    counts = {n: len(v) for n, v in seen.items()}
    # Which step was caught in flight, and what must become of it.
    inflight = [n for n in ORDER if c["states"].get(n) in ("intent", "accepted")]
    p1(seen, intents, "after the resume", resent=[n for n in inflight if n in PROBES or EXEC.get(n)])
    operator = [n for n in inflight if n in EXEC and not EXEC[n]]
    resumed = [i for i, e in enumerate(evs) if e["type"] == "run.resumed"]
    after = evs[resumed[0]:] if resumed else []
    for n in ORDER:
        if c["states"].get(n) == "done" and intents.get(n, 0) != c["intents"].get(n, 0):
            print("%s had succeeded before the crash but the resume ran it again" % n)
    if operator:
        n = operator[0]
        where = c["states"][n]
        if code != 4:
            print("non-idempotent exec step %s was in flight (%s) at the crash: resume exited %d, want 4 "
                  "(stop for an operator, don't re-run)" % (n, where, code))
        paused = [e for e in evs if e["type"] == "run.paused"]
        if code == 4 and not (paused and sid(n) in paused[-1].get("reason", "")):
            print("resume stopped, but the journal's run.paused does not name %s: %s" % (n, paused[-1:] ))
        if counts[n] > 1 or intents.get(n, 0) != c["intents"].get(n, 0):
            print("non-idempotent step %s was sent again on resume (%d effects, %d intents before, %d after)"
                  % (n, counts[n], c["intents"].get(n, 0), intents.get(n, 0)))
        later = ORDER[ORDER.index(n) + 1:]
        for m in later:
            if counts[m] or intents.get(m, 0):
                print("step %s after the operator stop at %s ran anyway" % (m, n))
        if code == 4:
            for want in ("paused", sid(n), "by hand", "edgedr resume " + run_id, "edgedr rollback " + run_id):
                if want not in show:
                    print("`runs show` after the operator stop does not say %r:\n%s" % (want, show))
    else:
        if code != 0:
            print("resume exited %d, want 0 (states at the crash: %s)" % (code, c["states"]))
        elif not any(e["type"] == "run.finished" and e.get("status") == "succeeded" for e in evs):
            print("resume exited 0 but the journal has no run.finished succeeded")
        else:
            for n, idem in EXEC.items():
                if not idem and counts[n] != 1:
                    print("non-idempotent exec step %s happened %d times, want exactly once (P2)" % (n, counts[n]))
                if idem and not 1 <= counts[n] <= intents.get(n, 0):
                    print("idempotent exec step %s happened %d times with %d intents" % (n, counts[n], intents.get(n, 0)))
            for n in PROBES:
                if counts[n] < 1:
                    print("probe %s never reached the server" % n)
            # Read-only steps and idempotent exec steps caught in flight are run again.
            for n in inflight:
                if not any(e["type"] == "step.succeeded" and e.get("step") == sid(n) for e in after):
                    print("step %s was in flight at the crash and did not succeed after the resume" % n)
                if n in PROBES and counts[n] <= c["counts"][n]:
                    print("probe %s was in flight at the crash and was not sent again on resume" % n)
                if n in EXEC and counts[n] <= c["counts"][n]:
                    print("idempotent exec %s was in flight at the crash and was not run again on resume" % n)
EOF

N=${CRASH_ITERATIONS:-16}
SPAN=2.6   # seconds: about the length of an uncrashed run, startup included
stats=""
for i in $(seq 0 $((N - 1))); do
  rm -rf "$STATE"
  : >"$SIDE"
  : >"$REQUESTS"
  delay=$(awk -v i="$i" -v n="$N" -v r="$RANDOM" -v s="$SPAN" 'BEGIN { printf "%.3f", 0.05 + (i + r / 32768.0) * s / n }')
  bg crash "$EDGEDR" failover "$TMP/crash.yaml" --yes --state-dir "$STATE"
  pid=$BG
  sleep "$delay"
  kill9 "$pid"
  sleep 0.2 # let a command or request that was under way when edgedr died finish its effect
  J=$(journal_of "$STATE")
  "$PY" "$TMP/check.py" crash "${J:-/nonexistent}" "$SIDE" "$REQUESTS" "$TMP/crash.json" >"$TMP/check.out" || true
  msgs=$(cat "$TMP/check.out")
  if [ -z "$msgs" ]; then pass; else fail "iteration $i (kill after ${delay}s): $msgs"; fi

  source "$TMP/crash.json.sh"
  # The run id and status as `runs list` tells them.
  listed=$("$EDGEDR" runs list --state-dir "$STATE" -o json 2>/dev/null |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r[-1]["run_id"], r[-1]["status"]) if r else print("")')
  RUN=${listed% *}
  status=${listed#* }
  if [ -z "$RUN" ] || [ "$started" != True ]; then
    # Killed before the run's first event was on disk: nothing may have happened.
    if [ -s "$SIDE" ] || [ -s "$REQUESTS" ]; then
      fail "iteration $i: killed before run.started was journaled, yet side effects happened: $(cat "$SIDE" "$REQUESTS")"
    else pass; fi
    if [ -n "$RUN" ]; then
      expect_code 78 "iteration $i: a journal with no whole event cannot be resumed" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
    fi
    stats="$stats ${delay}s:not-started"
    mv "$STATE" "$TMP/done-$i" 2>/dev/null || true
    continue
  fi
  # `runs list` tells a dead run from a live one by its lock (the kernel dropped the flock).
  if [ "$finished" = True ]; then want_status=succeeded; else want_status=crashed; fi
  expect_eq "$status" "$want_status" "iteration $i: runs list status of the killed run"
  run "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
  rcode=$code
  rerr=$err
  show=$("$EDGEDR" runs show "$RUN" --state-dir "$STATE" 2>&1 || true)
  J=$(journal_of "$STATE")
  "$PY" "$TMP/check.py" resume "$TMP/crash.json" "$J" "$SIDE" "$REQUESTS" "$rcode" "$show" "$RUN" >"$TMP/check.out" || true
  msgs=$(cat "$TMP/check.out")
  if [ -z "$msgs" ]; then pass; else fail "iteration $i (kill after ${delay}s, listed as $status, states $states): $msgs; resume stderr: ${rerr: -400}"; fi
  expect_code 0 "iteration $i: the journal verifies after crash and resume" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
  stats="$stats ${delay}s:$status->$rcode"
  mv "$STATE" "$TMP/done-$i"
done
echo "kill points (delay: listed status -> resume exit):$stats"

# --- Deterministic crash points --------------------------------------------------------------
# One step per run (--only), each run in its own state directory.
cat >"$TMP/det.yaml" <<EOF
edgedr: 1
name: crash-det
services:
  svc:
    failover:
      - name: plain
        action: exec
        with: { command: $(effect plain 1) }
      - name: idem
        action: exec
        idempotent: true
        with: { command: $(effect idem 1) }
      - name: probe
        action: http.probe
        with: { url: "http://127.0.0.1:$PORT/p9?step=svc/failover/probe" }
EOF
lines() { grep -c "^$1 " "$SIDE" || true; }

# cut_after_intent STATE STEP: make the journal end just after STEP's intent, as a crash between
# the intent's fsync and the next record leaves it (a valid chain: only lines at the end go).
cut_after_intent() {
  local j n
  j=$(journal_of "$1")
  n=$(grep -n "\"type\":\"step.intent\",\"step\":\"$2\"" "$j" | tail -1 | cut -d: -f1)
  head -n "$n" "$j" >"$TMP/cut" && cat "$TMP/cut" >"$j"
}

# 1. Crash after the intent of a non-idempotent exec, before anything else was journaled: resume
#    stops for an operator (exit 4) and does not run it again; `runs show` says what to do.
STATE=$TMP/det1
: >"$SIDE"
expect_code 0 "det1: run plain" "$EDGEDR" failover "$TMP/det.yaml" --yes --only svc/failover/plain --state-dir "$STATE"
cut_after_intent "$STATE" svc/failover/plain
RUN=$(run_id_of "$STATE")
expect_code 4 "det1: intent only, not idempotent: resume stops for an operator" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_contains "$err" "may or may not have run" "det1: resume says why it stopped"
expect_eq "$(lines plain)" 1 "det1: the command was not run again"
run "$EDGEDR" runs show "$RUN" --state-dir "$STATE"
expect_contains "$out" "status: paused" "det1: runs show status"
expect_contains "$out" "svc/failover/plain [exec]" "det1: runs show lists the step"
expect_contains "$out" "check by hand" "det1: runs show says to check by hand"
expect_contains "$out" "edgedr resume $RUN" "det1: runs show gives the resume command"
expect_not_contains "$out" "edgedr resume RUN\`" "det1: the advice names the real run id, not a placeholder"
# The operator has checked; the advice says `edgedr resume RUN` then runs it again.
expect_code 0 "det1: after the operator's check, resume runs the step again and finishes" \
  "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(lines plain)" 2 "det1: the operator-approved re-run happened once"

# 2. The same crash point on an idempotent exec: resume simply runs it again.
STATE=$TMP/det2
: >"$SIDE"
expect_code 0 "det2: run idem" "$EDGEDR" failover "$TMP/det.yaml" --yes --only svc/failover/idem --state-dir "$STATE"
cut_after_intent "$STATE" svc/failover/idem
RUN=$(run_id_of "$STATE")
expect_code 0 "det2: intent only, idempotent: resume runs it again" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(lines idem)" 2 "det2: the idempotent command ran again"

# 3. The same crash point on a probe: read-only, so it is sent again.
STATE=$TMP/det3
: >"$REQUESTS"
expect_code 0 "det3: run probe" "$EDGEDR" failover "$TMP/det.yaml" --yes --only svc/failover/probe --state-dir "$STATE"
cut_after_intent "$STATE" svc/failover/probe
RUN=$(run_id_of "$STATE")
expect_code 0 "det3: intent only, probe: resume sends it again" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(grep -c ' /p9' "$REQUESTS" || true)" 2 "det3: the probe was sent again"

# 4. Crash while a non-idempotent exec runs, after its handle (pid) was journaled: the command
#    may have done its work, and a new process cannot follow the old pid. Resume must stop for an
#    operator (exit 4), not run it again, and not call the run "rolled back completely" while the
#    command's effect is still in place.
STATE=$TMP/det4
: >"$SIDE"
bg det4 "$EDGEDR" failover "$TMP/det.yaml" --yes --only svc/failover/plain --state-dir "$STATE"
if wait_until 10 state_has_event "$STATE" step.accepted svc/failover/plain; then pass; else fail "det4: the exec step was never accepted"; fi
kill9 "$BG"
sleep 1.2 # the orphaned command finishes its effect
RUN=$(run_id_of "$STATE")
expect_code 4 "det4: exec killed with its pid journaled, not idempotent: resume stops for an operator" \
  "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(lines plain)" 1 "det4: the command was not run again"
run "$EDGEDR" runs show "$RUN" --state-dir "$STATE"
expect_contains "$out" "status: paused" "det4: runs show says the run is paused for an operator"
expect_not_contains "$out" "every completed step was undone" "det4: runs show does not claim a clean rollback"

# 5. The same on an idempotent exec: resume runs it again and the run succeeds.
STATE=$TMP/det5
: >"$SIDE"
bg det5 "$EDGEDR" failover "$TMP/det.yaml" --yes --only svc/failover/idem --state-dir "$STATE"
if wait_until 10 state_has_event "$STATE" step.accepted svc/failover/idem; then pass; else fail "det5: the exec step was never accepted"; fi
kill9 "$BG"
sleep 1.2
RUN=$(run_id_of "$STATE")
expect_code 0 "det5: exec killed with its pid journaled, idempotent: resume runs it again and succeeds" \
  "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(lines idem)" 2 "det5: the idempotent command ran again"

finish
