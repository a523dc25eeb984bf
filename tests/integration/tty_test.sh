#!/usr/bin/env bash
# What an operator sees at a real terminal, driven through tmux (send-keys to type,
# capture-pane to read the screen): the confirmation prompt and its answers, the live view on
# stderr against plain lines when stderr is not a terminal, manual.approve answered at the prompt
# (yes, something else, or from another shell while the prompt is open), and Ctrl-C once, twice
# (then resume) and while waiting for the lock, with what the terminal says will happen next.
# Each command runs in its own tmux session of a fixed size on a private server; its exit code
# and the terminal's settings before and after are written to files by the session's script, and
# the terminal is checked to be left as it was found. Skipped when tmux is not installed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

if ! command -v tmux >/dev/null 2>&1; then
  echo "skipped: tmux is not installed"
  exit 0
fi

SOCK=$TMP/tmux.sock
printf 'set -g remain-on-exit on\nset -g history-limit 2000\n' >"$TMP/tmux.conf"
tm() { tmux -S "$SOCK" -f "$TMP/tmux.conf" "$@"; }
EXTRA_CLEANUP+=("tmux -S '$SOCK' kill-server")
COLS=120
ROWS=40

# pane NAME CMD...: runs CMD in a new tmux session NAME (stdin, stdout and stderr are its
# terminal). The session's script records `stty -g` before and after in $TMP/NAME.stty-before
# and .stty-after, and CMD's exit code in $TMP/NAME.code; then it reads one line into
# $TMP/NAME.leftover (what the terminal still held for the next program).
pane() {
  local name=$1
  shift
  {
    echo "stty -g >$TMP/$name.stty-before"
    printf '%q ' "$@"
    echo
    echo "echo \$? >$TMP/$name.code.tmp"
    echo "stty -g >$TMP/$name.stty-after"
    echo "mv $TMP/$name.code.tmp $TMP/$name.code"
    echo "read -r -t 10 leftover; printf '%s' \"\$leftover\" >$TMP/$name.leftover"
  } >"$TMP/$name.sh"
  tm new-session -d -s "$name" -x "$COLS" -y "$ROWS" "bash --norc --noprofile $TMP/$name.sh"
}

# screen NAME: what the terminal shows, scrollback included, wrapped lines joined.
screen() { tm capture-pane -p -J -S - -t "$1" 2>/dev/null; }

# wait_screen NAME SECONDS TEXT: polls the screen every 50 ms until it shows TEXT; sets $shown.
wait_screen() {
  local name=$1 limit=$2 text=$3 start
  start=$(now_ms)
  while :; do
    shown=$(screen "$name")
    [[ "$shown" == *"$text"* ]] && return 0
    if [ $(($(now_ms) - start)) -gt $((limit * 1000)) ]; then return 1; fi
    sleep 0.05
  done
}

# expect_screen NAME SECONDS TEXT DESCRIPTION
expect_screen() {
  if wait_screen "$1" "$2" "$3"; then pass; else fail "$4: the terminal never showed '$3'; it shows:
$shown"; fi
}

# wait_exit NAME SECONDS: waits for the command in session NAME to end; sets $code (124 when it
# outlived SECONDS) and $shown (the final screen). Checks the terminal was left as it was found.
wait_exit() {
  local name=$1
  if wait_until "$2" test -f "$TMP/$name.code"; then
    code=$(cat "$TMP/$name.code")
  else
    code=124
  fi
  shown=$(screen "$name")
  if [ "$code" != 124 ]; then
    expect_eq "$(cat "$TMP/$name.stty-after")" "$(cat "$TMP/$name.stty-before")" \
      "$name: the terminal's settings are as they were before edgedr ran"
  fi
}

# keys NAME KEYS...: types into session NAME (tmux send-keys: `Enter`, `C-c` are keys; -l text).
keys() {
  local name=$1
  shift
  tm send-keys -t "$name" "$@"
}

SIDE=$TMP/side
effects() { tr '\n' ' ' <"$SIDE" 2>/dev/null || true; }

# --- the confirmation rule -------------------------------------------------------------------
# Two waits in parallel (the live view has something to show), then a step that records it ran.
cat >"$TMP/view.yaml" <<EOF
edgedr: 1
name: tty-view
services:
  a:
    failover:
      - name: hold
        action: wait
        with: { duration: 3200ms }
  b:
    failover:
      - name: hold
        action: wait
        with: { duration: 3200ms }
  c:
    depends-on: [a, b]
    failover:
      - name: done
        action: exec
        with: { command: [/bin/sh, -c, "echo done >> $SIDE"] }
