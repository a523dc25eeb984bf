#!/usr/bin/env bash
# `edgedr plan --preflight` end to end against the simulator: the credentials check, the
# runbook's preflight steps and the read-only steps at the start of the operation run, the
# endpoint a Traffic Manager step changes is read, a check placed after a change is not run;
# a failing check (a world-file fault) exits 1 and says why; -o json carries the table; and
# nothing is changed (the simulator's request log holds no write).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

SCALE=0.01
export PF_SUB=0b1c2d3e-0000-4000-8000-00000000f1f1

cat >"$TMP/rb.yaml" <<'YAML'
edgedr: 1
name: preflight-e2e
azure: { cloud: AzureCloud, subscription: "${env.PF_SUB}" }
targets:
  traffic: { traffic-manager: { resource-group: rg-pf, profile: tm-pf } }
  recovery: { site-recovery: { resource-group: rg-pf, vault: rsv-pf } }
  vault: { backup: { resource-group: rg-pf, vault: rsv-bk } }
preflight:
  - name: replication
    action: site-recovery.check-health
    with: { target: recovery, plan: rp-app, allows: UnplannedFailover }
  - name: backup-fresh
    action: backup.check-recovery-point
    with: { target: vault, item: "VM;iaasvmcontainerv2;rg-app;app01", max-age: 26h }
services:
  app:
    failover:
      - name: primary-answers
        action: http.probe
        with: { url: https://app.primary.pf.example/health }
      - name: failover-vms
        action: site-recovery.failover
        with: { target: recovery, plan: rp-app }
      - name: disable-plant
        action: traffic-manager.disable-endpoint
        with: { target: traffic, endpoint: plant }
      - name: standby-answers
        action: http.probe
        with: { url: https://app.dr.pf.example/health }
YAML

# pf_line NAME: the line of check NAME in the preflight table of $out ("" when absent).
pf_line() { printf '%s\n' "$out" | sed -n '/^Preflight/,$p' | grep -F "  $1 " || true; }

# ---- everything healthy: every check passes, nothing after a change is run ------------------
expect_code 0 "plan --preflight --simulate passes" "$EDGEDR" plan "$TMP/rb.yaml" --preflight --simulate --time-scale $SCALE
expect_contains "$(pf_line "azure credentials")" "PASS" "the credentials are checked"
expect_contains "$(pf_line "preflight/replication (site-recovery.check-health)")" "PASS" "the preflight check-health ran"
expect_contains "$(pf_line "preflight/backup-fresh (backup.check-recovery-point)")" "PASS  age " \
  "the preflight backup check ran and gives its outputs"
expect_contains "$(pf_line "app/failover/primary-answers (http.probe)")" "PASS" "a probe at the start of the operation ran"
expect_contains "$(pf_line "app/failover/disable-plant (traffic-manager.disable-endpoint)")" "PASS  the endpoint exists" \
  "the endpoint a step changes is read"
expect_eq "$(pf_line app/failover/standby-answers)" "" "a probe after a change is not run"
expect_eq "$(pf_line app/failover/failover-vms)" "" "a changing Site Recovery step is not called"
expect_contains "$out" "5 passed, 0 failed" "five checks"

# ---- a failing check: exit 1, the reason in the table and in -o json ----------------------
cat >"$TMP/down.yaml" <<'YAML'
probes:
  - { url: "https://app.primary.pf.example/health", status: 503, body: "down" }
YAML
expect_code 1 "a failing probe fails preflight (exit 1)" \
  "$EDGEDR" plan "$TMP/rb.yaml" --preflight --simulate --world "$TMP/down.yaml" --time-scale $SCALE
expect_contains "$(pf_line "app/failover/primary-answers (http.probe)")" "FAIL  GET https://app.primary.pf.example/health answered 503" \
  "the probe's line says FAIL and why"
expect_code 1 "-o json carries the preflight table" \
  "$EDGEDR" plan "$TMP/rb.yaml" --preflight --simulate --world "$TMP/down.yaml" --time-scale $SCALE -o json
printf '%s' "$out" >"$TMP/plan.json"
expect_eq "$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
failed = [c["name"] for c in d["preflight"]["checks"] if not c["passed"]]
print(d["plan"]["format"], d["preflight"]["passed"], ",".join(failed))' "$TMP/plan.json")" \
  "edgedr.plan/v1 False app/failover/primary-answers" "the JSON has the plan and the failed check"

# ---- nothing changes: against `sim serve`, no write request arrives ------------------------
bg sim "$EDGEDR" sim serve --runbook "$TMP/rb.yaml" --time-scale $SCALE
SIM_PID=$BG
SIM=""
for i in $(seq 1 200); do
  SIM=$(head -1 "$TMP/sim.out" 2>/dev/null || true)
  [ -n "$SIM" ] && break
  sleep 0.05
done
[ -n "$SIM" ] || {
  echo "sim serve did not start: $(cat "$TMP/sim.err")" >&2
  exit 1
}
expect_code 0 "plan --preflight --simulator passes" "$EDGEDR" plan "$TMP/rb.yaml" --preflight --simulator "$SIM" --time-scale $SCALE
curl -s -m 10 "$SIM/_sim/requests" >"$TMP/log.json"
expect_eq "$("$PY" -c '
import json, sys
log = json.load(open(sys.argv[1]))
writes = [r["method"] + " " + r["path"] for r in log if r["method"] != "GET" and r["operation"] != "token"]
print(len([r for r in log if r["method"] == "GET"]) > 0, writes)' "$TMP/log.json")" "True []" \
  "the simulator saw reads and no write"

# A missing endpoint: a world holding the profile without it.
cat >"$TMP/empty.yaml" <<'YAML'
traffic-manager:
  - profile: tm-pf
    resource-group: rg-pf
    endpoints:
      other: { priority: 1 }
YAML
bg sim2 "$EDGEDR" sim serve --world "$TMP/empty.yaml" --time-scale $SCALE
SIM2_PID=$BG
SIM2=""
for i in $(seq 1 200); do
  SIM2=$(head -1 "$TMP/sim2.out" 2>/dev/null || true)
  [ -n "$SIM2" ] && break
  sleep 0.05
done
expect_code 1 "a missing endpoint fails preflight" \
  "$EDGEDR" plan "$TMP/rb.yaml" --preflight --simulator "$SIM2" --time-scale $SCALE --only app
expect_contains "$(pf_line "app/failover/disable-plant (traffic-manager.disable-endpoint)")" "FAIL  profile tm-pf has no endpoint 'plant'" \
  "the endpoint check fails, saying why"

for p in "$SIM_PID" "$SIM2_PID"; do
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
done
finish
