#!/usr/bin/env bash
# Reliability P6: storage errors stop the run before its next side effect (a full disk mid-run
# and from the start, a read-only state directory). The state directory
# is a small tmpfs; while a run sits in a `wait` step the test fills it up, so the journal's next
# append fails (ENOSPC). The run must stop with exit 4 (storage-failed) without running the next
# step, the journal must verify up to the failure, and once space is back `edgedr resume`
# finishes the run, running each step once.
#
# Needs root (CAP_SYS_ADMIN) for mount; skips with a reason otherwise.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

MNT=$TMP/mnt
mkdir -p "$MNT"
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: mounting a tmpfs needs root (running as uid $(id -u))"
  exit 0
fi
if ! mount -t tmpfs -o size=64k,mode=0700 edgedr-storage-test "$MNT" 2>"$TMP/mount.err"; then
  echo "skipped: cannot mount a tmpfs here: $(cat "$TMP/mount.err")"
  exit 0
fi
EXTRA_CLEANUP+=("umount '$MNT' || umount -l '$MNT'")

STATE=$MNT/state
SIDE=$TMP/side # the side effects live outside the full filesystem
start_server
# The step after the wait carries a long argument, so its intent record (which holds the step's
# parameters) is bigger than a page: writing it needs space a full tmpfs does not have, whatever
# room the journal's last page has left.
LONG=$(head -c 6000 /dev/zero | tr '\0' x)
cat >"$TMP/storage.yaml" <<EOF
edgedr: 1
name: storage-test
services:
  svc:
    failover:
      - name: before
        action: exec
        with: { command: [/bin/sh, -c, "echo before >> $SIDE"] }
      - name: hold
        action: wait
        with: { duration: 2s }
      - name: after
        action: exec
        with: { command: [/bin/sh, -c, "echo after >> $SIDE", "$LONG"] }
      - name: probe
        action: http.probe
        with: { url: "http://127.0.0.1:$PORT/after-the-failure" }
EOF
fill() { dd if=/dev/zero of="$MNT/fill" bs=4096 2>/dev/null || true; }
effects() { tr '\n' ' ' <"$SIDE" 2>/dev/null || true; }

# --- The disk fills up mid-run. ---------------------------------------------------------------
: >"$SIDE"
bg full "$EDGEDR" failover "$TMP/storage.yaml" --yes --state-dir "$STATE"
P=$BG
if wait_until 20 state_has_event "$STATE" step.accepted svc/failover/hold; then pass; else fail "the run never reached its wait: $(cat "$TMP/full.err")"; fi
fill
avail=$(df --output=avail -k "$MNT" | tail -1 | tr -d ' ')
expect_eq "$avail" 0 "the state directory's filesystem is full"
wait_pid "$P" 30
expect_eq "$code" 4 "a journal write fails: the run stops with exit 4"
err=$(cat "$TMP/full.err")
expect_contains "$err" "No space left on device" "the run says why it stopped"
expect_contains "$err" "no further request was sent" "the run says nothing more was sent"
expect_eq "$(effects)" "before " "the step after the failed write did not run"
expect_eq "$(wc -l <"$REQUESTS")" 0 "no request was sent after the failed write"
sleep 0.5
expect_eq "$(effects)" "before " "nothing ran afterwards either"

# Space is back: the journal verifies up to the failure (a write cut short by ENOSPC may leave a
# partial last line, which is a torn tail and nothing else).
rm -f "$MNT/fill"
RUN=$(run_id_of "$STATE")
run "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"
lines=$(grep -c '' "$(journal_of "$STATE")" || true)
if [ "$code" -eq 0 ]; then
  pass
elif [[ "$err" == *":$lines: line $lines: torn last line"* ]]; then
  pass
else
  fail "after the storage failure the journal does not verify up to it: exit $code: $err"
fi
expect_code 0 "with space back, resume finishes the run" "$EDGEDR" resume "$RUN" --yes --state-dir "$STATE"
expect_eq "$(effects)" "before after " "after the resume: each step ran once"
expect_eq "$(grep -c 'after-the-failure' "$REQUESTS" || true)" 1 "after the resume: the probe was sent once"
expect_code 0 "after the resume the journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"

# --- The disk is full before the run starts: nothing is run. ---------------------------------
# (a) The lock file is empty (the last run released it): writing the holder's details fails. That
#     is a storage failure before anything started, not a failed-and-rolled-back run (exit 1) and
#     not an internal error.
: >"$SIDE"
: >"$REQUESTS"
fill
run "$EDGEDR" failover "$TMP/storage.yaml" --yes --state-dir "$STATE"
if [ "$code" -eq 4 ] || [ "$code" -eq 78 ]; then pass; else fail "full from the start, empty lock file: exit $code, want 4 (storage failed) or 78 (cannot start); stderr: $err"; fi
expect_contains "$err" "No space left on device" "full from the start: says why"
expect_not_contains "$err" "internal error" "full from the start: a full disk is not an internal error"
expect_eq "$(effects)" "" "full from the start: no step ran"
expect_eq "$(wc -l <"$REQUESTS")" 0 "full from the start: no request was sent"
rm -f "$MNT/fill"

# (b) The lock file still holds a page (a crashed holder's details), so the lock is taken and the
#     journal's first record is what fails: storage-failed, exit 4.
echo '{"holder":"gone","host":"nowhere","pid":1,"run_id":"20000101T000000Z-000000","since":"2000-01-01T00:00:00.000Z"}' \
  >"$STATE/locks/storage-test.lock"
fill
expect_code 4 "full from the start, first journal record fails: exit 4" "$EDGEDR" failover "$TMP/storage.yaml" --yes --state-dir "$STATE"
expect_contains "$err" "No space left on device" "first record fails: says why"
expect_eq "$(effects)" "" "first record fails: no step ran"
expect_eq "$(wc -l <"$REQUESTS")" 0 "first record fails: no request was sent"
rm -f "$MNT/fill"

# --- A read-only state directory (a remount after I/O errors, a read-only root): nothing runs. ---
# (A remount while edgedr runs is refused by the kernel while it has the journal open for
# writing, so the read-only case is tested from the start.)
RO=$TMP/ro
mkdir -p "$RO"
if mount -t tmpfs -o size=64k,mode=0700,ro edgedr-storage-ro "$RO" 2>"$TMP/mount.err"; then
  EXTRA_CLEANUP+=("umount '$RO' || umount -l '$RO'")
  : >"$SIDE"
  : >"$REQUESTS"
  run "$EDGEDR" failover "$TMP/storage.yaml" --yes --state-dir "$RO/state"
  expect_eq "$code" 4 "read-only state directory: exit 4"
  expect_contains "$err" "Read-only file system" "read-only state directory: says why"
  expect_not_contains "$err" "internal error" "read-only state directory: not an internal error"
  expect_eq "$(effects)" "" "read-only state directory: no step ran"
  expect_eq "$(wc -l <"$REQUESTS")" 0 "read-only state directory: no request was sent"
else
  echo "note: cannot mount a read-only tmpfs here ($(cat "$TMP/mount.err")); that case is skipped"
fi

finish
