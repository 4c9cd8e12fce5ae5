-- bench step 5: the trained model's figures on the test clients, by the
-- extension (seqsales_evaluate: each test client's last event is the target,
-- the events before it the history; metrics in src/core/metrics.c), and the
-- human-readable table of every method.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

INSERT INTO bench_metrics
SELECT 'model', e.*, (SELECT (value #>> '{}')::float8 FROM bench_result WHERE key = 'train_seconds')
FROM seqsales_evaluate('bench', 'bench_test') e;

CREATE VIEW bench_summary AS
SELECT method,
       round(hit1::numeric, 4) AS hit1, round(hit3::numeric, 4) AS hit3,
       round(hit5::numeric, 4) AS hit5, round(hit10::numeric, 4) AS hit10,
       round(mrr10::numeric, 4) AS mrr10, round(macro_f1::numeric, 4) AS macro_f1,
       round(weighted_f1::numeric, 4) AS weighted_f1,
       round(hit3_repeat::numeric, 4) AS hit3_repeat, round(hit3_new::numeric, 4) AS hit3_new,
       round(recall1::numeric, 4) AS recall1, round(recall3::numeric, 4) AS recall3,
       round(recall5::numeric, 4) AS recall5, round(recall10::numeric, 4) AS recall10, clients,
       round(train_seconds::numeric, 2) AS seconds
FROM bench_metrics
ORDER BY array_position(ARRAY['model', 'popularity', 'client_frequency', 'markov'], method);
