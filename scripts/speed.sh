#!/usr/bin/env bash
# Speed and memory of seqsales against the PyTorch reference, measured in one
# run on this machine (../shared/PROTOCOL.md, section Speed).  A benchmark,
# not a test: it prints tables to stderr and one JSON object per measurement
# to stdout (also saved under bench/out/).
#
#   scripts/speed.sh [--epochs N] [--no-reference] [--only train|lstm|default|latency|scoring|decode|scaling]
#                    [--scaling-events "100000 1000000 10000000"]
#
# training   training target positions per second (steady state: the last of
#            N epochs, default 2), hidden 128 and 256, threads 1 and 2, on every
#            data set in ../shared/data, ours and the reference's, and the ratio;
#            ours also with windows that do not overlap (window_stride 50); the
#            matrix products' MFLOP per target, their GFLOP/s against the sgemm
#            peak, and the GFLOP/s 10x the reference would take;
#            plus this machine's cblas_sgemm peak and the engine's GEMM rate;
#            also seqsales_predict_all over every client of the data set
#            (seqsales.scoring_threads = threads) against the reference's
#            batch-512 inference rate with the same threads
# lstm       the bidirectional LSTM (architecture lstm, one window per target)
#            against the reference's BiLSTM: training target positions per
#            second of the last of N epochs, hidden 128, threads 1 and 2, every
#            data set, same samples per epoch (min(targets, 8 x fitting clients))
# default    the default architecture (hybrid: GRU4Rec + order inputs + history
#            head) against plain gru4rec, in one run on every data set, hidden 128,
#            1 thread: training target positions per second of the last of N
#            epochs, seqsales_predict p50 / p99 (pgbench, warm backend, every
#            client of the data set in turn) and seqsales_predict_all clients
#            per second; the ratios hybrid / gru4rec
# latency    seqsales_predict through SQL with pgbench: p50 / p99 ms, warm
#            backend, hidden 128, histories of 50 events
# scoring    seqsales_predict_all against one seqsales_predict per client
#            (LATERAL), clients per second, warm backend, demo data; one
#            call per client also with a parallel worker beside the leader
# decode     first call in a fresh backend for a ~10 MB model
# scaling    100k / 1M / 10M demo events: seconds per epoch and peak backend RSS
source "$(dirname "$0")/lib/common.sh"
source "$ROOT/scripts/lib/protocol.sh"

EPOCHS=2 REFERENCE=1 ONLY="" SCALING_EVENTS="100000 1000000 10000000"
while [ $# -gt 0 ]; do
    case "$1" in
        --epochs) EPOCHS="$2"; shift 2 ;;
        --no-reference) REFERENCE=0; shift ;;
        --only) ONLY="$2"; shift 2 ;;
        --scaling-events) SCALING_EVENTS="$2"; shift 2 ;;
        -h|--help) sed -n 2,33p "$0"; exit 0 ;;
        *) echo "speed.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

