-- seqsales regression tests: the feature ranker and the hybrid (history features,
-- src/core/history.h) train, predict, batch-score and evaluate; their weights are
-- readable in SQL; the target's own time and order never reach the features.
SET client_min_messages = warning;
-- 150 clients, 6 orders each of two lines: a pair {A,B}, {C,D} or {E,F} in turn,
-- its two categories in an order that varies.  The second line of an order is
-- the partner of the first: what the current order says.
CREATE TABLE hs_orders AS
SELECT 'c' || i AS client_id, k AS ordered_at,
       chr(65 + 2 * ((k + i) % 3) + ((l + i * 7 + k * 3) % 2)) AS category, l AS line
FROM generate_series(1, 150) i, generate_series(1, 6) k, generate_series(0, 1) l;
CREATE VIEW hs_fit AS SELECT * FROM hs_orders WHERE substr(client_id, 2)::int <= 120;
CREATE VIEW hs_test AS SELECT * FROM hs_orders WHERE substr(client_id, 2)::int > 120;

SELECT seqsales_train('hs_fit', model_name => 'hs_ranker', architecture => 'ranker',
                      tiebreak_column => 'line', options => '{"epochs": 30, "patience": 30}') > 0 AS ranker;
SELECT seqsales_train('hs_fit', model_name => 'hs_hybrid', tiebreak_column => 'line',
                      options => '{"epochs": 8, "hidden_size": 16}') > 0 AS hybrid;
SELECT name, architecture, hyperparameters->>'inner_target_weight' AS inner_target_weight,
       (metrics->>'parameters')::int > 0 AS has_parameters
FROM seqsales_model WHERE name LIKE 'hs\_%' ORDER BY name;

-- the partner of the current order's first line comes first: c121's last order is
-- {C, D} (k = 6: pair (6 + 121) % 3 = 1), its first line D ((121 * 7 + 18) % 2 = 1)
CREATE VIEW hs_history AS
SELECT * FROM hs_test WHERE NOT (client_id = 'c121' AND ordered_at = 6 AND line = 1);
SELECT m AS model, (SELECT category FROM seqsales_predict('c121', 1, m, 'hs_history')) AS top1
FROM unnest(ARRAY['hs_ranker', 'hs_hybrid']) m;

-- held out: each client's last line is its order's partner
SELECT m AS model, clients, hit1 > 0.9 AS hit1_above_90, hit3 > 0.9 AS hit3_above_90
FROM unnest(ARRAY['hs_ranker', 'hs_hybrid']) m, seqsales_evaluate(m, 'hs_test');
SELECT count(*) AS rows, count(DISTINCT client_id) AS clients FROM seqsales_predict_all(3, 'hs_ranker', 'hs_test');
SELECT count(*) AS rows FROM seqsales_predict_all(3, 'hs_hybrid', 'hs_test');

-- the weights, by name; a popularity term and the order features among them
SELECT count(*) AS features, count(*) FILTER (WHERE weight <> 0) AS nonzero,
       bool_and(weight = weight) AS finite
FROM seqsales_history_weights('hs_ranker');
SELECT array_agg(feature ORDER BY feature) AS features FROM seqsales_history_weights('hs_hybrid');

-- the target's own time and order never reach the features: moving each test
-- client's last line into an order of its own (a later time) changes no figure
CREATE VIEW hs_test_moved AS
SELECT client_id, CASE WHEN ordered_at = 6 AND line = 1 THEN 7 ELSE ordered_at END AS ordered_at,
       category, line
FROM hs_test;
SELECT m AS model,
       (SELECT row(e.*)::text FROM seqsales_evaluate(m, 'hs_test') e)
       = (SELECT row(e.*)::text FROM seqsales_evaluate(m, 'hs_test_moved') e) AS same_figures
FROM unnest(ARRAY['hs_ranker', 'hs_hybrid']) m;
-- ... while a history line does reach them: c121's first line as A instead of D
CREATE VIEW hs_history_changed AS
SELECT client_id, ordered_at, CASE WHEN client_id = 'c121' AND ordered_at = 6 THEN 'A' ELSE category END AS category,
       line
FROM hs_history;
SELECT m AS model, (SELECT category FROM seqsales_predict('c121', 1, m, 'hs_history_changed')) AS top1
FROM unnest(ARRAY['hs_ranker', 'hs_hybrid']) m;

-- errors: a model without history features; NULL; a missing model
SELECT seqsales_train('hs_fit', model_name => 'hs_pop', architecture => 'popularity') > 0 AS pop;
SELECT * FROM seqsales_history_weights('hs_pop');
SELECT * FROM seqsales_history_weights(NULL);
SELECT * FROM seqsales_history_weights('no_such_model');

