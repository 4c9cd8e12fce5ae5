-- seqsales regression tests: the counting baselines as architectures, hand-counted;
-- seqsales_evaluate and seqsales_class_report on a hand-checked case; lstm trains and predicts
SET client_min_messages = warning;
-- fitting clients: A 5 times, B 3, C 2; transitions A->A 1, A->B 2, A->C 1, B->A 1, B->C 1, C->A 1
CREATE TABLE ev_orders (client_id text, ordered_at integer, category text);
INSERT INTO ev_orders VALUES
  ('f1', 1, 'A'), ('f1', 2, 'A'), ('f1', 3, 'B'),
  ('f2', 1, 'A'), ('f2', 2, 'C'), ('f2', 3, 'A'),
  ('f3', 1, 'B'), ('f3', 2, 'A'), ('f3', 3, 'B'), ('f3', 4, 'C');
-- held-out clients: the last event is the target
CREATE TABLE ev_test (client_id text, ordered_at integer, category text);
INSERT INTO ev_test VALUES
  ('t1', 1, 'B'), ('t1', 2, 'C'), ('t1', 3, 'A'),   -- target A: popularity rank 1, new
  ('t2', 1, 'A'), ('t2', 2, 'B'),                   -- target B: rank 2, new
  ('t3', 1, 'A'), ('t3', 2, 'C'),                   -- target C: rank 3, new
  ('t4', 1, 'C'), ('t4', 2, 'D'),                   -- target D: unknown to the model, a miss
  ('t5', 1, 'B'), ('t5', 2, 'A'), ('t5', 3, 'B');   -- target B: rank 2, bought before

SELECT seqsales_train('ev_orders', model_name => 'ev_' || a, architecture => a,
                      options => '{"validation_fraction": 0}') > 0 AS trained, a AS architecture
FROM unnest(ARRAY['popularity', 'client_frequency', 'markov']) a;
SELECT name, architecture, categories, category_counts, metrics->>'epochs_run' AS epochs
FROM seqsales_model WHERE name LIKE 'ev\_%' ORDER BY name;

