#!/usr/bin/env bash
# The run commands' basics with local actions: --dry-run, confirmation without a TTY, pause then
# rollback in reverse completion order, retries, when:, -o json, manual.approve (approved from
# another process, never approved), and undo steps that use the outputs the forward step captured
# (reliability P8).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

SIDE=$TMP/side
start_server
effects() { tr '\n' ' ' <"$SIDE" 2>/dev/null || true; }
# json_get FILE PYTHON-EXPR: evaluates EXPR with d = the JSON document in FILE.

# --- --dry-run and confirmation ------------------------------------------------------------------
cat >"$TMP/basic.yaml" <<EOF
edgedr: 1
name: run-basic
inputs:
  mode: { default: unplanned, allowed: [planned, unplanned] }
services:
  svc:
    failover:
      - name: touch
        action: exec
        with: { command: [/bin/sh, -c, "echo touch >> $SIDE"] }
      - name: probe
        action: http.probe
        with: { url: "http://127.0.0.1:$PORT/health" }
      - name: planned-only
        action: exec
        with: { command: [/bin/sh, -c, "echo planned >> $SIDE"] }
        when: { inputs.mode: planned }
    failback:
      - name: back
        action: exec
        with: { command: [/bin/sh, -c, "echo back >> $SIDE"] }
EOF
S=$TMP/s-basic
: >"$SIDE"
expect_code 0 "--dry-run exits 0" "$EDGEDR" failover "$TMP/basic.yaml" --dry-run --state-dir "$S"
for step in svc/failover/touch svc/failover/probe svc/failover/planned-only; do
  expect_contains "$out" "$step" "--dry-run prints $step"
done
# Each step with what it would send: the probe's URL, the command line.
expect_contains "$out" "http://127.0.0.1:$PORT/health" "--dry-run prints the probe's request"
expect_contains "$out" "echo touch" "--dry-run prints the command it would run"
expect_contains "$err" "nothing was sent" "--dry-run says nothing was sent"
expect_eq "$(effects)" "" "--dry-run ran no command"
expect_eq "$(wc -l <"$REQUESTS")" 0 "--dry-run sent no request"
[ ! -e "$S/runs" ] && pass || fail "--dry-run created a run: $(ls -R "$S")"
[ ! -e "$S/locks" ] && pass || fail "--dry-run took the lock: $(ls -R "$S")"

expect_code 2 "failover without --yes and without a TTY exits 2" "$EDGEDR" failover "$TMP/basic.yaml" --state-dir "$S" </dev/null
expect_contains "$err" "--yes" "without --yes: says to add --yes"
expect_contains "$err" "nothing was sent" "without --yes: says nothing was sent"
expect_eq "$(effects)" "" "without --yes: no command ran"
expect_eq "$(wc -l <"$REQUESTS")" 0 "without --yes: no request was sent"
[ ! -e "$S/runs" ] && pass || fail "without --yes: a run was created"
expect_code 2 "failback without --yes and without a TTY exits 2" "$EDGEDR" failback "$TMP/basic.yaml" --state-dir "$S" </dev/null

# --- when: and -o json ---------------------------------------------------------------------------
run "$EDGEDR" failover "$TMP/basic.yaml" --yes -o json --state-dir "$S"
expect_eq "$code" 0 "failover -o json: exit 0"
echo "$out" >"$TMP/run.json"
if json_get "$TMP/run.json" '1' >/dev/null 2>&1; then pass; else fail "-o json: stdout is not one JSON document: ${out:0:300}"; fi
RUN=$(run_id_of "$S")
expect_eq "$(json_get "$TMP/run.json" 'd["run_id"]')" "$RUN" "-o json: run_id"
expect_eq "$(json_get "$TMP/run.json" 'd["status"]')" succeeded "-o json: status"
expect_eq "$(json_get "$TMP/run.json" '" ".join(s["id"] + "=" + s["status"] for s in d["steps"])')" \
  "svc/failover/touch=succeeded svc/failover/probe=succeeded svc/failover/planned-only=skipped" "-o json: steps"
