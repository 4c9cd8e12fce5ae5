# Shared shell functions of scripts/*.sh: dependencies, build, throwaway cluster.
# Source it; it sets -euo pipefail.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG="$PG_BIN/pg_config"
export PATH="$PG_BIN:$PATH"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# at_exit 'COMMAND': run on exit (also on failure), the last added first
AT_EXIT=()
at_exit() { AT_EXIT+=("$1"); trap 'for ((i = ${#AT_EXIT[@]} - 1; i >= 0; i--)); do eval "${AT_EXIT[i]}"; done' EXIT; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the build, the tests and the demo need.
ensure_deps() {
    local need=()
    [ -x "$PG_BIN/postgres" ] || need+=(postgresql-15)
    [ -f /usr/include/postgresql/15/server/postgres.h ] || need+=(postgresql-server-dev-15)
    ls /usr/lib/x86_64-linux-gnu/libopenblas.so.0 /usr/lib/*/libopenblas.so.0 >/dev/null 2>&1 || need+=(libopenblas-dev)
    [ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
    command -v gcc >/dev/null || need+=(gcc)
    command -v make >/dev/null || need+=(make)
    command -v runuser >/dev/null || need+=(util-linux)
    [ -x "$PG_BIN/pgbench" ] || need+=(postgresql-client-15)
    command -v prove >/dev/null || need+=(perl)
    perl -MIPC::Run -e 1 2>/dev/null || need+=(libipc-run-perl)     # PostgreSQL::Test::Cluster (t/*.pl)
    [ -f "$(gcc -print-file-name=libasan.so 2>/dev/null)" ] || need+=(libgcc-12-dev)  # test.sh --asan
    if [ "${#need[@]}" -gt 0 ]; then
        log "installing ${need[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

# SEQSALES_PG_PREFIX=DIR: build_install installs into a private copy of
# PostgreSQL 15 under DIR (see private_pg) instead of the system's, and the
# scripts run that copy's binaries.
build_install() {
    log "building seqsales"
    make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" >/dev/null
    if [ -n "${SEQSALES_PG_PREFIX:-}" ]; then
        private_pg "$SEQSALES_PG_PREFIX"
        make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$SEQSALES_PG_PREFIX" >/dev/null
        use_installed_pg
    else
        as_root make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
    fi
}

# private_pg DIR: a copy of PostgreSQL 15's binaries, libraries and share
# files under DIR (made once), readable by the postgres user.  PostgreSQL finds
# its lib and share directories relative to its binaries, so the copy's
# server loads what `make install DESTDIR=DIR` put there, never the system's.
private_pg() {
    local dir="$1"
    if [ ! -x "$dir$PG_BIN/postgres" ]; then
        mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql"
        cp -a /usr/lib/postgresql/15 "$dir/usr/lib/postgresql/"
        cp -a /usr/share/postgresql/15 "$dir/usr/share/postgresql/"
    fi
    chmod 755 "$dir"
    chmod -R a+rX "$dir"
}

# use_installed_pg: the binaries of the PostgreSQL build_install installs into
use_installed_pg() { if [ -n "${SEQSALES_PG_PREFIX:-}" ]; then use_pg "$SEQSALES_PG_PREFIX$PG_BIN"; fi; }

# use_pg BINDIR: the scripts' PostgreSQL binaries from now on
use_pg() {
    PG_BIN="$1"
    PG_CONFIG="$PG_BIN/pg_config"
    export PATH="$PG_BIN:$PATH"
}

# A throwaway cluster owned by the postgres user, on a unix socket and its own
# port; removed on exit (also on failure).  Sets PGHOST PGPORT PGUSER PGDATABASE.
# SERVER_ENV: NAME=VALUE words set for the server only (e.g. the ASan runtime).
CLUSTER_DIR=""
SERVER_ENV=()
cluster_stop() {
    if [ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$CLUSTER_DIR"
    fi
    CLUSTER_DIR=""
}

cluster_start() {
    CLUSTER_DIR="$(mktemp -d /tmp/seqsales_pg.XXXXXX)"
    chown postgres: "$CLUSTER_DIR"
    chmod 755 "$CLUSTER_DIR"
    at_exit cluster_stop
    # no TCP listener: the port only names the socket in our own directory
    export PGPORT="${PGPORT_WANTED:-$((50000 + RANDOM % 10000))}"
    export PGHOST="$CLUSTER_DIR" PGUSER=postgres PGDATABASE=postgres
    log "starting a throwaway cluster in $CLUSTER_DIR (port $PGPORT)"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    runuser -u postgres -- env "${SERVER_ENV[@]}" "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w \
        -o "-k $CLUSTER_DIR -p $PGPORT -c listen_addresses='' -c shared_buffers=256MB -c max_wal_size=4GB -c fsync=off ${PG_EXTRA_OPTS:-}" start >/dev/null
}
