-- seqsales regression tests: a model trained by the 0.1 release still works
-- after ALTER EXTENSION UPDATE, and predicts what 0.1 predicted.
-- models/v0.1/ holds the model's 0.1 catalog row and the 0.1 build's top 5
-- for 21 clients (made by models/v0.1/make.sh from commit 1b91ee0); the demo
-- data it was trained on is made again here (seqsales_demo_data is
-- deterministic and unchanged since 0.1).
SET client_min_messages = warning;
CREATE DATABASE seqsales_upgrade_model;
\c seqsales_upgrade_model
SET client_min_messages = warning;
CREATE EXTENSION seqsales VERSION '0.1';
-- the files are read by psql (\copy), not by the server: the checkout may
-- be in a directory the server's user cannot read
\getenv abs_srcdir PG_ABS_SRCDIR
\cd :abs_srcdir
-- the source relation before the update, which records its OID in the model
SELECT seqsales_demo_data(200, 1) AS demo_rows \gset
\copy seqsales_model FROM 'models/v0.1/demo_small.model.copy'
SELECT name, version, format_version, :demo_rows = (metrics->>'rows_read')::bigint AS same_demo_rows
FROM seqsales_model;
ALTER EXTENSION seqsales UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'seqsales';
SELECT name, owner = (SELECT relowner FROM pg_class WHERE oid = 'seqsales_model'::regclass) AS owned_by_catalog_owner,
       readers, source_oid = 'seqsales_demo_orders'::regclass AS source_recorded
FROM seqsales_model;
-- the 0.1 build's predictions
CREATE TEMP TABLE expected_topk (client_id text, rank integer, category text, probability double precision);
\copy expected_topk FROM 'models/v0.1/demo_small.topk'
SELECT count(*) AS compared_rows, count(DISTINCT client_id) AS clients,
       count(DISTINCT client_id) FILTER (WHERE client_id IN (SELECT client_id FROM seqsales_demo_orders)) AS with_history
FROM expected_topk;
-- this build's, one client at a time and in one batch: the same categories
-- at the same ranks, probabilities within float32 rounding (the forward pass
-- may sum in another order than 0.1's)
CREATE TEMP TABLE actual_topk AS
SELECT c.client_id, p.rank, p.category, p.probability
FROM (SELECT DISTINCT client_id FROM expected_topk) c, LATERAL seqsales_predict(c.client_id, 5, 'demo_small') p;
CREATE TEMP TABLE actual_all AS
SELECT * FROM seqsales_predict_all(5, 'demo_small') WHERE client_id IN (SELECT client_id FROM expected_topk);
SELECT 'predict' AS fn, client_id, rank, e.category AS expected, a.category AS actual,
       e.probability AS expected_p, a.probability AS actual_p
FROM expected_topk e FULL JOIN actual_topk a USING (client_id, rank)
WHERE e.category IS DISTINCT FROM a.category OR NOT abs(e.probability - a.probability) < 1e-6
UNION ALL
SELECT 'predict_all', client_id, rank, e.category, a.category, e.probability, a.probability
FROM (SELECT * FROM expected_topk WHERE client_id <> 'no_such_client') e FULL JOIN actual_all a USING (client_id, rank)
WHERE e.category IS DISTINCT FROM a.category OR NOT abs(e.probability - a.probability) < 1e-6
ORDER BY 1, 2, 3;
SELECT (SELECT count(*) FROM actual_topk) AS predicted_rows, (SELECT count(*) FROM actual_all) AS batch_rows;
\c contrib_regression
DROP DATABASE seqsales_upgrade_model;
