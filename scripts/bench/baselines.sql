-- bench step 3: the protocol's counting baselines, trained (counted) by the
-- extension on the same training clients and evaluated by it on the test
-- clients, as every architecture is: popularity, client_frequency, markov
-- (PROTOCOL.md "Baselines"; src/core/counting.c).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE TABLE bench_metrics (
    method text PRIMARY KEY,
    hit1 float8, hit3 float8, hit5 float8, hit10 float8, mrr10 float8, ndcg10 float8,
    coverage float8, macro_f1 float8, weighted_f1 float8, hit3_repeat float8, hit3_new float8,
    clients bigint, unit text, recall1 float8, recall3 float8, recall5 float8, recall10 float8,
    train_seconds float8
);

DO $$
DECLARE
    p  bench_params;
    b  text;
    t0 timestamptz;
BEGIN
    SELECT * INTO p FROM bench_params;
    FOREACH b IN ARRAY ARRAY['popularity', 'client_frequency', 'markov'] LOOP
        t0 := clock_timestamp();
        PERFORM seqsales_train('bench_train'::regclass, 'client_id', 'ts', 'category',
                               p.cat_cols::name[], p.num_cols::name[], 'bench_' || b, b, p.options, 'line');
        INSERT INTO bench_metrics
        SELECT b, e.*, extract(epoch FROM clock_timestamp() - t0)::float8
        FROM seqsales_evaluate('bench_' || b, 'bench_test') e;
    END LOOP;
END $$;