expect_eq "$(effects)" "touch " "when: inputs.mode planned, run with the default: the step was skipped"
J=$(journal_of "$S")
if grep -q '"type":"step.skipped","step":"svc/failover/planned-only","reason":"when: inputs.mode' "$J"; then pass; else fail "when: no step.skipped with the reason in the journal"; fi
: >"$SIDE"
expect_code 0 "--input mode=planned runs the step" "$EDGEDR" failover "$TMP/basic.yaml" --yes --input mode=planned --state-dir "$S"
expect_eq "$(effects)" "touch planned " "when: matched: the step ran"
expect_code 78 "--input with a value outside allowed" "$EDGEDR" failover "$TMP/basic.yaml" --yes --input mode=sideways --state-dir "$S"

# --- pause, then rollback RUN: undos in reverse completion order, with captured outputs (P8) ----
# Three services in parallel finish in the order b, c, a (their commands take 0, 0.4 and 1.2 s);
# d waits for all three and fails. Each forward command prints a value and stores its new state;
# its undo writes back the value captured from the forward step's stdout.
for n in a b c; do echo "old-$n" >"$TMP/state-$n"; done
svc() { # svc NAME SLEEP
  cat <<EOF
  $1:
    failover:
      - name: fwd
        action: exec
        with: { command: [/bin/sh, -c, "sleep $2; cat $TMP/state-$1; echo new-$1 > $TMP/state-$1; echo $1 >> $SIDE"] }
        undo:
          action: exec
          with: { command: [/bin/sh, -c, "printf '%s' \"\$1\" > $TMP/state-$1; echo undo-$1 >> $SIDE", undo, "\${steps.$1.fwd.stdout}"] }
EOF
}
{
  printf 'edgedr: 1\nname: run-order\nservices:\n'
  svc a 1.2
  svc b 0
  svc c 0.4
  cat <<EOF
  d:
    depends-on: [a, b, c]
    failover:
      - name: boom
        action: exec
        with: { command: [/bin/sh, -c, "echo boom >&2; exit 3"] }
EOF
} >"$TMP/order.yaml"
S=$TMP/s-order
: >"$SIDE"
expect_code 4 "a failing step with --on-failure pause: exit 4" "$EDGEDR" failover "$TMP/order.yaml" --yes --on-failure pause --state-dir "$S"
expect_eq "$(effects)" "b c a " "pause: the three steps finished in the order b, c, a; nothing undone"
RUN=$(run_id_of "$S")
J=$(journal_of "$S")
order=$(grep -o '"type":"step.succeeded","step":"[a-z]*/failover/fwd"' "$J" | cut -d'"' -f8 | cut -d/ -f1 | tr '\n' ' ')
expect_eq "$order" "b c a " "pause: the journal records completion in the order b, c, a"
for n in a b c; do expect_eq "$(cat "$TMP/state-$n")" "new-$n" "pause: state $n was changed"; done
expect_code 2 "rollback without --yes and without a TTY exits 2" "$EDGEDR" rollback "$RUN" --state-dir "$S" </dev/null
expect_eq "$(effects)" "b c a " "rollback without --yes: nothing was undone"
# A completed rollback exits 1: "a step failed; the run was rolled back completely".
run "$EDGEDR" rollback "$RUN" --yes -o json --state-dir "$S"
expect_eq "$code" 1 "rollback RUN --yes: every undo ran (exit 1)"
echo "$out" >"$TMP/rollback.json"
expect_eq "$(effects)" "b c a undo-a undo-c undo-b " "rollback: undos in reverse completion order"
for n in a b c; do expect_eq "$(cat "$TMP/state-$n")" "old-$n" "rollback in a new process: state $n restored from the captured output"; done
undo_order=$(grep -o '"type":"undo.succeeded","step":"[a-z]*/failover/fwd"' "$J" | cut -d'"' -f8 | cut -d/ -f1 | tr '\n' ' ')
expect_eq "$undo_order" "a c b " "rollback: the journal records the undos in reverse completion order"
expect_eq "$(json_get "$TMP/rollback.json" 'd["status"]')" rolled-back "rollback -o json: status"
expect_eq "$(json_get "$TMP/rollback.json" '" ".join(s["status"] for s in d["steps"] if s["id"].endswith("/fwd"))')" "undone undone undone" "rollback -o json: the steps are undone"
expect_eq "$(json_get "$TMP/rollback.json" '[s["status"] for s in d["steps"] if s["id"] == "d/failover/boom"][0]')" failed \
  "rollback -o json: the step that failed is reported as failed, not as never run"
