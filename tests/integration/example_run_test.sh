#!/usr/bin/env bash
# The README's main job: the lab example runbook (local commands only) fails over, fails back,
# and rolls back a broken failover, leaving each "site" file as the runbook says.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

RB=$SRC/runbooks/examples/lab-plant.yaml
LAB=$TMP/lab
STATE=$TMP/state
sides() { for f in historian scada mes route; do printf '%s=%s ' "$f" "$(cat "$LAB/$f" 2>/dev/null || echo none)"; done; }

expect_code 0 "failover of the lab example" "$EDGEDR" failover "$RB" --yes --input lab-dir="$LAB" --state-dir "$STATE"
expect_eq "$(sides)" "historian=cloud scada=cloud mes=cloud route=cloud " "after failover every service is on the cloud side"
expect_contains "$out$err" "failover of 'lab-plant': succeeded" "the summary says it succeeded"
J=$(journal_of "$STATE")
# The route switches last: after MES and the SCADA gateway.
order=$(grep -o '"type":"step.succeeded","step":"[a-z-]*/failover/[a-z-]*"' "$J" | cut -d'"' -f8 | tr '\n' ' ')
case $order in
  *mes/failover/start-mes*traffic/failover/route-to-cloud*) pass ;;
  *) fail "the route did not switch after MES: $order" ;;
esac
RUN=$(run_id_of "$STATE")
expect_code 0 "the failover's journal verifies" "$EDGEDR" runs verify "$RUN" --state-dir "$STATE"

expect_code 0 "failback of the lab example" "$EDGEDR" failback "$RB" --yes --input lab-dir="$LAB" --state-dir "$STATE"
expect_eq "$(sides)" "historian=plant scada=plant mes=plant route=plant " "after failback every service is back at the plant"

run "$EDGEDR" failover "$RB" --yes --input lab-dir="$LAB" --input break=mes -o json --state-dir "$STATE"
expect_eq "$code" 1 "a failover broken at MES rolls back (exit 1)"
echo "$out" >"$TMP/broken.json"
expect_eq "$(json_get "$TMP/broken.json" 'd["status"]')" rolled-back "the broken failover reports rolled-back"
expect_eq "$(sides)" "historian=plant scada=plant mes=plant route=plant " "the rollback put back the values the steps captured"
expect_contains "$(json_get "$TMP/broken.json" 'd["message"]')" \
  "every completed step with an undo was undone (2 steps, in reverse order; 2 steps without an undo left as they are)" \
  "the summary says what the rollback undid and what it left"

# Paused instead: the advice names this run's state directory, so it works as pasted.
run "$EDGEDR" failover "$RB" --yes --input lab-dir="$LAB" --input break=mes --on-failure pause --state-dir "$STATE"
expect_eq "$code" 4 "a failover broken at MES with --on-failure pause stops (exit 4)"
RUN=$(run_id_of "$STATE")
expect_contains "$out$err" "edgedr resume $RUN --state-dir $STATE" "the paused run's advice names --state-dir"
run "$EDGEDR" runs show "$RUN" --state-dir "$STATE"
expect_contains "$out" "edgedr rollback $RUN --state-dir $STATE" "runs show's advice names --state-dir"
expect_code 1 "the advice works as pasted: rollback" "$EDGEDR" rollback "$RUN" --yes --state-dir "$STATE"
expect_eq "$(sides)" "historian=plant scada=plant mes=plant route=plant " "after the rollback of the paused run"

finish
