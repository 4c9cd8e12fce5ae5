#!/usr/bin/env bash
# Every test of seqsales: the core's C unit tests (no server), the pg_regress
# suite against a throwaway PostgreSQL cluster, the TAP tests of t/ (clusters
# of their own: a streaming standby, a restart) and a one-minute load test
# (scripts/load.sh), a short fuzzing run (scripts/fuzz.sh) and the cancel
# latency checks (scripts/cancel_latency.sh).  Installs what is missing (Debian packages), builds, and
# ends with "N passed, N failed".
#
#   scripts/test.sh [--asan] [--load-seconds N]
#
# --asan            instead: the unit tests and the pg_regress suite under
#                   AddressSanitizer + UBSan (a SANITIZE=1 build in a copy of
#                   the tree, installed into a private copy of PostgreSQL whose
#                   server runs with libasan preloaded); any sanitizer report
#                   fails the run.  The normal install is left alone.
# --load-seconds N  the load test's duration (default 60)
# SEQSALES_PG_PREFIX=DIR installs into a private copy of PostgreSQL under DIR
# instead of the system's (see scripts/lib/common.sh).
source "$(dirname "$0")/lib/common.sh"

ASAN=0 LOAD_SECONDS=60
while [ $# -gt 0 ]; do
    case "$1" in
        --asan) ASAN=1; shift ;;
        --load-seconds) LOAD_SECONDS="$2"; shift 2 ;;
        -h|--help) sed -n 2,17p "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
timed() { local t0=$SECONDS; "$@"; log "$1: $((SECONDS - t0)) s"; }

# unit_tests BINARY: runs it, counts its closing "unit: N passed, N failed"
# line; a sanitizer report (or no closing line: a crash) is a failure
unit_tests() {
    local out; out="$(mktemp)"
    set +e
    "$1" "$ROOT/tests/fixtures" >"$out" 2>&1
    set -e
    grep -E '^(not ok|# )' "$out" || true
    local line; line="$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$out" || echo 'unit: 0 passed, 1 failed')"
    echo "$line"
    count "$(echo "$line" | sed -E 's/unit: ([0-9]+) passed.*/\1/')" "$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')"
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"; then
        grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out" | head -80
        count 0 1
    fi
    rm -f "$out"
}

# regress SRCDIR [MAKE ARGS]: pg_regress (make installcheck) in SRCDIR against
# the running cluster, with $PG_CONFIG's binaries; one count per test file
regress() {
    local out; out="$(mktemp)"
    local dir="$1"; shift
    set +e
    make -C "$dir" -s PG_CONFIG="$PG_CONFIG" "$@" installcheck >"$out" 2>&1
    set -e
    cat "$out"
    local ok bad
    ok=$(grep -cE '^(ok|test) .*\.\.\. ok|^ok [0-9]+ ' "$out" || true)
    bad=$(grep -cE '\.\.\. FAILED|^not ok ' "$out" || true)
    if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    if [ "$bad" -gt 0 ] && [ -f "$dir/regression.diffs" ]; then head -200 "$dir/regression.diffs"; fi
    count "$ok" "$bad"
    rm -f "$out"
}

# server_crashed: the throwaway cluster's log reports a backend killed by a signal
server_crashed() {
    if grep -E 'terminated by signal|was terminated by exception' "$CLUSTER_DIR/server.log"; then return 0; fi
    return 1
}

# ------------------------------------------------------------------ --asan
# The unit tests built with -fsanitize=address,undefined; then the extension
# built the same way in a copy of the tree (its objects never mix with the
# normal build's), installed into a private copy of PostgreSQL (never the
# system's), a cluster whose postgres preloads libasan (leak detection off:
# PostgreSQL frees by memory context and exits its backends without freeing),
# the pg_regress suite, and the sanitizer logs, which must stay empty.
asan_unit() {
    log "C unit tests under AddressSanitizer + UBSan (src/core)"
    make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" tests/unit/test_core_asan >/dev/null
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
        unit_tests "$ROOT/tests/unit/test_core_asan"
}

