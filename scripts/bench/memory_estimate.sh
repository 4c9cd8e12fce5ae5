#!/usr/bin/env bash
# The training memory estimate against the backend's measured peak.
#
# Builds this checkout (and, with --before REV, that revision too) into a
# private prefix, never the system's directories; starts a throwaway cluster
# per build as the postgres user (unix socket only, shared_buffers 16MB);
# trains on synthetic data at several shapes, each in a fresh backend, and
# prints a markdown table: metrics->'memory_estimate_bytes' and the peak
# growth, VmHWM after minus VmRSS before, less the shared memory and the
# file-backed pages (RssShmem, RssFile: shared_buffers, OpenBLAS's code)
# mapped meanwhile.  Needs about 3 GB free (max_length 10000) and 10 to 15
# minutes per build on 2 vCPUs.
#
#   scripts/bench/memory_estimate.sh [--before REV] [--only PATTERN] > bench/results/memory_estimate.md
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG="$PG_BIN/pg_config"
WORK="$(mktemp -d /tmp/seqsales_mem.XXXXXX)"
chmod 755 "$WORK"
BEFORE=""
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --before) BEFORE="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        *) echo "usage: $0 [--before REV] [--only PATTERN]" >&2; exit 2 ;;
    esac
done

log() { printf '== %s\n' "$*" >&2; }

CLUSTER=""
stop_cluster() {
    if [ -n "$CLUSTER" ]; then
        runuser -u postgres -- "$CLUSTER/bin/pg_ctl" -D "$CLUSTER/data" -m immediate stop >/dev/null 2>&1 || true
        CLUSTER=""
    fi
}
cleanup() { stop_cluster; rm -rf "$WORK"; }
trap cleanup EXIT

# build_install SRC PREFIX: PostgreSQL's directories copied under PREFIX, the extension installed there
build_install() {
    local src="$1" prefix="$2"
    mkdir -p "$prefix/usr/lib/postgresql" "$prefix/usr/share/postgresql"
    cp -a /usr/lib/postgresql/15 "$prefix/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$prefix/usr/share/postgresql/"
    make -C "$src" -s PG_CONFIG="$PG_CONFIG" >/dev/null
    make -C "$src" -s PG_CONFIG="$PG_CONFIG" DESTDIR="$prefix" install >/dev/null
    chmod -R a+rX "$prefix"
}

# start_cluster PREFIX: a cluster of that prefix's binaries; sets PGHOST PGPORT
start_cluster() {
    local prefix="$1"
    CLUSTER="$prefix/cluster"
    mkdir -p "$CLUSTER"
    ln -sfn "$prefix/usr/lib/postgresql/15/bin" "$CLUSTER/bin"
    chown postgres: "$CLUSTER"
    cd "$WORK"
    export PGPORT=$((50000 + RANDOM % 10000)) PGHOST="$CLUSTER" PGUSER=postgres PGDATABASE=postgres
    runuser -u postgres -- "$CLUSTER/bin/initdb" -D "$CLUSTER/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    runuser -u postgres -- "$CLUSTER/bin/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w \
        -o "-k $CLUSTER -p $PGPORT -c listen_addresses='' -c shared_buffers=16MB -c fsync=off" start >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION seqsales" >/dev/null
    # the cluster must run this build's library, not the system's
    local so
    so="$(psql -X -At -q -v ON_ERROR_STOP=1 <<SQL
LOAD 'seqsales';
SELECT pg_read_file('/proc/self/maps') ~ '$prefix/.*seqsales\\.so';
SQL
)"
    [ "$so" = t ] || { echo "the cluster does not load $prefix's seqsales.so" >&2; exit 1; }
}

# Synthetic order lines: n_long long clients (the first fitting, the last a
# validation client when long_val = 1, by the md5 rule of seed 1 and fraction
# 0.1) of long_len, long_len + 5000, ... events, and n_short clients of 2 to
# 40 events; two categorical and two numeric columns.
DATA_SQL=$(cat <<'EOF'
CREATE FUNCTION mem_make_events(tbl text, n_long int, long_len int, n_short int, long_val int)
RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE n bigint;
BEGIN
  EXECUTE format($q$
    CREATE TABLE %I AS
    WITH ids AS (
      SELECT id, ('x' || substr(md5('1:' || id), 8, 7))::bit(28)::int %% 100 < 10 AS val
      FROM generate_series(100000, 100999) id),
    longc AS (
      (SELECT id FROM ids WHERE NOT val ORDER BY id LIMIT %s - %s)
      UNION ALL (SELECT id FROM ids WHERE val ORDER BY id LIMIT %s)),
    clients AS (
      SELECT id::bigint AS client_id, %s + (row_number() OVER (ORDER BY id) - 1) * 5000 AS n FROM longc
      UNION ALL
      SELECT id::bigint, 2 + (hashint4(id) & 2147483647) %% 39 FROM generate_series(1, %s) id)
    SELECT c.client_id,
           timestamp '2020-01-01' + (e * 3 + (hashint8(c.client_id * 100000 + e) & 3)) * interval '1 day' AS ordered_at,
           'cat' || ((hashint8(c.client_id * 7 + e / 3) & 2147483647) %% 25) AS category,
           'a' || ((hashint8(c.client_id * 11 + e) & 2147483647) %% 5) AS c1,
           'b' || ((hashint8(c.client_id * 13 + e) & 2147483647) %% 40) AS c2,
           ((hashint8(c.client_id * 17 + e) & 65535) / 655.36)::float8 AS n1,
           ((hashint8(c.client_id * 19 + e) & 65535) / 6553.6)::float8 AS n2
    FROM clients c, generate_series(1, c.n) e$q$,
    tbl, n_long, long_val, long_val, long_len, n_short);
  EXECUTE format('SELECT count(*) FROM %I', tbl) INTO n;
  RETURN n;
END $f$;
CREATE FUNCTION mem_kb(s text, k text) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $f$ SELECT substring(s FROM k || ':\s+(\d+) kB')::bigint $f$;
SELECT mem_make_events('ev_a', 3, 20000, 300, 0);    -- long clients 20k, 25k, 30k events, all fitting
SELECT mem_make_events('ev_v', 3, 20000, 300, 1);    -- one validates (the 20k one)
SELECT mem_make_events('ev_big', 0, 0, 50000, 0);    -- a million events of short clients
EOF
)

