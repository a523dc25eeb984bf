#!/usr/bin/env bash
# edgedr drill against the simulator: a passing drill cleans up and exits 0; a drill that fails in
# the middle still cleans up every test failover and exits 1 (whatever on-failure says); a drill
# killed in the middle of its cleanup finishes it on resume, sending each cleanup once; CI
# annotations and the step summary. The external `edgedr sim serve` keeps the world, so the tests
# can read what the drill left behind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"
source "$(dirname "$0")/simlib.sh"

SCALE=0.01 # a simulated minute in 0.6 s

cat >"$TMP/rb.yaml" <<'YAML'
edgedr: 1
name: drill-e2e
objectives: { rto: 15m, rpo: 5m }
on-failure: pause            # drills clean up whatever this says
azure: { cloud: AzureCloud, subscription: 0b1c2d3e-0000-4000-8000-00000000d811 }
targets:
  recovery: { site-recovery: { resource-group: rg-drill, vault: rsv-drill } }
services:
  db:
    drill:
      - name: replication-healthy
        action: site-recovery.check-health
        with: { target: recovery, plan: rp-db, max-rpo: 5m, allows: TestFailover }
      - name: test-failover
        action: site-recovery.test-failover
        with: { target: recovery, plan: rp-db, network: /subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-drill }
      - name: healthy
        action: http.probe
        with: { url: "https://db.drill.e2e.example/health" }
  app:
    depends-on: [db]
    drill:
      - name: test-failover
        action: site-recovery.test-failover
        with: { target: recovery, plan: rp-app, network: /subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-drill }
      - name: healthy
        action: http.probe
        with: { url: "https://app.drill.e2e.example/health" }
        retry: { attempts: 2, interval: 5s }
YAML

# plans_clean: every recovery plan in the simulator's world is back to "protected": TestFailover
# allowed again, no test failover waiting for its cleanup.
plans_clean() {
  curl -s -m 10 "$SIM/_sim/world" >"$TMP/world.json"
  "$PY" - "$TMP/world.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
bad = [p["name"] for v in w["site-recovery"] for p in v["plans"]
       if "TestFailover" not in p["properties"]["allowedOperations"]]
print("clean" if not bad else "left behind: " + ", ".join(bad))
PY
}

# ---- 1. a passing drill: every step, then the cleanup; exit 0 --------------------------------
sim_start pass
st=$TMP/state-pass
expect_code 0 "a passing drill exits 0" "$EDGEDR" drill "$TMP/rb.yaml" --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_contains "$err" "cleaning up: every drill step passed" "the view says the cleanup began"
expect_contains "$err" "drill passed; cleaned up" "the summary says it passed and cleaned up"
j=$(journal_of "$st")
expect_contains "$(grep '"type":"rollback.started"' "$j")" '"cleanup":true,"drill_passed":true' "rollback.started marks the routine cleanup"
expect_eq "$(count_events "$j" undo.succeeded)" 2 "both test failovers were cleaned up"
expect_contains "$(head -1 "$j")" '"objectives":{"rto_seconds":900,"rpo_seconds":300}' "run.started journals the objectives"
expect_eq "$(plans_clean)" clean "nothing left behind in the world"
expect_eq "$(count_ops ReplicationRecoveryPlans_TestFailoverCleanup 202)" 2 "one cleanup per test failover"
sim_stop

# ---- 2. a failure in the middle: still cleaned up, exit 1 ----------------------------------------
sim_start fail 'probes:
  - { url: "https://app.drill.e2e.example/health", status: 503, body: "not yet" }'
st=$TMP/state-fail
export GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$TMP/summary.md TF_BUILD=True
expect_code 1 "a drill with a failing check exits 1" "$EDGEDR" drill "$TMP/rb.yaml" --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
unset GITHUB_ACTIONS GITHUB_STEP_SUMMARY TF_BUILD
expect_contains "$err" "cleaning up after a failed drill" "the view says it cleans up after the failure"
j=$(journal_of "$st")
expect_contains "$(grep '"type":"rollback.started"' "$j")" '"cleanup":true,"drill_passed":false' "the cleanup of a failed drill"
expect_eq "$(count_events "$j" undo.succeeded)" 2 "both test failovers were cleaned up after the failure"
expect_eq "$(plans_clean)" clean "a failed drill leaves nothing behind"
expect_eq "$(last_type "$j")" run.finished "the run finished (not paused, although on-failure says pause)"
# CI: annotations on stdout, a Markdown summary appended to $GITHUB_STEP_SUMMARY.
expect_contains "$out" "::error title=edgedr drill%3A step app/drill/healthy failed::" "a GitHub annotation names the failed step"
expect_contains "$out" "##vso[task.logissue type=error]edgedr drill: step app/drill/healthy failed" "an Azure DevOps logging command names the failed step"
expect_contains "$(cat "$TMP/summary.md" 2>/dev/null)" "| app/drill/healthy | http.probe | failed |" "the step summary has the failed step's row"
sim_stop

# ---- 3. killed in the middle of the cleanup: resume finishes it, each cleanup sent once -------------
sim_start kill
st=$TMP/state-kill
bg drill-kill "$EDGEDR" drill "$TMP/rb.yaml" --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
pid=$BG
if wait_until 60 state_has_event "$st" undo.accepted; then pass; else fail "the cleanup did not start: $(cat "$TMP/drill-kill.err")"; fi
kill9 "$pid"
j=$(journal_of "$st")
expect_eq "$(count_events "$j" undo.succeeded)" 0 "killed before any cleanup finished"
expect_code 0 "resume finishes the drill's cleanup" "$EDGEDR" resume "$(run_id_of "$st")" --simulator "$SIM" --time-scale $SCALE --state-dir "$st"
expect_contains "$err" "drill passed; cleaned up" "the resumed drill reports the passed drill"
expect_eq "$(count_events "$j" undo.succeeded)" 2 "both cleanups finished after the resume"
expect_eq "$(plans_clean)" clean "nothing left behind after the resume"
expect_eq "$(count_ops ReplicationRecoveryPlans_TestFailoverCleanup 202)" 2 "each cleanup was sent once"
sim_stop

finish
