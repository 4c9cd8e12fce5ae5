#!/usr/bin/env bash
# seqsales demo: installs what is missing, builds, starts a throwaway cluster,
# loads the built-in synthetic procurement data, trains GRU4Rec + attention on
# 80% of the clients, and shows held-out Hit@k against the popularity
# baseline and a few clients' top-3 next categories.
source "$(dirname "$0")/lib/common.sh"

CLIENTS="${DEMO_CLIENTS:-2000}"
ensure_deps
build_install
cluster_start

log "creating the extension and $CLIENTS clients of demo data"
psql -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION seqsales;
SELECT seqsales_demo_data($CLIENTS, 1) AS order_lines;
-- hold out fold 0 of the protocol's client split: their last order line is the target
CREATE TABLE fold AS
SELECT client_id, ('x' || substr(md5('1:' || client_id), 1, 7))::bit(28)::int % 5 = 0 AS test
FROM (SELECT DISTINCT client_id FROM seqsales_demo_orders) c;
CREATE VIEW train_orders AS
SELECT o.* FROM seqsales_demo_orders o JOIN fold USING (client_id) WHERE NOT test;
CREATE TABLE test_history AS
SELECT * FROM (SELECT o.*, row_number() OVER w AS back
               FROM seqsales_demo_orders o JOIN fold USING (client_id) WHERE test
               WINDOW w AS (PARTITION BY client_id ORDER BY ordered_at DESC, category DESC)) s
WHERE back > 1;
CREATE INDEX ON test_history (client_id, ordered_at);
CREATE TABLE test_target AS
SELECT client_id, category FROM (
  SELECT o.client_id, o.category, row_number() OVER (PARTITION BY client_id ORDER BY ordered_at DESC, category DESC) AS back
  FROM seqsales_demo_orders o JOIN fold USING (client_id) WHERE test) s
WHERE back = 1 AND client_id IN (SELECT client_id FROM test_history);
SQL

log "training GRU4Rec + attention inside PostgreSQL (one NOTICE per epoch)"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
\timing on
SELECT seqsales_train('train_orders',
                      categorical => '{contract_type,supplier_segment,region}',
                      "numeric"   => '{order_volume,contract_value}',
                      model_name  => 'demo',
                      options     => '{"epochs": 15}') AS model_id;
\timing off
SELECT name, version, metrics->>'epochs_run' AS epochs, metrics->>'best_epoch' AS best_epoch,
       round((metrics->>'validation_hit3')::numeric, 3) AS validation_hit3,
       round((metrics->>'train_positions_per_second')::numeric) AS positions_per_s
FROM seqsales_model WHERE name = 'demo';
SQL

log "held-out clients: Hit@k of the model and of the popularity baseline"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE pred AS
SELECT t.client_id, t.category AS target, p.rank, p.category
FROM test_target t CROSS JOIN LATERAL seqsales_predict(t.client_id, 5, 'demo', 'test_history') p;
CREATE TABLE pop AS
SELECT category, row_number() OVER (ORDER BY count(*) DESC, category) AS rank
FROM train_orders GROUP BY category;
WITH ranked AS (
  SELECT t.client_id,
         (SELECT min(rank) FROM pred p WHERE p.client_id = t.client_id AND p.category = t.category) AS model_rank,
         (SELECT rank FROM pop WHERE pop.category = t.category) AS pop_rank
  FROM test_target t)
SELECT 'GRU4Rec + attention' AS method,
       round(avg((coalesce(model_rank, 99) <= 1)::int), 3) AS "Hit@1",
       round(avg((coalesce(model_rank, 99) <= 3)::int), 3) AS "Hit@3",
       round(avg((coalesce(model_rank, 99) <= 5)::int), 3) AS "Hit@5",
       count(*) AS test_clients
FROM ranked
UNION ALL
SELECT 'popularity baseline',
       round(avg((coalesce(pop_rank, 99) <= 1)::int), 3),
       round(avg((coalesce(pop_rank, 99) <= 3)::int), 3),
       round(avg((coalesce(pop_rank, 99) <= 5)::int), 3),
       count(*)
FROM ranked;
SQL

log "top-3 next categories of a few held-out clients (seqsales_predict), and what they bought next"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
SELECT c.client_id, p.rank, p.category, round(p.probability::numeric, 3) AS probability,
       c.category AS actual_next
FROM (SELECT * FROM test_target ORDER BY client_id LIMIT 3) c
CROSS JOIN LATERAL seqsales_predict(c.client_id, 3, 'demo', 'test_history') p
ORDER BY c.client_id, p.rank;
SQL
log "done (the cluster is removed on exit)"
