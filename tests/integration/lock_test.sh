#!/usr/bin/env bash
# Reliability P4: one run per runbook at a time. A second run of the same runbook exits 75 and
# names the holder, host, pid and run; SIGKILL the holder and the lock is free at once (flock, no
# stale-lock wait); `edgedr unlock NAME` needs --force.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

STATE=$TMP/state
HOST=$(hostname)
ME=$(id -un)

# mode=long holds the lock in a 30 s wait, mode=exec in a 30 s command, mode=short is quick.
cat >"$TMP/lock.yaml" <<'EOF'
edgedr: 1
name: lock-test
inputs:
  mode: { default: long, allowed: [long, exec, short] }
services:
  svc:
    failback:
      - name: back
        action: wait
        with: { duration: 1s }
    failover:
      - name: long
        action: wait
        with: { duration: 30s }
        timeout: 1m
        when: { inputs.mode: long }
      - name: sleeper
        action: exec
        with: { command: [sleep, "30"] }
        timeout: 1m
        when: { inputs.mode: exec }
      - name: quick
        action: wait
        with: { duration: 10ms }
EOF
sed 's/^name: lock-test/name: lock-other/' "$TMP/lock.yaml" >"$TMP/other.yaml"
LOCK=$STATE/locks/lock-test.lock

# lock_field FIELD: a field of the JSON in the lock file ("" when the file is empty or missing).
lock_field() {
  "$PY" -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))
except Exception: print("")' "$LOCK" "$1"
}

# --- 1. The holder runs; a second run of the same runbook is refused with the holder's details.
bg holder "$EDGEDR" failover "$TMP/lock.yaml" --yes --state-dir "$STATE"
A=$BG
if wait_until 15 state_has_event "$STATE" step.accepted svc/failover/long; then pass; else fail "the holder never started its wait: $(cat "$TMP/holder.err")"; fi
RUN_A=$(run_id_of "$STATE")
expect_eq "$(lock_field pid)" "$A" "the lock file names the holder's pid"
expect_eq "$(lock_field run_id)" "$RUN_A" "the lock file names the holder's run"
expect_eq "$(lock_field host)" "$HOST" "the lock file names the holder's host"
expect_eq "$(lock_field holder)" "$ME" "the lock file names the holder's user"
run "$EDGEDR" runs list --state-dir "$STATE"
expect_contains "$out" "running" "runs list shows the holder's run as running"

t0=$(now_ms)
expect_code 75 "a second failover of the same runbook exits 75" "$EDGEDR" failover "$TMP/lock.yaml" --yes --state-dir "$STATE"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 5000 ] && pass || fail "the refused run took ${ms} ms with --lock-timeout 0"
expect_contains "$err" "runbook 'lock-test' is locked by run $RUN_A" "75: names the runbook and the run"
expect_contains "$err" "by $ME" "75: names the holder"
expect_contains "$err" "on $HOST" "75: names the host"
expect_contains "$err" "(pid $A)" "75: names the pid"
expect_contains "$err" "since " "75: says since when"
expect_contains "$err" "edgedr unlock lock-test --force" "75: says how to break a stale lock"
n=$(ls "$STATE/runs" | wc -l)
expect_eq "$n" 1 "the refused run created no run directory"

# Another operation of the same runbook is refused too (the scope is the runbook), and so are a
# resume and a rollback of the live run itself.
expect_code 75 "a failback of the same runbook exits 75" "$EDGEDR" failback "$TMP/lock.yaml" --yes --state-dir "$STATE"
JA=$(journal_of "$STATE")
sum_before=$(md5sum <"$JA")
expect_code 75 "resuming the live run from another process exits 75" "$EDGEDR" resume "$RUN_A" --yes --state-dir "$STATE"
expect_contains "$err" "(pid $A)" "resume refused: names the pid"
expect_code 75 "rolling back the live run from another process exits 75" "$EDGEDR" rollback "$RUN_A" --yes --state-dir "$STATE"
expect_eq "$(md5sum <"$JA")" "$sum_before" "the refused resume and rollback left the live run's journal alone"

# --lock-timeout waits about that long, then gives up.
t0=$(now_ms)
expect_code 75 "--lock-timeout 1s: still held, exits 75" "$EDGEDR" failover "$TMP/lock.yaml" --yes --lock-timeout 1s --state-dir "$STATE"
ms=$(($(now_ms) - t0))
[ "$ms" -ge 900 ] && [ "$ms" -lt 8000 ] && pass || fail "--lock-timeout 1s gave up after ${ms} ms"

