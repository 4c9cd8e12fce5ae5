-- seqsales regression tests: inputs and lifecycle that once gave wrong
-- models or internal errors (each block names the defect it guards)
SET client_min_messages = warning;
CREATE TABLE rb_orders AS
SELECT client_id, ordered_at, category, region, order_volume::float8 AS volume
FROM seqsales_demo_orders WHERE client_id IN (SELECT client_id FROM demo_fold ORDER BY client_id LIMIT 150);

-- numeric values finite in float8 but not in float4, and infinite times:
-- never a non-finite model (they are made missing / skipped and counted)
CREATE TABLE rb_extreme AS SELECT * FROM rb_orders;
UPDATE rb_extreme SET volume = 1e39 WHERE category IN (SELECT DISTINCT category FROM rb_extreme ORDER BY 1 LIMIT 3);
UPDATE rb_extreme SET volume = -1e308 WHERE category IN (SELECT DISTINCT category FROM rb_extreme ORDER BY 1 DESC LIMIT 3);
INSERT INTO rb_extreme SELECT client_id, 'infinity', category, region, volume FROM rb_orders WHERE ordered_at < '2022-06-01';
INSERT INTO rb_extreme SELECT client_id, '-infinity', category, region, 1e300 FROM rb_orders WHERE ordered_at < '2022-06-01';
SELECT seqsales_train('rb_extreme', "numeric" => '{volume}', categorical => '{region}', model_name => 'rb_extreme',
                      options => '{"epochs": 2, "hidden_size": 16, "seed": 1}') AS extreme_id \gset
SELECT (metrics->>'rows_skipped_infinite_time')::int = 2 * (SELECT count(*) FROM rb_orders WHERE ordered_at < '2022-06-01') AS skipped_counted,
       (metrics->>'numeric_values_made_missing')::int = (SELECT count(*) FROM rb_extreme WHERE abs(volume) > 3.4e38 AND ordered_at > '-infinity') AS missing_counted,
       normalization->'mean'->>0 NOT IN ('NaN', 'Infinity', '-Infinity') AS finite_mean
FROM seqsales_model WHERE id = :extreme_id;
-- predictions from histories holding the same values: finite, summing to 1
SELECT count(*) = 3 * 10 AS all_rows, bool_and(probability >= 0 AND probability <= 1) AS probabilities,
       bool_and(probability::text NOT IN ('NaN', 'Infinity')) AS finite
FROM (SELECT DISTINCT client_id FROM rb_extreme ORDER BY 1 LIMIT 10) c, seqsales_predict(c.client_id, 3, 'rb_extreme') p;
SELECT abs(sum(probability) - 1) < 1e-4 AS sums_to_one
FROM seqsales_predict((SELECT min(client_id) FROM rb_extreme), 1000, 'rb_extreme');
SELECT count(*) > 0 AS scored, bool_and(probability::text NOT IN ('NaN', 'Infinity')) AS finite
FROM seqsales_predict_all(3, 'rb_extreme');

-- the source identified by more than its name: dropped and created again
CREATE TABLE rb_src AS SELECT * FROM rb_orders;
SELECT seqsales_train('rb_src', model_name => 'rb_src', options => '{"epochs": 1, "hidden_size": 8}') IS NOT NULL AS trained;
SELECT count(*) AS from_own_source FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_src');
DROP TABLE rb_src;
CREATE TABLE rb_src AS SELECT * FROM rb_orders WHERE category <> (SELECT min(category) FROM rb_orders);
SELECT * FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_src');
SELECT * FROM seqsales_predict_all(3, 'rb_src');
SELECT count(*) AS with_source FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_src', 'rb_src');
SELECT seqsales_set_source('rb_src', 'rb_src') AS versions_repointed;
SELECT count(*) AS after_set_source FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_src');

-- ... or a temporary table: dropped and created again in this session,
-- or another session's of the same name once this one has ended
CREATE TEMP TABLE rb_tmp AS SELECT * FROM rb_orders;
SELECT seqsales_train('rb_tmp', model_name => 'rb_tmp', options => '{"epochs": 1, "hidden_size": 8}') IS NOT NULL AS trained;
SELECT count(*) AS from_temp FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_tmp');
DROP TABLE rb_tmp;
CREATE TEMP TABLE rb_tmp AS SELECT * FROM rb_orders LIMIT 100;
SELECT * FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_tmp');
\c
SET client_min_messages = notice;
-- (the ended session's table is dropped when its backend exits)
DO $$ BEGIN
  FOR i IN 1..200 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'rb_tmp' AND relpersistence = 't');
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
CREATE TEMP TABLE rb_tmp AS SELECT * FROM rb_orders LIMIT 100;
DO $$ BEGIN
  PERFORM * FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_tmp');
  RAISE NOTICE 'read another session''s table';
