-- bench step 6: batch-1 latency of seqsales_predict (median of 200 calls
-- after 20 warm-up calls, test clients cycled) and the clients per second of
-- predicting every test client (top 10) in one query.
\set ON_ERROR_STOP on
SET client_min_messages = notice;

DO $$
DECLARE
    ids text[];
    ms  float8[] := '{}';
    t0  timestamptz;
    n   int;
BEGIN
    SELECT array_agg(client_id ORDER BY client_id) INTO ids FROM bench_test_targets;
    n := cardinality(ids);
    FOR i IN 0 .. 19 LOOP
        PERFORM * FROM seqsales_predict(ids[1 + i % n], 10, 'bench', 'bench_test_history');
    END LOOP;
    FOR i IN 0 .. 199 LOOP
        t0 := clock_timestamp();
        PERFORM * FROM seqsales_predict(ids[1 + i % n], 10, 'bench', 'bench_test_history');
        ms := ms || (1000 * extract(epoch FROM clock_timestamp() - t0)::float8);
    END LOOP;
    INSERT INTO bench_result
    SELECT 'predict_ms_p50', to_jsonb(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)) FROM unnest(ms) x;
END $$;

DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
    s  float8;
BEGIN
    PERFORM count(*)
    FROM bench_test_targets t,
         LATERAL seqsales_predict(t.client_id, 10, 'bench', 'bench_test_history') p;
    s := extract(epoch FROM clock_timestamp() - t0)::float8;
    INSERT INTO bench_result
    VALUES ('predict_all_seconds', to_jsonb(s)),
           ('predict_clients_per_second', to_jsonb((SELECT count(*) FROM bench_test_targets) / s));
END $$;
