-- seqsales regression tests: bad input gets a clear error, never a crash
SET client_min_messages = warning;
\set VERBOSITY default

-- unknown relation, unknown columns, wrong types
SELECT seqsales_train('no_such_table');
SELECT seqsales_train('demo_train', client_column => 'customer');
SELECT seqsales_train('demo_train', categorical => '{region,colour}');
SELECT seqsales_train('demo_train', time_column => 'region');
SELECT seqsales_train('demo_train', "numeric" => '{region}');
SELECT seqsales_train('demo_train', categorical => '{region,region}');
SELECT seqsales_train('demo_train', categorical => '{region,NULL}');

-- empty relation, every target NULL, no client with two events
CREATE TABLE empty_orders (client_id text, ordered_at timestamptz, category text);
SELECT seqsales_train('empty_orders');
INSERT INTO empty_orders SELECT 'c' || i % 10, now() + i * interval '1 day', NULL FROM generate_series(1, 50) i;
SELECT seqsales_train('empty_orders');
INSERT INTO empty_orders SELECT 'single' || i, now(), 'x' FROM generate_series(1, 5) i;
SELECT seqsales_train('empty_orders');

-- NULL arguments
SELECT seqsales_train(NULL);
SELECT seqsales_train('demo_train', client_column => NULL);
SELECT seqsales_train('demo_train', categorical => NULL);
SELECT seqsales_train('demo_train', options => NULL);
SELECT seqsales_train('demo_train', architecture => NULL);

-- options: unknown keys, wrong types, out of range values
SELECT seqsales_train('demo_train', options => '{"hiden_size": 64}');
SELECT seqsales_train('demo_train', options => '{"hidden_size": 0}');
SELECT seqsales_train('demo_train', options => '{"hidden_size": 12.5}');
SELECT seqsales_train('demo_train', options => '{"dropout": 1.5}');
SELECT seqsales_train('demo_train', options => '{"learning_rate": 0}');
SELECT seqsales_train('demo_train', options => '{"epochs": "ten"}');
SELECT seqsales_train('demo_train', options => '{"weighted_sampling": 1}');
SELECT seqsales_train('demo_train', options => '{"window_stride": 51}');
SELECT seqsales_train('demo_train', options => '{"window_stride": 8, "max_length": 6}');
SELECT seqsales_train('demo_train', options => '{"window_stride": -1}');
SELECT seqsales_train('demo_train', options => '{"unit": "basket"}');
SELECT seqsales_train('demo_train', options => '{"unit": 1}');
SELECT seqsales_train('demo_train', options => '{"unit": "order", "class_weighting": true}');
SELECT seqsales_train('demo_train', options => '[1, 2]');
SELECT seqsales_train('demo_train', options => '{"validation_fraction": 0.9, "epochs": 1}', model_name => '');
SELECT seqsales_train('demo_train', architecture => 'bilstm');
SELECT seqsales_train('demo_train', architecture => 'transformer');

-- prediction errors
SELECT * FROM seqsales_predict('C000001', 0, 'demo');
SELECT * FROM seqsales_predict('C000001', -3, 'demo');
SELECT * FROM seqsales_predict('C000001', NULL, 'demo');
SELECT * FROM seqsales_predict(NULL::text, 3, 'demo');
SELECT * FROM seqsales_predict('C000001', 3, 'no_such_model');
SELECT * FROM seqsales_predict(42, 3, 'demo');
SELECT * FROM seqsales_predict(md5('x')::uuid, 3, 'demo');
SELECT * FROM seqsales_predict('not-a-number', 3, (SELECT name FROM seqsales_model WHERE source_relation = 'public.int_orders'));
SELECT * FROM seqsales_predict('C000001', 3, 'demo', 'int_orders');

