-- seqsales regression tests: a model in use stays valid however calls nest
-- (a history source that itself predicts with many other models evicts
-- them from the backend's cache of 16 decoded models)
SET client_min_messages = warning;
-- (first_event: the rows whose view predicts, one per client, to keep it quick)
CREATE TABLE nest_orders AS
SELECT *, ordered_at = min(ordered_at) OVER (PARTITION BY client_id) AS first_event
FROM seqsales_demo_orders WHERE client_id IN (SELECT client_id FROM demo_fold WHERE fold <> 0 ORDER BY client_id LIMIT 60);

-- 16 small models of other shapes (hidden sizes 4 .. 19), and the outer model
SELECT count(seqsales_train('nest_orders', model_name => 'nest_' || h,
                            options => jsonb_build_object('epochs', 1, 'hidden_size', h, 'seed', h)))
FROM generate_series(4, 19) h;
SELECT seqsales_train('nest_orders', model_name => 'nest_outer', "numeric" => '{order_volume}',
                      categorical => '{region}', options => '{"epochs": 2, "hidden_size": 32, "seed": 1}') AS outer_id \gset

-- the outer model's predictions from a plain copy of the histories
CREATE TABLE nest_plain AS SELECT * FROM nest_orders;
CREATE TABLE nest_expected AS
SELECT c.client_id, p.* FROM (SELECT DISTINCT client_id FROM nest_orders ORDER BY 1 LIMIT 5) c,
       LATERAL seqsales_predict(c.client_id, 3, 'nest_outer', 'nest_plain') p;

-- the same histories through a view that predicts with all 16 others
CREATE VIEW nest_view AS
SELECT o.* FROM nest_orders o
WHERE CASE WHEN first_event
      THEN (SELECT count(*) FROM generate_series(4, 19) h, seqsales_predict(o.client_id, 1, 'nest_' || h)) = 16
      ELSE true END;

SELECT count(*) = 15 AS outer_same_as_plain
FROM nest_expected e JOIN LATERAL seqsales_predict(e.client_id, 3, 'nest_outer', 'nest_view') p
  ON p.rank = e.rank AND p.category = e.category AND p.probability = e.probability;

-- batch scoring through the same view
SELECT count(*) = (SELECT count(*) FROM seqsales_predict_all(3, 'nest_outer', 'nest_plain')) AS all_same
FROM seqsales_predict_all(3, 'nest_outer', 'nest_view') a
JOIN seqsales_predict_all(3, 'nest_outer', 'nest_plain') b USING (client_id, rank, category, probability);

-- the same again with models of the outer's shape (wrong results, not a crash, before)
SELECT count(seqsales_train('nest_orders', model_name => 'same_' || s, "numeric" => '{order_volume}',
                            categorical => '{region}', options => jsonb_build_object('epochs', 1, 'hidden_size', 32, 'seed', s)))
FROM generate_series(1, 16) s;
CREATE VIEW same_view AS
SELECT o.* FROM nest_orders o
WHERE CASE WHEN first_event
      THEN (SELECT count(*) FROM generate_series(1, 16) s, seqsales_predict(o.client_id, 1, 'same_' || s)) = 16
      ELSE true END;
SELECT count(*) = 15 AS outer_same_as_plain_same_shape
FROM nest_expected e JOIN LATERAL seqsales_predict(e.client_id, 3, 'nest_outer', 'same_view') p
  ON p.rank = e.rank AND p.category = e.category AND p.probability = e.probability;
SELECT count(*) = (SELECT count(*) FROM seqsales_predict_all(3, 'nest_outer', 'nest_plain')) AS all_same_same_shape
FROM seqsales_predict_all(3, 'nest_outer', 'same_view') a
JOIN seqsales_predict_all(3, 'nest_outer', 'nest_plain') b USING (client_id, rank, category, probability);

-- a call that fails inside the nesting leaves the cache usable
CREATE VIEW bad_view AS
SELECT o.* FROM nest_orders o WHERE (SELECT count(*) FROM seqsales_predict(o.client_id, 1, 'no_such_model')) = 1;
SELECT * FROM seqsales_predict((SELECT min(client_id) FROM nest_orders), 3, 'nest_outer', 'bad_view');
SELECT count(*) = 15 AS still_same
FROM nest_expected e JOIN LATERAL seqsales_predict(e.client_id, 3, 'nest_outer', 'nest_plain') p
  ON p.rank = e.rank AND p.category = e.category AND p.probability = e.probability;

DROP VIEW nest_view, same_view, bad_view;
DROP TABLE nest_orders, nest_plain, nest_expected;
SELECT sum(seqsales_drop_model(name)) AS dropped FROM (SELECT DISTINCT name FROM seqsales_model WHERE name LIKE 'nest\_%' OR name LIKE 'same\_%') n;
