#!/usr/bin/env bash
# edgedr report: runs of the lab example, one that succeeds (simulated) and one that fails and is
# rolled back (the lab's local commands, run for real into a temporary lab directory), reported in
# every format. The JUnit validates against tests/data/junit-10.xsd, the metrics parse as
# Prometheus text, the JSON matches schemas/report.schema.json, the HTML renders in headless
# Chromium with its SVG timeline, and a journal edited in a middle line makes report fail naming
# that line.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/runlib.sh"

RB=$SRC/runbooks/examples/lab-plant.yaml
STATE=$TMP/state
LAB=$TMP/lab

# A python with the Prometheus client, and one with jsonschema: Debian's (python3-prometheus-client,
# python3-jsonschema), which a pyenv python3 first on PATH does not see.
python_with() {
  local p
  for p in "$PY" /usr/bin/python3; do
    if "$p" -c "import $1" 2>/dev/null; then echo "$p"; return; fi
  done
}
PYX=$(python_with prometheus_client)
PYJ=$(python_with jsonschema)

expect_code 0 "a simulated failover of the lab" "$EDGEDR" failover "$RB" --simulate --yes --state-dir "$STATE" --input lab-dir="$LAB"
OK_RUN=$(run_id_of "$STATE")
# Run ids name the start time to the second; the metrics below take the run with the greatest id
# as the newest, so the second run must start in a later second.
sleep 1
expect_code 1 "a failover broken at MES rolls back" "$EDGEDR" failover "$RB" --yes --state-dir "$STATE" --input lab-dir="$LAB" --input break=mes
# The other run (`runs list` sorts by the first event's time, and a simulated run's time runs ahead).
BAD_RUN=$(ls "$STATE/runs" | grep -v "^$OK_RUN\$")
run "$EDGEDR" runs verify "$OK_RUN" --state-dir "$STATE" -o json
echo "$out" >"$TMP/verify.json"
OK_HEAD=$(json_get "$TMP/verify.json" 'd["head_hash"]')
HASH=$(sha256sum "$RB" | cut -d' ' -f1)

# Markdown (the default): who ran what, when, with which runbook version; head hash; steps; rollback.
expect_code 0 "report in Markdown" "$EDGEDR" report --state-dir "$STATE"
expect_contains "$out" "# edgedr audit report" "the Markdown report has its title"
expect_contains "$out" "2 runs" "both runs are reported"
expect_contains "$out" "$OK_HEAD" "the report prints the verified head hash"
expect_contains "$out" "$HASH" "the report names the runbook's content hash"
WHO=$("$PY" -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); print(e["user"] + " on " + e["host"])' "$STATE/runs/$OK_RUN/journal.jsonl")
expect_contains "$out" "$WHO" "the report says who ran it and where"
expect_contains "$out" "mes/failover/start-mes" "the report lists the steps"
expect_contains "$out" "### Rollbacks" "the rolled-back run shows its rollback"
expect_contains "$out" "## RTO trend" "the report shows the RTO trend"
expect_contains "$err" "verified $STATE/runs/$OK_RUN/journal.jsonl" "stderr names each verified journal"

# One run by id, and the filters.
expect_code 0 "report one run by id" "$EDGEDR" report "$BAD_RUN" --state-dir "$STATE"
expect_contains "$out" "1 run." "only the named run"
expect_contains "$out" "rolled-back" "its status"
expect_code 0 "report --runbook of another runbook" "$EDGEDR" report --runbook other --state-dir "$STATE"
expect_contains "$out" "0 runs" "no run of another runbook"
expect_code 0 "report --since 1d" "$EDGEDR" report --since 1d --operation failover --state-dir "$STATE"
expect_contains "$out" "2 runs" "both runs started in the last day"
expect_code 2 "report --since nonsense" "$EDGEDR" report --since yesterday --state-dir "$STATE"
expect_code 3 "report of an unknown run" "$EDGEDR" report 20200101T000000Z-000000 --state-dir "$STATE"

# JUnit, written atomically to a file, valid against the JUnit schema; metrics parse.
expect_code 0 "report --format junit --output --metrics-file" "$EDGEDR" report --format junit --output "$TMP/junit.xml" \
  --metrics-file "$TMP/drill.prom" --state-dir "$STATE"
if xmllint --noout --schema "$SRC/tests/data/junit-10.xsd" "$TMP/junit.xml" 2>"$TMP/xmllint.err"; then pass; else
  fail "the JUnit report does not validate: $(head -5 "$TMP/xmllint.err")"
