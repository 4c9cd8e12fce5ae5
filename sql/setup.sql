-- seqsales regression tests: setup (the extension is created by pg_regress)
SELECT extversion FROM pg_extension WHERE extname = 'seqsales';

-- demo data: deterministic for (clients, seed)
SELECT seqsales_demo_data(1000, 7) AS rows_600_7 \gset
SELECT md5(string_agg(t::text, '|' ORDER BY client_id, ordered_at, category)) AS h1
FROM seqsales_demo_orders t \gset
SELECT seqsales_demo_data(1000, 7) = :rows_600_7 AS same_row_count;
SELECT md5(string_agg(t::text, '|' ORDER BY client_id, ordered_at, category)) = :'h1' AS same_rows
FROM seqsales_demo_orders t;
SELECT count(DISTINCT client_id) AS clients, count(DISTINCT category) BETWEEN 30 AND 45 AS about_40_categories,
       count(*) FILTER (WHERE order_volume IS NULL) > 0 AS some_missing_volumes
FROM seqsales_demo_orders;
SELECT seqsales_demo_data(0);
SELECT seqsales_demo_data(10, NULL);

-- held-out split used by the tests: fold 0 of the protocol's md5 rule is test
CREATE TABLE demo_fold AS
SELECT client_id, ('x' || substr(md5('1:' || client_id), 1, 7))::bit(28)::int % 5 AS fold
FROM (SELECT DISTINCT client_id FROM seqsales_demo_orders) c;
CREATE VIEW demo_train AS
SELECT o.* FROM seqsales_demo_orders o JOIN demo_fold f USING (client_id) WHERE f.fold <> 0;
-- test clients: every event but the last is history, the last is the target
CREATE TABLE demo_test_history AS
SELECT * FROM (
  SELECT o.*, row_number() OVER (PARTITION BY client_id ORDER BY ordered_at DESC, category DESC) AS back
  FROM seqsales_demo_orders o JOIN demo_fold f USING (client_id) WHERE f.fold = 0) s
WHERE back > 1;
CREATE TABLE demo_test_target AS
SELECT client_id, category FROM (
  SELECT o.client_id, o.category,
         row_number() OVER (PARTITION BY client_id ORDER BY ordered_at DESC, category DESC) AS back
  FROM seqsales_demo_orders o JOIN demo_fold f USING (client_id) WHERE f.fold = 0) s
WHERE back = 1 AND client_id IN (SELECT client_id FROM demo_test_history);
CREATE INDEX ON demo_test_history (client_id, ordered_at);
SELECT count(*) > 80 AS enough_test_clients FROM demo_test_target;
