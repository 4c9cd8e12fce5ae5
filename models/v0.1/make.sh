#!/usr/bin/env bash
# models/v0.1/make.sh - makes the committed 0.1 model files of this directory
# from the 0.1 release (commit 1b91ee0): builds that commit, installs it into
# a private copy of PostgreSQL 15, trains a small model on the demo data in a
# throwaway cluster and writes
#
#   demo_small.model.copy  the model's seqsales_model row (every column of the
#                          0.1 catalog), COPY text format
#   demo_small.blob        its weights column, raw bytes (models/FORMAT.md)
#   demo_small.topk        seqsales_predict(client, 5, 'demo_small') of the 0.1
#                          build for 20 demo clients and one unknown client:
#                          client_id, rank, category, probability (COPY text)
#
# The files are the expected input and output of tests/unit/test_model_files.c
# and sql/upgrade_model.sql, which check that later builds still read a 0.1
# model and predict what 0.1 predicted.  They are made once; run this again
# only to remake them (the training is deterministic, so the same commit gives
# the same files on the same machine; another machine's libm or BLAS could
# change the last bits of the weights, and the files would then need to be
# committed again).
#
#   models/v0.1/make.sh [OUTDIR]       (as root: the cluster runs as postgres)
#
# OUTDIR defaults to this directory.  SEQSALES_V01_PG=DIR: the private
# PostgreSQL copy to install 0.1 into (default /tmp/pg-seqsales-v01, made
# once; the system's PostgreSQL is never written to).
source "$(dirname "$0")/../../scripts/lib/common.sh"

RELEASE=1b91ee09a6b445d3b053968ef7cd074be7b42561
OUT="$(cd "${1:-$(dirname "$0")}" && pwd)"
PREFIX="${SEQSALES_V01_PG:-/tmp/pg-seqsales-v01}"

# the demo data and the training: keep in step with sql/upgrade_model.sql
DEMO_CLIENTS=200
DEMO_SEED=1
TRAIN_OPTIONS='{"epochs": 3, "hidden_size": 16, "seed": 1, "threads": 1}'

SRC="$(mktemp -d /tmp/seqsales_v01_src.XXXXXX)"
at_exit "rm -rf '$SRC'"
log "extracting $RELEASE into $SRC"
git -C "$ROOT" archive "$RELEASE" | tar -x -C "$SRC"

# the private copy holds whatever seqsales the system had when it was made:
# remove it, so that only 0.1 can be found
private_pg "$PREFIX"
rm -f "$PREFIX$PG_BIN/../lib/seqsales.so" "$PREFIX/usr/share/postgresql/15/extension/seqsales"*
log "building 0.1 and installing it into $PREFIX"
make -C "$SRC" -s PG_CONFIG="$PG_CONFIG" >/dev/null
make -C "$SRC" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$PREFIX" >/dev/null
chmod -R a+rX "$PREFIX"
use_pg "$PREFIX$PG_BIN"

cluster_start
export PGTZ=UTC PGDATESTYLE=ISO
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION seqsales VERSION '0.1';
SELECT seqsales_demo_data($DEMO_CLIENTS, $DEMO_SEED);
SELECT seqsales_train('seqsales_demo_orders', categorical => '{region}', "numeric" => '{order_volume}',
                      model_name => 'demo_small', options => '$TRAIN_OPTIONS');
SQL
[ "$(q -At -c "SELECT extversion FROM pg_extension WHERE extname = 'seqsales'")" = 0.1 ]

q -c "COPY (SELECT * FROM seqsales_model WHERE name = 'demo_small') TO STDOUT" > "$OUT/demo_small.model.copy"
q -At -c "SELECT encode(weights, 'hex') FROM seqsales_model WHERE name = 'demo_small'" | xxd -r -p > "$OUT/demo_small.blob"
# 20 clients spread over the ids (md5 order), and one without history (the
# popularity prior); sql/upgrade_model.sql predicts for the clients of this file
q -c "COPY (SELECT c.client_id, p.rank, p.category, p.probability
            FROM (SELECT client_id FROM (SELECT DISTINCT client_id FROM seqsales_demo_orders) d
                  ORDER BY md5(client_id) LIMIT 20) c,
                 LATERAL seqsales_predict(c.client_id, 5, 'demo_small') p
            UNION ALL
            SELECT 'no_such_client', p.rank, p.category, p.probability
            FROM seqsales_predict('no_such_client'::text, 5, 'demo_small') p
            ORDER BY 1, 2) TO STDOUT" > "$OUT/demo_small.topk"

log "wrote $(wc -c < "$OUT/demo_small.model.copy") + $(wc -c < "$OUT/demo_small.blob") + $(wc -c < "$OUT/demo_small.topk") bytes to $OUT"
