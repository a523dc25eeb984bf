#!/usr/bin/env bash
# Reliability P5 (a journal survives crashes) and P10 (tamper evidence), through the binary:
# torn last lines are cut back to the last whole record by `edgedr resume`; damage anywhere else
# is refused with its line number and changes nothing; `edgedr runs verify` names the exact line
# of an edited, deleted, inserted or swapped line.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

STATE=$TMP/state
SIDE=$TMP/side
cat >"$TMP/journal.yaml" <<EOF
edgedr: 1
name: journal-test
services:
  svc:
    failover:
      - name: one
        action: exec
        with: { command: [/bin/sh, -c, "echo one >> $SIDE"] }
      - name: pause
        action: wait
        with: { duration: 50ms }
      - name: two
        action: exec
        with: { command: [/bin/sh, -c, "echo two >> $SIDE"] }
EOF
expect_code 0 "a run to take the journal from" "$EDGEDR" failover "$TMP/journal.yaml" --yes --state-dir "$STATE"
RUN=$(run_id_of "$STATE")
J=$(journal_of "$STATE")
cp "$J" "$TMP/orig.jsonl"
N=$(wc -l <"$TMP/orig.jsonl")
[ "$N" -ge 10 ] && pass || fail "the journal has only $N lines"
expect_code 0 "the untouched journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
HEAD=$(sed -n 's/^head //p' <<<"$out")
effects() { tr '\n' ' ' <"$SIDE"; }
expect_eq "$(effects)" "one two " "each step's effect happened once"

# mutate PYTHON-EXPR: restore the original journal, then apply a change to L (its lines, without
# newlines) or d (its bytes) in python.
mutate() {
  cp "$TMP/orig.jsonl" "$J"
  "$PY" - "$J" "$1" <<'PY'
import sys, hashlib
path, code = sys.argv[1], sys.argv[2]
d = open(path, "rb").read()
L = d.decode().split("\n")[:-1]
last = d.rstrip(b"\n").rfind(b"\n") + 1          # start of the last line
env = {"L": L, "d": d, "last": last, "hashlib": hashlib, "out": None}
exec(code, env)
out = env["out"]
if out is None:
    out = ("\n".join(env["L"]) + "\n").encode()
open(path, "wb").write(out)
PY
}

