#!/usr/bin/env bash
# Reliability P11: time jumps do not break timeouts. Under libfaketime the wall clock is moved
# (a fixed date, or a jump of hours forward or backward while a step is in flight); a step with
# `timeout: 3s` around a `wait: 1s` must still succeed, and a `wait: 5s` with `timeout: 2s` must
# still time out after about 2 s of real time.
#
# libfaketime is preloaded directly (not through the `faketime` wrapper, which sets FAKETIME and
# so overrides the file) with FAKETIME_TIMESTAMP_FILE and FAKETIME_NO_CACHE=1: the test rewrites
# that file while edgedr runs, and the next clock read inside edgedr sees the jump.
#
# FAKETIME_DONT_FAKE_MONOTONIC=1 (DONT_FAKE_MONOTONIC=1 for older libfaketime): by default
# libfaketime shifts CLOCK_MONOTONIC along with the wall clock. A real clock step (NTP, an operator
# running `date -s`, a VM resumed from suspend) changes only CLOCK_REALTIME; the kernel's monotonic
# clock never jumps. Faking it too would test a world that cannot happen, and would defeat the
# point: edgedr times its steps on steady_clock precisely because a wall-clock jump must not move it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

if ! command -v faketime >/dev/null 2>&1; then
  echo "skipped: faketime is not installed (Debian package faketime)"
  exit 0
fi
LIB=
for d in /usr/lib/x86_64-linux-gnu/faketime /usr/lib/aarch64-linux-gnu/faketime /usr/lib/faketime \
  /usr/lib64/faketime /usr/local/lib/faketime; do
  if [ -f "$d/libfaketimeMT.so.1" ]; then LIB=$d/libfaketimeMT.so.1 && break; fi
done
if [ -z "$LIB" ]; then
  echo "skipped: faketime is installed but libfaketimeMT.so.1 was not found"
  exit 0
fi
# A sanitizer build needs its runtime first in the preload list.
if [ "${EDGEDR_SANITIZE:-OFF}" = ON ]; then
  ASAN=$(gcc -print-file-name=libasan.so 2>/dev/null || true)
  if [ -f "$ASAN" ]; then LIB="$ASAN $LIB"; else echo "skipped: a sanitizer build, and libasan.so was not found" && exit 0; fi
fi

cat >"$TMP/faketime.yaml" <<'EOF'
edgedr: 1
name: faketime-test
services:
  quick:
    failover:
      - name: wait
        action: wait
        with: { duration: 1s }
        timeout: 3s
  slow:
    failover:
      - name: wait
        action: wait
        with: { duration: 5s }
        timeout: 2s
EOF
RC=$TMP/faketime.rc

# ft_run NAME SERVICE CLOCK: runs `failover --only SERVICE` under libfaketime. CLOCK is "static:SPEC"
# (the fake clock from the start) or "jump:SPEC" (real time until the step is in flight, then
# SPEC). Sets code, ms (real milliseconds) and J (the journal).
ft_run() {
  local name=$1 service=$2 clock=$3 state=$TMP/state-$1 t0
  if [ "${clock%%:*}" = static ]; then echo "${clock#*:}" >"$RC"; else echo "+0" >"$RC"; fi
  t0=$(now_ms)
  bg "$name" env LD_PRELOAD="$LIB" FAKETIME_TIMESTAMP_FILE="$RC" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 DONT_FAKE_MONOTONIC=1 \
    "$EDGEDR" failover "$TMP/faketime.yaml" --yes --only "$service" --state-dir "$state"
  local pid=$BG
  if [ "${clock%%:*}" = jump ]; then
    if wait_until 20 state_has_event "$state" step.accepted "$service/failover/wait"; then pass; else fail "$name: the wait never started: $(cat "$TMP/$name.err")"; fi
    echo "${clock#*:}" >"$RC.tmp" && mv "$RC.tmp" "$RC"
  fi
  wait_pid "$pid" 60
  ms=$(($(now_ms) - t0))
  J=$(journal_of "$state")
}

# ts_hours J TYPE STEP: hours between run.started and the event's ts (both as journaled, faked).
ts_hours() {
  "$PY" - "$1" "$2" "$3" <<'PY'
import json, sys
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
ev = [json.loads(l) for l in open(sys.argv[1])]
start = t(ev[0]["ts"])
e = [x for x in ev if x["type"] == sys.argv[2] and x.get("step", "") == sys.argv[3]][-1]
print(round((t(e["ts"]) - start).total_seconds() / 3600))
PY
}

for clock in "static:@2030-01-01 00:00:00" "jump:+2h" "jump:-2h" "jump:+3d" "static:+0 x10"; do
  tag=${clock//[^a-z0-9+-]/_}

  # wait 1s inside timeout 3s: succeeds.
  ft_run "quick$tag" quick "$clock"
  expect_eq "$code" 0 "$clock: wait 1s with timeout 3s succeeds"
  if has_event "$J" step.succeeded quick/failover/wait; then pass; else fail "$clock: the 1 s wait did not succeed: $(grep -o '"error":"[^"]*"' "$J" | head -1)"; fi
  [ "$ms" -lt 2900 ] && pass || fail "$clock: wait 1s took ${ms} ms of real time"
  # The fake clock really reached edgedr (or the test proves nothing).
  case $clock in
    static:@2030*) expect_eq "$(head -1 "$J" | grep -o '"ts":"2030-01-01' || true)" '"ts":"2030-01-01' "$clock: the journal is stamped with the fake date" ;;
    jump:+2h) expect_eq "$(ts_hours "$J" step.succeeded quick/failover/wait)" 2 "$clock: the wall clock jumped 2 h forward mid-step" ;;
    jump:-2h) expect_eq "$(ts_hours "$J" run.finished "")" -2 "$clock: the wall clock jumped 2 h back mid-step" ;;
    jump:+3d) expect_eq "$(ts_hours "$J" step.succeeded quick/failover/wait)" 72 "$clock: the wall clock jumped 3 days forward mid-step" ;;
  esac
  RUN=$(run_id_of "$TMP/state-quick$tag")
  expect_code 0 "$clock: the journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$TMP/state-quick$tag"

  # wait 5s inside timeout 2s: times out after about 2 s of real time, not hours early or late.
  ft_run "slow$tag" slow "$clock"
  expect_eq "$code" 1 "$clock: wait 5s with timeout 2s fails (and rolls back)"
  expect_eq "$(grep -o '"error":"timed out after 2s"' "$J" | head -1 || true)" '"error":"timed out after 2s"' "$clock: the failure is the timeout"
  [ "$ms" -ge 1900 ] && [ "$ms" -lt 4500 ] && pass || fail "$clock: the 2 s timeout fired after ${ms} ms of real time"
done

finish
