#!/usr/bin/env bash
# edgedr validate against the examples, broken runbooks and hostile input.
source "$(dirname "$0")/lib.sh"

for rb in "$SRC"/runbooks/examples/*.yaml; do
  expect_code 0 "example $(basename "$rb") is valid" "$EDGEDR" validate "$rb"
  expect_contains "$out" "valid" "validate prints a verdict for $(basename "$rb")"
done

# Each broken runbook names the message it must produce on its first line.
for rb in "$SRC"/tests/data/broken/*.yaml; do
  want=$(head -1 "$rb" | sed 's/^# expect: //')
  expect_code 78 "broken $(basename "$rb") exits 78" "$EDGEDR" validate "$rb"
  expect_contains "$err" "$want" "broken $(basename "$rb")"
done

# All files, all errors, one pass; json output is one document on stdout.
expect_code 78 "several files at once" "$EDGEDR" validate "$SRC"/tests/data/broken/cycle.yaml "$SRC"/tests/data/broken/bad-duration.yaml
expect_contains "$err" "cycle.yaml" "several files: first"
expect_contains "$err" "bad-duration.yaml" "several files: second"
expect_code 78 "json output" "$EDGEDR" validate -o json "$SRC"/tests/data/broken/typo-depends-on.yaml
python3 - "$TMP/out" <<'PY' && pass || fail "validate -o json shape"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["valid"] is False
d = doc["files"][0]["diagnostics"][0]
assert d["line"] == 10 and d["column"] == 5 and d["suggestion"] == "depends-on", d
PY

# Hostile input: a clear located error, exit 78, no crash, within the run() time and memory guard.
python3 - "$TMP" <<'PY'
import os, sys
d = sys.argv[1]
open(f"{d}/nul.yaml", "wb").write(b"edgedr: 1\nname: x\x00y\n")
open(f"{d}/utf8.yaml", "wb").write(b"edgedr: 1\nname: caf\xc3\x28\n")
bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [" + ",".join([f"*{chr(ord(c)-1)}"] * 10) + "]\n" for c in "bcdefghijk")
open(f"{d}/bomb.yaml", "w").write(bomb)
open(f"{d}/deep.yaml", "w").write("edgedr: 1\nname: " + "[" * 10000 + "]" * 10000 + "\n")
open(f"{d}/deep-map.yaml", "w").write("edgedr: 1\nname: x\ndescription: " + "{a: " * 10000 + "1" + "}" * 10000 + "\n")
with open(f"{d}/big.yaml", "w") as f:
    f.write("edgedr: 1\nname: big\nservices:\n")
    line = "  s{0}: {{ description: '" + "x" * 200 + "' }}\n"
    i = 0
    while f.tell() < 100 * 1024 * 1024:
        f.write(line.format(i)); i += 1
# Deep through aliases: 125 anchors, each a 480-deep list holding an alias to the one before
# (each direct nesting stays under yaml-cpp's guard; the expanded tree is ~60,000 deep).
deep = ["edgedr: 1", "name: deep", "inputs:"]
for i in range(125):
    inner = f"*a{i - 1}" if i else "1"
    deep.append(f"  i{i}: {{ description: x, default: &a{i} " + "[" * 480 + inner + "]" * 480 + " }")
deep += ["services:", "  s:", "    failover:", "      - action: exec", "        with: { command: *a124 }"]
open(f"{d}/deep-alias.yaml", "w").write("\n".join(deep) + "\n")
open(f"{d}/garbage.yaml", "wb").write(bytes((i * 7919) % 256 for i in range(65536)))
open(f"{d}/empty.yaml", "w").write("")
PY
declare -A want=(
  [nul]="nul.yaml:2:8: error: NUL byte"
  [utf8]="utf8.yaml:2:10: error: invalid UTF-8"
  [bomb]="(an alias bomb?)"
  [deep]="nesting is deeper than"
  [deep-map]="nesting is deeper than"
  [deep-alias]="deeper than 256 levels through aliases"
  [big]="a runbook file may be at most 16 MiB"
  [garbage]="error:"
  [empty]="the file is empty"
)
for name in "${!want[@]}"; do
  start=$(date +%s%N)
  expect_code 78 "hostile $name exits 78" "$EDGEDR" validate "$TMP/$name.yaml"
  expect_contains "$err" "${want[$name]}" "hostile $name message"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$ms" -lt 30000 ] && pass || fail "hostile $name took ${ms} ms"
done

# A directory or a missing file.
expect_code 78 "a directory is not a runbook" "$EDGEDR" validate "$SRC/runbooks"
expect_contains "$err" "is a directory" "directory message"
expect_code 2 "a missing file is a usage error" "$EDGEDR" validate "$TMP/nope.yaml"

finish