EXCEPTION WHEN object_not_in_prerequisite_state OR undefined_table THEN
  RAISE NOTICE 'refused';  -- 55000, or 42P01 when this session's temporary schema is another one
END $$;
SET client_min_messages = warning;
SELECT count(*) AS with_source FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 3, 'rb_tmp', 'rb_tmp');
DROP TABLE rb_tmp;

-- ALTER, RENAME and DROP of a source whose plan this backend has cached:
-- the same answer a fresh backend gives
CREATE TABLE rb_int AS SELECT substr(client_id, 2)::int AS client_id, ordered_at, category FROM rb_orders;
SELECT seqsales_train('rb_int', model_name => 'rb_int', options => '{"epochs": 1, "hidden_size": 8, "seed": 2}') IS NOT NULL AS trained;
SELECT rank, category FROM seqsales_predict(1, 3, 'rb_int') \gset r_
CREATE TEMP TABLE rb_before AS SELECT rank, category FROM seqsales_predict(1, 3, 'rb_int');
ALTER TABLE rb_int ALTER COLUMN client_id TYPE bigint;
SELECT count(*) = 3 AS same_after_bigint FROM seqsales_predict(1, 3, 'rb_int') JOIN rb_before USING (rank, category);
ALTER TABLE rb_int ALTER COLUMN client_id TYPE text;
SELECT count(*) = 3 AS same_after_text FROM seqsales_predict('1'::text, 3, 'rb_int') JOIN rb_before USING (rank, category);
SELECT * FROM seqsales_predict(1, 3, 'rb_int');
ALTER TABLE rb_int ALTER COLUMN client_id TYPE integer USING client_id::integer;
ALTER TABLE rb_int RENAME COLUMN category TO cat;
SELECT * FROM seqsales_predict(1, 3, 'rb_int');
ALTER TABLE rb_int RENAME COLUMN cat TO category;
SELECT count(*) = 3 AS same_after_renames FROM seqsales_predict(1, 3, 'rb_int') JOIN rb_before USING (rank, category);
ALTER TABLE rb_int RENAME TO rb_int2;
SELECT * FROM seqsales_predict(1, 3, 'rb_int');
SELECT count(*) = 3 AS by_source FROM seqsales_predict(1, 3, 'rb_int', 'rb_int2') JOIN rb_before USING (rank, category);
ALTER TABLE rb_int2 RENAME TO rb_int3;
SELECT count(*) = 3 AS source_renamed_again FROM seqsales_predict(1, 3, 'rb_int', 'rb_int3') JOIN rb_before USING (rank, category);
ALTER TABLE rb_int3 RENAME TO rb_int;
SELECT count(*) = 3 AS back FROM seqsales_predict(1, 3, 'rb_int') JOIN rb_before USING (rank, category);
DROP TABLE rb_int;
SELECT * FROM seqsales_predict(1, 3, 'rb_int');
SELECT * FROM seqsales_predict_all(3, 'rb_int');

-- equal times without a tie-break column: the same model whatever the
-- physical order of the rows
CREATE TABLE rb_ties_a AS
SELECT client_id, date_trunc('quarter', ordered_at) AS ordered_at, category, region, volume
FROM rb_orders ORDER BY client_id, category;
CREATE TABLE rb_ties_b AS SELECT * FROM rb_ties_a ORDER BY md5(category || client_id || region) DESC;
SELECT count(*) > 0 AS has_ties FROM (SELECT 1 FROM rb_ties_a GROUP BY client_id, ordered_at HAVING count(DISTINCT category) > 1) t;
SELECT seqsales_train('rb_ties_a', categorical => '{region}', "numeric" => '{volume}', model_name => 'rb_ties',
                      options => '{"epochs": 1, "hidden_size": 8, "seed": 4}') AS ta \gset
SELECT seqsales_train('rb_ties_b', categorical => '{region}', "numeric" => '{volume}', model_name => 'rb_ties',
                      options => '{"epochs": 1, "hidden_size": 8, "seed": 4}') AS tb \gset
SELECT (SELECT weights FROM seqsales_model WHERE id = :ta) = (SELECT weights FROM seqsales_model WHERE id = :tb) AS same_model;
SELECT count(*) = 5 AS same_predictions
FROM seqsales_predict((SELECT min(client_id) FROM rb_orders), 5, 'rb_ties', 'rb_ties_a') a
JOIN seqsales_predict((SELECT min(client_id) FROM rb_orders), 5, 'rb_ties', 'rb_ties_b') b USING (rank, category, probability);

-- training refuses what it cannot finish before reading a row
BEGIN READ ONLY;
SELECT seqsales_train('rb_orders', model_name => 'rb_ro');
ROLLBACK;

SELECT sum(seqsales_drop_model(name)) AS dropped FROM (SELECT DISTINCT name FROM seqsales_model WHERE name LIKE 'rb\_%') n;
DROP TABLE rb_orders, rb_extreme, rb_src, rb_ties_a, rb_ties_b;