expect_code 0 "the rolled-back run's journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$S"

# The same failure with on-failure rollback (the default): the run rolls itself back (exit 1),
# in reverse completion order, restoring the captured values within the run.
for n in a b c; do echo "old-$n" >"$TMP/state-$n"; done
: >"$SIDE"
run "$EDGEDR" failover "$TMP/order.yaml" --yes -o json --state-dir "$TMP/s-order2"
expect_eq "$code" 1 "a failing step, on-failure rollback: exit 1"
echo "$out" >"$TMP/order2.json"
expect_eq "$(effects)" "b c a undo-a undo-c undo-b " "on-failure rollback: undos in reverse completion order"
for n in a b c; do expect_eq "$(cat "$TMP/state-$n")" "old-$n" "on-failure rollback: state $n restored from the captured output"; done
expect_eq "$(json_get "$TMP/order2.json" 'd["status"]')" rolled-back "-o json after a rollback: status"
expect_contains "$(json_get "$TMP/order2.json" '[s["error"] for s in d["steps"] if s["id"] == "d/failover/boom"][0]')" \
  "exited with status 3" "-o json after a rollback: the failed step's error"

# --- retries ---------------------------------------------------------------------------------------
# The command fails on its first two runs and succeeds on the third (a counter file).
cat >"$TMP/retry.yaml" <<EOF
edgedr: 1
name: run-retry
services:
  svc:
    failover:
      - name: flaky
        action: exec
        with: { command: [/bin/sh, -c, "n=\$(cat $TMP/count 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n > $TMP/count; [ \$n -ge 3 ]"] }
        retry: { attempts: 3, interval: 200ms }
  never:
    failover:
      - name: always-fails
        action: exec
        with: { command: [/bin/sh, -c, "echo x >> $TMP/count2; exit 1"] }
        retry: { attempts: 2, interval: 100ms }
EOF
S=$TMP/s-retry
rm -f "$TMP/count" "$TMP/count2"
run "$EDGEDR" failover "$TMP/retry.yaml" --yes --only svc -o json --state-dir "$S"
expect_eq "$code" 0 "retry: fails twice, then succeeds: exit 0"
echo "$out" >"$TMP/retry.json"
expect_eq "$(cat "$TMP/count")" 3 "retry: the command ran three times"
J=$(journal_of "$S")
expect_eq "$(count_events "$J" step.intent svc/failover/flaky)" 3 "retry: three intents (one per attempt)"
expect_eq "$(count_events "$J" step.failed svc/failover/flaky)" 2 "retry: two failed attempts"
expect_eq "$(grep -c '"type":"step.failed","step":"svc/failover/flaky","attempt":[12],.*"final":false' "$J" || true)" 2 "retry: the failed attempts are not final"
expect_eq "$(grep -c '"type":"step.retry","step":"svc/failover/flaky"' "$J" || true)" 2 "retry: two retries journaled"
if grep -q '"type":"step.succeeded","step":"svc/failover/flaky","attempt":3' "$J"; then pass; else fail "retry: no success on attempt 3"; fi
bad=$(grep -o '"type":"step.retry","step":"svc/failover/flaky","attempt":[0-9]*,"after_ms":[0-9]*' "$J" | grep -o '[0-9]*$' |
  awk '$1 < 160 || $1 > 240' || true)