asan_regress() {
    local work; work="$(mktemp -d /tmp/seqsales_asan.XXXXXX)"
    at_exit "rm -rf '$work'"
    chmod 755 "$work"
    log "building seqsales with SANITIZE=1 in $work/src"
    mkdir "$work/src"
    if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        # tracked and untracked files, not the ignored build products
        (cd "$ROOT" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf - --) | tar -C "$work/src" -xf -
    else
        cp -a "$ROOT/." "$work/src/"
        make -C "$work/src" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
    fi
    # no JIT bitcode: an instrumented build has nothing to inline
    local mk=(make -C "$work/src" -s SANITIZE=1 with_llvm=no)
    "${mk[@]}" PG_CONFIG="$PG_CONFIG" >/dev/null
    private_pg "$work/pg"
    "${mk[@]}" PG_CONFIG="$PG_CONFIG" install DESTDIR="$work/pg" >/dev/null
    use_pg "$work/pg$PG_BIN"
    local libdir; libdir="$("$PG_CONFIG" --pkglibdir)"
    mkdir "$work/log" && chown postgres: "$work/log"
    gcc -shared -fPIC -O2 -o "$work/asan_preload.so" "$ROOT/tests/asan_preload.c"
    SERVER_ENV=("LD_PRELOAD=$(gcc -print-file-name=libasan.so):$work/asan_preload.so"
                "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:disable_coredump=1:log_path=$work/log/asan"
                "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$work/log/ubsan")
    if ! timeout 20 runuser -u postgres -- env "${SERVER_ENV[@]}" "$PG_BIN/postgres" -V >/dev/null; then
        echo "asan: postgres does not start with libasan preloaded"
        count 0 1
        return
    fi
    cluster_start
    # the server runs the private copy, which loads the instrumented library
    psql -X -q -At -c "CREATE EXTENSION seqsales" -c "LOAD 'seqsales'" \
         -c "SELECT pg_read_file('/proc/self/maps')" >"$work/maps" 2>&1 || true
    if grep -q "$libdir/seqsales.so" "$work/maps" && grep -q libasan "$work/maps" \
       && grep -q libubsan "$work/maps" && nm -D "$libdir/seqsales.so" | grep -c __asan_report >/dev/null; then
        log "the server runs $libdir/seqsales.so (instrumented) with libasan and libubsan"
    else
        grep -E 'seqsales|libasan|libubsan|ERROR' "$work/maps" | head
        echo "asan: the server does not run the instrumented build"
        count 0 1
    fi
    psql -X -q -c "DROP EXTENSION seqsales" >/dev/null
    log "pg_regress under AddressSanitizer + UBSan"
    # memory_estimate compares the backend's RSS with the estimate: under
    # ASan the RSS holds shadow memory, redzones and quarantine as well
    regress "$work/src" REGRESS="$(make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" print-regress | sed 's/\bmemory_estimate\b//')"
    if server_crashed; then count 0 1; fi
    if [ -n "$(ls -A "$work/log")" ]; then
        echo "asan: sanitizer reports:"
        head -c 20000 "$work/log"/*
        count 0 1
    else
        echo "asan: no sanitizer report"
    fi
}

if [ "$ASAN" = 1 ]; then
    ensure_deps
    timed asan_unit
    timed asan_regress
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

# ------------------------------------------------------------------ normal
ensure_deps
build_install

log "C unit tests (src/core)"
make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" tests/unit/test_core >/dev/null
unit_tests "$ROOT/tests/unit/test_core"

# a short run of each libFuzzer target (scripts/fuzz.sh): one test each,
# a build failure counts as three failures
log "fuzzing (short run)"
fz="$("$ROOT/scripts/fuzz.sh" --runs 20000 2>&1)" || true
echo "$fz" | grep -E '^fuzz |check failed|ERROR' || true
fz_ok=$(echo "$fz" | grep -c '^fuzz .*: ok (' || true)
passed=$((passed + fz_ok))
failed=$((failed + 3 - fz_ok))

cluster_start
log "pg_regress"
regress "$ROOT"
cluster_stop

# TAP tests (t/*.pl, PostgreSQL::Test::Cluster): run by the postgres user,
# since they create clusters, with their temporary files under a directory
# it owns; one count per assertion, and one failure for a file that fails
# without a failed assertion (it died, or stopped short of its plan)
tap_tests() {
    log "TAP tests (t/)"
    local tap; tap="$(mktemp -d /tmp/seqsales_tap.XXXXXX)"
    at_exit "rm -rf '$tap'"
    chown postgres: "$tap"
    local tdir="$ROOT/t"
    if ! runuser -u postgres -- test -r "$tdir/001_standby.pl"; then
        cp -r "$ROOT/t" "$tap/t" && chown -R postgres: "$tap/t" && tdir="$tap/t"
    fi
    local pgxs; pgxs="$(dirname "$("$PG_CONFIG" --pgxs)")/.."
    local f out rc ok bad
    for f in "$tdir"/*.pl; do
        out="$tap/$(basename "$f").out"
        set +e
        (cd "$tap" && runuser -u postgres -- env PATH="$PG_BIN:$PATH" TMPDIR="$tap" TESTDIR="$tap" \
            PG_REGRESS="$pgxs/test/regress/pg_regress" \
            prove -v -I "$pgxs/test/perl" "$f") >"$out" 2>&1
        rc=$?
        set -e
        grep -vE '^ok [0-9]+' "$out" | grep -vE '^\s*$' || true
        ok=$(grep -cE '^ok [0-9]+' "$out" || true)
        bad=$(grep -cE '^not ok [0-9]+' "$out" || true)
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
        echo "tap $(basename "$f"): $ok passed, $bad failed"
        count "$ok" "$bad"
    done
    rm -rf "$tap"
}
timed tap_tests

# the load test: trainings while 8 pgbench clients call seqsales_predict (one count)
load_test() {
    log "load test (scripts/load.sh, ${LOAD_SECONDS} s)"
    if bash "$ROOT/scripts/load.sh" --installed --duration "$LOAD_SECONDS"; then count 1 0; else count 0 1; fi
}
timed load_test

# cancel latency: pg_cancel_backend during trainings up to hidden 4096 and
# batch scoring, each check counted (scripts/cancel_latency.sh)
cancel_test() {
    log "cancel latency (scripts/cancel_latency.sh)"
    local out; out="$(mktemp)"
    set +e
    bash "$ROOT/scripts/cancel_latency.sh" >"$out" 2>&1
    local rc=$?
    set -e
    grep -E '^(not ok|train |seqsales_predict_all |cancel: )' "$out" || true
    local line ok bad
    line="$(grep -E '^cancel: [0-9]+ passed, [0-9]+ failed' "$out" || echo 'cancel: 0 passed, 1 failed')"
    ok=$(echo "$line" | sed -E 's/cancel: ([0-9]+) passed.*/\1/')
    bad=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    count "$ok" "$bad"
    rm -f "$out"
}
timed cancel_test

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
