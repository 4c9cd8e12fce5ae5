# Loading a protocol CSV (../shared/PROTOCOL.md) into the current cluster:
# bench_raw (every value as text), then scripts/bench/prepare.sql builds the
# typed events, the client split (bench_clients), bench_train (the training
# clients' events) and the test windows.  Used by bench.sh and speed.sh.

SQL="$ROOT/scripts/bench"
run_sql() {     # file [psql args]: its output goes to stderr
    local f="$1"; shift
    psql -X -q -v ON_ERROR_STOP=1 "$@" -f "$SQL/$f" >&2
}

# load_protocol_csv FILE SEED ARCHITECTURE OPTIONS_JSON
load_protocol_csv() {
    local data="$1" seed="$2" arch="$3" options="$4"
    local header_line header="" copy_cols="" c
    local -a cols
    # the header: one column name per line (surrounding quotes, CR and a BOM removed)
    IFS= read -r header_line < "$data" || true
    header_line="${header_line%$'\r'}"
    header_line="${header_line#$'\xef\xbb\xbf'}"
    IFS=, read -r -a cols <<< "$header_line"
    for c in "${cols[@]}"; do
        c="${c#\"}"; c="${c%\"}"
        [ -n "$c" ] || { echo "empty column name in the header of $data" >&2; exit 2; }
        header+="${header:+$'\n'}$c"
        copy_cols+="${copy_cols:+, }\"${c//\"/\"\"}\""
    done
    log "loading $data"
    run_sql setup.sql -v data="$data" -v seed="$seed" -v architecture="$arch" \
        -v options="$options" -v header="$header"
    # every value as a string, '' included (pandas keep_default_na=False)
    psql -X -q -v ON_ERROR_STOP=1 \
        -c "\\copy bench_raw ($copy_cols) FROM pstdin WITH (FORMAT csv, HEADER true, FORCE_NOT_NULL ($copy_cols))" \
        < "$data" >&2
    run_sql prepare.sql
}
