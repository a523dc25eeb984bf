#!/usr/bin/env bash
# edgedr agent serve, the real binary: refusals (no, wrong or rotated-out token; missing or wrong
# client certificate; injection attempts; oversized bodies; plain HTTP off loopback) run nothing;
# a request sent twice, and again after a restart, runs once; and runbooks whose steps call the
# agent run, roll back (the explicit undo runs on the agent) and resume after kill -9 (the action
# ran once). Each action appends a line to a marker file, so "nothing ran" and "ran once" are
# counted on disk.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

M=$TMP/marks
mkdir -p "$M"
TOKEN=agent-token-0123456789-abcdef
NEW_TOKEN=agent-token-NEXT-9876543210
printf '%s\n' "$TOKEN" >"$TMP/t1"
printf '%s\n' "unused-second-token-0123456789" >"$TMP/t2"

# act.sh NAME [ARG]: one line in $M/NAME per run. slow.sh: a line at its start, then 2 s of work.
cat >"$TMP/act.sh" <<EOF
#!/bin/sh
echo "\${2:-}" >>"$M/\$1"
echo "did \$1 \${2:-}"
EOF
cat >"$TMP/slow.sh" <<EOF
#!/bin/sh
echo started >>"$M/slow"
sleep 2
echo slow done
EOF
chmod +x "$TMP/act.sh" "$TMP/slow.sh"

lines() { if [ -f "$M/$1" ]; then wc -l <"$M/$1" | tr -d ' '; else echo 0; fi; }

# config FILE LISTEN [TLS-LINE]: an agent configuration with the test's actions.
config() {
  cat >"$1" <<EOF
listen: $2
${3:-}
tokens: [$TMP/t1, $TMP/t2]
state-dir: $TMP/state-$(basename "$1" .yaml)
limits: { max-body: 4KiB, grace: 5s, kill-after: 1s }
actions:
  touch:
    command: [$TMP/act.sh, touch, "{site}"]
    args: { site: { pattern: "^[a-z0-9./-]{1,32}\$" } }
    timeout: 30s
  undo-touch:
    command: [$TMP/act.sh, undo-touch]
  fail:
    command: [/bin/sh, -c, "echo cannot do it; exit 3"]
  slow:
    command: [$TMP/slow.sh]
    timeout: 1m
checks:
  ok: { command: [/bin/true] }
EOF
}

# start_agent NAME CONFIG: serves in the background; sets URL and AGENT (its pid).
start_agent() {
  bg "$1" "$EDGEDR" agent serve --config "$2"
  AGENT=$BG
  URL=
  local i
  for i in $(seq 1 100); do
    URL=$(head -1 "$TMP/$1.out" 2>/dev/null || true)
    [ -n "$URL" ] && break
    kill -0 "$AGENT" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$URL" ]; then
    echo "agent $1 did not start: $(cat "$TMP/$1.err")" >&2
    exit 1
  fi
}

stop_agent() {
  kill -TERM "$AGENT" 2>/dev/null || true
  wait_pid "$AGENT" 15
}

# req METHOD PATH [curl args...]: sets $status and $body (curl bounded to 10 s).
req() {
  local method=$1 path=$2
  shift 2
  set +e
  status=$(curl -s -m 10 -o "$TMP/body" -w '%{http_code}' -X "$method" "$@" "$URL$path")
  set -e
  body=$(cat "$TMP/body" 2>/dev/null || true)
}
post_touch() { # post_touch SITE KEY TOKEN [curl args...]
  req POST /v1/actions/touch/runs "${@:4}" -H "Authorization: Bearer $3" -H "Idempotency-Key: $2" \
    -H 'Content-Type: application/json' --data-binary "$("$PY" -c 'import json,sys; print(json.dumps({"args":{"site":sys.argv[1]}}))' "$1")"
}
field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])'"$1"')' "$body"; }

# --- plain HTTP off loopback is refused at start, naming the file and line ---------------------
config "$TMP/open.yaml" 0.0.0.0:0
expect_code 78 "plain HTTP on 0.0.0.0 is refused" "$EDGEDR" agent serve --config "$TMP/open.yaml"
expect_contains "$err" "$TMP/open.yaml:1:9" "the refusal names the file and the listen line"
expect_contains "$err" "plain HTTP on '0.0.0.0' is refused" "the refusal says why"
config "$TMP/check.yaml" 127.0.0.1:0
expect_code 0 "--check accepts a loopback configuration" "$EDGEDR" agent serve --check --config "$TMP/check.yaml"