EOF
S=$TMP/s-confirm
: >"$SIDE"
# n, an empty answer, and y all stop: only `yes` goes ahead (docs/cli.md: "type yes").
for answer in n "" y; do
  name=confirm-${answer:-empty}
  pane "$name" "$EDGEDR" failover "$TMP/view.yaml" --state-dir "$S"
  expect_screen "$name" 10 "Type yes to go ahead:" "$name: asks for confirmation"
  expect_contains "$shown" "This runs failover of 'tty-view' (3 steps)." "$name: says what it would run"
  if [ -n "$answer" ]; then keys "$name" -l "$answer"; fi
  keys "$name" Enter
  wait_exit "$name" 10
  expect_eq "$code" 2 "$name: answering '$answer' exits 2"
  expect_contains "$shown" "cancelled; nothing was sent" "$name: says nothing was sent"
done
expect_eq "$(effects)" "" "confirmation refused: no step ran"
[ ! -e "$S/runs" ] && pass || fail "confirmation refused: a run was created: $(ls -R "$S")"

# --- yes, and the live view ------------------------------------------------------------------
pane confirm-yes "$EDGEDR" failover "$TMP/view.yaml" --state-dir "$S"
expect_screen confirm-yes 10 "Type yes to go ahead:" "confirm-yes: asks for confirmation"
keys confirm-yes -l yes
keys confirm-yes Enter
# Both waits in flight, each with its elapsed time, and the progress summary.
expect_screen confirm-yes 10 "a/failover/hold [wait] 1s" "live view: a's wait with its elapsed time"
expect_contains "$shown" "b/failover/hold [wait] 1s" "live view: b's wait in flight beside a's"
expect_contains "$shown" "0/3 done, 2 running, 0 failed" "live view: the progress summary"
expect_screen confirm-yes 10 "a/failover/hold [wait] 2s" "live view: the elapsed time advances"
wait_exit confirm-yes 15
expect_eq "$code" 0 "confirm-yes: the run succeeds"
expect_eq "$(effects)" "done " "confirm-yes: the steps ran"
RUN=$(run_id_of "$S")
expect_contains "$shown" "run $RUN (journal in $S/runs/$RUN)" "live view: the run id stays on the screen"
expect_contains "$shown" "ok    a/failover/hold (3s)" "live view: a finished step is a line that stays"
expect_contains "$shown" "$RUN failover of 'tty-view': succeeded" "live view: the summary at the end"
expect_contains "$shown" "3 succeeded, 0 failed, 0 undone, 0 skipped, 0 not run" "live view: the summary's counts"
# Once the run is over the live lines are gone: no step in flight, no progress bar left behind.
expect_not_contains "$shown" "running, 0 failed" "live view: the progress bar is cleared at the end"
expect_not_contains "$shown" "[wait] 2s" "live view: the in-flight lines are cleared at the end"
expect_not_contains "$shown" " start " "live view: no plain 'start' lines on a terminal"

# Plain lines when stderr is not a terminal (stdin and stdout still are): no live view, no
# colour, no cursor movement.
cat >"$TMP/plain.yaml" <<EOF
edgedr: 1
name: tty-plain
services:
  a:
    failover:
      - name: hold
        action: wait
        with: { duration: 300ms }
EOF
pane plain sh -c "exec '$EDGEDR' failover '$TMP/plain.yaml' --yes --state-dir '$TMP/s-plain' 2>'$TMP/plain.err'"
wait_exit plain 10
expect_eq "$code" 0 "plain: the run succeeds"
plain=$(cat "$TMP/plain.err")
if grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2} start a/failover/hold \[wait\]$' "$TMP/plain.err"; then pass; else fail "plain: no start line: $plain"; fi
if grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2} ok    a/failover/hold' "$TMP/plain.err"; then pass; else fail "plain: no ok line: $plain"; fi
expect_not_contains "$plain" $'\033' "plain: no escape sequences"
expect_not_contains "$plain" "running, 0 failed" "plain: no progress bar"
expect_contains "$plain" "failover of 'tty-plain': succeeded" "plain: the summary"

# --- manual.approve at the terminal ------------------------------------------------------------
cat >"$TMP/approve.yaml" <<EOF
edgedr: 1
name: tty-approve
inputs:
  gates: { default: two, allowed: [two, short] }
services:
  svc:
    failover:
      - name: gate
        action: manual.approve
        with: { message: "Move the users?" }
        timeout: 30s
        when: { inputs.gates: two }
      - name: second-gate
        action: manual.approve
        with: { message: "Really?" }
        timeout: 30s
        when: { inputs.gates: two }
      - name: short-gate
        action: manual.approve
        with: { message: "Anyone?" }
        timeout: 3s
        when: { inputs.gates: short }
      - name: after
        action: exec
        with: { command: [/bin/sh, -c, "echo after >> $SIDE"] }
