#!/usr/bin/env bash
# Cancel latency: a seqsales_train (or seqsales_predict_all) runs in the
# background, pg_cancel_backend() is called at a random moment inside a
# training step, and the time until the backend has left the statement is
# measured by polling pg_stat_activity every 10 ms (in one plpgsql call, so
# no client start-up is timed).  Inside a step: a training on 2 threads is
# cancelled 0 to 1.5 s after its worker thread appeared (/proc/PID/task),
# one on 1 thread 1.5 to 3 s after its DEBUG line "seqsales: N clients ...",
# which comes just before the training (set-up takes under 0.6 s there).
#
#   scripts/cancel_latency.sh [--running] [--report FILE] [--cancels N] [--timeout S]
#
# test (default, about 40 s): trainings at hidden 2048 with the default
#   batch on 2 threads (3 cancels) and on 1 (1), at hidden 2048 with
#   batch_size 65536 (1), at hidden 4096 (1); statement_timeout on a
#   training; seqsales_predict_all of a hidden-2048 model (1).  Passes when
#   the median of the three is under 1 s, every cancel under 2 s, every
#   statement ended with SQLSTATE 57014 ("canceling statement due to user
#   request"), and the backend burnt no CPU afterwards (no worker thread
#   left running).  Prints one line per check and "cancel: N passed, N
#   failed"; exits non-zero on a failure.
# --report FILE: trainings at hidden 128, 512, 2048, 4096 x batch_size 256
#   and 65536 on 2 threads, --cancels each (default 3), as a markdown table
#   in FILE.
# --running: use the cluster of PGHOST / PGPORT / PGUSER (a superuser;
#   seqsales installed there); otherwise builds, installs and starts a
#   throwaway cluster as scripts/test.sh does.  Either way the work happens
#   in a database of its own, dropped at the end.
# --timeout S: give up on a cancel after S seconds (default 60).
#
# Memory: batch_size 65536 trains on few clients (one step is the whole
# epoch), seqsales.max_training_memory is lifted (its estimate assumes
# 65536 targets); the largest training stays under about 5 GB.
source "$(dirname "$0")/lib/common.sh"

RUNNING=0 REPORT="" CANCELS=3 TIMEOUT=60
while [ $# -gt 0 ]; do
    case "$1" in
        --running) RUNNING=1; shift ;;
        --report) REPORT="$2"; shift 2 ;;
        --cancels) CANCELS="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        -h|--help) sed -n 2,30p "$0"; exit 0 ;;
        *) echo "cancel_latency.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ "$RUNNING" = 0 ]; then
    ensure_deps
    build_install
    cluster_start
fi
DB=seqsales_cancel
WORK="$(mktemp -d /tmp/seqsales_cancel.XXXXXX)"
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    [ "$RUNNING" = 1 ] || cluster_stop
}
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

