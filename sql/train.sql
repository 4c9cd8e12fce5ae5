-- seqsales regression tests: training
SET client_min_messages = warning;

SELECT seqsales_train('demo_train',
                      categorical => '{contract_type,supplier_segment,region}',
                      "numeric" => '{order_volume,contract_value}',
                      model_name => 'demo',
                      options => '{"epochs": 15, "hidden_size": 64, "seed": 3, "patience": 3}') AS demo_id \gset

SELECT name, version, architecture, format_version, source_relation,
       columns->>'client' AS client, columns->>'time_kind' AS time_kind,
       columns->'categorical' AS categorical, columns->'numeric' AS numeric,
       array_length(categories, 1) = (SELECT count(DISTINCT category) FROM demo_train) AS all_categories,
       normalization->'columns' AS numeric_inputs,
       jsonb_array_length(feature_vocabularies) AS n_features,
       hyperparameters->>'hidden_size' AS hidden, hyperparameters->>'max_length' AS max_length
FROM seqsales_model WHERE id = :demo_id;

-- the training log has one row per epoch run; early stopping keeps the best
SELECT (SELECT count(*) FROM seqsales_training_log WHERE model_id = :demo_id) = (metrics->>'epochs_run')::int AS log_complete,
       (metrics->>'best_epoch')::int BETWEEN 1 AND (metrics->>'epochs_run')::int AS best_epoch_in_range,
       abs((metrics->>'validation_hit3')::float8 - (SELECT max(validation_hit3) FROM seqsales_training_log WHERE model_id = :demo_id)) < 1e-5 AS kept_best,
       (metrics->>'validation_clients')::int > 0 AS has_validation_clients,
       (metrics->>'events')::int <= (metrics->>'rows_read')::int AS events_le_rows
FROM seqsales_model WHERE id = :demo_id;

-- the normalisation statistics are those of the fitting clients
SELECT abs((normalization->'mean'->>0)::float8 - avg(order_volume)) / avg(order_volume) < 0.1 AS mean_close
FROM seqsales_model, demo_train WHERE id = :demo_id GROUP BY normalization;

-- same seed, same data: the same weights; another call is a new version
SELECT seqsales_train('demo_train', categorical => '{contract_type,supplier_segment,region}',
                      "numeric" => '{order_volume,contract_value}', model_name => 'demo_v',
                      options => '{"epochs": 2, "hidden_size": 16, "seed": 5}') AS a \gset
SELECT seqsales_train('demo_train', categorical => '{contract_type,supplier_segment,region}',
                      "numeric" => '{order_volume,contract_value}', model_name => 'demo_v',
                      options => '{"epochs": 2, "hidden_size": 16, "seed": 5}') AS b \gset
SELECT (SELECT weights FROM seqsales_model WHERE id = :a) = (SELECT weights FROM seqsales_model WHERE id = :b) AS deterministic,
       (SELECT array_agg(version ORDER BY id) FROM seqsales_model WHERE name = 'demo_v') AS versions;
SELECT seqsales_train('demo_train', categorical => '{contract_type,supplier_segment,region}',
                      "numeric" => '{order_volume,contract_value}', model_name => 'demo_seed6',
                      options => '{"epochs": 2, "hidden_size": 16, "seed": 6}') AS c \gset
SELECT (SELECT weights FROM seqsales_model WHERE id = :a) <> (SELECT weights FROM seqsales_model WHERE id = :c) AS seed_matters;

-- the model name defaults to the relation's name; two layers, weighted sampling, no class weights
SELECT seqsales_train('demo_train', options => '{"epochs": 1, "hidden_size": 8, "layers": 2,
                      "weighted_sampling": true, "class_weighting": false, "validation_fraction": 0}') AS d \gset
SELECT name, hyperparameters->>'layers' AS layers, (metrics->>'validation_clients')::int AS validation_clients
FROM seqsales_model WHERE id = :d;

-- training windows: every max_length / 2 events by default (the reference),
-- or any stride up to max_length; every target is trained on once either way
SELECT seqsales_train('demo_train', model_name => 'stride_half',
                      options => '{"epochs": 1, "hidden_size": 8, "max_length": 10, "validation_fraction": 0}') AS sh \gset
SELECT seqsales_train('demo_train', model_name => 'stride_full',
                      options => '{"epochs": 1, "hidden_size": 8, "max_length": 10, "validation_fraction": 0,
                                   "window_stride": 10}') AS sf \gset
