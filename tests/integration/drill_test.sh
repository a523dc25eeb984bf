#!/usr/bin/env bash
# edgedr drill against the simulator: a passing drill cleans up and exits 0, scored (RTO, RPO) with
# a JUnit file valid against the JUnit schema, Prometheus metrics that parse, and its HTML report;
# the same drill with a slow test failover misses its RTO and exits 5; a drill that fails in
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

# ---- 1b. scored: JUnit, metrics, report, -o json; the same drill too slow for its RTO exits 5 --------
st=$TMP/state-score
expect_code 0 "a drill writes --junit, --metrics-file and --report" "$EDGEDR" drill "$TMP/rb.yaml" --simulate --time-scale $SCALE \
  --state-dir "$st" --junit "$TMP/junit.xml" --metrics-file "$TMP/drill.prom" --report "$TMP/report.html" -o json
expect_contains "$err" "RTO " "the summary gives the measured RTO"
expect_contains "$err" "objective 15m: met" "and sets it against the objective"
expect_contains "$err" "RPO 2m, objective 5m: met; reported by db/drill/replication-healthy" "the RPO comes from the health check"
expect_eq "$(printf '%s' "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["score"]["rto_missed"], d["score"]["rpo_seconds"], len(d["head_hash"]))')" "False 120.0 64" "-o json carries the score and the head hash"
if command -v xmllint >/dev/null; then
  expect_code 0 "the JUnit file is valid against the JUnit schema" xmllint --noout --schema "$SRC/tests/data/junit-10.xsd" "$TMP/junit.xml"
else
  echo "SKIP: xmllint not installed (scripts/setup installs libxml2-utils)"
fi
expect_eq "$(grep -c '<testcase ' "$TMP/junit.xml")" 7 "one test case per step, plus objectives and the cleanup"
if "$PY" -c 'import prometheus_client' 2>/dev/null; then
  expect_code 0 "the metrics parse as Prometheus text" "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
names = {s.name for f in text_string_to_metric_families(open(sys.argv[1]).read()) for s in f.samples}
need = {"edgedr_drill_rto_seconds", "edgedr_drill_success", "edgedr_drill_last_success_timestamp_seconds", "edgedr_step_duration_seconds"}
sys.exit(0 if need <= names else "missing: %s" % (need - names))' "$TMP/drill.prom"
else
  echo "SKIP: python3-prometheus-client not installed"
fi
expect_contains "$(cat "$TMP/drill.prom")" 'edgedr_drill_success{runbook="drill-e2e"} 1' "the metrics say the drill succeeded"
expect_contains "$(cat "$TMP/report.html")" "<svg" "the report is the HTML audit report with its timeline"
expect_code 2 "an unwritable --junit is refused before the drill starts" "$EDGEDR" drill "$TMP/rb.yaml" --simulate --state-dir "$st" --junit "$TMP/no/such/dir/j.xml"
printf 'site-recovery:\n  - vault: rsv-drill\n    resource-group: rg-drill\n    durations: { test-failover: 20m }\n' >"$TMP/slow-world.yaml"
expect_code 5 "a drill with a slow test failover misses its RTO and exits 5" "$EDGEDR" drill "$TMP/rb.yaml" --simulate --time-scale $SCALE \
  --world "$TMP/slow-world.yaml" --state-dir "$st" --metrics-file "$TMP/drill.prom"
expect_contains "$err" "objective 15m: MISSED" "the summary says the RTO was missed"
expect_contains "$err" "drill passed; cleaned up" "it was still cleaned up"
expect_contains "$(cat "$TMP/drill.prom")" 'edgedr_drill_success{runbook="drill-e2e"} 0' "the metrics say the last drill did not succeed"
expect_code 0 "report reads both drills" "$EDGEDR" report --state-dir "$st" --format md
expect_contains "$out" "**missed** (objective 15m)" "the report shows the missed objective"

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