-- a damaged catalog row is rejected with an error, never a crash
-- (its id named in the messages does not depend on how many models the other tests trained)
SELECT setval('seqsales_model_id_seq', 1000) IS NOT NULL AS id_set;
SELECT seqsales_train('demo_train', model_name => 'victim', options => '{"epochs": 1, "hidden_size": 8}') AS v \gset
CREATE TEMP TABLE victim_backup AS SELECT * FROM seqsales_model WHERE id = :v;
UPDATE seqsales_model SET weights = overlay(weights PLACING '\xff'::bytea FROM 200 FOR 1) WHERE id = :v;
SELECT * FROM seqsales_predict('C000001', 3, 'victim');
UPDATE seqsales_model SET weights = substring(weights FROM 1 FOR 100) WHERE id = :v;
SELECT * FROM seqsales_predict('C000001', 3, 'victim');
UPDATE seqsales_model SET weights = '\x'::bytea WHERE id = :v;
SELECT * FROM seqsales_predict('C000001', 3, 'victim');
UPDATE seqsales_model SET weights = (SELECT weights FROM victim_backup), categories = categories[1:3] WHERE id = :v;
SELECT * FROM seqsales_predict('C000001', 3, 'victim');
UPDATE seqsales_model SET categories = (SELECT categories FROM victim_backup),
                          normalization = '{"mean": [1, 2], "std": [1, 1]}' WHERE id = :v;
SELECT * FROM seqsales_predict('C000001', 3, 'victim');
UPDATE seqsales_model SET normalization = (SELECT normalization FROM victim_backup) WHERE id = :v;
SELECT count(*) AS repaired FROM seqsales_predict('C000001', 3, 'victim');
DELETE FROM seqsales_model WHERE id = :v;

-- a cancelled training (statement_timeout) leaves the catalog as it was
SELECT count(*) AS models_before FROM seqsales_model \gset
SET statement_timeout = '300ms';
SELECT seqsales_train('demo_train', model_name => 'cancelled', options => '{"epochs": 100, "patience": 100}');
RESET statement_timeout;
SELECT count(*) = :models_before AS catalog_unchanged,
       NOT EXISTS (SELECT 1 FROM seqsales_model WHERE name = 'cancelled') AS no_row
FROM seqsales_model;
-- and the backend is fine afterwards
SELECT count(*) AS still_predicts FROM seqsales_predict('C000001', 3, 'demo');

-- a cancelled batch scoring (two scoring threads, 40 x the training
-- histories stored in index order, so that rows stream to the forward
-- passes: seconds of work), then the same backend scores again
CREATE TEMP TABLE many_histories AS
SELECT h.client_id || '/' || g AS client_id, h.ordered_at, h.category, h.contract_type,
       h.supplier_segment, h.region, h.order_volume, h.contract_value
FROM demo_train h, generate_series(1, 40) g
ORDER BY 1, 2;
CREATE INDEX ON many_histories (client_id, ordered_at);
ANALYZE many_histories;
SET seqsales.scoring_threads = 2;
SET statement_timeout = '300ms';
\set VERBOSITY terse
SELECT count(*) FROM seqsales_predict_all(3, 'demo', 'many_histories');
\set VERBOSITY default
RESET statement_timeout;
SELECT count(*) = 3 * (SELECT count(DISTINCT client_id) FROM demo_test_history) AS scores_after_cancel
FROM seqsales_predict_all(3, 'demo', 'demo_test_history');
RESET seqsales.scoring_threads;

-- batch scoring errors
SELECT * FROM seqsales_predict_all(0, 'demo');
SELECT * FROM seqsales_predict_all(NULL, 'demo');
SELECT * FROM seqsales_predict_all(3, 'no_such_model');
SELECT * FROM seqsales_predict_all(3, 'demo', 'int_orders');

-- a memory ceiling: a clear error before any large allocation
SET seqsales.max_training_memory = '1MB';
SELECT seqsales_train('demo_train', options => '{"epochs": 1}');
SET seqsales.max_training_memory = '100MB';
SELECT seqsales_train('demo_train', options => '{"epochs": 1, "hidden_size": 2048}');
RESET seqsales.max_training_memory;