fi
J=$(cat "$TMP/junit.xml")
expect_contains "$J" 'classname="edgedr.lab-plant.failover" name="historian/failover/promote-replica"' "a testcase per step"
expect_contains "$J" '<failure type="step-failed"' "the failed step is a failure"
expect_contains "$J" "<property name=\"head_hash\" value=\"$OK_HEAD\"/>" "the head hash is a property"
expect_contains "$J" 'name="objectives"' "the objectives testcase"
if [ -n "$PYX" ]; then
  "$PYX" - "$TMP/drill.prom" <<'PY' && pass || fail "the metrics do not parse as Prometheus text: $(cat "$TMP/drill.prom")"
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
for name in ["edgedr_drill_last_run_timestamp_seconds", "edgedr_drill_last_success_timestamp_seconds",
             "edgedr_drill_success", "edgedr_step_duration_seconds"]:
    assert name in families, name
# The newest run is the failed one: success 0, the last success from the simulated run before it.
assert families["edgedr_drill_success"].samples[0].value == 0
assert families["edgedr_drill_success"].samples[0].labels == {"runbook": "lab-plant"}
assert families["edgedr_drill_last_success_timestamp_seconds"].samples[0].value > 1.7e9
assert any(s.labels.get("step") == "mes/failover/start-mes" for s in families["edgedr_step_duration_seconds"].samples)
PY
else
  echo "report_test: skipping the Prometheus parse (no python with prometheus_client: apt install python3-prometheus-client)"
fi

# JSON: the documented document.
expect_code 0 "report --format json" "$EDGEDR" report --format json --state-dir "$STATE"
echo "$out" >"$TMP/report.json"
run_json() { json_get "$TMP/report.json" "[r for r in d['runs'] if r['run_id'] == '$1'][0]$2"; }
expect_eq "$(run_json "$OK_RUN" '["journal"]["head_hash"]')" "$OK_HEAD" "JSON carries the head hash"
expect_eq "$(run_json "$BAD_RUN" '["status"]')" "rolled-back" "JSON carries the status"
expect_eq "$(run_json "$BAD_RUN" '["rollbacks"][0]["outcome"]')" "complete" "JSON carries the rollback"
if [ -n "$PYJ" ]; then
  "$PYJ" -c 'import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' \
    "$TMP/report.json" "$SRC/schemas/report.schema.json" 2>"$TMP/schema.err" && pass ||
    fail "the JSON report does not match schemas/report.schema.json: $(tail -3 "$TMP/schema.err")"
fi

# HTML: self-contained; rendered in headless Chromium, with the SVG timeline in the DOM.
expect_code 0 "report --format html" "$EDGEDR" report --format html --output "$TMP/report.html" --state-dir "$STATE"
H=$(cat "$TMP/report.html")
expect_contains "$H" '<svg class="timeline" id="timeline-0"' "the HTML has an SVG timeline"
expect_contains "$H" '<svg class="trend"' "the HTML has an SVG trend"
expect_contains "$H" "@media print" "the HTML has a print stylesheet"
expect_not_contains "$H" "<script" "the HTML needs no script"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
  flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --user-data-dir="$TMP/chromium" --window-size=1200,1600)
  timeout 60 "$CHROMIUM" "${flags[@]}" --screenshot="$TMP/report.png" "file://$TMP/report.html" >/dev/null 2>&1 || true
  size=$(stat -c %s "$TMP/report.png" 2>/dev/null || echo 0)
  if [ "$size" -gt 20000 ]; then pass; else fail "the screenshot of the HTML report is missing or blank ($size bytes)"; fi
  [ -n "${REPORT_SCREENSHOT:-}" ] && cp "$TMP/report.png" "$REPORT_SCREENSHOT"
  timeout 60 "$CHROMIUM" "${flags[@]}" --dump-dom "file://$TMP/report.html" >"$TMP/dom.html" 2>/dev/null || true
  expect_contains "$(cat "$TMP/dom.html")" '<svg class="timeline" id="timeline-1"' "Chromium's DOM has the SVG timelines"
  expect_contains "$(cat "$TMP/dom.html")" '<rect class="bar undo' "Chromium's DOM has the undo bars"
else
  echo "report_test: skipping the browser check (no chromium: apt install chromium)"
fi

# Tampering: one byte changed in a middle line of the successful run's journal.
J_OK=$STATE/runs/$OK_RUN/journal.jsonl
cp "$J_OK" "$TMP/orig.jsonl"
sed -i '5s/"attempt":1/"attempt":2/' "$J_OK"
if cmp -s "$J_OK" "$TMP/orig.jsonl"; then fail "the tamper edit changed nothing"; fi
expect_code 78 "a tampered journal makes report fail" "$EDGEDR" report --state-dir "$STATE"
expect_contains "$err" "$J_OK:5: line 5: " "the error names the file and the edited line"
expect_eq "$out" "" "no report is printed from a tampered journal"
expect_code 78 "the tampered run by id fails too" "$EDGEDR" report "$OK_RUN" --format junit --state-dir "$STATE"
cp "$TMP/orig.jsonl" "$J_OK"
expect_code 0 "the restored journal reports again" "$EDGEDR" report "$OK_RUN" --state-dir "$STATE"

finish
