#!/usr/bin/env bash
# edgedr plan: every example and operation plans; JSON order respects every dependency and tier
# barrier; text shows waves, the critical path and the RTO verdict; dot and mermaid render.
source "$(dirname "$0")/lib.sh"

for rb in "$SRC"/runbooks/examples/*.yaml; do
  name=$(basename "$rb")
  for op in failover failback drill backup restore; do
    expect_code 0 "plan $name $op" "$EDGEDR" plan -q "$rb" --operation $op -o json
    echo "$out" >"$TMP/plan.json"
    # Every node comes after all of its dependencies, steps never before a tier barrier they wait on,
    # and the document matches schemas/plan.schema.json where python's jsonschema is installed.
    python3 - "$TMP/plan.json" "$rb" "$op" <<'PY' && pass || fail "plan order $name $op"
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["format"] == "edgedr.plan/v1"
assert plan["operation"] == sys.argv[3]
pos = {}
for i, node in enumerate(plan["nodes"]):
    for dep in node["depends_on"]:
        assert dep in pos, f"{node['id']} listed before its dependency {dep}"
    pos[node["id"]] = i
steps = [n for n in plan["nodes"] if n["kind"] == "step"]
assert len(steps) == plan["step_count"]
# Waves: every step's dependencies (through join nodes) are in earlier waves.
wave = {n["id"]: n.get("wave") for n in plan["nodes"]}
nodes = {n["id"]: n for n in plan["nodes"]}
def real_deps(nid, seen=None):
    out = set()
    for d in nodes[nid]["depends_on"]:
        if nodes[d]["kind"] == "step": out.add(d)
        else: out |= real_deps(d)
    return out
for s in steps:
    for d in real_deps(s["id"]):
        assert wave[d] < s["wave"], f"{s['id']} wave {s['wave']} not after {d} wave {wave[d]}"
PY
  done
  expect_code 0 "plan text $name" "$EDGEDR" plan -q "$rb"
  expect_contains "$out" "Wave 1" "text shows waves ($name)"
  expect_contains "$out" "Critical path" "text shows the critical path ($name)"
  expect_code 0 "plan dot $name" "$EDGEDR" plan -q "$rb" -o dot
  expect_contains "$out" "digraph" "dot output ($name)"
  expect_code 0 "plan mermaid $name" "$EDGEDR" plan -q "$rb" -o mermaid
  expect_contains "$out" "flowchart TD" "mermaid output ($name)"
done

# Tiers: a tier-2 step never runs before every tier-1 step is done.
cat >"$TMP/tiers.yaml" <<'YAML'
edgedr: 1
name: tiers
objectives: { rto: 2m }
services:
  db:
    tier: 1
    failover:
      - action: wait
        with: { duration: 1m }
  cache:
    tier: 1
    failover:
      - action: wait
        with: { duration: 3m }
  app:
    tier: 2
    failover:
      - action: wait
        with: { duration: 30s }
  loose:
    failover:
      - action: wait
        with: { duration: 10s }
YAML
expect_code 0 "plan tiers json" "$EDGEDR" plan "$TMP/tiers.yaml" -o json
echo "$out" >"$TMP/tiers.json"
python3 - "$TMP/tiers.json" <<'PY' && pass || fail "tier barrier in plan json"
import json, sys
plan = json.load(open(sys.argv[1]))
order = [n["id"] for n in plan["nodes"]]
app = order.index("app/failover/wait")
for s in ("db/failover/wait", "cache/failover/wait"):
    assert order.index(s) < app
steps = {n["id"]: n for n in plan["nodes"] if n["kind"] == "step"}
assert steps["app/failover/wait"]["wave"] == 2 and steps["loose/failover/wait"]["wave"] == 1
assert plan["critical_path"]["steps"] == ["cache/failover/wait", "app/failover/wait"]
assert plan["objectives"]["within_rto"] is False
PY
expect_code 0 "plan tiers text" "$EDGEDR" plan "$TMP/tiers.yaml"
expect_contains "$out" "EXCEEDS" "text flags an RTO overrun"

# --only warns about dependencies it leaves out; --skip with an unknown name is an error with a suggestion.
expect_code 0 "plan --only" "$EDGEDR" plan "$SRC/runbooks/examples/detroit-plant.yaml" --only mes
expect_contains "$err" "depends on 'historian'" "--only warns about a left-out dependency"
expect_code 78 "plan --skip unknown" "$EDGEDR" plan "$SRC/runbooks/examples/detroit-plant.yaml" --skip histrian
expect_contains "$err" "did you mean 'historian'" "--skip suggestion"

# An invalid runbook is refused with its diagnostics.
expect_code 78 "plan of a cycle" "$EDGEDR" plan "$SRC/tests/data/broken/cycle.yaml"
expect_contains "$err" "dependency cycle: mes -> traffic -> mes" "plan cycle message"

finish