expect_eq "$bad" "" "retry: each wait is the 200 ms interval with at most 20 % jitter"
expect_eq "$(json_get "$TMP/retry.json" 'd["steps"][0]["attempts"]')" 3 "retry: -o json reports 3 attempts"
run "$EDGEDR" runs show "$(run_id_of "$S")" --state-dir "$S"
expect_contains "$out" "attempts 3" "retry: runs show reports 3 attempts"
expect_code 1 "retry: a step that always fails is tried attempts times, then fails" \
  "$EDGEDR" failover "$TMP/retry.yaml" --yes --only never --state-dir "$TMP/s-retry2"
expect_eq "$(wc -l <"$TMP/count2")" 2 "retry: attempts: 2 means two runs"

# --- manual.approve --------------------------------------------------------------------------------
cat >"$TMP/approve.yaml" <<EOF
edgedr: 1
name: run-approve
inputs:
  gate-timeout: { default: long, allowed: [long, short] }
services:
  svc:
    failover:
      - name: gate
        action: manual.approve
        with: { message: "Move the users?" }
        timeout: 30s
        when: { inputs.gate-timeout: long }
      - name: short-gate
        action: manual.approve
        with: { message: "Anyone?" }
        timeout: 2s
        when: { inputs.gate-timeout: short }
      - name: after
        action: exec
        with: { command: [/bin/sh, -c, "echo after >> $SIDE"] }
EOF
S=$TMP/s-approve
: >"$SIDE"
bg approve "$EDGEDR" failover "$TMP/approve.yaml" --yes --state-dir "$S"
P=$BG
if wait_until 20 state_has_event "$S" approval.requested svc/failover/gate; then pass; else fail "approve: the run never asked for approval: $(cat "$TMP/approve.err")"; fi
RUN=$(run_id_of "$S")
expect_contains "$(cat "$TMP/approve.err")" "edgedr approve $RUN svc/failover/gate" "approve: the run says how to approve"
sleep 0.3
expect_eq "$(effects)" "" "approve: nothing after the gate ran before the approval"
expect_code 0 "edgedr approve RUN STEP" "$EDGEDR" approve "$RUN" svc/failover/gate --as "test-operator" --state-dir "$S"
t0=$(now_ms)
wait_pid "$P" 20
expect_eq "$code" 0 "approve: the approved run completes"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 5000 ] && pass || fail "approve: the run took ${ms} ms to notice the approval"
expect_eq "$(effects)" "after " "approve: the step after the gate ran"
J=$(journal_of "$S")
if grep -q '"type":"approval.granted","step":"svc/failover/gate","by":"test-operator"' "$J"; then pass; else fail "approve: no approval.granted by test-operator in the journal"; fi
expect_code 3 "approve: an unknown run" "$EDGEDR" approve 20000101T000000Z-000000 svc/failover/gate --state-dir "$S"

# Approved ahead of time.
: >"$SIDE"
expect_code 0 "--approve STEP ahead of time" "$EDGEDR" failover "$TMP/approve.yaml" --yes --approve svc/failover/gate --state-dir "$S"
expect_eq "$(effects)" "after " "--approve: the run went through"

# Never approved: fails at the step's 2 s timeout with a message that says how to approve.
: >"$SIDE"
S=$TMP/s-approve2
t0=$(now_ms)
run "$EDGEDR" failover "$TMP/approve.yaml" --yes --input gate-timeout=short -o json --state-dir "$S"
ms=$(($(now_ms) - t0))
expect_eq "$code" 1 "never approved: the step fails and the run rolls back (exit 1)"
[ "$ms" -lt 6000 ] && pass || fail "never approved: took ${ms} ms with a 2 s timeout"
echo "$out" >"$TMP/approve2.json"
RUN=$(run_id_of "$S")
expect_eq "$(effects)" "" "never approved: nothing after the gate ran"
error=$(json_get "$TMP/approve2.json" '[s["error"] for s in d["steps"] if s["id"] == "svc/failover/short-gate"][0]')
expect_contains "$error" "edgedr approve $RUN svc/failover/short-gate" "never approved: the step's failure says how to approve"
run "$EDGEDR" runs show "$RUN" --state-dir "$S"
expect_contains "$out" "edgedr approve" "never approved: runs show says how to approve"

finish
