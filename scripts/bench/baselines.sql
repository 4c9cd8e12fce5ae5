-- bench step 3: the counting baselines of the reference (torch_ref/baselines.py)
-- on the same split and test windows, counts from the fitting clients only.
--   popularity       global category counts, ties by name (class index) order
--   client_frequency counts in the client's input window, ties by recency
--                    (latest last occurrence first), rest by popularity
--   markov           transitions from the last input category, ties and rest
--                    by popularity; popularity if it has none (or is unseen)
--   blend            0.5 P_markov(b | last) + 0.5 P_history(b) (P_markov falls
--                    back to the popularity distribution), ties by recency,
--                    then popularity
-- Only categories of the fitting clients are ranked, so every (test client,
-- class) pair is scored and the top 10 kept.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE TABLE bench_predictions (
    method    text NOT NULL,
    client_id text NOT NULL,
    rank      integer NOT NULL,
    category  text NOT NULL
);

CREATE TEMP TABLE bench_pairs AS
WITH hist AS (          -- known categories of the input window
    SELECT w.client_id, w.category, count(*) AS cnt, max(w.pos) AS last_pos
    FROM bench_test_window w JOIN bench_categories k USING (category)
    GROUP BY w.client_id, w.category),
hist_n AS (
    SELECT client_id, sum(cnt) AS n FROM hist GROUP BY client_id),
row_sum AS (
    SELECT a, sum(cnt) AS n FROM bench_transitions GROUP BY a)
SELECT t.client_id, k.category, k.pop_rank, k.prob,
       coalesce(h.cnt, 0) AS h_cnt,
       coalesce(h.last_pos, -1) AS last_pos,
       coalesce(tr.cnt, 0) AS t_cnt,
       coalesce(hn.n, 0) AS h_n,
       coalesce(rs.n, 0) AS t_n
FROM bench_test_targets t
CROSS JOIN bench_categories k
LEFT JOIN hist h ON h.client_id = t.client_id AND h.category = k.category
LEFT JOIN hist_n hn ON hn.client_id = t.client_id
LEFT JOIN bench_transitions tr ON tr.a = t.last_input AND tr.b = k.category
LEFT JOIN row_sum rs ON rs.a = t.last_input;

INSERT INTO bench_predictions
SELECT 'popularity', client_id, pop_rank, category
FROM bench_pairs WHERE pop_rank <= 10;

INSERT INTO bench_predictions
SELECT 'client_frequency', client_id, r, category
FROM (SELECT client_id, category,
             row_number() OVER (PARTITION BY client_id ORDER BY h_cnt DESC, last_pos DESC, pop_rank) AS r
      FROM bench_pairs) s
WHERE r <= 10;

INSERT INTO bench_predictions
SELECT 'markov', client_id, r, category
FROM (SELECT client_id, category,
             row_number() OVER (PARTITION BY client_id ORDER BY t_cnt DESC, pop_rank) AS r
      FROM bench_pairs) s
WHERE r <= 10;

-- the scores are computed with the same float8 operations as numpy's, so
-- equal scores (the ties) are the same
INSERT INTO bench_predictions
SELECT 'blend', client_id, r, category
FROM (SELECT client_id, category,
             row_number() OVER (PARTITION BY client_id
                                ORDER BY 0.5 * (CASE WHEN t_n > 0 THEN t_cnt::float8 / t_n::float8 ELSE prob END)
                                         + 0.5 * (h_cnt::float8 / greatest(h_n, 1)::float8) DESC,
                                         last_pos DESC, pop_rank) AS r
      FROM bench_pairs) s
WHERE r <= 10;

CREATE INDEX ON bench_predictions (method, client_id, rank);
ANALYZE bench_predictions;
