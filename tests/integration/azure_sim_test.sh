#!/usr/bin/env bash
# The binary against the simulator, end to end: Traffic Manager, Site Recovery and Backup through
# the real ARM pipeline. A run under --simulate; rollback restoring captured endpoint state (P8);
# a 429 storm with Retry-After (P9); 500s beyond the retries, a reset answer, invalid JSON (P12);
# a lost failover answer reconciled on resume, not re-sent (P3); SIGKILL while a failover job runs
# and resume polling it (P2); no secret in any output (P15). The external `edgedr sim serve` keeps
# its state and request log across edgedr processes, so the tests can count what arrived.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"
source "$(dirname "$0")/simlib.sh"

SCALE=0.01 # a simulated minute in 0.6 s
export E2E_SUB=0b1c2d3e-0000-4000-8000-00000000e2e0
SECRET=probe-secret-7f3a9c1e55
export E2E_PROBE_TOKEN=$SECRET

cat >"$TMP/rb.yaml" <<'YAML'
edgedr: 1
name: sim-e2e
on-failure: rollback
azure: { cloud: AzureCloud, subscription: "${env.E2E_SUB}" }
targets:
  traffic: { traffic-manager: { resource-group: rg-e2e, profile: tm-e2e } }
  recovery: { site-recovery: { resource-group: rg-e2e, vault: rsv-e2e } }
  vault: { backup: { resource-group: rg-e2e, vault: rsv-bk } }
services:
  app:
    failover:
      - name: failover-vms
        action: site-recovery.failover
        with: { target: recovery, plan: rp-app, mode: unplanned }
        timeout: 2h
      - name: disable-plant
        action: traffic-manager.disable-endpoint
        with: { target: traffic, endpoint: plant }
      - name: promote-dr
        action: traffic-manager.set-priority
        with: { target: traffic, endpoint: dr, priority: 1 }
      - name: healthy
        action: http.probe
        with:
          url: https://app.dr.e2e.example/health
          headers: { Authorization: "Bearer ${env.E2E_PROBE_TOKEN}" }
    backup:
      - action: backup.backup-now
        with: { target: vault, item: "VM;iaasvmcontainerv2;rg-app;app01" }
    restore:
      - action: backup.restore
        with: { target: vault, item: "VM;iaasvmcontainerv2;rg-app;app01", recovery-point: latest,
                restore: { targetResourceGroupId: /subscriptions/x/resourceGroups/rg-restore } }
YAML

# endpoint FIELD NAME: a property of endpoint NAME (priority, endpointStatus) in the simulator's world.
endpoint() {
  curl -s -m 10 "$SIM/_sim/world" >"$TMP/world.json"
  "$PY" - "$TMP/world.json" "$1" "$2" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
for p in w["traffic-manager"]:
    for e in p["properties"]["endpoints"]:
        if e["name"] == sys.argv[3]:
            print(e["properties"].get(sys.argv[2], ""))
PY
}


# ---- 1. --simulate: failover, backup and restore run end to end, in simulated time ------------
st=$TMP/state1
expect_code 0 "--simulate failover succeeds" "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulate --time-scale $SCALE --state-dir "$st"
expect_contains "$err" "simulating every target at http://127.0.0.1:" "the run says it is simulated"
expect_contains "$err" "job " "the failover reports its Site Recovery job"
j=$(journal_of "$st")
expect_contains "$(head -1 "$j")" '"simulated":true' "the journal marks the run simulated"
expect_eq "$(count_events "$j" step.succeeded)" 4 "all four steps succeeded"
expect_code 0 "--simulate backup succeeds" "$EDGEDR" backup "$TMP/rb.yaml" --simulate --time-scale $SCALE --state-dir "$st" -o json
expect_contains "$out" '"status": "succeeded"' "backup: succeeded in the JSON summary"
expect_code 0 "--simulate restore succeeds" "$EDGEDR" restore "$TMP/rb.yaml" --yes --simulate --time-scale $SCALE --state-dir "$st"
j=$(journal_of "$st")
expect_contains "$(grep step.succeeded "$j")" '"recovery-point-id"' "restore journals which recovery point it used"
expect_contains "$err" "app/restore/restore: restored from recovery point " "restore names the point it used"
expect_contains "$err" "old when the restore began)" "restore says how old that point was"
expect_code 0 "--dry-run prints the exact ARM calls" "$EDGEDR" failover "$TMP/rb.yaml" --dry-run
expect_contains "$out" "PATCH https://management.azure.com/subscriptions/$E2E_SUB/resourceGroups/rg-e2e/providers/Microsoft.Network/trafficmanagerprofiles/tm-e2e/" "dry run: the endpoint PATCH URL"

