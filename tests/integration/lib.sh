# Shared by the integration tests: run the real binary and count results.
# Each *_test.sh sources this, calls the check functions, and ends with `finish`.
set -u
EDGEDR=${EDGEDR:?set EDGEDR to the edgedr binary}
SRC=${EDGEDR_SOURCE_DIR:?set EDGEDR_SOURCE_DIR to the repository root}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
}

# run CMD...: runs with a 60 s guard and a 2 GiB address-space limit; sets $out, $err, $code.
# Under ASan (EDGEDR_SANITIZE=ON, set by ctest for a sanitizer build) there is no address-space
# limit: ASan reserves terabytes of shadow address space up front. The memory bound is checked by
# the normal build.
run() {
  local limit="ulimit -v 2097152"
  if [ "${EDGEDR_SANITIZE:-OFF}" = ON ]; then limit=:; fi
  set +e
  ($limit; timeout 60 "$@") >"$TMP/out" 2>"$TMP/err"
  code=$?
  set -e
  out=$(cat "$TMP/out")
  err=$(cat "$TMP/err")
}

# expect_code WANT DESCRIPTION CMD...
expect_code() {
  local want=$1 what=$2
  shift 2
  run "$@"
  if [ "$code" -eq "$want" ]; then pass; else fail "$what: exit $code, want $want; stderr: ${err:0:600}"; fi
}

# expect_contains HAYSTACK NEEDLE DESCRIPTION
expect_contains() {
  if [[ "$1" == *"$2"* ]]; then pass; else fail "$3: missing '$2' in: ${1:0:800}"; fi
}

expect_not_contains() {
  if [[ "$1" != *"$2"* ]]; then pass; else fail "$3: unexpected '$2'"; fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
set -e
