# Helpers for the integration tests that run edgedr against an external `edgedr sim serve`, whose
# state and request log outlive each edgedr process. Source it after lib.sh and runlib.sh. Not a
# test itself.

# sim_start NAME [WORLD-YAML]: starts `edgedr sim serve` for $SIM_RUNBOOK (default $TMP/rb.yaml)
# at time scale $SCALE, plus the world text; sets SIM (base URL) and SIM_PID.
sim_start() {
  local name=$1 args=(sim serve --runbook "${SIM_RUNBOOK:-$TMP/rb.yaml}" --time-scale "$SCALE")
  if [ $# -ge 2 ]; then
    printf '%s\n' "$2" >"$TMP/$name-world.yaml"
    args+=(--world "$TMP/$name-world.yaml")
  fi
  bg "sim-$name" "$EDGEDR" "${args[@]}"
  SIM_PID=$BG
  SIM=""
  local i
  for i in $(seq 1 200); do
    SIM=$(head -1 "$TMP/sim-$name.out" 2>/dev/null || true)
    [ -n "$SIM" ] && break
    sleep 0.05
  done
  [ -n "$SIM" ] || { echo "sim serve did not start: $(cat "$TMP/sim-$name.err")" >&2; exit 1; }
}
sim_stop() { kill -TERM "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; }

# count_ops OPERATION [STATUS]: requests the simulator logged for OPERATION (with STATUS).
count_ops() {
  curl -s -m 10 "$SIM/_sim/requests" >"$TMP/log.json"
  "$PY" - "$TMP/log.json" "$1" "${2:-}" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
want = sys.argv[3]
print(sum(1 for r in log if r["operation"] == sys.argv[2] and (not want or str(r["status"]) == want)))
PY
}

