-- seqsales regression tests: the order-aware mode (options {"unit": "order"}): training,
-- prediction, and next-order Hit@k / Recall@k of the counting baselines, hand-computed;
-- the lines of a target order never reach the history
SET client_min_messages = warning;
-- fitting clients, orders = the events of one day:
--   c1: {A, B} {A, C};  c2: {A} {B} {A, B};  c3: {C} {A} {D}
-- popularity: A 5, B 3, C 2, D 1
-- order transitions (each distinct category of an order to each of the next):
--   A -> A, B, C, D once each;  B -> A 2, B 1, C 1;  C -> A 1;  D -> none
CREATE TABLE om_train (client_id text, ordered_at date, category text, channel text);
INSERT INTO om_train VALUES
  ('c1', '2024-01-01', 'A', 'web'), ('c1', '2024-01-01', 'B', 'web'),
  ('c1', '2024-01-05', 'A', 'shop'), ('c1', '2024-01-05', 'C', 'shop'),
  ('c2', '2024-01-02', 'A', 'web'), ('c2', '2024-01-03', 'B', 'web'),
  ('c2', '2024-01-09', 'A', 'shop'), ('c2', '2024-01-09', 'B', 'web'),
  ('c3', '2024-01-01', 'C', 'web'), ('c3', '2024-01-04', 'A', 'web'), ('c3', '2024-01-08', 'D', 'shop');
-- held-out clients: the last order is the target set, the orders before it the history
CREATE TABLE om_test (client_id text, ordered_at date, category text, channel text);
INSERT INTO om_test VALUES
  ('t1', '2024-02-01', 'B', 'web'),
  ('t1', '2024-02-03', 'A', 'web'), ('t1', '2024-02-03', 'C', 'shop'),      -- targets {A, C}
  ('t2', '2024-02-01', 'A', 'web'), ('t2', '2024-02-02', 'D', 'web'),
  ('t2', '2024-02-05', 'C', 'web'), ('t2', '2024-02-05', 'X', 'web'),       -- {C, X}: X unknown
  ('t3', '2024-02-01', 'A', 'web'), ('t3', '2024-02-01', 'B', 'web');      -- one order: skipped

SELECT seqsales_train('om_train', 'client_id', 'ordered_at', 'category', model_name => 'om_' || a,
                      architecture => a, options => '{"validation_fraction": 0, "unit": "order"}') > 0 AS trained,
       a AS architecture
FROM unnest(ARRAY['popularity', 'client_frequency', 'markov']) a;
-- category_counts: the training targets, the distinct categories of the orders after a client's first
SELECT name, architecture, hyperparameters->>'unit' AS unit, categories, category_counts
FROM seqsales_model WHERE name LIKE 'om\_%' ORDER BY name;

-- markov (unit order) ranks from the history's last order: t1's is {B}: A 2, then B and C
-- once each (B the more popular), then D
SELECT rank, category FROM seqsales_predict('t1', 4, 'om_markov', 'om_test');
-- t2's last order is {C, X}: from C only A; then by popularity
SELECT rank, category FROM seqsales_predict('t2', 4, 'om_markov', 'om_test');

-- next order, by hand (Hit@k: a target in the top k; Recall@k: the share of the targets in it):
-- popularity A B C D: t1 {A, C} at 1, 3; t2 {C, X} C at 3, X missed
--   hit1 1/2, hit3 1, recall1 (1/2 + 0)/2, recall3 (1 + 1/2)/2, mrr10 (1 + 1/3)/2
-- client frequency: t1 (history B) B A C D: A at 2, C at 3; t2 (A, D: D the more recent) D A B C: C at 4
--   hit1 0, hit3 1/2, hit5 1, recall3 (1 + 0)/2, recall5 (1 + 1/2)/2, mrr10 (1/2 + 1/4)/2
-- markov from the previous order: t1 from {B}: A B C D; t2 from {D} (no transition): popularity
--   as popularity
SELECT m.name, e.unit, e.clients, e.hit1, e.hit3, e.hit5, e.hit10, round(e.mrr10::numeric, 6) AS mrr10,
       e.recall1, e.recall3, e.recall5, e.recall10, e.ndcg10, e.macro_f1, e.hit3_new
FROM (VALUES ('om_popularity'), ('om_client_frequency'), ('om_markov')) m(name),
     LATERAL seqsales_evaluate(m.name, 'om_test') e;
-- the class report is line-level
SELECT * FROM seqsales_class_report('om_popularity', 'om_test');

