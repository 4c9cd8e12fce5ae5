-- seqsales regression tests: the catalog
-- pg_dump keeps trained models: the tables are extension configuration tables
SELECT c.relname
FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
WHERE e.extname = 'seqsales' ORDER BY 1;

-- a training rolled back with its transaction leaves nothing behind
SELECT count(*) AS models_before FROM seqsales_model \gset
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT seqsales_train('demo_train', model_name => 'rolled_back', options => '{"epochs": 1, "hidden_size": 8}') > 0 AS trained;
SELECT count(*) = :models_before + 1 AS visible_inside FROM seqsales_model;
ROLLBACK;
SELECT count(*) = :models_before AS gone_after_rollback FROM seqsales_model;

-- the weight blob starts with its magic and format version (models/FORMAT.md)
SELECT substring(weights FROM 1 FOR 4) AS magic, get_byte(weights, 4) AS format_version,
       length(weights) = 36 + 4 * (3 + 1) + 4 * 3 + 8 + 4 * (metrics->>'parameters')::bigint + 4 AS length_as_documented
FROM seqsales_model WHERE name = 'demo' AND version = 1;

-- deleting a model deletes its training log
SELECT count(*) > 0 AS has_log FROM seqsales_training_log l JOIN seqsales_model m ON m.id = l.model_id WHERE m.name = 'demo_seed6';
DELETE FROM seqsales_model WHERE name = 'demo_seed6';
SELECT count(*) AS log_after_delete FROM seqsales_training_log l WHERE NOT EXISTS (SELECT 1 FROM seqsales_model m WHERE m.id = l.model_id);