WITH n AS (SELECT count(*) AS n FROM demo_train GROUP BY client_id HAVING count(*) > 1)
SELECT h.hyperparameters->>'window_stride' AS default_stride, f.hyperparameters->>'window_stride' AS stride,
       (h.metrics->>'windows')::int = (SELECT sum(ceil(greatest(n - 11, 0) / 5.0) + 1) FROM n) AS half_windows,
       (f.metrics->>'windows')::int = (SELECT sum(ceil(greatest(n - 11, 0) / 10.0) + 1) FROM n) AS full_windows,
       f.metrics->>'training_targets' = h.metrics->>'training_targets' AS same_targets,
       (h.metrics->>'training_targets')::int = (SELECT sum(n - 1) FROM n) AS every_target
FROM seqsales_model h, seqsales_model f WHERE h.id = :sh AND f.id = :sf;

-- the training log's matrix-product work per epoch: more than the recurrent
-- products alone (forward, input and weight gradients: 3 x 2 H x 3H per
-- position after a window's first), and the same work on two threads
SELECT seqsales_train('demo_train', model_name => 'stride_full_2',
                      options => '{"epochs": 1, "hidden_size": 8, "max_length": 10, "validation_fraction": 0,
                                   "window_stride": 10, "threads": 2}') AS sf2 \gset
SELECT bool_and(a.gemm_gflop * 1e9 > 3 * 2 * 8 * 24 * a.target_positions) AS counts_the_products,
       bool_and(a.gemm_gflop = b.gemm_gflop) AS same_work_on_two_threads
FROM seqsales_training_log a JOIN seqsales_training_log b USING (epoch)
WHERE a.model_id = :sf AND b.model_id = :sf2;

-- integer order numbers as time, an integer client id, a tie-break column
CREATE TABLE int_orders AS
SELECT dense_rank() OVER (ORDER BY client_id)::bigint AS client,
       row_number() OVER (PARTITION BY client_id ORDER BY ordered_at) AS order_no,
       category AS family, row_number() OVER () AS line
FROM seqsales_demo_orders WHERE client_id < 'C000200';
SELECT seqsales_train('int_orders', 'client', 'order_no', 'family', tiebreak_column => 'line',
                      options => '{"epochs": 1, "hidden_size": 8}') AS e \gset
SELECT columns->>'time_kind' AS time_kind, columns->>'client_type' AS client_type,
       columns->>'tiebreak' AS tiebreak, normalization->'columns' AS numeric_inputs
FROM seqsales_model WHERE id = :e;

-- a date time column and a uuid client id
CREATE TABLE uuid_orders AS
SELECT md5(client_id)::uuid AS client_id, ordered_at::date AS ordered_at, category, region
FROM seqsales_demo_orders WHERE client_id < 'C000200';
SELECT seqsales_train('uuid_orders', categorical => '{region}', model_name => 'uuid_model',
                      options => '{"epochs": 1, "hidden_size": 8}') AS f \gset
SELECT columns->>'time_kind' AS time_kind, columns->>'client_type' AS client_type,
       normalization->'columns' AS numeric_inputs
FROM seqsales_model WHERE id = :f;

-- client ids equal by their type's equality but printed differently
-- (numeric 7.0 and 7.00) are one client for training and batch scoring,
-- as for seqsales_predict's "client = $1"
CREATE TABLE num_orders AS
SELECT substr(client_id, 2)::numeric
       + CASE WHEN row_number() OVER (PARTITION BY client_id ORDER BY ordered_at) % 2 = 0
              THEN 0.0 ELSE 0.00 END AS client_id,
       ordered_at, category
FROM seqsales_demo_orders WHERE client_id < 'C000050';
SELECT seqsales_train('num_orders', model_name => 'num_model',
                      options => '{"epochs": 1, "hidden_size": 8, "validation_fraction": 0}') AS g \gset
SELECT (metrics->>'clients')::int = (SELECT count(*) FROM (SELECT client_id FROM num_orders
                                      GROUP BY client_id HAVING count(*) >= 2) c) AS one_client_per_id,
       (SELECT count(DISTINCT client_id::text) FROM num_orders) > (SELECT count(DISTINCT client_id) FROM num_orders) AS ids_print_differently
FROM seqsales_model WHERE id = :g;
SELECT count(DISTINCT client_id::numeric) = (SELECT count(DISTINCT client_id) FROM num_orders) AS every_client,
       count(*) = 3 * (SELECT count(DISTINCT client_id) FROM num_orders) AS k_rows_each
FROM seqsales_predict_all(3, 'num_model');
SELECT count(*) FILTER (WHERE a.category IS DISTINCT FROM b.category
                          OR abs(a.probability - b.probability) > 1e-6) AS mismatches
FROM (SELECT client_id::numeric AS client, rank, category, probability
      FROM seqsales_predict_all(3, 'num_model')) a
FULL JOIN (SELECT c.client, p.*
           FROM (SELECT DISTINCT client_id AS client FROM num_orders) c,
                LATERAL seqsales_predict(c.client, 3, 'num_model') p) b
USING (client, rank);