# --- P5: a torn last line, cut anywhere, with or without garbage after it ---------------------
LAST_LEN=$(tail -1 "$TMP/orig.jsonl" | tr -d '\n' | wc -c)
cases=(
  "1:"
  "2:zeros8"
  "9:garbage"
  "$((LAST_LEN / 2)):"
  "$((LAST_LEN / 2)):brace-garbage-nl"
  "$((LAST_LEN - 2)):zeros32"
  "$((LAST_LEN - 1)):"
  "$LAST_LEN:"
  "0:garbage-nl"
  "$((LAST_LEN + 1)):zeros64"
)
for c in "${cases[@]}"; do
  k=${c%%:*}
  tail=${c#*:}
  mutate "
tails = {'': b'', 'zeros8': b'\0' * 8, 'zeros32': b'\0' * 32, 'zeros64': b'\0' * 64, 'garbage': b'garbage',
         'brace-garbage-nl': b'}{\"seq\":garbage\n', 'garbage-nl': b'garbage\n'}
out = d[:last + $k] + tails['$tail']"
  what="last line cut at byte $k${tail:+ + $tail}"
  # The torn line is the last one: line N, or N+1 when the cut kept line N whole.
  bad=$N
  if [ "$k" -gt "$LAST_LEN" ]; then bad=$((N + 1)); fi
  expect_code 1 "$what: runs verify fails" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
  expect_contains "$err" ":$bad: line $bad: " "$what: runs verify names line $bad"
  expect_code 0 "$what: resume recovers and finishes" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
  expect_code 0 "$what: the recovered journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
  # Everything before the torn line is kept byte for byte, then the resume's own events follow.
  keep=$((N - 1))
  if [ "$k" -gt "$LAST_LEN" ]; then keep=$N; fi
  if cmp -s <(head -n "$keep" "$J") <(head -n "$keep" "$TMP/orig.jsonl"); then pass; else fail "$what: the whole records before the torn line changed"; fi
  if [ "$keep" -lt "$N" ]; then
    expect_eq "$(sed -n "$((keep + 1))p" "$J" | grep -o '"type":"[a-z.]*"' || true)" '"type":"run.resumed"' "$what: the next record is the resume's"
  else
    # run.finished survived whole: the zeros are cut and the finished run is left as it was.
    if cmp -s "$J" "$TMP/orig.jsonl"; then pass; else fail "$what: the journal is not back to its original bytes"; fi
  fi
  expect_eq "$(effects)" "one two " "$what: no step ran again"
done

# A crash in the middle of a run: the journal ends inside the wait's accepted record. Resume cuts
# it, runs the wait again (read-only) and step two for the first time.
mutate "
i = next(n for n, l in enumerate(L) if '\"type\":\"step.accepted\",\"step\":\"svc/failover/pause\"' in l)
out = ('\n'.join(L[:i]) + '\n').encode() + L[i].encode()[:40]"
: >"$SIDE"
echo one >>"$SIDE"
expect_code 0 "cut inside the wait's record: resume finishes the run" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(effects)" "one two " "cut inside the wait's record: step two ran once, step one not again"
expect_code 0 "cut inside the wait's record: the journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
printf 'one\ntwo\n' >"$SIDE"

# runs show reads a torn journal up to the last whole record. It is a read-only command
# (cmd_runs.cpp: "Read without repairing"): the file stays as it is for resume to repair.
mutate "out = d[:last + 30]"
sum=$(md5sum <"$J")
expect_code 0 "runs show on a torn journal" "$EDGEDR" runs show "$RUN" --state-dir "$STATE"
expect_contains "$out" "succeeded    svc/failover/two" "runs show on a torn journal shows the whole records"
expect_eq "$(md5sum <"$J")" "$sum" "runs show left the torn journal unchanged"

# Two bad lines at the end are not a torn write: refused, nothing changed.
mutate "out = d + b'junk1\njunk2\n'"
sum=$(md5sum <"$J")
expect_code 78 "two garbage lines at the end: resume refuses" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_contains "$err" "line $((N + 1))" "two garbage lines: names the first"
expect_eq "$(md5sum <"$J")" "$sum" "two garbage lines: the journal was not changed"

# --- P5: damage in the middle is refused with its line number --------------------------------
M=7 # a middle line
for how in invalid-json valid-json; do
  if [ "$how" = invalid-json ]; then
    mutate "L[$M - 1] = L[$M - 1].replace('{', '[', 1)"
  else
    # a digit of the timestamp: still valid JSON, so only the hash chain can tell
    mutate "
s = L[$M - 1]; i = s.index('\"ts\":\"') + 8
L[$M - 1] = s[:i] + ('1' if s[i] != '1' else '2') + s[i + 1:]"
  fi
  sum=$(md5sum <"$J")
  expect_code 78 "a flipped byte in line $M ($how): resume refuses" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
  expect_contains "$err" "line $M" "a flipped byte ($how): resume names line $M"
  expect_contains "$err" "refusing to continue" "a flipped byte ($how): resume says it refuses"
  expect_eq "$(md5sum <"$J")" "$sum" "a flipped byte ($how): resume changed nothing"
  expect_eq "$(effects)" "one two " "a flipped byte ($how): nothing ran"
  expect_code 78 "a flipped byte in line $M ($how): rollback refuses too" "$EDGEDR" rollback "$RUN" --yes --state-dir "$STATE"
  expect_code 1 "a flipped byte in line $M ($how): runs verify fails" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
  expect_contains "$err" ":$M: line $M: " "a flipped byte ($how): runs verify names line $M"
done
# runs show still shows what the journal says up to the damage (cmd_runs.cpp: "show works on a
# damaged journal too, up to the damage"), and where the damage is.
mutate "L[$M - 1] = L[$M - 1].replace('{', '[', 1)"
run "$EDGEDR" runs show "$RUN" --state-dir "$STATE"
expect_eq "$code" 0 "runs show on a journal damaged in the middle: exit"
expect_contains "$out" "svc/failover/one" "runs show on a damaged journal shows the steps before the damage"
expect_contains "$out$err" "line $M" "runs show on a damaged journal names the damaged line"

# --- P10: runs verify names the exact line -----------------------------------------------------
M=6
verify_names() { # verify_names WHAT LINE
  local sum
  sum=$(md5sum <"$J")
  expect_code 1 "$1: runs verify fails" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
  expect_contains "$err" ":$2: line $2: " "$1: runs verify names line $2"
  expect_eq "$(md5sum <"$J")" "$sum" "$1: runs verify changed nothing"
}
mutate "L[$M - 1] = L[$M - 1].replace('\"attempt\":1', '\"attempt\":2')"
verify_names "an edited line $M" $M
expect_contains "$err" "changed after it was written" "an edited line: the reason"
mutate "del L[$M - 1]"
verify_names "a deleted line $M" $M
mutate "L.insert($M - 1, L[$M - 2])"
verify_names "a line inserted at $M (a copy of line $((M - 1)))" $M
mutate "L[$M - 1], L[$M] = L[$M], L[$M - 1]"
verify_names "lines $M and $((M + 1)) swapped" $M
mutate "L[0] = L[0].replace('\"user\":\"', '\"user\":\"mallory-')"
verify_names "an edited first line" 1
# A forged line with the right seq and prev inserted at M: every later line is out of place, but
# the forged one is the line that was inserted.
mutate "
prev = hashlib.sha256(L[$M - 2].encode()).hexdigest()
L.insert($M - 1, '{\"seq\":$M,\"ts\":\"2026-11-23T10:00:00.000Z\",\"type\":\"step.progress\",\"step\":\"svc/failover/one\",\"attempt\":1,\"message\":\"forged\",\"prev\":\"%s\"}' % prev)"
verify_names "a forged line (right seq and prev) inserted at $M" $M
# An edit of the very last line leaves the chain intact; only the head hash shows it.
mutate "L[-1] = L[-1].replace('succeeded', 'rolled-back')"
expect_code 0 "an edited last line: the chain itself cannot tell" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
head2=$(sed -n 's/^head //p' <<<"$out")
if [ -n "$HEAD" ] && [ "$head2" != "$HEAD" ]; then pass; else fail "an edited last line: the head hash did not change ($HEAD)"; fi
cp "$TMP/orig.jsonl" "$J"
expect_code 0 "the restored journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
expect_contains "$out" "head $HEAD" "the restored journal has the original head hash"
# runs verify also takes a journal file.
expect_code 0 "runs verify FILE" "$EDGEDR" runs verify "$J"
expect_contains "$out" "$N lines, hash chain intact" "runs verify FILE: line count"

finish
