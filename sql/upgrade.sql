-- seqsales regression tests: 0.1 -> 0.2 gives the catalog a fresh 0.2 install has
SET client_min_messages = warning;
CREATE DATABASE seqsales_upgrade;
\c seqsales_upgrade
SET client_min_messages = warning;
CREATE EXTENSION seqsales VERSION '0.1';
-- a model row of 0.1 (its weights are not decoded here)
CREATE TABLE up_orders (client_id text, ordered_at timestamptz, category text);
INSERT INTO seqsales_model (name, version, architecture, source_relation, columns, hyperparameters, categories,
                            category_counts, feature_vocabularies, normalization, metrics, weights, format_version)
VALUES ('old', 1, 'gru4rec', 'public.up_orders', '{}', '{}', '{a}', '{1}', '[]', '{}', '{}', '\x00', 1);
ALTER EXTENSION seqsales UPDATE TO '0.2';
SELECT extversion FROM pg_extension WHERE extname = 'seqsales';
SELECT name, owner = (SELECT relowner FROM pg_class WHERE oid = 'seqsales_model'::regclass) AS owned_by_catalog_owner,
       readers, source_oid = 'up_orders'::regclass AS source_recorded
FROM seqsales_model;
-- the objects of the updated extension, against those of a fresh install
CREATE TEMP TABLE updated AS
SELECT pg_describe_object(classid, objid, objsubid) AS object FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'seqsales');
CREATE TEMP TABLE updated_columns AS
SELECT attrelid::regclass::text AS rel, attname, format_type(atttypid, atttypmod) AS type, attnotnull
FROM pg_attribute WHERE attrelid IN ('seqsales_model'::regclass, 'seqsales_training_log'::regclass) AND attnum > 0 AND NOT attisdropped;
CREATE TEMP TABLE updated_policies AS
SELECT tablename, policyname, cmd, roles, qual FROM pg_policies WHERE schemaname = 'public';
CREATE TEMP TABLE updated_acl AS SELECT relname, relacl, relrowsecurity FROM pg_class WHERE relname IN ('seqsales_model', 'seqsales_training_log');
DROP EXTENSION seqsales CASCADE;
CREATE EXTENSION seqsales;
SELECT object FROM updated EXCEPT SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'seqsales');
SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'seqsales')
EXCEPT SELECT object FROM updated;
(SELECT * FROM updated_columns EXCEPT
 SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull
 FROM pg_attribute WHERE attrelid IN ('seqsales_model'::regclass, 'seqsales_training_log'::regclass) AND attnum > 0 AND NOT attisdropped)
UNION ALL
(SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull
 FROM pg_attribute WHERE attrelid IN ('seqsales_model'::regclass, 'seqsales_training_log'::regclass) AND attnum > 0 AND NOT attisdropped
 EXCEPT SELECT * FROM updated_columns);
SELECT count(*) AS policies_differ FROM (
  (SELECT * FROM updated_policies EXCEPT SELECT tablename, policyname, cmd, roles, qual FROM pg_policies WHERE schemaname = 'public')
  UNION ALL
  (SELECT tablename, policyname, cmd, roles, qual FROM pg_policies WHERE schemaname = 'public' EXCEPT SELECT * FROM updated_policies)) d;
SELECT count(*) AS acl_differ FROM (
  (SELECT relname::text, relacl::text, relrowsecurity FROM updated_acl EXCEPT SELECT relname::text, relacl::text, relrowsecurity FROM pg_class WHERE relname IN ('seqsales_model', 'seqsales_training_log'))
  UNION ALL
  (SELECT relname::text, relacl::text, relrowsecurity FROM pg_class WHERE relname IN ('seqsales_model', 'seqsales_training_log') EXCEPT SELECT relname::text, relacl::text, relrowsecurity FROM updated_acl)) d;
\c contrib_regression
DROP DATABASE seqsales_upgrade;