# --- tokens -----------------------------------------------------------------------------------
config "$TMP/a.yaml" 127.0.0.1:0
start_agent a "$TMP/a.yaml"
case "$URL" in http://127.0.0.1:*) pass ;; *) fail "the agent prints its URL first: '$URL'" ;; esac
req GET /v1/health -H "Authorization: Bearer $TOKEN"
expect_eq "$status" 200 "health with the token"
req POST /v1/actions/touch/runs -H "Idempotency-Key: k-none" --data-binary '{"args":{"site":"no-token"}}'
expect_eq "$status" 401 "no token: 401"
post_touch wrong k-wrong wrong-token-0000000000000
expect_eq "$status" 401 "a wrong token: 401"
expect_contains "$body" '"Unauthorized"' "the 401 body is an error object"
# Rotation: the first file's content is replaced; the old token stops working without a restart.
printf '%s\n' "$NEW_TOKEN" >"$TMP/t1"
post_touch rotated k-rotated "$TOKEN"
expect_eq "$status" 401 "a rotated-out token: 401"
sleep 0.3
expect_eq "$(lines touch)" 0 "refused requests ran nothing"
TOKEN=$NEW_TOKEN

# --- injection attempts and oversized bodies ---------------------------------------------------
n=0
for attack in 'x; rm -rf /' '$(touch /tmp/pwned)' $'x\nrm -rf /' '../../etc/passwd' 'a/../b'; do
  n=$((n + 1))
  post_touch "$attack" "k-attack-$n" "$TOKEN"
  expect_eq "$status" 400 "injection attempt $n: 400"
  expect_contains "$body" '"argument":"site"' "injection attempt $n names the argument"
done
head -c 10000 /dev/zero | tr '\0' ' ' >"$TMP/big"
req POST /v1/actions/touch/runs -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: k-big" --data-binary @"$TMP/big"
expect_eq "$status" 413 "an oversized body: 413"
sleep 0.3
expect_eq "$(lines touch)" 0 "injections and oversized bodies ran nothing"

# --- the same request twice, and after a restart: one run --------------------------------------
post_touch site-a k-once "$TOKEN"
expect_eq "$status" 202 "a run is accepted"
first=$(field '["id"]')
post_touch site-a k-once "$TOKEN"
expect_eq "$(field '["id"]')" "$first" "the same request again: the same run"
wait_until 10 grep -q site-a "$M/touch" || fail "the run did not happen"
stop_agent
expect_eq "$code" 0 "the agent stops on SIGTERM with exit 0"
start_agent a2 "$TMP/a.yaml"
post_touch site-a k-once "$TOKEN"
expect_eq "$(field '["id"]')" "$first" "the same request after a restart: the same run"
expect_eq "$(field '["state"]')" succeeded "the run kept its result across the restart"
post_touch site-b k-once "$TOKEN"
expect_eq "$status" 422 "the same key with other arguments: 422"
sleep 0.3
expect_eq "$(lines touch)" 1 "the action ran once"
expect_not_contains "$(cat "$TMP/a.err" "$TMP/a2.err")" "$TOKEN" "the access log holds no token"
expect_contains "$(cat "$TMP/a.err")" "POST /v1/actions/touch/runs 401" "the access log has a line per request"

# --- runbooks against the agent: run, roll back, resume ----------------------------------------
export AGENT_TOKEN=$TOKEN
S=$TMP/runs
runbook() { # runbook FILE STEPS...
  local file=$1
  shift
  {
    printf 'edgedr: 1\nname: agent-%s\nconcurrency: 1\ntargets:\n  plant:\n    agent: { url: "%s", token: "${env.AGENT_TOKEN}" }\n' \
      "$(basename "$file" .yaml)" "$URL"
    printf 'services:\n  svc:\n    failover:\n'
    printf '%s\n' "$@"
  } >"$file"
}
STEP_TOUCH='      - name: touch
        action: agent.run
        with: { target: plant, action: touch, args: { site: from-runbook } }
        undo: { action: agent.run, with: { target: plant, action: undo-touch } }'
runbook "$TMP/ok.yaml" "$STEP_TOUCH" '      - name: ok
        action: agent.check
        with: { target: plant, check: ok }'
expect_code 0 "a runbook whose steps call the agent runs" "$EDGEDR" failover "$TMP/ok.yaml" --yes --state-dir "$S"
expect_eq "$(grep -c from-runbook "$M/touch")" 1 "the runbook's action ran on the agent once"

