#!/usr/bin/env bash
# Every test of seqsales: the core's C unit tests (no server), then the
# pg_regress suite against a throwaway PostgreSQL cluster.  Installs what is
# missing (Debian packages), builds, and ends with "N passed, N failed".
source "$(dirname "$0")/lib/common.sh"

passed=0
failed=0

ensure_deps
build_install

log "C unit tests (src/core)"
make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" tests/unit/test_core >/dev/null
unit_out="$(mktemp)"
set +e
"$ROOT/tests/unit/test_core" "$ROOT/tests/fixtures" >"$unit_out" 2>&1
set -e
grep -E '^(not ok|# )' "$unit_out" || true
line="$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$unit_out" || echo 'unit: 0 passed, 1 failed')"
echo "$line"
passed=$((passed + $(echo "$line" | sed -E 's/unit: ([0-9]+) passed.*/\1/')))
failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
rm -f "$unit_out"

cluster_start
log "pg_regress"
regress_out="$(mktemp)"
set +e
make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" installcheck >"$regress_out" 2>&1
set -e
cat "$regress_out"
ok=$(grep -cE '^(ok|test) .*\.\.\. ok|^ok [0-9]+ ' "$regress_out" || true)
bad=$(grep -cE '\.\.\. FAILED|^not ok ' "$regress_out" || true)
if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
if [ "$bad" -gt 0 ] && [ -f "$ROOT/regression.diffs" ]; then head -200 "$ROOT/regression.diffs"; fi
passed=$((passed + ok))
failed=$((failed + bad))
rm -f "$regress_out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
