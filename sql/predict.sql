-- seqsales regression tests: prediction
SET client_min_messages = warning;
SELECT id AS demo_id FROM seqsales_model WHERE name = 'demo' AND version = 1 \gset

-- held-out quality: the model against the popularity baseline on the test fold
CREATE TABLE demo_pred AS
SELECT t.client_id, t.category AS target, p.rank, p.category, p.probability
FROM demo_test_target t
CROSS JOIN LATERAL seqsales_predict(t.client_id, 5, 'demo', 'demo_test_history') p;
CREATE TABLE popularity AS
SELECT category, row_number() OVER (ORDER BY count(*) DESC, category) AS rank
FROM demo_train GROUP BY category;
SELECT count(DISTINCT client_id) = (SELECT count(*) FROM demo_test_target) AS every_client_scored,
       bool_and(rank BETWEEN 1 AND 5) AS ranks_1_to_5
FROM demo_pred;
WITH model AS (
  SELECT avg((EXISTS (SELECT 1 FROM demo_pred p WHERE p.client_id = t.client_id
                      AND p.category = t.category AND p.rank <= 3))::int) AS hit3
  FROM demo_test_target t),
pop AS (
  SELECT avg((EXISTS (SELECT 1 FROM popularity p WHERE p.category = t.category AND p.rank <= 3))::int) AS hit3
  FROM demo_test_target t)
SELECT model.hit3 > pop.hit3 + 0.10 AS model_beats_popularity_by_10_points
FROM model, pop;

-- rows are ranked by probability, probabilities are a distribution
SELECT bool_and(ok) AS ranked
FROM (SELECT probability <= lag(probability, 1, 1.0) OVER (PARTITION BY client_id ORDER BY rank) AS ok
      FROM demo_pred) s;
SELECT abs(sum(probability) - 1) < 1e-4 AS sums_to_one,
       count(*) = (SELECT array_length(categories, 1) FROM seqsales_model WHERE id = :demo_id) AS k_capped
FROM seqsales_predict((SELECT client_id FROM demo_test_target ORDER BY client_id LIMIT 1), 1000, 'demo', 'demo_test_history');

-- default k is 3; no model name means the newest model; text and typed ids
SELECT count(*) AS default_k FROM seqsales_predict('C000001'::text, model_name => 'demo');

-- a client with no history gets the popularity prior (the training target shares)
SELECT p.rank, p.category = m.categories[i.i] AS is_most_popular,
       abs(p.probability - m.category_counts[i.i]::float8 / (SELECT sum(x) FROM unnest(m.category_counts) x)) < 1e-6 AS prior
FROM seqsales_predict('no-such-client'::text, 1, 'demo') p, seqsales_model m,
     LATERAL (SELECT array_position(m.category_counts, (SELECT max(x) FROM unnest(m.category_counts) x)) AS i) i
WHERE m.id = :demo_id;

-- a prediction uses at most max_length events: longer histories give the same answer as their tail
SELECT seqsales_train('demo_train', model_name => 'short', options => '{"epochs": 1, "hidden_size": 8, "max_length": 5}') AS s \gset
SELECT count(*) AS newest_model FROM seqsales_predict('C000001');
CREATE TABLE tail_only AS
SELECT * FROM (SELECT o.*, row_number() OVER (PARTITION BY client_id ORDER BY ordered_at DESC) AS back
               FROM seqsales_demo_orders o WHERE client_id = 'C000010') s WHERE back <= 6;
SELECT (SELECT array_agg(category || probability::text ORDER BY rank) FROM seqsales_predict('C000010'::text, 5, 'short'))
     = (SELECT array_agg(category || probability::text ORDER BY rank) FROM seqsales_predict('C000010'::text, 5, 'short', 'tail_only'))
       AS same_with_tail;

-- integer, bigint and uuid client ids
SELECT count(*) AS int_client FROM seqsales_predict(3, 2, (SELECT name FROM seqsales_model WHERE source_relation = 'public.int_orders'));
SELECT count(*) AS bigint_client FROM seqsales_predict(3::bigint, 2, (SELECT name FROM seqsales_model WHERE source_relation = 'public.int_orders'));
SELECT count(*) AS text_as_int FROM seqsales_predict('3', 2, (SELECT name FROM seqsales_model WHERE source_relation = 'public.int_orders'));
SELECT count(*) AS uuid_client FROM seqsales_predict(md5('C000005')::uuid, 2, 'uuid_model');

-- the cache follows catalog changes: replacing a model's weights changes its answers
SELECT array_agg(category || probability::text ORDER BY rank) AS before FROM seqsales_predict('C000011'::text, 5, 'demo_seed6') \gset
UPDATE seqsales_model
SET (weights, hyperparameters, normalization, categories, category_counts, feature_vocabularies) =
    (SELECT weights, hyperparameters, normalization, categories, category_counts, feature_vocabularies
     FROM seqsales_model WHERE name = 'demo' AND version = 1)
