#!/usr/bin/env bash
# Benchmark seqsales on a protocol CSV (PROTOCOL.md, quick split: fold 0 of 5
# is the test fold) inside a throwaway PostgreSQL cluster, through the
# extension only: train with seqsales_train (or tune with seqsales_tune), the
# counting baselines as architectures, figures by seqsales_evaluate on the
# test clients, 5-fold CV by seqsales_cross_validate.
# Progress goes to stderr; the last line of stdout is one JSON object.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
    cat <<'USAGE'
usage: scripts/bench.sh --data FILE.csv [--architecture A] [--options JSON] [--seed N]
                       [--unit line|order] [--cv] [--tune N] [--keep]

  --data FILE.csv    events in the protocol's format: header
                     client_id,ts,category,<cat_* columns>,<num_* columns>
  --architecture A   seqsales_train architecture (default hybrid): hybrid, ranker, gru4rec, lstm,
                     popularity, client_frequency, markov
  --options JSON     seqsales_train options, e.g. '{"epochs": 2}' (default {});
                     "seed" defaults to --seed
  --seed N           split seed (default 1): fold = md5('<N>:<client_id>')[0:7] % 5,
                     fold 0 = test; the extension's validation split uses options.seed
  --unit U           line (default): the protocol's line-level test; order: its
                     next-order variant (PROTOCOL.md): every method, the baselines
                     included, trained with {"unit": "order"} and evaluated on each
                     test client's last order (Hit@k, Recall@k, MRR@10; the line-level
                     figures null)
  --cv               also 5-fold cross-validation (seqsales_cross_validate, md5 folds
                     with --seed) of the architecture and the baselines: per fold,
                     mean and std under "cv"
  --tune N           tune the architecture first: CALL seqsales_tune with N trials and
                     3 inner folds on the training clients; the model evaluated is the
                     study's best parameters retrained on them ("tuning" in the JSON)
  --tune-limit T     with --tune: time_limit of the study (an interval, e.g. '60 min'):
                     no trial starts after it
  --keep             leave the throwaway cluster running (tables bench_*) and
                     print how to connect to it
  -h, --help         this text

Prints progress to stderr and, as the last line of stdout, one JSON object:
hit1 hit3 hit5 hit10 mrr10 ndcg10 coverage macro_f1 weighted_f1 hit3_repeat hit3_new
(fractions, seqsales_evaluate's: top-1 F1 as sklearn's, Hit@3 split by whether the
client bought the target category before), test_clients, epochs, best_epoch, train_seconds (wall time of
seqsales_train), train_positions_per_second, predict_ms_p50 (median of 200 single
seqsales_predict calls), predict_clients_per_second, peak_rss_mb (VmHWM of the
training backend), baselines {popularity, client_frequency, markov} with
the same metric keys, cv (with --cv), tuning (with --tune), split, architecture,
data, options; unit, recall1 recall3 recall5 recall10 (null at unit line) and
evaluated_clients (the test clients evaluated: at unit order, those with two orders).
USAGE
}

DATA="" ARCH="hybrid" OPTIONS="{}" SEED=1 KEEP=0 CV=0 TUNE=0 TUNE_LIMIT="" UNIT=line
while [ $# -gt 0 ]; do
    case "$1" in
        --data) DATA="${2:?--data needs a file}"; shift 2 ;;
        --data=*) DATA="${1#*=}"; shift ;;
        --architecture) ARCH="${2:?--architecture needs a value}"; shift 2 ;;
        --architecture=*) ARCH="${1#*=}"; shift ;;
        --options) OPTIONS="${2:?--options needs a JSON object}"; shift 2 ;;
        --options=*) OPTIONS="${1#*=}"; shift ;;
        --seed) SEED="${2:?--seed needs a number}"; shift 2 ;;
        --seed=*) SEED="${1#*=}"; shift ;;
        --unit) UNIT="${2:?--unit needs line or order}"; shift 2 ;;
        --unit=*) UNIT="${1#*=}"; shift ;;
        --cv) CV=1; shift ;;
        --tune) TUNE="${2:?--tune needs a number of trials}"; shift 2 ;;
        --tune=*) TUNE="${1#*=}"; shift ;;
        --tune-limit) TUNE_LIMIT="${2:?--tune-limit needs an interval}"; shift 2 ;;
        --tune-limit=*) TUNE_LIMIT="${1#*=}"; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
[ -n "$DATA" ] || { echo "bench.sh: --data is required" >&2; usage >&2; exit 2; }
[ -r "$DATA" ] || { echo "bench.sh: cannot read $DATA" >&2; exit 2; }
[[ "$SEED" =~ ^-?[0-9]+$ ]] || { echo "bench.sh: --seed must be an integer" >&2; exit 2; }
[[ "$TUNE" =~ ^[0-9]+$ ]] || { echo "bench.sh: --tune must be a number of trials" >&2; exit 2; }
[[ "$UNIT" =~ ^(line|order)$ ]] || { echo "bench.sh: --unit must be line or order" >&2; exit 2; }

source "$ROOT/scripts/lib/protocol.sh"

ensure_deps
build_install
cluster_start
if [ "$KEEP" = 1 ]; then
    trap 'log "cluster kept: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=postgres psql (stop: runuser -u postgres -- $PG_BIN/pg_ctl -D $CLUSTER_DIR/data stop; rm -rf $CLUSTER_DIR)"' EXIT
fi

load_protocol_csv "$DATA" "$SEED" "$ARCH" "$OPTIONS"
if [ "$UNIT" = order ]; then
    # every method of the run (model, baselines, CV) in the next-order variant
    psql -X -q -v ON_ERROR_STOP=1 -c "UPDATE bench_params SET options = options || '{\"unit\": \"order\"}'" >&2
fi

log "baselines (counted by seqsales_train, evaluated by seqsales_evaluate)"
run_sql baselines.sql

if [ "$TUNE" -gt 0 ]; then
    log "tuning ($ARCH, $TUNE trials, 3 inner folds, options $(psql -X -At -c 'SELECT options FROM bench_params'))"
    run_sql tune.sql -v trials="$TUNE" -v time_limit="$TUNE_LIMIT"
else
    log "training ($ARCH, options $(psql -X -At -c 'SELECT options FROM bench_params'))"
    run_sql train.sql
fi
run_sql metrics.sql

log "predicting the test clients"
run_sql predict.sql

psql -X -q -c "CREATE TABLE IF NOT EXISTS bench_cv (method text, fold text)" >&2
if [ "$CV" = 1 ]; then
    psql -X -q -c "DROP TABLE bench_cv" >&2
    log "5-fold cross-validation ($ARCH and the baselines)"
    run_sql cv.sql
fi

log "results (fractions)"
psql -X -q -v ON_ERROR_STOP=1 -c 'SELECT * FROM bench_summary' >&2
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT key, value FROM bench_result WHERE key <> 'model_id' ORDER BY key" >&2
psql -X -q -At -v ON_ERROR_STOP=1 -f "$SQL/report.sql"