TORCH_REF="$ROOT/../shared/anchors/torch_ref"
DATA_DIR="$ROOT/../shared/data"
OUT_DIR="$ROOT/bench/out"
mkdir -p "$OUT_DIR"
OUT="$OUT_DIR/speed-$(date -u +%Y%m%dT%H%M%S).jsonl"
emit() { echo "$1" | tee -a "$OUT"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# the milliseconds of each statement psql timed (\timing on)
timings_ms() { sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
# trains model $1 on bench_train (the protocol CSV's columns) with options $2
# (architecture $3, default gru4rec); prints its id
train_bench() {
    q -c "SET client_min_messages = warning" -c "SELECT seqsales_train('bench_train', 'client_id', 'ts', 'category',
          (SELECT cat_cols FROM bench_params)::name[], (SELECT num_cols FROM bench_params)::name[],
          '$1', '${3:-gru4rec}', '$2', 'line')"
}
# target positions per second of model $1's last epoch
last_epoch_rate() {
    q -c "SELECT round(target_positions / seconds) FROM seqsales_training_log WHERE model_id = $1 ORDER BY epoch DESC LIMIT 1"
}

ensure_deps
if [ "$REFERENCE" = 1 ] && ! /usr/bin/python3 -c 'import torch, pandas, optuna' 2>/dev/null; then
    log "installing the reference's Python packages (benchmark only)"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-torch python3-pandas python3-optuna python3-sklearn >/dev/null
fi
command -v pgbench >/dev/null || true
build_install
make -C "$ROOT" -s bench-core >/dev/null
cluster_start

# ------------------------------------------------------------------ training
if want train; then
    peak_json="$("$ROOT/bench/sgemm_peak")"
    emit "$peak_json"
    peak1="$(echo "$peak_json" | sed -n 's/.*"sgemm_gflops_threads_1": \([0-9.]*\).*/\1/p')"
    peak2="$(echo "$peak_json" | sed -n 's/.*"sgemm_gflops_threads_2": \([0-9.]*\).*/\1/p')"
    for csv in "$DATA_DIR"/*/events.csv; do
        name="$(basename "$(dirname "$csv")")"
        # a database per data set: bench/setup.sql creates the extension and tables
        createdb "speed_$name"
        export PGDATABASE="speed_$name"
        load_protocol_csv "$csv" 1 gru4rec '{}'
        for hidden in 128 256; do
            for threads in 1 2; do
                opts="{\"epochs\": $EPOCHS, \"patience\": $((EPOCHS + 1)), \"hidden_size\": $hidden, \"threads\": $threads}"
                id="$(train_bench speed "$opts")"
                ours="$(last_epoch_rate "$id")"
                # the matrix products' work: per target, and its rate against the sgemm peak
                # with as many threads
                peak="$peak1"; [ "$threads" = 2 ] && peak="$peak2"
                work="$(q -c "SELECT json_build_object('mflop_per_target', round((gemm_gflop * 1000 / target_positions)::numeric, 2),
                                                       'gemm_gflops', round((gemm_gflop / seconds)::numeric, 1),
                                                       'fraction_of_sgemm_peak', round((gemm_gflop / seconds / $peak)::numeric, 2))
                               FROM seqsales_training_log WHERE model_id = $id ORDER BY epoch DESC LIMIT 1")"
                # the same training with windows that do not overlap (window_stride =
                # max_length = 50): half the recurrent work per target
                opts_full="${opts%\}}, \"window_stride\": 50}"
                ours_full="$(last_epoch_rate "$(train_bench speed_stride "$opts_full")")"
                ref=null ratio=null ratio_full=null ref_batch=null needed=null
                if [ "$REFERENCE" = 1 ]; then
                    tmp="$(mktemp -d)"
                    (cd "$tmp" && /usr/bin/python3 "$TORCH_REF/run.py" --data "$csv" --model gru --seed 1 \
                        --epochs "$EPOCHS" --patience $((EPOCHS + 1)) --hidden "$hidden" --threads "$threads" \
                        --out "$tmp/ref.json" >/dev/null 2>&1) || true
                    if [ -s "$tmp/ref.json" ]; then
                        # the reference is Python anyway: read its JSON with it
                        ref="$(/usr/bin/python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["folds"][0]["training"]["history"][-1]["targets_per_s"]))' "$tmp/ref.json")"
                        ratio="$(q -c "SELECT round($ours::numeric / $ref, 2)")"
                        # the GFLOP/s of products 10x the reference's rate would take at our work per target
                        needed="$(q -c "SELECT round((10 * $ref * gemm_gflop / target_positions)::numeric, 1)
                                        FROM seqsales_training_log WHERE model_id = $id ORDER BY epoch DESC LIMIT 1")"
                        ratio_full="$(q -c "SELECT round($ours_full::numeric / $ref, 2)")"
                        ref_batch="$(/usr/bin/python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["speed"]["throughput_batch512_clients_per_s"]))' "$tmp/ref.json")"
                    fi
                    rm -rf "$tmp"
                fi
                emit "{\"measure\": \"training\", \"data\": \"$name\", \"hidden\": $hidden, \"threads\": $threads, \"seqsales_positions_per_second\": $ours, \"reference_positions_per_second\": $ref, \"ratio\": $ratio, \"work\": $work, \"gemm_gflops_needed_for_10x\": $needed, \"seqsales_stride50_positions_per_second\": $ours_full, \"ratio_stride50\": $ratio_full}"
                # batch scoring of every client of the data set with this model (as many
                # scoring threads as training threads), against the reference's batch-512
                # forward + top-k over pre-collated windows (its run above, same threads);
                # warm backend (the model decoded by a first call), as a dashboard refresh finds it
                ms="$(q -c "SET seqsales.scoring_threads = $threads" -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed')" \
                        -c "\\timing on" -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed')" | timings_ms)"
                n_clients="$(q -c "SELECT count(DISTINCT client_id) FROM bench_train")"
        q -c "CREATE TABLE speed_train_clients AS
              SELECT row_number() OVER (ORDER BY client_id) AS i, client_id FROM bench_train GROUP BY client_id;
              CREATE UNIQUE INDEX ON speed_train_clients (i)" >/dev/null
                mine="$(q -c "SELECT round($n_clients / ($ms / 1000.0))")"
                bratio=null
                [ "$ref_batch" != null ] && bratio="$(q -c "SELECT round($mine::numeric / $ref_batch, 2)")"
                emit "{\"measure\": \"batch_scoring_vs_reference\", \"data\": \"$name\", \"hidden\": $hidden, \"threads\": $threads, \"clients\": $n_clients, \"predict_all_clients_per_second\": $mine, \"reference_batch512_clients_per_second\": $ref_batch, \"ratio\": $bratio}"
            done
        done
    done
    emit "$("$ROOT/bench/core_bench" 2000 128 $EPOCHS 1 2>/dev/null)"
fi

# ------------------------------------------------------------------ lstm
if want lstm; then
    for csv in "$DATA_DIR"/*/events.csv; do
        name="$(basename "$(dirname "$csv")")"
        createdb "speed_lstm_$name"
        export PGDATABASE="speed_lstm_$name"
        load_protocol_csv "$csv" 1 lstm '{}'
        for threads in 1 2; do
            opts="{\"epochs\": $EPOCHS, \"patience\": $((EPOCHS + 1)), \"hidden_size\": 128, \"threads\": $threads}"
            id="$(train_bench speed_lstm "$opts" lstm)"
            ours="$(last_epoch_rate "$id")"
            ref=null ratio=null
            if [ "$REFERENCE" = 1 ]; then
                tmp="$(mktemp -d)"
                (cd "$tmp" && /usr/bin/python3 "$TORCH_REF/run.py" --data "$csv" --model bilstm --seed 1 \
                    --epochs "$EPOCHS" --patience $((EPOCHS + 1)) --hidden 128 --threads "$threads" \
                    --out "$tmp/ref.json" >/dev/null 2>&1) || true
                if [ -s "$tmp/ref.json" ]; then
                    ref="$(/usr/bin/python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["folds"][0]["training"]["history"][-1]["targets_per_s"]))' "$tmp/ref.json")"
                    ratio="$(q -c "SELECT round($ours::numeric / $ref, 2)")"
                fi
                rm -rf "$tmp"
            fi
            emit "{\"measure\": \"training_lstm\", \"data\": \"$name\", \"hidden\": 128, \"threads\": $threads, \"seqsales_positions_per_second\": $ours, \"reference_positions_per_second\": $ref, \"ratio\": $ratio}"
        done
    done
fi

# ------------------------------------------------------------------ demo data for the rest
createdb speed_demo
export PGDATABASE=speed_demo
psql -X -q -c "CREATE EXTENSION seqsales"
# ------------------------------------------------------------------ default vs gru4rec
# {"calls", "p50_ms", "p99_ms"} of seqsales_predict with model $1 (pgbench, one client,
# a warm-up run first), each call a random client of table $2 (columns i = 1 .. n, client_id)
predict_latency() {
    local n script logdir
    n="$(q -c "SELECT count(*) FROM $2")"
    script="$(mktemp)"
    printf '\\set i random(1, %s)\nSELECT * FROM seqsales_predict((SELECT client_id FROM %s WHERE i = :i), 3, %s);\n' \
        "$n" "$2" "'$1'" > "$script"
    logdir="$(mktemp -d)"
    (cd "$logdir" && pgbench -n -c 1 -j 1 -T 2 -f "$script" >/dev/null 2>&1)
    (cd "$logdir" && rm -f pgbench_log.* && pgbench -n -c 1 -j 1 -T 10 -l -f "$script" >/dev/null 2>&1)
    cat "$logdir"/pgbench_log.* | awk '{print $3 / 1000.0}' | sort -n | awk '{a[NR]=$1} END {
        printf "{\"calls\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f}", NR, a[int(NR*0.5)], a[int(NR*0.99)]}'
    rm -rf "$logdir" "$script"
}
if want default; then
    for csv in "$DATA_DIR"/*/events.csv; do
        name="$(basename "$(dirname "$csv")")"
        createdb "speed_default_$name"
        export PGDATABASE="speed_default_$name"
        load_protocol_csv "$csv" 1 hybrid '{}'
        n_clients="$(q -c "SELECT count(DISTINCT client_id) FROM bench_train")"
        opts="{\"epochs\": $EPOCHS, \"patience\": $((EPOCHS + 1)), \"hidden_size\": 128, \"threads\": 1}"
        line="{\"measure\": \"default_vs_gru4rec\", \"data\": \"$name\", \"hidden\": 128, \"threads\": 1"
        for arch in gru4rec hybrid; do
            id="$(train_bench "speed_$arch" "$opts" "$arch")"
            rate="$(last_epoch_rate "$id")"
            lat="$(predict_latency "speed_$arch" speed_train_clients)"
            ms="$(q -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed_$arch')" -c "\\timing on" \
                    -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed_$arch')" | timings_ms)"
            all="$(q -c "SELECT round($n_clients / ($ms / 1000.0))")"
            eval "rate_$arch=$rate all_$arch=$all"
            line="$line, \"${arch}_positions_per_second\": $rate, \"${arch}_predict\": $lat, \"${arch}_predict_all_clients_per_second\": $all"
        done
        line="$line, \"training_ratio\": $(q -c "SELECT round($rate_hybrid::numeric / $rate_gru4rec, 2)"), \"predict_all_ratio\": $(q -c "SELECT round($all_hybrid::numeric / $all_gru4rec, 2)")}"
        emit "$line"
    done
fi

if want latency || want scoring || want decode; then
    log "demo data: 2000 clients; model hidden 128"
    q -c "SELECT seqsales_demo_data(2000, 1)" >/dev/null
    q -c "SET client_min_messages = warning" \
      -c "SELECT seqsales_train('seqsales_demo_orders', categorical => '{contract_type,supplier_segment,region}',
            \"numeric\" => '{order_volume,contract_value}', model_name => 'speed128',
            options => '{\"epochs\": 2, \"hidden_size\": 128}')" >/dev/null
fi

if want latency; then
    # clients with at least 50 events: a prediction reads a full history of 50
    q -c "CREATE TABLE speed_clients AS
          SELECT row_number() OVER (ORDER BY client_id) AS i, client_id
          FROM seqsales_demo_orders GROUP BY client_id HAVING count(*) >= 50;
          CREATE UNIQUE INDEX ON speed_clients (i)" >/dev/null
    n="$(q -c "SELECT count(*) FROM speed_clients")"
    lat="$(predict_latency speed128 speed_clients)"
    emit "{\"measure\": \"predict_latency\", \"hidden\": 128, \"history\": 50, \"clients\": $n, \"pgbench\": $lat}"
fi

if want scoring; then
    # both in a warm backend: the model decoded by a first call
    t_all="$(q -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed128')" -c "\\timing on" \
               -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed128')" | timings_ms)"
    # one backend, no parallel workers: the LATERAL as before seqsales_predict was PARALLEL SAFE
    t_one="$(q -c "SET max_parallel_workers_per_gather = 0" -c "SELECT count(*) FROM seqsales_predict('C000001'::text, 3, 'speed128')" -c "\\timing on" \
               -c "SELECT count(*) FROM (SELECT DISTINCT client_id FROM seqsales_demo_orders) c,
                   LATERAL seqsales_predict(c.client_id, 3, 'speed128') p" | timings_ms)"
    t_all2="$(q -c "SET seqsales.scoring_threads = 2" -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed128')" -c "\\timing on" \
                -c "SELECT count(*) FROM seqsales_predict_all(3, 'speed128')" | timings_ms)"
    # seqsales_predict is PARALLEL SAFE: one call per client in the select list
    # (a LATERAL function scan is costed by the planner as if its rescans were
    # free, so it is never worth a Gather), over a table of clients that allows
    # one parallel worker (a small table needs the reloption): the leader and
    # the worker, the machine's two cores, each call seqsales_predict for a share
    q -c "CREATE TABLE speed_scoring_clients AS SELECT DISTINCT client_id FROM seqsales_demo_orders;
          ALTER TABLE speed_scoring_clients SET (parallel_workers = 1); ANALYZE speed_scoring_clients" >/dev/null
    per_client="SELECT count((p).category) FROM (SELECT c.client_id, seqsales_predict(c.client_id, 3, 'speed128') AS p
                FROM speed_scoring_clients c) s"
    t_lat1="$(q -c "SET max_parallel_workers_per_gather = 0" -c "$per_client" -c "\\timing on" -c "$per_client" | timings_ms)"
    t_lat2="$(q -c "$per_client" -c "\\timing on" -c "$per_client" | timings_ms)"
    workers="$(q -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) $per_client" | sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p')"
    clients="$(q -c "SELECT count(DISTINCT client_id) FROM seqsales_demo_orders")"
    emit "{\"measure\": \"batch_scoring\", \"clients\": $clients, \"predict_all_clients_per_second\": $(q -c "SELECT round($clients / ($t_all / 1000.0))"), \"lateral_predict_clients_per_second\": $(q -c "SELECT round($clients / ($t_one / 1000.0))"), \"speedup\": $(q -c "SELECT round($t_one::numeric / $t_all, 1)"), \"predict_all_2_threads_clients_per_second\": $(q -c "SELECT round($clients / ($t_all2 / 1000.0))"), \"per_client_select_list_clients_per_second\": $(q -c "SELECT round($clients / ($t_lat1 / 1000.0))"), \"per_client_parallel_workers\": ${workers:-0}, \"per_client_parallel_clients_per_second\": $(q -c "SELECT round($clients / ($t_lat2 / 1000.0))"), \"parallel_speedup\": $(q -c "SELECT round($t_lat1::numeric / $t_lat2, 2)")}"
fi

if want decode; then
    # hidden 700 with the demo's 40 categories: about 2.6 M parameters, 10 MB
    q -c "SET client_min_messages = warning" \
      -c "SELECT seqsales_train('seqsales_demo_orders', model_name => 'big', options => '{\"epochs\": 1, \"hidden_size\": 700, \"max_length\": 10}')" >/dev/null
    mb="$(q -c "SELECT round(length(weights) / 1048576.0, 1) FROM seqsales_model WHERE name = 'big'")"
    times="$(q -c "\\timing on" -c "SELECT count(*) FROM seqsales_predict('C000002'::text, 3, 'big')" \
                 -c "SELECT count(*) FROM seqsales_predict('C000002'::text, 3, 'big')" | timings_ms | paste -sd ' ')"
    first="${times%% *}" second="${times##* }"
    # the model load alone (catalog row, detoasting, checksum, decoding, vocabularies), as the backend reports it
    load="$(q -c "SET client_min_messages = debug1" -c "SELECT count(*) FROM seqsales_predict('C000002'::text, 3, 'big')" 2>&1 >/dev/null \
            | sed -n 's/.*loaded into the backend cache in \([0-9.]*\) ms.*/\1/p' | head -1)"
    emit "{\"measure\": \"first_call\", \"model_mb\": $mb, \"first_call_ms\": $first, \"model_load_ms\": ${load:-null}, \"warm_call_ms\": $second}"
fi

# ------------------------------------------------------------------ scaling
if want scaling; then
    for events in $SCALING_EVENTS; do
        clients=$((events / 30))
        q -c "SELECT seqsales_demo_data($clients, 1)" >/dev/null
        n="$(q -c "SELECT count(*) FROM seqsales_demo_orders")"
        # a fresh backend, so that its peak RSS is this training's
        res="$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
SET seqsales.max_training_memory = -1;
SELECT seqsales_train('seqsales_demo_orders', categorical => '{contract_type,supplier_segment,region}',
       "numeric" => '{order_volume,contract_value}', model_name => 'scale',
       options => '{"epochs": 1, "hidden_size": 128, "validation_fraction": 0}') AS id \gset
SELECT json_build_object('seconds_per_epoch', (metrics->>'train_seconds')::float8,
                         'estimate_mb', round((metrics->>'memory_estimate_bytes')::numeric / 1048576),
                         'peak_rss_mb', round((regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                                               'VmHWM:\s+(\d+)'))[1]::numeric / 1024))
FROM seqsales_model WHERE id = :id;
SQL
)"
        emit "{\"measure\": \"scaling\", \"events\": $n, \"result\": $res}"
    done
fi
log "results saved in $OUT"