log "demo data for the cancel tests (database $DB)"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
q <<'SQL'
CREATE EXTENSION seqsales;
-- 300 clients (9,371 order lines) for the default batch, fewer for one step of 65536
SELECT seqsales_demo_data(300, 1);
CREATE TABLE lines_300 AS SELECT * FROM seqsales_demo_orders;
SELECT seqsales_demo_data(100, 1);
CREATE TABLE lines_100 AS SELECT * FROM seqsales_demo_orders;
SELECT seqsales_demo_data(40, 1);
CREATE TABLE lines_40 AS SELECT * FROM seqsales_demo_orders;
-- cancels backend p; seconds until it has left the statement whose text has
-- pattern (-1: not within limit_s, -2: no such backend)
CREATE FUNCTION cancel_and_wait(p int, pattern text, limit_s float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    busy bool;
BEGIN
    IF NOT pg_cancel_backend(p) THEN
        RETURN -2;
    END IF;
    LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT state = 'active' AND strpos(query, pattern) > 0 INTO busy
        FROM pg_stat_activity WHERE pid = p;
        EXIT WHEN busy IS NOT TRUE;
        IF extract(epoch FROM clock_timestamp() - t0) > limit_s THEN
            RETURN -1;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
SQL

# cpu_ticks PID: user + system clock ticks of the process, all its threads
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# cancel_sql STATEMENT READY PATTERN WAIT: runs STATEMENT in the background
# (then a 1 s pg_sleep) and waits until it is READY: "@threads" once the
# backend has a second thread (a training with threads > 1 is inside a step),
# else once READY appears in its messages (empty: once it shows in
# pg_stat_activity); then WAIT seconds more plus up to 1.5 s at random, and
# cancels it.  Prints "latency status cpu_ticks_after threads_after
# peak_rss_mb";
# latency -1 when still running after --timeout (then terminated), -3 when
# it never became ready.
cancel_sql() {
    local sql="$1" ready="$2" pattern="$3" wait="$4"
    local out="$WORK/run.out" err="$WORK/run.err" pid="" lat t0 delay ticks0 ticks1 nthreads status rss
    : > "$err"
    psql -X -q -d "$DB" >"$out" 2>"$err" <<SQL &
SET client_min_messages = debug1;
SET seqsales.max_training_memory = -1;
SET application_name = 'seqsales_cancel_probe';
$sql;
SELECT pg_sleep(1.0);
SQL
    local bg=$!
    t0=$SECONDS
    while :; do
        pid="$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'seqsales_cancel_probe'
                     AND state = 'active' AND query LIKE '%$pattern%'")"
        if [ -n "$pid" ]; then
            if [ "$ready" = @threads ]; then
                [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -ge 2 ] && break
            elif [ -z "$ready" ] || grep -q "$ready" "$err"; then
                break
            fi
        fi
        if ! kill -0 "$bg" 2>/dev/null || [ $((SECONDS - t0)) -gt 60 ]; then
            echo "-3 not-started 0 0 0"; cat "$err" >&2; wait "$bg" || true; return
        fi
        sleep 0.02
    done
    delay="$(awk -v w="$wait" -v r=$((RANDOM % 1500)) 'BEGIN { printf "%.3f", w + r / 1000 }')"
    sleep "$delay"
    lat="$(q -c "SELECT round(cancel_and_wait($pid, '$pattern', $TIMEOUT)::numeric, 3)")"
    if [ "${lat%%.*}" = "-1" ]; then
        q -c "SELECT pg_terminate_backend($pid)" >/dev/null || true
    fi
    # the backend idles in pg_sleep now: it must burn no CPU
    sleep 0.1
    ticks0="$(cpu_ticks "$pid")"
    nthreads="$(ls "/proc/$pid/task" 2>/dev/null | wc -l)"
    sleep 0.5
    ticks1="$(cpu_ticks "$pid")"
    rss="$(awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
    wait "$bg" || true
    if grep -q 'canceling statement due to user request' "$err"; then status=57014; else status=other; fi
    echo "$lat $status $((ticks1 - ticks0)) $nthreads ${rss:-0}"
}

# train_sql TABLE HIDDEN BATCH THREADS [EPOCHS MODEL]: the training statement
train_sql() {
    echo "SELECT seqsales_train('$1', categorical => '{contract_type,supplier_segment,region}',
                      \"numeric\" => '{order_volume,contract_value}', model_name => '${6:-cancel_probe}',
                      options => '{\"hidden_size\": $2, \"batch_size\": $3, \"threads\": $4,
                                   \"epochs\": ${5:-10000}, \"patience\": 10000}')"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

passed=0 failed=0
check() {   # 1|0 message
    if [ "$1" = 1 ]; then passed=$((passed + 1)); echo "ok - $2"; else failed=$((failed + 1)); echo "not ok - $2"; fi
}

# cancels LABEL WHAT N STATEMENT READY PATTERN: N cancels (cancel_sql), each
# checked; the latencies go to $WORK/LABEL
cancels() {
    local label="$1" what="$2" n="$3" r lat status cpu nth rss
    shift 3
    : > "$WORK/$label"
    : > "$WORK/$label.rss"
    for ((i = 1; i <= n; i++)); do
        r="$(cancel_sql "$@")"
        read -r lat status cpu nth rss <<< "$r"
        echo "$lat" >> "$WORK/$label"
        echo "$rss" >> "$WORK/$label.rss"
        echo "$what, cancel $i: $lat s, $status, $cpu CPU ticks in 0.5 s after, $nth threads, peak RSS $rss MB" >&2
        check "$([ "$status" = 57014 ] && echo 1 || echo 0)" "$what: cancelled with SQLSTATE 57014 ($status)"
        check "$(awk -v l="$lat" 'BEGIN { print (l >= 0 && l < 2) ? 1 : 0 }')" "$what: left the statement $lat s after pg_cancel_backend (limit 2 s)"
        check "$([ "${cpu:-99}" -le 2 ] && echo 1 || echo 0)" "$what: no CPU burnt after the cancel ($cpu ticks in 0.5 s)"
    done
}

# trainings LABEL N TABLE HIDDEN BATCH THREADS: N trainings cancelled inside a
# step: with 2 threads or more, 0 to 1.5 s after the step's worker thread
# appeared; with one, 1.5 to 3 s after the DEBUG line "seqsales: N clients
# ...", which comes just before the training (its set-up is under 0.5 s at
# hidden 2048 before this change, under 0.1 s with it)
trainings() {
    if [ "$6" -gt 1 ]; then
        cancels "$1" "train hidden $4 batch $5 threads $6 on $3" "$2" \
            "$(train_sql "$3" "$4" "$5" "$6")" @threads seqsales_train 0
    else
        cancels "$1" "train hidden $4 batch $5 threads $6 on $3" "$2" \
            "$(train_sql "$3" "$4" "$5" "$6")" 'seqsales: .* clients' seqsales_train 1.5
    fi
}

if [ -z "$REPORT" ]; then
    log "cancel latency: trainings at hidden 2048 and 4096, batch scoring at hidden 2048"
    trainings h2048 3 lines_300 2048 256 2
    trainings h2048_t1 1 lines_300 2048 256 1
    trainings h2048_b65536 1 lines_100 2048 65536 2
    trainings h4096 1 lines_300 4096 256 2
    med="$(median < "$WORK/h2048")"
    check "$(awk -v m="$med" 'BEGIN { print (m < 1) ? 1 : 0 }')" "train hidden 2048: median of 3 cancels $med s (limit 1 s)"
    # statement_timeout goes the same way (QueryCancelPending)
    t0=$(date +%s.%N)
    psql -X -q -d "$DB" -c "SET statement_timeout = '3s'" -c "SET seqsales.max_training_memory = -1" \
        -c "$(train_sql lines_300 2048 256 1)" >/dev/null 2>"$WORK/timeout.err" || true
    took="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')"
    check "$(grep -q 'canceling statement due to statement timeout' "$WORK/timeout.err" &&
             awk -v t="$took" 'BEGIN { print (t < 4) ? 1 : 0 }' || echo 0)" \
        "statement_timeout 3 s stops a training at hidden 2048 after $took s (limit 4 s)"
    # a model to score with: one epoch on 40 clients
    psql -X -q -d "$DB" -c "SET client_min_messages = warning" -c "SET seqsales.max_training_memory = -1" \
        -c "$(train_sql lines_40 2048 256 1 1 cancel_scoring)" >/dev/null
    cancels score_h2048 "seqsales_predict_all at hidden 2048 over 300 clients" 1 \
        "SELECT count(*) FROM seqsales_predict_all(3, 'cancel_scoring', 'lines_300')" '' seqsales_predict_all 1.0
    echo "cancel: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
else
    log "cancel latency report: $CANCELS cancels per size into $REPORT"
    {
        echo "| hidden_size | batch_size | clients (order lines) | threads | latencies (s) | median (s) | backend peak RSS (MB) |"
        echo "|---|---|---|---|---|---|---|"
    } > "$WORK/report"
    for hidden in 128 512 2048 4096; do
        for batch in 256 65536; do
            table=lines_300
            if [ "$batch" = 65536 ]; then
                table=lines_100
                [ "$hidden" = 4096 ] && table=lines_40
            fi
            trainings "h${hidden}_b${batch}" "$CANCELS" "$table" "$hidden" "$batch" 2
            lines="$(q -c "SELECT count(*) FROM $table")"
            echo "| $hidden | $batch | ${table#lines_} ($lines) | 2 | $(paste -sd' ' "$WORK/h${hidden}_b${batch}") | $(median < "$WORK/h${hidden}_b${batch}") | $(sort -n "$WORK/h${hidden}_b${batch}.rss" | tail -1) |" >> "$WORK/report"
        done
    done
    cp "$WORK/report" "$REPORT"
    cat "$REPORT"
    echo "cancel: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
fi
