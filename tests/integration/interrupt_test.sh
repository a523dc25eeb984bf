#!/usr/bin/env bash
# Reliability P13: interrupts are safe. SIGINT once: no new step starts, the step in flight
# finishes, then on-failure applies (rollback: undos run, exit 1; pause: exit 4). SIGINT twice:
# stop at once with exit 130, the journal ends with run.interrupted, and `edgedr resume` finishes
# the run without running completed steps again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

SIDE=$TMP/side
cat >"$TMP/interrupt.yaml" <<EOF
edgedr: 1
name: interrupt-test
inputs:
  mode: { default: wait, allowed: [wait, exec] }
services:
  svc:
    failover:
      - name: first
        action: exec
        with: { command: [/bin/sh, -c, "echo first >> $SIDE"] }
        undo:
          action: exec
          with: { command: [/bin/sh, -c, "echo undo-first >> $SIDE"] }
      - name: hold
        action: wait
        with: { duration: 2500ms }
        when: { inputs.mode: wait }
      - name: work
        action: exec
        with: { command: [/bin/sh, -c, "sleep 1.5; echo work >> $SIDE"] }
        when: { inputs.mode: exec }
        undo:
          action: exec
          with: { command: [/bin/sh, -c, "echo undo-work >> $SIDE"] }
      - name: last
        action: exec
        with: { command: [/bin/sh, -c, "echo last >> $SIDE"] }
EOF
effects() { tr '\n' ' ' <"$SIDE" 2>/dev/null || true; }

# start NAME STATE STEP ARGS...: starts a failover (SIGINT at its default action, as from a
# terminal) and waits until STEP is in flight; sets P and T0 (ms when STEP was seen in flight).
start() {
  local name=$1 state=$2 step=$3
  shift 3
  : >"$SIDE"
  bg "$name" "${SIGINT_DEFAULT[@]}" "$EDGEDR" failover "$TMP/interrupt.yaml" --yes --state-dir "$state" "$@"
  P=$BG
  if wait_until 20 state_has_event "$state" step.accepted "svc/failover/$step"; then pass; else fail "$name: $step never started: $(cat "$TMP/$name.err")"; fi
  T0=$(now_ms)
}

# --- SIGINT once during a wait, on-failure rollback (the default) ----------------------------
S=$TMP/s1
start once-rollback "$S" hold
kill -INT "$P"
wait_pid "$P" 30
ms=$(($(now_ms) - T0))
J=$(journal_of "$S")
expect_eq "$code" 1 "SIGINT once, rollback: exit 1 (rolled back)"
[ "$ms" -ge 2000 ] && pass || fail "SIGINT once: the run ended ${ms} ms after the wait began; the 2.5 s wait in flight should have finished first"
expect_contains "$(cat "$TMP/once-rollback.err")" "Ctrl-C again" "SIGINT once: says what a second one does"
if has_event "$J" step.succeeded svc/failover/hold; then pass; else fail "SIGINT once: the wait in flight did not finish"; fi
if has_event "$J" step.intent svc/failover/last; then fail "SIGINT once: a new step started after the interrupt"; else pass; fi
expect_eq "$(effects)" "first undo-first " "SIGINT once, rollback: the completed step was undone, nothing new ran"
if grep -q '"type":"rollback.started","reason":"interrupted by the operator"' "$J"; then pass; else fail "SIGINT once: no rollback.started for the interrupt"; fi
expect_eq "$(last_type "$J")" run.finished "SIGINT once, rollback: the journal ends with run.finished"
expect_code 0 "SIGINT once, rollback: the journal verifies" "$EDGEDR" runs verify "$(run_id_of "$S")" --state-dir "$S"

# --- SIGINT once during an exec, on-failure rollback: the command finishes, both undos run in
#     reverse completion order --------------------------------------------------------------------
S=$TMP/s2
start once-exec "$S" work --input mode=exec
kill -INT "$P"
wait_pid "$P" 30
J=$(journal_of "$S")
expect_eq "$code" 1 "SIGINT once during an exec: exit 1 (rolled back)"
if has_event "$J" step.succeeded svc/failover/work; then pass; else fail "SIGINT once during an exec: the command in flight did not finish: $(tail -3 "$J")"; fi
expect_eq "$(effects)" "first work undo-work undo-first " "SIGINT once during an exec: command finished, then undos in reverse"