runbook "$TMP/rollback.yaml" "$STEP_TOUCH" '      - name: fail
        action: agent.run
        with: { target: plant, action: fail }'
expect_code 1 "a failing agent step rolls the run back (exit 1)" "$EDGEDR" failover "$TMP/rollback.yaml" --yes --state-dir "$S"
expect_contains "$err" "cannot do it" "the failure shows the agent's output"
expect_eq "$(lines undo-touch)" 1 "the explicit undo ran on the agent"
expect_eq "$(grep -c from-runbook "$M/touch")" 2 "the second runbook's action ran once"

runbook "$TMP/resume.yaml" '      - name: slow
        action: agent.run
        with: { target: plant, action: slow }'
S2=$TMP/runs-resume
bg run "$EDGEDR" failover "$TMP/resume.yaml" --yes --state-dir "$S2"
RUNNER=$BG
wait_until 20 test -s "$M/slow" || fail "the slow action did not start"
kill9 "$RUNNER"
RUN=$(run_id_of "$S2")
expect_code 0 "resume after kill -9 finishes the run" "$EDGEDR" resume "$RUN" --state-dir "$S2"
expect_eq "$(lines slow)" 1 "the action the crash caught ran once"

# --- kill -9 of the agent mid-run: after a restart the run is interrupted, and a replay runs nothing
req POST /v1/actions/slow/runs -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: k-nolength"
expect_eq "$status" 411 "a POST without Content-Length is refused at once (not read until the client gives up)"
req POST /v1/actions/slow/runs -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: k-killed" -d ''
expect_eq "$status" 202 "a slow run is accepted"
killed=$(field '["id"]')
wait_until 10 test "$(lines slow)" = 2 || fail "the slow action did not start"
kill9 "$AGENT"
start_agent a3 "$TMP/a.yaml"
req GET "/v1/runs/$killed" -H "Authorization: Bearer $TOKEN"
expect_eq "$(field '["state"]')" interrupted "a run under way when the agent was killed is interrupted after a restart"
req POST /v1/actions/slow/runs -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: k-killed" -d ''
expect_eq "$(field '["id"]')" "$killed" "its replay answers with the interrupted run"
sleep 0.5
expect_eq "$(lines slow)" 2 "the replay of an interrupted run starts nothing"
stop_agent

# --- TLS with a client certificate required -----------------------------------------------------
if command -v openssl >/dev/null; then
  P=$TMP/pki
  mkdir -p "$P"
  mk_ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.crt" 2>/dev/null; }
  mk_cert() { # mk_cert NAME CA [SAN]
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null
    printf '%s\n' "${3:-extendedKeyUsage=clientAuth}" >"$P/$1.ext"
    openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" -CAcreateserial -days 1 \
      -extfile "$P/$1.ext" -out "$P/$1.crt" 2>/dev/null
  }
  mk_ca ca
  mk_ca rogue-ca
  mk_cert server ca "subjectAltName=IP:127.0.0.1"
  mk_cert client ca
  mk_cert intruder rogue-ca
  config "$TMP/tls.yaml" 127.0.0.1:0 "tls: { cert: $P/server.crt, key: $P/server.key, client-ca: $P/ca.crt }"
  start_agent tls "$TMP/tls.yaml"
  case "$URL" in https://127.0.0.1:*) pass ;; *) fail "a TLS agent serves https: '$URL'" ;; esac
  post_touch tls-none k-tls-1 "$TOKEN" --cacert "$P/ca.crt"
  expect_eq "$status" 000 "no client certificate: the handshake is refused"
  post_touch tls-rogue k-tls-2 "$TOKEN" --cacert "$P/ca.crt" --cert "$P/intruder.crt" --key "$P/intruder.key"
  expect_eq "$status" 000 "a client certificate from another CA: the handshake is refused"
  sleep 0.3
  expect_eq "$(grep -c tls- "$M/touch" || true)" 0 "refused handshakes ran nothing"
  post_touch tls-good k-tls-3 "$TOKEN" --cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key"
  expect_eq "$status" 202 "the right client certificate and token: accepted"
  post_touch tls-bad-token k-tls-4 wrong-token-0000000000000 --cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key"
  expect_eq "$status" 401 "the right certificate without the token: 401"
  wait_until 10 grep -q tls-good "$M/touch" || fail "the accepted TLS run did not happen"
  expect_eq "$(grep -c tls- "$M/touch")" 1 "only the authenticated request ran"
  stop_agent
else
  echo "openssl not found: TLS checks skipped"
fi

finish