-- another role's model: its weights are as invisible as its row, even once this
-- backend has it in its cache; a grant opens them
CREATE ROLE ss_hw_owner;
CREATE ROLE ss_hw_other;
GRANT SELECT ON hs_orders, hs_fit TO ss_hw_owner, ss_hw_other;
SET ROLE ss_hw_owner;
SELECT seqsales_train('hs_fit', model_name => 'hs_owned', architecture => 'ranker', tiebreak_column => 'line',
                      options => '{"epochs": 2}') > 0 AS owner_trained;
SELECT count(*) AS owner_reads FROM seqsales_history_weights('hs_owned');
SET ROLE ss_hw_other;
SELECT count(*) FROM seqsales_history_weights('hs_owned');
SELECT count(*) FROM seqsales_history_weights('hs_ranker');
SET ROLE ss_hw_owner;
SELECT seqsales_grant('hs_owned', 'ss_hw_other') AS granted;
SET ROLE ss_hw_other;
SELECT count(*) AS other_reads_granted FROM seqsales_history_weights('hs_owned');
RESET ROLE;
SELECT seqsales_drop_model('hs_owned') AS dropped;
REVOKE SELECT ON hs_orders, hs_fit FROM ss_hw_owner, ss_hw_other;
DROP ROLE ss_hw_owner, ss_hw_other;

-- degenerate data: one category; every event of a client in one order (no later
-- order: no next-order target); next-order training on 2 threads; each trains,
-- predicts, batch-scores and evaluates with finite figures
CREATE VIEW hs_one_cat AS SELECT client_id, ordered_at, 'X'::text AS category, line FROM hs_fit;
CREATE VIEW hs_one_order AS SELECT client_id, 1 AS ordered_at, category, 2 * ordered_at + line AS line FROM hs_fit;
SELECT a || '/' || v AS model,
       seqsales_train('hs_' || v, model_name => 'hs_' || v || '_' || a, architecture => a, tiebreak_column => 'line',
                      options => '{"epochs": 2, "hidden_size": 8, "threads": 2}') > 0 AS trained
FROM unnest(ARRAY['ranker', 'hybrid']) a, unnest(ARRAY['one_cat', 'one_order']) v ORDER BY 1;
SELECT seqsales_train('hs_fit', model_name => 'hs_order_' || a, architecture => a, tiebreak_column => 'line',
                      options => '{"epochs": 2, "hidden_size": 8, "threads": 2, "unit": "order"}') > 0 AS trained
FROM unnest(ARRAY['ranker', 'hybrid']) a;
SELECT seqsales_train('hs_one_order', model_name => 'hs_none', architecture => 'ranker',
                      options => '{"unit": "order"}');
SELECT m AS model, p.category IS NOT NULL AND p.probability > 0 AND p.probability <= 1 AS finite
FROM unnest(ARRAY['hs_one_cat_ranker', 'hs_one_cat_hybrid', 'hs_one_order_ranker', 'hs_one_order_hybrid',
                  'hs_order_ranker', 'hs_order_hybrid']) m,
     seqsales_predict('c1', 1, m, 'hs_one_cat') p ORDER BY 1;
SELECT m AS model, count(*) AS rows, bool_and(probability BETWEEN 0 AND 1) AS finite
FROM unnest(ARRAY['hs_one_cat_ranker', 'hs_one_cat_hybrid', 'hs_one_order_ranker', 'hs_one_order_hybrid',
                  'hs_order_ranker', 'hs_order_hybrid']) m,
     seqsales_predict_all(2, m, 'hs_test') GROUP BY m ORDER BY 1;
SELECT m AS model, e.clients, e.hit3 BETWEEN 0 AND 1 AS finite, e.unit
FROM unnest(ARRAY['hs_one_cat_ranker', 'hs_one_cat_hybrid', 'hs_one_order_ranker', 'hs_one_order_hybrid',
                  'hs_order_ranker', 'hs_order_hybrid']) m,
     seqsales_evaluate(m, 'hs_test') e ORDER BY 1;
SELECT m AS model, bool_and(weight = weight AND abs(weight) < 1e6) AS finite
FROM unnest(ARRAY['hs_one_cat_ranker', 'hs_one_cat_hybrid', 'hs_order_ranker', 'hs_order_hybrid']) m,
     seqsales_history_weights(m) GROUP BY m ORDER BY 1;

-- more than 4000 categories: refused before anything is allocated
CREATE TABLE hs_wide AS SELECT 'w' || (i % 300) AS client_id, i / 300 AS ordered_at, 'k' || i AS category
FROM generate_series(0, 4000) i;
SELECT seqsales_train('hs_wide', model_name => 'hs_wide_ranker', architecture => 'ranker',
                      options => '{"validation_fraction": 0}');
SELECT seqsales_train('hs_wide', model_name => 'hs_wide_hybrid', options => '{"validation_fraction": 0}');
DROP TABLE hs_wide;