-- popularity: A, B, C with their shares, whatever the history
SELECT rank, category, round(probability::numeric, 6) AS probability
FROM seqsales_predict('t1', 5, 'ev_popularity', 'ev_test');
-- markov: t1's history is B C A; from A: B (2), then A and C (1 each, A the more popular)
SELECT rank, category FROM seqsales_predict('t1', 3, 'ev_markov', 'ev_test');
-- from B (t2's last): A and C once each, A first by popularity, then B
SELECT rank, category FROM seqsales_predict('t2', 3, 'ev_markov', 'ev_test');
-- from D (unknown): popularity
SELECT rank, category FROM seqsales_predict('t4', 3, 'ev_markov', 'ev_test');
-- client frequency: t5 (B A B): B twice, A once, then C by popularity
SELECT rank, category FROM seqsales_predict('t5', 3, 'ev_client_frequency', 'ev_test');
-- t1 (B C A): one each, the most recent first: A, C, B
SELECT rank, category FROM seqsales_predict('t1', 3, 'ev_client_frequency', 'ev_test');
-- a client without history: popularity
SELECT rank, category FROM seqsales_predict('nobody', 3, 'ev_client_frequency', 'ev_test');
-- batch scoring gives what one call per client gives
SELECT count(*) AS differing FROM (
  (SELECT client_id, rank, category FROM seqsales_predict_all(3, 'ev_markov', 'ev_test')
   EXCEPT SELECT c, p.rank, p.category FROM unnest(ARRAY['t1','t2','t3','t4','t5']) c,
          LATERAL seqsales_predict(c, 3, 'ev_markov', 'ev_test') p)) d;

-- seqsales_evaluate of popularity on ev_test, by hand:
--   ranks 1, 2, 3, miss, 2: Hit@1 1/5, Hit@3 = Hit@5 = Hit@10 4/5,
--   MRR@10 (1 + 1/2 + 1/3 + 1/2) / 5 = 0.466667, NDCG@10 (1 + 2/log2(3) + 1/2) / 5 = 0.552372,
--   coverage 3/3, top-1 always A: F1 of A 2 (1/5)(1) / (1/5 + 1) = 1/3, B, C, <unseen> 0:
--   macro 1/12 = 0.083333, weighted (1/3) / 5 = 0.066667; repeat t5: 1, new 3/4
SELECT round(hit1::numeric, 6) AS hit1, round(hit3::numeric, 6) AS hit3, round(hit5::numeric, 6) AS hit5,
       round(hit10::numeric, 6) AS hit10, round(mrr10::numeric, 6) AS mrr10, round(ndcg10::numeric, 6) AS ndcg10,
       round(coverage::numeric, 6) AS coverage, round(macro_f1::numeric, 6) AS macro_f1,
       round(weighted_f1::numeric, 6) AS weighted_f1, hit3_repeat, hit3_new, clients
FROM seqsales_evaluate('ev_popularity', 'ev_test');
-- per class: B 2 targets, both rank 2, taken for A; A right once, predicted 5 times
SELECT category, support, predicted, round("precision"::numeric, 4) AS "precision", recall,
       round(f1::numeric, 4) AS f1, hit3, confused_with, confusion_share
FROM seqsales_class_report('ev_popularity', 'ev_test');
-- markov, by hand (the history is every event but the last): t1 from C: A rank 1; t2 from A: B rank 1;
-- t3 from A (B A C): C rank 3; t4 miss; t5 from A: B rank 1: Hit@1 3/5, Hit@3 4/5
SELECT round(hit1::numeric, 4) AS hit1, round(hit3::numeric, 4) AS hit3, clients
FROM seqsales_evaluate('ev_markov', 'ev_test');

-- errors
SELECT * FROM seqsales_evaluate('ev_popularity');            -- no validation clients
SELECT * FROM seqsales_evaluate('no_such_model');
SELECT * FROM seqsales_class_report('no_such_model', 'ev_test');
SELECT * FROM seqsales_evaluate(NULL);
SELECT * FROM seqsales_evaluate('ev_popularity', 'ev_missing');

-- its own validation clients by default (seqsales_train's split)
CREATE TABLE ev_demo AS SELECT * FROM seqsales_demo_orders
WHERE client_id IN (SELECT DISTINCT client_id FROM seqsales_demo_orders ORDER BY 1 LIMIT 300);
SELECT seqsales_train('ev_demo', model_name => 'ev_demo_markov', architecture => 'markov') > 0 AS trained;
SELECT clients = (SELECT (metrics->>'validation_clients')::int FROM seqsales_model WHERE name = 'ev_demo_markov')
       AS its_validation_clients, hit1 <= hit3 AND hit3 <= hit10 AS ordered
FROM seqsales_evaluate('ev_demo_markov');

-- lstm: a bidirectional LSTM trains (one window per target) and predicts
SELECT seqsales_train('ev_demo', model_name => 'ev_lstm', architecture => 'lstm', categorical => '{region}',
                      "numeric" => '{order_volume}', options => '{"epochs": 2, "hidden_size": 16}') > 0 AS trained;
SELECT architecture, metrics->>'epochs_run' AS epochs, (metrics->>'training_targets')::int > 0 AS targets,
       (metrics->>'windows')::int = (metrics->>'training_targets')::int AS one_window_per_target
FROM seqsales_model WHERE name = 'ev_lstm';
SELECT count(*) AS ranks, bool_and(probability > 0 AND probability < 1) AS probabilities
FROM seqsales_predict((SELECT min(client_id) FROM ev_demo), 5, 'ev_lstm');
SELECT clients > 0 AS evaluated, hit1 <= hit3 AS ordered FROM seqsales_evaluate('ev_lstm');
SELECT count(*) AS differing FROM (
  SELECT client_id, rank, category FROM seqsales_predict_all(3, 'ev_lstm')
  EXCEPT SELECT c, p.rank, p.category FROM (SELECT DISTINCT client_id AS c FROM ev_demo) c,
         LATERAL seqsales_predict(c, 3, 'ev_lstm') p) d;

SELECT seqsales_drop_model(name) FROM (SELECT DISTINCT name FROM seqsales_model WHERE name LIKE 'ev\_%') n ORDER BY 1;
DROP TABLE ev_orders, ev_test, ev_demo;