EOF
me=$(id -un)

# yes at each of two prompts in a row.
S=$TMP/s-approve
: >"$SIDE"
pane approve "$EDGEDR" failover "$TMP/approve.yaml" --yes --state-dir "$S"
expect_screen approve 10 "Approve svc/failover/gate? Type yes to approve: " "approve: the prompt"
expect_contains "$shown" "approval needed for svc/failover/gate: Move the users?" "approve: the step's message"
# The prompt stays readable while the run waits: the live view does not draw over it.
sleep 0.6
shown=$(screen approve)
expect_eq "$(grep -c "^Approve svc/failover/gate? Type yes to approve: $" <<<"$shown")" 1 \
  "approve: the prompt is still on its own line after a few redraws"
expect_eq "$(effects)" "" "approve: nothing after the gate ran before the answer"
keys approve -l yes
keys approve Enter
expect_screen approve 10 "Approve svc/failover/second-gate? Type yes to approve: " "approve: the second gate asks too"
expect_contains "$shown" "ok    svc/failover/gate" "approve: the first gate went through"
keys approve -l yes
keys approve Enter
wait_exit approve 15
expect_eq "$code" 0 "approve: both answered yes: the run succeeds"
expect_eq "$(effects)" "after " "approve: the step after the gates ran"
J=$(journal_of "$S")
for step in gate second-gate; do
  if grep -qF "\"type\":\"approval.granted\",\"step\":\"svc/failover/$step\",\"by\":\"$me (prompt)\"" "$J"; then pass
  else fail "approve: no approval.granted for $step by '$me (prompt)': $(grep approval "$J")"; fi
done

# Approved from another shell while the prompt is open: the prompt closes, the run goes on, and
# what was typed at the closed prompt is not left for the next program to read.
S=$TMP/s-approve-other
: >"$SIDE"
pane approve-other "$EDGEDR" failover "$TMP/approve.yaml" --yes --state-dir "$S" --approve svc/failover/second-gate
expect_screen approve-other 10 "Approve svc/failover/gate? Type yes to approve: " "approve-other: the prompt"
keys approve-other -l ye
RUN=$(run_id_of "$S")
expect_code 0 "approve-other: edgedr approve from another shell" "$EDGEDR" approve "$RUN" svc/failover/gate --as other-shell --state-dir "$S"
wait_exit approve-other 15
expect_eq "$code" 0 "approve-other: the run succeeds"
expect_eq "$(effects)" "after " "approve-other: the step after the gate ran"
if grep -qF '"type":"approval.granted","step":"svc/failover/gate","by":"other-shell"' "$(journal_of "$S")"; then pass
else fail "approve-other: no approval.granted by other-shell"; fi
expect_contains "$shown" "ok    svc/failover/gate" "approve-other: the terminal shows the gate went through"
keys approve-other -l X
keys approve-other Enter
wait_until 10 test -f "$TMP/approve-other.leftover" || true
expect_eq "$(cat "$TMP/approve-other.leftover" 2>/dev/null)" X "approve-other: the half-typed answer was discarded with its prompt"

# Something other than yes: the step keeps waiting until its timeout, then the run rolls back.
S=$TMP/s-approve-no
: >"$SIDE"
pane approve-no "$EDGEDR" failover "$TMP/approve.yaml" --yes --input gates=short --state-dir "$S"
expect_screen approve-no 10 "Approve svc/failover/short-gate? Type yes to approve: " "approve-no: the prompt"
keys approve-no -l no
keys approve-no Enter
expect_screen approve-no 10 "not approved;" "approve-no: says the step was not approved"
expect_contains "$shown" "waits until its timeout" "approve-no: says the step waits until its timeout"
expect_screen approve-no 10 "svc/failover/short-gate [manual.approve]" "approve-no: the live view goes on after the answer"
wait_exit approve-no 15
expect_eq "$code" 1 "approve-no: the gate times out and the run rolls back (exit 1)"
expect_contains "$shown" "FAIL  svc/failover/short-gate: timed out after 3s" "approve-no: the timeout is on the screen"
expect_eq "$(effects)" "" "approve-no: nothing after the gate ran"
if has_event "$(journal_of "$S")" approval.granted; then fail "approve-no: an approval was journaled"; else pass; fi

# --- Ctrl-C --------------------------------------------------------------------------------------
cat >"$TMP/interrupt.yaml" <<EOF
edgedr: 1
name: tty-interrupt
services:
  a:
    failover:
      - name: hold
        action: wait
        with: { duration: 2500ms }
  b:
    failover:
      - name: hold
        action: wait
        with: { duration: 2500ms }
  c:
    depends-on: [a, b]
    failover:
      - name: last
        action: exec
        with: { command: [/bin/sh, -c, "echo last >> $SIDE"] }