# A different runbook is a different scope.
expect_code 0 "another runbook runs while this one is locked" "$EDGEDR" failover "$TMP/other.yaml" --yes --input mode=short --state-dir "$STATE"

# unlock without --force: usage error, names the holder, changes nothing.
expect_code 2 "unlock without --force exits 2" "$EDGEDR" unlock lock-test --state-dir "$STATE"
expect_contains "$err" "$RUN_A" "unlock without --force names the holder's run"
expect_contains "$err" "--force" "unlock without --force says --force is needed"
[ -f "$LOCK" ] && pass || fail "unlock without --force removed the lock file"
expect_eq "$(lock_field run_id)" "$RUN_A" "unlock without --force left the lock file as it was"

# --- 2. SIGKILL the holder: the kernel drops the flock, a new run takes the lock at once.
kill9 "$A"
expect_eq "$(lock_field pid)" "$A" "the dead holder's details stay in the file"
run "$EDGEDR" runs list --state-dir "$STATE"
expect_contains "$out" "$RUN_A" "runs list still lists the killed run"
if grep -q "$RUN_A .*crashed" <<<"$out"; then pass; else fail "runs list does not show the killed run as crashed: $out"; fi
t0=$(now_ms)
expect_code 0 "right after SIGKILL of the holder, a new run takes the lock (no stale-lock wait)" \
  "$EDGEDR" failover "$TMP/lock.yaml" --yes --input mode=short --state-dir "$STATE"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 5000 ] && pass || fail "the run after the holder's death took ${ms} ms"
expect_eq "$(stat -c %s "$LOCK")" 0 "a finished run empties the lock file"
run "$EDGEDR" unlock lock-test --state-dir "$STATE"
expect_eq "$code" 2 "unlock without --force on a free lock still exits 2"
expect_contains "$err" "not locked" "unlock without --force on a free lock says it is not locked"

# The same when the holder dies while a command it started is still running: the command must
# not inherit the lock (or the journal) and keep the runbook locked after edgedr is gone.
bg holder2 "$EDGEDR" failover "$TMP/lock.yaml" --yes --input mode=exec --state-dir "$STATE"
B=$BG
if wait_until 15 state_has_event "$STATE" step.accepted svc/failover/sleeper; then pass; else fail "the exec holder never started its command: $(cat "$TMP/holder2.err")"; fi
CHILD=$(grep -o '"type":"step.accepted","step":"svc/failover/sleeper","attempt":1,"handle":{"pid":[0-9]*' "$(journal_of "$STATE")" | grep -o '[0-9]*$' || true)
if [ -n "$CHILD" ]; then EXTRA_CLEANUP+=("kill -9 -- -$CHILD"); fi
kill9 "$B"
if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then pass; else fail "the command of the killed run is not running (pid '$CHILD'); the test needs it alive"; fi
t0=$(now_ms)
expect_code 0 "holder killed while its command runs on: a new run takes the lock at once" \
  "$EDGEDR" failover "$TMP/lock.yaml" --yes --input mode=short --state-dir "$STATE"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 5000 ] && pass || fail "the run after the exec holder's death took ${ms} ms"
if [ -n "$CHILD" ]; then kill -9 -- "-$CHILD" 2>/dev/null || true; fi

# --- 3. Force unlock of a live holder: removes the file and reports who held it.
bg holder3 "$EDGEDR" failover "$TMP/lock.yaml" --yes --state-dir "$STATE"
C=$BG
if wait_until 15 state_has_event "$STATE" step.accepted svc/failover/long; then pass; else fail "the third holder never started its wait"; fi
RUN_C=$(run_id_of "$STATE")
expect_code 0 "unlock --force exits 0" "$EDGEDR" unlock lock-test --force --state-dir "$STATE"
expect_contains "$out" "removed the lock of 'lock-test' held by run $RUN_C" "unlock --force reports the holder"
expect_contains "$out" "(pid $C)" "unlock --force reports the holder's pid"
[ ! -e "$LOCK" ] && pass || fail "unlock --force left the lock file"
# As documented, a live holder no longer excludes anyone once its file is gone.
expect_code 0 "after unlock --force, a new run can start" "$EDGEDR" failover "$TMP/lock.yaml" --yes --input mode=short --state-dir "$STATE"
kill9 "$C"
expect_code 0 "unlock --force of a free lock exits 0" "$EDGEDR" unlock lock-test --force --state-dir "$STATE"
expect_contains "$out" "was not locked" "unlock --force of a free lock says so"

finish
