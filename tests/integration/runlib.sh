# Helpers for the integration tests that run edgedr in the background, crash it, and read its
# journals (crash, lock, journal, storage, interrupt, faketime and run tests). Source it after
# lib.sh. Not a test itself (the name does not end in _test.sh).
#
# It replaces lib.sh's EXIT trap with one that also stops every background process started here
# (by pid, never by name) and the probe server, then removes $TMP.

# The python3 on PATH may be a slow wrapper (a pyenv shim costs over a second per call); resolve
# the real interpreter once.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
[ -x "$PY" ] || PY=python3

BG_PIDS=()
SERVER_PID=
EXTRA_CLEANUP=()

_runlib_cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null || true
  done
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  for p in "${EXTRA_CLEANUP[@]}"; do
    eval "$p" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap _runlib_cleanup EXIT
trap 'exit 130' INT TERM

# now_ms: wall-clock milliseconds (for measuring how long something took).
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_server [JOURNAL-GLOB]: starts probe_server.py on a free port of 127.0.0.1; sets PORT,
# SERVER_PID and REQUESTS (its request log).
start_server() {
  REQUESTS=$TMP/requests.log
  : >"$REQUESTS"
  local args=(--log "$REQUESTS" --port-file "$TMP/port")
  if [ $# -ge 1 ]; then args+=(--journal-glob "$1"); fi
  "$PY" "$SRC/tests/integration/probe_server.py" "${args[@]}" 2>"$TMP/server.err" &
  SERVER_PID=$!
  local i
  for i in $(seq 1 100); do
    [ -s "$TMP/port" ] && break
    sleep 0.05
  done
  PORT=$(cat "$TMP/port" 2>/dev/null || true)
  if [ -z "$PORT" ]; then
    echo "probe server did not start: $(cat "$TMP/server.err")" >&2
    exit 1
  fi
}

# bg NAME CMD...: runs CMD in the background, stdout to $TMP/NAME.out, stderr to $TMP/NAME.err;
# sets BG (its pid). It is killed at exit if still running.
bg() {
  local name=$1
  shift
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  BG=$!
  BG_PIDS+=("$BG")
}

# wait_pid PID SECONDS: waits for a background process; sets $code (its exit status, or 124 after
# SIGKILL when it outlived SECONDS).
wait_pid() {
  local pid=$1 limit=$2 start
  start=$(now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    # a zombie still answers kill -0; `wait` below reaps it
    if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = "Z" ]; then break; fi
    if [ $(($(now_ms) - start)) -gt $((limit * 1000)) ]; then
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      code=124
      return 0
    fi
    sleep 0.02
  done
  set +e
  wait "$pid" 2>/dev/null
  code=$?
  set -e
}

# wait_until SECONDS CMD...: polls CMD every 10 ms until it succeeds; returns 1 on timeout.
wait_until() {
  local limit=$1 start
  shift
  start=$(now_ms)
  until "$@" >/dev/null 2>&1; do
    if [ $(($(now_ms) - start)) -gt $((limit * 1000)) ]; then return 1; fi
    sleep 0.01
  done
  return 0
}

# journal_of STATE-DIR: the journal of the only (or the newest) run in STATE-DIR, or nothing.
journal_of() {
  local j
  # newest by modification time: ids of runs started in the same second do not sort by age
  j=$(ls -1t "$1"/runs/*/journal.jsonl 2>/dev/null | head -1 || true)
  echo "$j"
}

# run_id_of STATE-DIR: the newest run id, from `edgedr runs list -o json`.
run_id_of() {
  "$EDGEDR" runs list --state-dir "$1" -o json 2>/dev/null |
    "$PY" -c 'import json,sys; runs=json.load(sys.stdin); print(runs[-1]["run_id"] if runs else "")'
}

# has_event JOURNAL TYPE [STEP]: true when JOURNAL has an event TYPE (for STEP).
has_event() {
  local needle="\"type\":\"$2\""
  if [ $# -ge 3 ]; then needle="$needle,\"step\":\"$3\""; fi
  [ -f "$1" ] && grep -qF "$needle" "$1"
}

# count_events JOURNAL TYPE [STEP]: how many such events.
count_events() {
  local needle="\"type\":\"$2\""
  if [ $# -ge 3 ]; then needle="$needle,\"step\":\"$3\""; fi
  if [ -f "$1" ]; then grep -cF "$needle" "$1" || true; else echo 0; fi
}

# last_type JOURNAL: the type of the journal's last event.
last_type() {
  tail -1 "$1" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["type"])' 2>/dev/null || true
}

# expect_eq GOT WANT DESCRIPTION
expect_eq() {
  if [ "$1" = "$2" ]; then pass; else fail "$3: got '$1', want '$2'"; fi
}

# "${SIGINT_DEFAULT[@]}" CMD...: runs CMD with SIGINT set back to its default action. A
# non-interactive shell starts background jobs with SIGINT ignored; edgedr must see SIGINT as a
# terminal sends it. An array, not a function, so `bg NAME "${SIGINT_DEFAULT[@]}" edgedr ...`
# leaves edgedr with the background job's pid (python execs it).
SIGINT_DEFAULT=("$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])')

# state_has_event STATE-DIR TYPE [STEP]: has_event on the newest journal in STATE-DIR, looked up
# anew on each call (for wait_until while the run is starting).
state_has_event() {
  local j
  j=$(journal_of "$1")
  shift
  [ -n "$j" ] && has_event "$j" "$@"
}

# kill9 PID: SIGKILL a background process started here and reap it (quietly).
kill9() {
  { kill -9 "$1" && wait "$1"; } 2>/dev/null || true
}

# json_get FILE EXPR: a Python expression over the JSON document `d` in FILE, printed.
json_get() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