# name | table | categorical | numeric | options
SHAPES=$(cat <<'EOF'
h8 L50|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 8, "epochs": 2}
h16 L50 b32 2 layers|ev_a|{c1}|{n1}|{"hidden_size": 16, "layers": 2, "batch_size": 32, "epochs": 2}
h64 L50 2 threads|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 64, "threads": 2, "epochs": 2}
h256 L50|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 256, "epochs": 2}
h256 L50 b32 2 layers 2 threads, no features|ev_a|{}|{}|{"hidden_size": 256, "layers": 2, "batch_size": 32, "threads": 2, "epochs": 1}
h64 L50, 1M events|ev_big|{c1,c2}|{n1,n2}|{"hidden_size": 64, "epochs": 1}
h8 L1000|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 8, "max_length": 1000, "epochs": 2}
h64 L1000 2 threads|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 64, "max_length": 1000, "threads": 2, "epochs": 1}
h16 L1000 b32 2 layers weighted|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 16, "layers": 2, "max_length": 1000, "batch_size": 32, "weighted_sampling": true, "epochs": 1}
h16 L1000, a long validation client|ev_v|{c1,c2}|{n1,n2}|{"hidden_size": 16, "max_length": 1000, "epochs": 1}
h256 L1000|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 256, "max_length": 1000, "epochs": 1}
h8 L10000|ev_a|{c1,c2}|{n1,n2}|{"hidden_size": 8, "max_length": 10000, "epochs": 1}
h8 L10000 b32 2 layers|ev_a|{c1}|{n1}|{"hidden_size": 8, "layers": 2, "max_length": 10000, "batch_size": 32, "epochs": 1}
EOF
)

# run_shapes OUT: one line per shape: name|rows|estimate bytes|growth kB|shmem kB|file kB|seconds
run_shapes() {
    local out="$1"
    : > "$out"
    psql -X -q -v ON_ERROR_STOP=1 -c "$DATA_SQL" >/dev/null
    while IFS='|' read -r name tbl cats nums opts; do
        if [ -n "$ONLY" ] && [[ "$name" != *$ONLY* ]]; then continue; fi
        log "  $name"
        psql -X -q -At -v ON_ERROR_STOP=1 >>"$out" <<SQL
\\c
SET client_min_messages = warning;
SELECT pg_read_file('/proc/self/status') AS s0 \\gset
SELECT seqsales_train('$tbl', categorical => '$cats', "numeric" => '$nums', model_name => 'mem', options => '$opts') AS id \\gset
SELECT pg_read_file('/proc/self/status') AS s1 \\gset
SELECT concat_ws('|', '$name', (SELECT count(*) FROM $tbl), metrics->>'memory_estimate_bytes',
       mem_kb(:'s1', 'VmHWM') - mem_kb(:'s0', 'VmRSS'),
       mem_kb(:'s1', 'RssShmem') - mem_kb(:'s0', 'RssShmem'),
       mem_kb(:'s1', 'RssFile') - mem_kb(:'s0', 'RssFile'),
       metrics->>'train_seconds')
FROM seqsales_model WHERE id = :id;
SELECT seqsales_drop_model('mem') \\g /dev/null
SQL
    done <<<"$SHAPES"
}

log "building this checkout"
build_install "$ROOT" "$WORK/after"
start_cluster "$WORK/after"
log "shapes, this checkout"
run_shapes "$WORK/after.txt"
stop_cluster
if [ -n "$BEFORE" ]; then
    log "building $BEFORE"
    mkdir -p "$WORK/src-before"
    git -C "$ROOT" archive "$BEFORE" | tar -x -C "$WORK/src-before"
    build_install "$WORK/src-before" "$WORK/before"
    start_cluster "$WORK/before"
    log "shapes, $BEFORE"
    run_shapes "$WORK/before.txt"
    stop_cluster
fi

# the table
echo "| shape | rows | estimate before (MB) | estimate (MB) | peak growth (MB) | estimate / peak | before / peak |"
echo "|---|---:|---:|---:|---:|---:|---:|"
while IFS='|' read -r name rows est hwm shmem file secs; do
    before="-"
    if [ -f "$WORK/before.txt" ]; then
        before="$(awk -F'|' -v n="$name" '$1 == n {print $3}' "$WORK/before.txt")"
    fi
    awk -v name="$name" -v rows="$rows" -v est="$est" -v hwm="$hwm" -v shmem="$shmem" -v file="$file" -v before="$before" 'BEGIN {
        peak = (hwm - shmem - file) * 1024.0
        b = before == "-" ? "-" : sprintf("%.1f", before / 1048576)
        br = before == "-" ? "-" : sprintf("%.2f", before / peak)
        printf "| %s | %d | %s | %.1f | %.1f | %.2f | %s |\n", name, rows, b, est / 1048576, peak / 1048576, est / peak, br
    }'
done < "$WORK/after.txt"
