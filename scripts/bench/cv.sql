-- bench step (--cv): 5-fold client-level cross-validation by the extension
-- (seqsales_cross_validate, the protocol's md5 folds with --seed) of the
-- architecture and of the three counting baselines, over every client.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE TABLE bench_cv AS
SELECT 'model'::text AS method, c.*
FROM bench_params p,
     LATERAL seqsales_cross_validate('bench_events', 'client_id', 'ts', 'category', p.cat_cols::name[],
                                     p.num_cols::name[], p.architecture, p.options, 'line', 5) c
WHERE false;

DO $$
DECLARE
    p bench_params;
    m text;
BEGIN
    SELECT * INTO p FROM bench_params;
    FOREACH m IN ARRAY ARRAY['model', 'popularity', 'client_frequency', 'markov'] LOOP
        INSERT INTO bench_cv
        SELECT m, c.*
        FROM seqsales_cross_validate('bench_events', 'client_id', 'ts', 'category', p.cat_cols::name[],
                                     p.num_cols::name[], CASE m WHEN 'model' THEN p.architecture ELSE m END,
                                     p.options, 'line', 5) c;
        RAISE NOTICE 'cv %: %', CASE m WHEN 'model' THEN p.architecture ELSE m END,
            (SELECT format('Hit@3 %s ± %s, MRR@10 %s ± %s%s', round(a.hit3::numeric, 4), round(s.hit3::numeric, 4),
                           round(a.mrr10::numeric, 4), round(s.mrr10::numeric, 4),
                           CASE WHEN a.recall3 IS NOT NULL
                                THEN format(', Recall@3 %s ± %s', round(a.recall3::numeric, 4), round(s.recall3::numeric, 4))
                                ELSE '' END)
             FROM bench_cv a, bench_cv s
             WHERE a.method = m AND a.fold = 'mean' AND s.method = m AND s.fold = 'std');
    END LOOP;
END $$;
