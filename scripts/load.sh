#!/usr/bin/env bash
# Load test: trainings running while 8 pgbench clients call seqsales_predict.
#
#   scripts/load.sh [--duration SECONDS] [--installed]
#
# Sets up like the other scripts (packages, build, install, a throwaway
# cluster), loads 2000 demo clients (63,000 order lines), trains the model the
# clients call ('load_serve'), then starts trainings of another model
# ('load_train': 4 s each on an idle 2-core machine, some 10 s under the
# load) one after the other, and runs
#   pgbench -n -c 8 -j 2 -T SECONDS -f <script> --log
# whose script calls seqsales_predict(<random demo client>, 3, 'load_serve').
# When pgbench ends no further training starts; the one running is waited
# for.  Passes only if pgbench reports no failed transaction and no aborted
# client, every training finished without error (at least one), and the
# server log shows no backend terminated by a signal.  Prints
#   load: N transactions, 0 errors, p50 X ms, p99 Y ms
# (latencies from pgbench's per-transaction log) and appends a JSON line with
# the figures, the machine and the date to bench/results/load.jsonl.
#
# --duration SECONDS  pgbench's duration (default 60)
# --installed         no packages, build or install: the build scripts/test.sh
#                     (or build_install) installed, SEQSALES_PG_PREFIX included
source "$(dirname "$0")/lib/common.sh"

DURATION=60 INSTALLED=0 CLIENTS=2000
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --installed) INSTALLED=1; shift ;;
        -h|--help) sed -n 2,24p "$0"; exit 0 ;;
        *) echo "load.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ "$INSTALLED" = 1 ]; then
    use_installed_pg
else
    ensure_deps
    build_install
fi
cluster_start
WORK="$(mktemp -d /tmp/seqsales_load.XXXXXX)"
at_exit "rm -rf '$WORK'"
chmod 755 "$WORK"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

log "demo data ($CLIENTS clients) and the model the clients call"
q -c "CREATE EXTENSION seqsales" -c "SELECT seqsales_demo_data($CLIENTS, 1)" \
  -c "CREATE INDEX ON seqsales_demo_orders (client_id, ordered_at)" >/dev/null
q -c "SET client_min_messages = warning" \
  -c "SELECT seqsales_train('seqsales_demo_orders', model_name => 'load_serve',
                            options => '{\"epochs\": 2, \"hidden_size\": 64}')" >/dev/null

# trainings one after the other until $WORK/stop exists; each one's outcome
# goes to trainings.ok / trainings.failed
train_loop() {
    while [ ! -e "$WORK/stop" ]; do
        if q -c "SET client_min_messages = warning" \
             -c "SELECT seqsales_train('seqsales_demo_orders', model_name => 'load_train',
                   categorical => '{contract_type,supplier_segment,region}',
                   \"numeric\" => '{order_volume,contract_value}',
                   options => '{\"epochs\": 3, \"hidden_size\": 64, \"validation_fraction\": 0.1}')" \
             >>"$WORK/train.out" 2>&1; then
            echo ok >>"$WORK/trainings.ok"
        else
            echo failed >>"$WORK/trainings.failed"
            return
        fi
    done
}
log "trainings in the background; pgbench: 8 clients, ${DURATION} s"
train_loop &
train_pid=$!
# pgbench starts once the first training is running
for _ in $(seq 100); do
    [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%seqsales_train(%load_train%' AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ] && break
    sleep 0.1
done

cat >"$WORK/predict.sql" <<SQL
\set c random(1, $CLIENTS)
SELECT * FROM seqsales_predict('C' || lpad(:c::text, 6, '0'), 3, 'load_serve');
SQL
chmod 644 "$WORK/predict.sql"
set +e
(cd "$WORK" && pgbench -n -c 8 -j 2 -T "$DURATION" -f predict.sql --log --log-prefix=pgbench_log) >"$WORK/pgbench.out" 2>&1
pgbench_rc=$?
set -e
touch "$WORK/stop"
log "pgbench done; waiting for the running training"
waited=0
while kill -0 "$train_pid" 2>/dev/null && [ "$waited" -lt 300 ]; do sleep 1; waited=$((waited + 1)); done
if kill -0 "$train_pid" 2>/dev/null; then
    q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%seqsales_train(%load_train%' AND pid <> pg_backend_pid()" >/dev/null
    echo "failed: cancelled the training still running 300 s after pgbench" >>"$WORK/trainings.failed"
fi
wait "$train_pid" || true

# figures
processed="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench.out")"
failed_tx="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench.out")"
tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/pgbench.out" | tail -1)"
aborted="$(grep -c 'aborted' "$WORK/pgbench.out" || true)"
# the log's third field is each transaction's latency in microseconds, or
# "failed" / "skipped" for one that did not complete
lat="$(cat "$WORK"/pgbench_log.* | awk '$3 ~ /^[0-9]+$/ {print $3 / 1000.0}' | sort -n |
       awk '{a[NR] = $1} END {if (NR == 0) print "0 0 0"; else
            printf "%d %.3f %.3f\n", NR, a[int((NR - 1) * 0.50) + 1], a[int((NR - 1) * 0.99) + 1]}')"
read -r logged p50 p99 <<<"$lat"
logged_failed="$(cat "$WORK"/pgbench_log.* | awk '$3 !~ /^[0-9]+$/' | wc -l)"
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
trainings_ok="$(lines "$WORK/trainings.ok")"
trainings_failed="$(lines "$WORK/trainings.failed")"
errors=$(( ${failed_tx:-0} + logged_failed + aborted ))
crashed=0
if grep -E 'terminated by signal|was terminated by exception' "$CLUSTER_DIR/server.log"; then crashed=1; fi

ok=1
if [ "$pgbench_rc" -ne 0 ] || [ -z "$processed" ] || [ "$errors" -ne 0 ] || [ "${processed:-0}" -eq 0 ]; then
    ok=0; echo "load: pgbench failed (exit $pgbench_rc):"; tail -30 "$WORK/pgbench.out"
fi
if [ "$trainings_failed" -ne 0 ] || [ "$trainings_ok" -eq 0 ]; then
    ok=0; echo "load: a training failed ($trainings_ok finished):"; tail -20 "$WORK/train.out"; cat "$WORK/trainings.failed" 2>/dev/null || true
fi
if [ "$crashed" -ne 0 ]; then ok=0; echo "load: the server log reports a crash"; fi
echo "load: trainings during the run: $trainings_ok finished, $trainings_failed failed; pgbench $tps tps"
echo "load: ${processed:-0} transactions, $errors errors, p50 $p50 ms, p99 $p99 ms"

mkdir -p "$ROOT/bench/results"
cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
mem_gb="$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
printf '{"measure": "load", "date": "%s", "machine": {"cpu": "%s", "cores": %d, "memory_gb": %s}, "commit": "%s", "duration_s": %d, "pgbench_clients": 8, "demo_clients": %d, "transactions": %d, "errors": %d, "tps": %s, "p50_ms": %s, "p99_ms": %s, "trainings_finished": %d, "trainings_failed": %d, "crash": %s, "pass": %s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$cpu" "$(nproc)" "$mem_gb" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$DURATION" "$CLIENTS" \
    "${processed:-0}" "$errors" "${tps:-0}" "$p50" "$p99" "$trainings_ok" "$trainings_failed" \
    "$([ "$crashed" = 1 ] && echo true || echo false)" "$([ "$ok" = 1 ] && echo true || echo false)" \
    >>"$ROOT/bench/results/load.jsonl"
[ "$ok" = 1 ]