-- a recurrent model in order mode trains (one window per order after the first, the set
-- loss), predicts, and is evaluated on the next order
SELECT seqsales_train('om_train', 'client_id', 'ordered_at', 'category', categorical => '{channel}',
                      model_name => 'om_gru', architecture => 'gru4rec',
                      options => '{"unit": "order", "validation_fraction": 0, "hidden_size": 8, "epochs": 3, "seed": 3}') > 0 AS trained;
-- training targets: the orders after a client's first (c1 1, c2 2, c3 2), one window each
SELECT hyperparameters->>'unit' AS unit, metrics->>'training_targets' AS orders, metrics->>'windows' AS windows
FROM seqsales_model WHERE name = 'om_gru';
SELECT count(*) AS ranked, count(DISTINCT category) AS distinct_categories,
       abs(sum(probability) - 1) < 1e-5 AS sums_to_one
FROM seqsales_predict('t1', 4, 'om_gru', 'om_test');
SELECT unit, clients, hit1 <= hit3 AND hit3 <= hit10 AS ordered, recall1 <= recall3 AS recall_ordered
FROM seqsales_evaluate('om_gru', 'om_test');
-- lstm too
SELECT seqsales_train('om_train', 'client_id', 'ordered_at', 'category', model_name => 'om_lstm',
                      architecture => 'lstm',
                      options => '{"unit": "order", "validation_fraction": 0, "hidden_size": 4, "epochs": 2}') > 0 AS trained;
SELECT unit, clients FROM seqsales_evaluate('om_lstm', 'om_test');

-- the rest of a target order never reaches the history: om_test2 changes the lines of
-- the clients' last orders (other channels, a repeated line, the same categories), and
-- the scores of the history before it are those of seqsales_predict on that history alone
CREATE TABLE om_test2 AS SELECT * FROM om_test;
UPDATE om_test2 SET channel = 'phone' WHERE (client_id, ordered_at) IN (('t1', '2024-02-03'), ('t2', '2024-02-05'));
INSERT INTO om_test2 VALUES ('t1', '2024-02-03', 'C', 'web'), ('t2', '2024-02-05', 'X', 'shop');
CREATE TABLE om_history AS                   -- every event before each client's last order
  SELECT * FROM om_test t WHERE ordered_at < (SELECT max(ordered_at) FROM om_test u WHERE u.client_id = t.client_id);
SELECT (SELECT row(e.*)::text FROM seqsales_evaluate('om_gru', 'om_test') e)
     = (SELECT row(e.*)::text FROM seqsales_evaluate('om_gru', 'om_test2') e) AS same_evaluation;
-- evaluate's Hit@1 / Hit@3 of t1 alone agree with the top of seqsales_predict on its history
CREATE TABLE om_t1 AS SELECT * FROM om_test WHERE client_id = 't1';
SELECT e.hit1 = (SELECT count(*) FROM seqsales_predict('t1', 1, 'om_gru', 'om_history') p
                 WHERE p.category IN ('A', 'C'))::float8 AS hit1_agrees,
       e.recall3 = (SELECT count(*) / 2.0 FROM seqsales_predict('t1', 3, 'om_gru', 'om_history') p
                    WHERE p.category IN ('A', 'C'))::float8 AS recall3_agrees
FROM seqsales_evaluate('om_gru', 'om_t1') e;

-- options of the mode
SELECT seqsales_train('om_train', 'client_id', 'ordered_at', 'category', model_name => 'om_bad',
                      options => '{"unit": "order", "class_weighting": true}');
-- a relation without a second order has no next-order target
CREATE TABLE om_single (client_id text, ordered_at date, category text);
INSERT INTO om_single VALUES ('s1', '2024-01-01', 'A'), ('s1', '2024-01-01', 'B');
SELECT seqsales_train('om_single', 'client_id', 'ordered_at', 'category', model_name => 'om_bad',
                      options => '{"unit": "order", "validation_fraction": 0}');

-- cross-validation in order mode reports the next-order figures
CREATE TABLE om_cv AS
  SELECT 'k' || c AS client_id, DATE '2024-01-01' + o AS ordered_at,
         chr(65 + ((c * 7 + o * 3 + l) % 5)) AS category
  FROM generate_series(1, 40) c, generate_series(0, 3) o, generate_series(0, 1) l;
SELECT fold, clients, hit3 >= recall3 AS hit_above_recall, recall3 IS NOT NULL AS has_recall,
       ndcg10 IS NULL AS no_line_figures
FROM seqsales_cross_validate('om_cv', architecture => 'popularity', folds => 2,
                             options => '{"unit": "order"}')
WHERE fold <> 'std';

DROP TABLE om_train, om_test, om_test2, om_history, om_t1, om_single, om_cv;
SELECT seqsales_drop_model(name) FROM seqsales_model WHERE name LIKE 'om\_%' ORDER BY name;
