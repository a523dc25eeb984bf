#!/usr/bin/env bash
# The command line itself: version, usage errors, shell completions.
source "$(dirname "$0")/lib.sh"

expect_code 0 "--version" "$EDGEDR" --version
[[ "$out" =~ ^edgedr\ [0-9]+\.[0-9]+\.[0-9]+\ \(git\ [0-9a-f]+|unknown\) ]] && pass || fail "--version format: $out"
expect_code 0 "version command" "$EDGEDR" version
[[ "$out" =~ ^edgedr\ [0-9]+\.[0-9]+\.[0-9]+ ]] && pass || fail "version format: $out"

expect_code 2 "no command is a usage error" "$EDGEDR"
expect_code 2 "an unknown command is a usage error" "$EDGEDR" failovr
expect_code 2 "an unknown flag is a usage error" "$EDGEDR" validate --bogus "$SRC/runbooks/examples"
expect_code 2 "a bad -o value is a usage error" "$EDGEDR" plan -o xml "$SRC/tests/data/broken/cycle.yaml"
expect_code 2 "a malformed --input is a usage error" "$EDGEDR" validate --input novalue "$SRC/tests/data/broken/cycle.yaml"
expect_code 0 "--help" "$EDGEDR" --help
expect_contains "$out" "validate" "help lists validate"

# The shipped completion files are exactly what the binary generates.
for shell in bash zsh fish; do
  case $shell in bash) f=edgedr.bash ;; zsh) f=_edgedr ;; fish) f=edgedr.fish ;; esac
  expect_code 0 "completion $shell" "$EDGEDR" completion $shell
  if diff -u "$SRC/completions/$f" "$TMP/out" >"$TMP/diff"; then pass; else
    fail "completions/$f differs from 'edgedr completion $shell' (regenerate with scripts/gen-completions): $(head -20 "$TMP/diff")"
  fi
done
bash -n "$SRC/completions/edgedr.bash" && pass || fail "bash completion has a syntax error"
# The bash completion completes commands and a command's flags.
out=$(bash -c "source '$SRC/completions/edgedr.bash'; COMP_WORDS=(edgedr pl); COMP_CWORD=1; _edgedr; echo \${COMPREPLY[*]}")
expect_contains "$out" "plan" "bash completion of 'pl'"
out=$(bash -c "source '$SRC/completions/edgedr.bash'; COMP_WORDS=(edgedr plan --oper); COMP_CWORD=2; _edgedr; echo \${COMPREPLY[*]}")
expect_contains "$out" "--operation" "bash completion of plan flags"
if command -v zsh >/dev/null; then zsh -n "$SRC/completions/_edgedr" && pass || fail "zsh completion syntax"; fi
if command -v fish >/dev/null; then fish -n "$SRC/completions/edgedr.fish" && pass || fail "fish completion syntax"; fi

expect_code 2 "completion of an unknown shell" "$EDGEDR" completion tcsh

finish
