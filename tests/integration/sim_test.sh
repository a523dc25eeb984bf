#!/usr/bin/env bash
# edgedr sim serve: serves a world file on loopback, answers ARM with a token, logs requests,
# refuses bad world files (exit 78, file:line) and non-loopback addresses (exit 2), stops on SIGTERM.
source "$(dirname "$0")/lib.sh"

cat >"$TMP/world.yaml" <<'YAML'
traffic-manager:
  - profile: tm1
    resource-group: rg1
    endpoints:
      site-a: { priority: 1, target: a.example.net }
      site-b: { priority: 2, target: b.example.net, healthy: false }
probes:
  - { url: "https://app.example.invalid/health", status: 503, body: down }
YAML

"$EDGEDR" sim serve --world "$TMP/world.yaml" >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
base=""
for _ in $(seq 1 100); do
  base=$(head -1 "$TMP/serve.out" 2>/dev/null || true)
  [ -n "$base" ] && break
  sleep 0.1
done
case "$base" in http://127.0.0.1:*) pass ;; *) fail "sim serve prints its base URL first: '$base'" ;; esac

token=$(curl -sf -m 10 -d 'grant_type=client_credentials&client_id=a&client_secret=b&scope=x' "$base/t1/oauth2/v2.0/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') && pass || fail "token endpoint"
arm="$base/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/trafficmanagerprofiles/tm1/ExternalEndpoints/site-b?api-version=2026-09-01"
body=$(curl -s -m 10 -H "Authorization: Bearer $token" "$arm")
expect_contains "$body" '"endpointMonitorStatus":"Degraded"' "an ARM GET answers from the world"
status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$arm")
[ "$status" = 401 ] && pass || fail "ARM without a token: $status, want 401"
log=$(curl -s -m 10 "$base/_sim/requests")
expect_contains "$log" '"operation":"Endpoints_Get"' "the request log over HTTP"
expect_not_contains "$log" "$token" "the request log holds no token"

kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  fail "sim serve stops on SIGTERM"
  kill -KILL "$pid"
else
  wait "$pid" && pass || fail "sim serve exits 0 on SIGTERM"
fi

printf 'traffic-manager:\n  - profile: tm1\n    ttl: soon\n' >"$TMP/bad.yaml"
expect_code 78 "a bad world file exits 78" "$EDGEDR" sim serve --world "$TMP/bad.yaml"
expect_contains "$err" "bad.yaml:3:10" "the error names the file, line and column"
expect_contains "$err" "expected an integer" "the error says what was expected"
expect_code 78 "a missing world file exits 78" "$EDGEDR" sim serve --world "$TMP/none.yaml"
expect_code 2 "a non-loopback listen address is refused" "$EDGEDR" sim serve --world "$TMP/world.yaml" --listen 0.0.0.0:0
expect_contains "$err" "loopback" "the refusal says why"

finish
