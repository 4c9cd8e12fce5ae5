#!/usr/bin/env bash
# libFuzzer targets of the weight-blob decoder, the option checks and the
# row encoder (tests/fuzz): builds them with clang (installing Debian's
# clang and its libFuzzer runtime when missing), runs each on a scratch copy
# of its committed seed corpus for a number of executions, and prints one
# line per target, "fuzz <target>: ok (<N> runs)" or "fuzz <target>:
# FAILED ...".  Exits non-zero when any target crashes, fails a check,
# leaks or times out; the input that did is kept and its path printed.
#
#   scripts/fuzz.sh                      # 20000 runs of each target (well under a minute)
#   scripts/fuzz.sh --runs 10000000 blob # a long run of one target
source "$(dirname "$0")/lib/common.sh"

RUNS=20000
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --runs=*) RUNS="${1#--runs=}"; shift ;;
        blob|options|encode) TARGETS+=("$1"); shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (targets: blob options encode; --runs N)" >&2; exit 2 ;;
    esac
done
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(blob options encode)

FUZZ_DIR="$ROOT/tests/fuzz"

ensure_clang() {
    local probe
    probe="$(mktemp -d)"
    echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' > "$probe/t.c"
    if ! command -v clang >/dev/null ||
       ! clang -fsanitize=fuzzer,address,undefined -o "$probe/t" "$probe/t.c" >/dev/null 2>&1; then
        log "installing clang and libFuzzer (Debian packages clang libclang-rt-dev)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq clang libclang-rt-dev zlib1g-dev make >/dev/null
    fi
    rm -rf "$probe"
}

ensure_clang
log "building the fuzz targets (tests/fuzz)"
make -C "$FUZZ_DIR" -s all >/dev/null

failed=0
for t in "${TARGETS[@]}"; do
    work="$(mktemp -d /tmp/seqsales_fuzz_$t.XXXXXX)"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp "$FUZZ_DIR/corpus/fuzz_$t/"* "$work/corpus/"
    # inputs longer than the seeds need: blobs of a few small models, option scripts of 48 triples
    max_len=1024
    [ "$t" = blob ] && max_len=4096
    set +e
    # quarantine and malloc stacks smaller than ASan's defaults: faster, same checks
    ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=4}" \
    "$FUZZ_DIR/fuzz_$t" -runs="$RUNS" -max_len="$max_len" -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    set -e
    done_runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log" | tail -1)"
    if [ "$rc" -eq 0 ] && [ -n "$done_runs" ]; then
        echo "fuzz $t: ok ($done_runs runs)"
        rm -rf "$work"
    else
        failed=$((failed + 1))
        echo "fuzz $t: FAILED (exit $rc; log $work/log; input: $(ls "$work/artifacts/"* 2>/dev/null | head -1))"
        grep -E 'ERROR|fuzz check failed|SUMMARY|runtime error' "$work/log" | head -5 || true
    fi
done
[ "$failed" -eq 0 ]