WHERE name = 'demo_seed6';
SELECT array_agg(category || probability::text ORDER BY rank) <> :'before' AS changed,
       array_agg(category || probability::text ORDER BY rank)
       = (SELECT array_agg(category || probability::text ORDER BY rank) FROM seqsales_predict('C000011'::text, 5, 'demo')) AS follows_update
FROM seqsales_predict('C000011'::text, 5, 'demo_seed6');

-- batch scoring: one ordered scan, the same answers as one call per client
SELECT count(DISTINCT client_id) = (SELECT count(DISTINCT client_id) FROM demo_test_history) AS every_client,
       count(*) = 3 * count(DISTINCT client_id) AS k_rows_each
FROM seqsales_predict_all(3, 'demo', 'demo_test_history');
SELECT count(*) FILTER (WHERE a.category IS DISTINCT FROM b.category
                          OR abs(a.probability - b.probability) > 1e-6) AS mismatches
FROM seqsales_predict_all(5, 'demo', 'demo_test_history') a
FULL JOIN (SELECT c.client_id, p.*
           FROM (SELECT DISTINCT client_id FROM demo_test_history) c,
                LATERAL seqsales_predict(c.client_id, 5, 'demo', 'demo_test_history') p) b
USING (client_id, rank);
-- long histories are cut to max_length there too
SELECT count(*) FILTER (WHERE a.category IS DISTINCT FROM b.category
                          OR abs(a.probability - b.probability) > 1e-6) AS mismatches_short_model
FROM seqsales_predict_all(5, 'short') a
FULL JOIN (SELECT c.client_id, p.*
           FROM (SELECT DISTINCT client_id FROM demo_train) c,
                LATERAL seqsales_predict(c.client_id, 5, 'short') p) b
USING (client_id, rank);
-- forward passes on three threads: the same answers
SET seqsales.scoring_threads = 3;
SELECT count(*) FILTER (WHERE a.category IS DISTINCT FROM b.category
                          OR abs(a.probability - b.probability) > 1e-6) AS mismatches_three_threads,
       count(*) AS rows
FROM seqsales_predict_all(5, 'short') a
FULL JOIN (SELECT c.client_id, p.*
           FROM (SELECT DISTINCT client_id FROM demo_train) c,
                LATERAL seqsales_predict(c.client_id, 5, 'short') p) b
USING (client_id, rank);
RESET seqsales.scoring_threads;

-- seqsales_predict is PARALLEL SAFE: forced into a parallel worker, the
-- calls give the answers of the leader
CREATE TABLE demo_clients AS SELECT DISTINCT client_id FROM demo_train;
CREATE TEMP TABLE serial_answers AS
SELECT c.client_id, p.* FROM demo_clients c, LATERAL seqsales_predict(c.client_id, 5, 'short') p;
SET force_parallel_mode = on;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
CREATE TABLE parallel_answers AS
SELECT c.client_id, p.* FROM demo_clients c, LATERAL seqsales_predict(c.client_id, 5, 'short') p;
SELECT count(*) FILTER (WHERE a.category IS DISTINCT FROM b.category
                          OR a.probability IS DISTINCT FROM b.probability) AS mismatches_in_workers,
       count(*) AS rows
FROM serial_answers a FULL JOIN parallel_answers b USING (client_id, rank);
-- a temporary history relation cannot be read by a worker: a clear error
CREATE TEMP TABLE temp_histories AS SELECT * FROM demo_train WHERE client_id IN (SELECT client_id FROM demo_clients LIMIT 5);
\set VERBOSITY terse
SELECT count(*) FROM demo_clients c, LATERAL seqsales_predict(c.client_id, 5, 'short', 'temp_histories') p;
\set VERBOSITY default
RESET force_parallel_mode;
RESET max_parallel_workers_per_gather;
SELECT count(*) AS leader_reads_temp FROM demo_clients c, LATERAL seqsales_predict(c.client_id, 5, 'short', 'temp_histories') p;
DROP TABLE demo_clients, parallel_answers;

-- a backend that only predicts one client at a time never loads OpenBLAS;
-- batch scoring does
\c
SELECT count(*) AS rows FROM seqsales_predict('C000001', 3, 'short');
SELECT count(*) AS openblas_mapped
FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/maps'), E'\n') l WHERE l LIKE '%openblas%';
SELECT count(*) > 0 AS scored FROM seqsales_predict_all(3, 'short');
SELECT count(*) > 0 AS openblas_mapped
FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/maps'), E'\n') l WHERE l LIKE '%openblas%';
