-- bench: metrics of one method's top-10 lists in bench_predictions, as the
-- reference computes them (torch_ref/train.py ranking_metrics, class_report).
--   hit@k    share of test clients whose target is in the top k
--   mrr@10   mean of 1 / rank (0 if the target is not in the top 10)
--   F1       of the top-1 prediction over the labels in targets or
--            predictions, zero_division 0 (sklearn f1_score macro / weighted);
--            a target the method cannot predict (category unseen in its
--            classes) is a miss, all such targets share one label
--   hit3_repeat / hit3_new   Hit@3 over the test clients whose target is /
--            is not in their own input window (the last max_length events
--            before the last)
-- The classes are bench_categories (the fitting clients' categories) for the
-- baselines and the trained model's categories for 'model'.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE FUNCTION bench_metrics(m text,
    OUT hit1 float8, OUT hit3 float8, OUT hit5 float8, OUT hit10 float8, OUT mrr10 float8,
    OUT macro_f1 float8, OUT weighted_f1 float8, OUT hit3_repeat float8, OUT hit3_new float8)
LANGUAGE sql STABLE AS $$
WITH classes AS (
    SELECT category FROM bench_categories WHERE m <> 'model'
    UNION ALL
    SELECT unnest(s.categories) FROM seqsales_model s
    WHERE m = 'model' AND s.id = (SELECT (value #>> '{}')::bigint FROM bench_result WHERE key = 'model_id')),
r AS (
    SELECT t.client_id, t.repeat,
           CASE WHEN t.target IN (SELECT category FROM classes) THEN t.target
                ELSE chr(1) || '<unseen>' END AS truth,
           (SELECT min(p.rank) FROM bench_predictions p
            WHERE p.method = m AND p.client_id = t.client_id AND p.category = t.target
              AND p.rank <= 10) AS rank,
           coalesce((SELECT p.category FROM bench_predictions p
                     WHERE p.method = m AND p.client_id = t.client_id
                     ORDER BY p.rank LIMIT 1), chr(1) || '<none>') AS pred
    FROM bench_test_targets t),
labels AS (
    SELECT truth AS label FROM r UNION SELECT pred FROM r),
per_class AS (
    SELECT l.label,
           count(*) FILTER (WHERE r.pred = l.label AND r.truth = l.label) AS tp,
           count(*) FILTER (WHERE r.pred = l.label) AS n_pred,
           count(*) FILTER (WHERE r.truth = l.label) AS support
    FROM labels l CROSS JOIN r
    GROUP BY l.label),
f1 AS (
    SELECT support,
           CASE WHEN tp > 0
                THEN 2 * (tp::float8 / n_pred) * (tp::float8 / support)
                     / ((tp::float8 / n_pred) + (tp::float8 / support))
                ELSE 0 END AS f1
    FROM per_class),
ranking AS (
    SELECT count(*) FILTER (WHERE rank <= 1)::float8 / count(*) AS hit1,
           count(*) FILTER (WHERE rank <= 3)::float8 / count(*) AS hit3,
           count(*) FILTER (WHERE rank <= 5)::float8 / count(*) AS hit5,
           count(*) FILTER (WHERE rank <= 10)::float8 / count(*) AS hit10,
           sum(coalesce(1.0::float8 / rank, 0)) / count(*) AS mrr10,
           count(*) FILTER (WHERE repeat AND rank <= 3)::float8
               / nullif(count(*) FILTER (WHERE repeat), 0) AS hit3_repeat,
           count(*) FILTER (WHERE NOT repeat AND rank <= 3)::float8
               / nullif(count(*) FILTER (WHERE NOT repeat), 0) AS hit3_new
    FROM r),
f1_summary AS (
    SELECT avg(f1) AS macro_f1, sum(f1 * support) / sum(support) AS weighted_f1 FROM f1)
SELECT x.hit1, x.hit3, x.hit5, x.hit10, x.mrr10, y.macro_f1, y.weighted_f1, x.hit3_repeat, x.hit3_new
FROM ranking x, f1_summary y
$$;

-- the methods in bench_predictions with their metrics, for the human-readable table
CREATE VIEW bench_summary AS
SELECT m.method,
       round(x.hit1::numeric, 4) AS hit1, round(x.hit3::numeric, 4) AS hit3,
       round(x.hit5::numeric, 4) AS hit5, round(x.hit10::numeric, 4) AS hit10,
       round(x.mrr10::numeric, 4) AS mrr10, round(x.macro_f1::numeric, 4) AS macro_f1,
       round(x.weighted_f1::numeric, 4) AS weighted_f1,
       round(x.hit3_repeat::numeric, 4) AS hit3_repeat, round(x.hit3_new::numeric, 4) AS hit3_new
FROM (SELECT DISTINCT method FROM bench_predictions) m, LATERAL bench_metrics(m.method) x
ORDER BY array_position(ARRAY['model', 'popularity', 'client_frequency', 'markov', 'blend'], m.method);