# --- SIGINT once, --on-failure pause: exit 4, then resume finishes ---------------------------
S=$TMP/s3
start once-pause "$S" hold --on-failure pause
kill -INT "$P"
wait_pid "$P" 30
J=$(journal_of "$S")
RUN=$(run_id_of "$S")
expect_eq "$code" 4 "SIGINT once, pause: exit 4"
if has_event "$J" step.succeeded svc/failover/hold; then pass; else fail "SIGINT once, pause: the wait in flight did not finish"; fi
expect_eq "$(effects)" "first " "SIGINT once, pause: nothing new ran, nothing was undone"
expect_eq "$(last_type "$J")" run.paused "SIGINT once, pause: the journal ends with run.paused"
run "$EDGEDR" runs show "$RUN" --state-dir "$S"
expect_contains "$out" "status: paused" "SIGINT once, pause: runs show"
expect_contains "$out" "edgedr resume $RUN" "SIGINT once, pause: runs show says how to continue"
expect_code 0 "SIGINT once, pause: resume finishes the run" "$EDGEDR" resume "$RUN" --yes --state-dir "$S"
expect_eq "$(effects)" "first last " "SIGINT once, pause, resumed: each step ran once"

# --- SIGINT twice: exit 130 at once, resumable -------------------------------------------------
S=$TMP/s4
start twice "$S" hold
kill -INT "$P"
sleep 0.2
t1=$(now_ms)
kill -INT "$P"
wait_pid "$P" 30
ms=$(($(now_ms) - t1))
J=$(journal_of "$S")
RUN=$(run_id_of "$S")
expect_eq "$code" 130 "SIGINT twice: exit 130"
[ "$ms" -lt 1500 ] && pass || fail "SIGINT twice: exit came ${ms} ms after the second SIGINT (the wait had 2 s left)"
expect_eq "$(last_type "$J")" run.interrupted "SIGINT twice: the journal ends with run.interrupted"
if has_event "$J" step.succeeded svc/failover/hold; then fail "SIGINT twice: the wait did not stop at once"; else pass; fi
expect_eq "$(effects)" "first " "SIGINT twice: nothing was undone or started"
run "$EDGEDR" runs list --state-dir "$S"
if grep -q "$RUN .*interrupted" <<<"$out"; then pass; else fail "SIGINT twice: runs list does not show the run as interrupted: $out"; fi
run "$EDGEDR" runs show "$RUN" --state-dir "$S"
expect_contains "$out" "status: interrupted" "SIGINT twice: runs show status"
expect_contains "$out" "edgedr resume $RUN" "SIGINT twice: runs show says how to continue"
expect_code 0 "SIGINT twice: the journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$S"
expect_code 0 "SIGINT twice: resume finishes the run" "$EDGEDR" resume "$RUN" --yes --state-dir "$S"
expect_eq "$(effects)" "first last " "SIGINT twice, resumed: completed steps did not run again"
expect_eq "$(count_events "$J" step.intent svc/failover/first)" 1 "SIGINT twice, resumed: one intent for the completed step"
expect_eq "$(last_type "$J")" run.finished "SIGINT twice, resumed: the journal ends with run.finished"
expect_code 0 "SIGINT twice, resumed: the journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$S"

# --- SIGTERM: stop at once like a second Ctrl-C (docs/cli.md), resumable ------------------------
S=$TMP/s5
start term "$S" hold
t1=$(now_ms)
kill -TERM "$P"
wait_pid "$P" 30
ms=$(($(now_ms) - t1))
J=$(journal_of "$S")
RUN=$(run_id_of "$S")
expect_eq "$code" 130 "SIGTERM: exit 130"
[ "$ms" -lt 1500 ] && pass || fail "SIGTERM: exit came ${ms} ms after the signal"
expect_eq "$(last_type "$J")" run.interrupted "SIGTERM: the journal ends with run.interrupted"
expect_code 0 "SIGTERM: resume finishes the run" "$EDGEDR" resume "$RUN" --yes --state-dir "$S"
expect_eq "$(effects)" "first last " "SIGTERM, resumed: each step ran once"

finish