# Every example runbook's every operation, end to end against the simulator (its exec steps are
# simulated too: a rehearsal runs nothing on this machine).
for rb in "$SRC"/runbooks/examples/*.yaml; do
  extra=()
  case "$rb" in *lab-plant.yaml) extra=(--input "lab-dir=$TMP/no-lab") ;; esac
  ops=(failover failback backup restore drill)
  case "$rb" in *lab-plant.yaml) ops=(failover failback drill) ;; esac # it has no backup or restore steps
  for op in "${ops[@]}"; do
    expect_code 0 "$(basename "$rb") $op --simulate" "$EDGEDR" "$op" "$rb" --yes --simulate --time-scale 0.005 \
      --approve traffic/failover/approve-switch --state-dir "$TMP/examples" "${extra[@]}"
  done
done
expect_code 0 "the lab example's exec steps are simulated: no lab directory appears" test ! -e "$TMP/no-lab"
expect_code 78 "an operation without steps is refused, not a success" "$EDGEDR" backup "$SRC/runbooks/examples/lab-plant.yaml" --simulate --state-dir "$TMP/examples"
expect_contains "$err" "has no backup steps: nothing to run (it has steps for: failover, failback, drill)" "the refusal says which operations have steps"

# The README's main job, as written there (after `scripts/setup &&`), with this build's binary.
readme_job=$(grep -m1 '^scripts/setup && build/edgedr ' "$SRC/README.md" | sed 's|^scripts/setup && build/edgedr ||')
read -r -a readme_args <<<"$readme_job"
# Run from $TMP, so that files it writes (the drill's report) land there.
expect_code 0 "the README's main job: edgedr $readme_job" env -C "$TMP" "$EDGEDR" "${readme_args[@]/runbooks\//$SRC/runbooks/}" --state-dir "$TMP/readme"
expect_contains "$err" "succeeded" "the README's main job succeeds"
expect_contains "$err" "objective 15m: met" "the README's drill meets its RTO"
expect_contains "$(cat "$TMP/drill-report.html" 2>/dev/null)" "<svg" "the README's drill writes its HTML report"

# ---- 2. P8: a failed probe rolls back, restoring the captured endpoint state ------------------
sim_start rollback 'probes:
  - { url: "https://app.dr.e2e.example/health", status: 503, body: down }'
expect_eq "$(endpoint priority plant)/$(endpoint priority dr)/$(endpoint endpointStatus plant)" "1/2/Enabled" "the world starts plant 1, dr 2, plant enabled"
st=$TMP/state2
expect_code 1 "a failing probe rolls the failover back (exit 1)" "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_eq "$(endpoint priority plant)/$(endpoint priority dr)/$(endpoint endpointStatus plant)" "1/2/Enabled" "rollback restored the priorities and the status"
j=$(journal_of "$st")
expect_eq "$(count_events "$j" undo.succeeded)" 2 "two undos (set-priority, disable-endpoint) ran"
expect_eq "$(count_ops ReplicationRecoveryPlans_UnplannedFailover)" 1 "the failover POST was sent once"
sim_stop

# ---- 3. P9: three 429s with Retry-After, then success ---------------------------------------
sim_start throttle 'faults:
  - { operation: Endpoints_Update, status: 429, retry-after: 2, count: 3, code: SubscriptionRequestsThrottled }'
st=$TMP/state3
expect_code 0 "429 three times, then the run succeeds" "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_eq "$(count_ops Endpoints_Update 429)" 3 "three 429s were answered"
expect_eq "$(endpoint endpointStatus plant)" Disabled "the PATCH went through after the 429s"
sim_stop

# ---- 4. P12: 500s beyond the retries end the run cleanly, rolled back ------------------------
sim_start errors 'faults:
  - { operation: Endpoints_Update, status: 500, code: InternalServerError, message: "simulated outage" }'
st=$TMP/state4
expect_code 1 "500s on every PATCH: the step fails, the run rolls back" "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_contains "$err" "InternalServerError" "the error names the ARM code"
expect_eq "$(count_ops Endpoints_Update 500)" 4 "one try and three retries, no more"
sim_stop

sim_start garbage 'faults:
  - { operation: Endpoints_Get, effect: invalid-json }'
st=$TMP/state5
expect_code 1 "invalid JSON from ARM: the step fails, the run rolls back" "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
sim_stop

# ---- 5. P3: the failover's answer is lost; resume reconciles instead of re-sending -----------
sim_start reset 'faults:
  - { operation: ReplicationRecoveryPlans_UnplannedFailover, effect: reset, count: 1 }'
st=$TMP/state6
expect_code 4 "a lost failover answer stops the run for an operator (exit 4)" "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_eq "$(count_ops ReplicationRecoveryPlans_UnplannedFailover)" 1 "the POST arrived once and was not re-sent"
id=$(run_id_of "$st")
expect_code 0 "resume adopts the job the lost request started" "$EDGEDR" resume "$id" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_eq "$(count_ops ReplicationRecoveryPlans_UnplannedFailover)" 1 "still one failover POST after resume"
expect_code 2 "a simulated run is not resumed against real Azure" "$EDGEDR" resume "$id" --state-dir "$st"
sim_stop

# ---- 6. P2: SIGKILL while the failover job runs; resume polls the journaled job --------------
sim_start kill 'site-recovery:
  - vault: rsv-e2e
    resource-group: rg-e2e
    durations: { failover: 20m }'
st=$TMP/state7
bg killed "$EDGEDR" failover "$TMP/rb.yaml" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
pid=$BG
if wait_until 30 state_has_event "$st" step.accepted app/failover/failover-vms; then pass; else fail "the failover was accepted: $(cat "$TMP/killed.err")"; fi
kill9 "$pid"
id=$(run_id_of "$st")
expect_code 0 "resume after SIGKILL finishes the run" "$EDGEDR" resume "$id" --yes --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_eq "$(count_ops ReplicationRecoveryPlans_UnplannedFailover)" 1 "the failover POST arrived exactly once"
expect_code 0 "the journal verifies" "$EDGEDR" runs verify "$id" --state-dir "$st"
sim_stop

# ---- 7. P15: a secret given to a step appears in no output, log or journal -------------------
st=$TMP/state8
expect_code 0 "--debug run with a secret header" "$EDGEDR" --debug failover "$TMP/rb.yaml" --yes --simulate --time-scale $SCALE --state-dir "$st" -o json
expect_not_contains "$out$err" "$SECRET" "the secret is not in stdout or stderr"
expect_contains "$err" "arm: <- 200" "--debug logs the ARM exchanges"
if grep -rqF "$SECRET" "$st"; then fail "the secret is in the state directory"; else pass; fi

finish