EOF

# Once: the waits in flight finish, nothing new starts, then on-failure (rollback) applies.
S=$TMP/s-once
: >"$SIDE"
pane once "$EDGEDR" failover "$TMP/interrupt.yaml" --yes --state-dir "$S"
expect_screen once 10 "b/failover/hold [wait]" "Ctrl-C once: the waits are in flight"
t0=$(now_ms)
keys once C-c
expect_screen once 5 "Press Ctrl-C again to stop at once." "Ctrl-C once: says what a second one does"
expect_contains "$shown" "no new steps start; steps in flight finish" "Ctrl-C once: says what happens next"
wait_exit once 15
ms=$(($(now_ms) - t0))
expect_eq "$code" 1 "Ctrl-C once: the in-flight steps finish, then the run rolls back (exit 1)"
[ "$ms" -ge 1000 ] && pass || fail "Ctrl-C once: the run ended ${ms} ms after Ctrl-C; the waits in flight should have finished first"
expect_contains "$shown" "Press Ctrl-C again to stop at once." "Ctrl-C once: the message is still on the screen at the end"
expect_contains "$shown" "ok    a/failover/hold" "Ctrl-C once: a's wait finished"
expect_contains "$shown" "rolling back: interrupted by the operator" "Ctrl-C once: the screen says the run rolls back"
expect_contains "$shown" "failover of 'tty-interrupt': rolled-back" "Ctrl-C once: the summary"
expect_eq "$(effects)" "" "Ctrl-C once: no new step started"
if has_event "$(journal_of "$S")" step.intent c/failover/last; then fail "Ctrl-C once: c started after Ctrl-C"; else pass; fi

# Twice: stop at once (exit 130), resumable; the screen says how to resume.
S=$TMP/s-twice
: >"$SIDE"
pane twice "$EDGEDR" failover "$TMP/interrupt.yaml" --yes --state-dir "$S"
expect_screen twice 10 "b/failover/hold [wait]" "Ctrl-C twice: the waits are in flight"
keys twice C-c
expect_screen twice 5 "Press Ctrl-C again to stop at once." "Ctrl-C twice: the first one is acknowledged"
t0=$(now_ms)
keys twice C-c
wait_exit twice 10
ms=$(($(now_ms) - t0))
RUN=$(run_id_of "$S")
expect_eq "$code" 130 "Ctrl-C twice: exit 130"
[ "$ms" -lt 2000 ] && pass || fail "Ctrl-C twice: exit came ${ms} ms after the second Ctrl-C"
expect_contains "$shown" "stopping now" "Ctrl-C twice: says it stops now"
expect_contains "$shown" "edgedr resume $RUN" "Ctrl-C twice: says how to resume"
expect_eq "$(last_type "$(journal_of "$S")")" run.interrupted "Ctrl-C twice: the journal ends with run.interrupted"
expect_eq "$(effects)" "" "Ctrl-C twice: nothing new ran"
# Resumed in a terminal: the live view, then the run finishes.
pane resume "$EDGEDR" resume "$RUN" --yes --state-dir "$S"
wait_exit resume 15
expect_eq "$code" 0 "Ctrl-C twice: edgedr resume RUN --yes finishes the run"
expect_contains "$shown" "$RUN failover of 'tty-interrupt': succeeded" "resume: the summary"
expect_eq "$(effects)" "last " "resume: the step that had not started ran once"

# Before any step started (waiting for the lock another run holds): exit 130 at once, nothing
# sent, and no live lines left behind.
S=$TMP/s-lock
: >"$SIDE"
bg holder "$EDGEDR" failover "$TMP/interrupt.yaml" --yes --state-dir "$S"
HOLDER=$BG
wait_until 10 state_has_event "$S" step.intent a/failover/hold || fail "lock: the holder never started: $(cat "$TMP/holder.err")"
pane lockwait "$EDGEDR" failover "$TMP/interrupt.yaml" --yes --lock-timeout 30s --state-dir "$S"
expect_screen lockwait 10 "0/3 done, 0 running" "lock: the waiting run shows its view"
keys lockwait C-c
wait_exit lockwait 5
expect_eq "$code" 130 "lock: Ctrl-C while waiting for the lock exits 130"
expect_contains "$shown" "interrupted before any step started; nothing was sent" "lock: says nothing was sent"
expect_not_contains "$shown" "0 running" "lock: no live lines left behind"
kill9 "$HOLDER"

finish
