-- seqsales regression tests: models belong to the role that trained them
SET client_min_messages = warning;
CREATE ROLE ss_alice;
CREATE ROLE ss_bob;
CREATE ROLE ss_team;
GRANT ss_team TO ss_alice;
CREATE TABLE pv_orders AS
SELECT client_id, ordered_at, category FROM seqsales_demo_orders
WHERE client_id IN (SELECT client_id FROM demo_fold ORDER BY client_id LIMIT 100);
GRANT SELECT ON pv_orders TO ss_alice, ss_bob, ss_team;
SELECT min(client_id) AS c FROM pv_orders \gset

-- a role that can read a table trains on it with no grant on the catalog
SET ROLE ss_alice;
SELECT seqsales_train('pv_orders', model_name => 'pv_alice', options => '{"epochs": 1, "hidden_size": 8}') IS NOT NULL AS alice_trained;
SELECT name, version, owner FROM seqsales_model;
SELECT count(*) AS alice_predicts FROM seqsales_predict(:'c', 3, 'pv_alice');
-- the catalog is not writable directly, even by the owner of a model
UPDATE seqsales_model SET weights = '' WHERE name = 'pv_alice';
DELETE FROM seqsales_model WHERE name = 'pv_alice';
INSERT INTO seqsales_model SELECT * FROM seqsales_model;

-- another role sees neither the row, nor its training log, nor predictions
SET ROLE ss_bob;
SELECT count(*) AS bob_sees FROM seqsales_model;
SELECT count(*) AS bob_sees_log FROM seqsales_training_log;
SELECT * FROM seqsales_predict(:'c', 3, 'pv_alice');
SELECT * FROM seqsales_predict_all(3, 'pv_alice');
SELECT * FROM seqsales_predict(:'c', 3);
-- and may not take the name, drop it, grant it, re-point it: before any row is read
SELECT seqsales_train('pv_orders', model_name => 'pv_alice', options => '{"epochs": 1, "hidden_size": 8}');
SELECT seqsales_drop_model('pv_alice');
SELECT seqsales_grant('pv_alice', 'ss_bob');
SELECT seqsales_set_source('pv_alice', 'pv_orders');

-- the owner lets bob predict; later versions keep the grant
SET ROLE ss_alice;
SELECT seqsales_grant('pv_alice', 'ss_bob') AS granted_versions;
SELECT seqsales_train('pv_orders', model_name => 'pv_alice', options => '{"epochs": 1, "hidden_size": 8}') IS NOT NULL AS retrained;
SET ROLE ss_bob;
SELECT name, version, readers FROM seqsales_model ORDER BY version;
SELECT count(*) AS bob_predicts FROM seqsales_predict(:'c', 3, 'pv_alice');
SELECT count(*) > 0 AS bob_sees_log FROM seqsales_training_log;
-- reading is not owning
SELECT seqsales_drop_model('pv_alice');
SELECT seqsales_train('pv_orders', model_name => 'pv_alice', options => '{"epochs": 1, "hidden_size": 8}');
SET ROLE ss_alice;
SELECT seqsales_revoke('pv_alice', 'ss_bob') AS revoked_versions;
SET ROLE ss_bob;
SELECT * FROM seqsales_predict(:'c', 3, 'pv_alice');
SET ROLE ss_alice;
SELECT seqsales_grant('pv_alice', 'public') AS granted_public;
SET ROLE ss_bob;
SELECT count(*) AS bob_predicts_public FROM seqsales_predict(:'c', 3, 'pv_alice');
SELECT seqsales_grant('pv_alice', 'no_such_role');

-- a model trained as a group role belongs to the group: its members own it
SET ROLE ss_team;
SELECT seqsales_train('pv_orders', model_name => 'pv_team', options => '{"epochs": 1, "hidden_size": 8}') IS NOT NULL AS team_trained;
SET ROLE ss_alice;
SELECT owner FROM seqsales_model WHERE name = 'pv_team';
SELECT seqsales_drop_model('pv_team', 1) AS alice_drops_team_model;
SET ROLE ss_bob;
SELECT count(*) AS bob_sees_team FROM seqsales_model WHERE name = 'pv_team';

-- the source is read with the caller's rights: row security still applies
RESET ROLE;
ALTER TABLE pv_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY pv_bob_none ON pv_orders FOR SELECT TO ss_bob USING (client_id <> :'c');
CREATE POLICY pv_alice_all ON pv_orders FOR SELECT TO ss_alice USING (true);
SET ROLE ss_alice;
SELECT p.category = q.category AS alice_reads_history
FROM seqsales_predict(:'c', 1, 'pv_alice') p, (SELECT category FROM seqsales_predict(:'c', 1, 'pv_alice', 'pv_orders')) q;
SET ROLE ss_bob;
-- bob sees no event of client c: the popularity prior, the same for any unknown client
SELECT count(*) = 3 AS bob_gets_prior
FROM seqsales_predict(:'c', 3, 'pv_alice') p JOIN seqsales_predict('no such client', 3, 'pv_alice') q USING (rank, category, probability);
SELECT count(*) = 0 AS bob_scores_without_c FROM seqsales_predict_all(3, 'pv_alice') WHERE client_id = :'c';
RESET ROLE;
ALTER TABLE pv_orders DISABLE ROW LEVEL SECURITY;

-- nothing of the caller's runs with the catalog owner's rights: an
-- operator that shadows pg_catalog's = on the caller's search_path
CREATE TABLE pv_calls (who name);
GRANT INSERT ON pv_calls TO ss_bob;
CREATE SCHEMA pv_evil AUTHORIZATION ss_bob;
SET ROLE ss_bob;
CREATE FUNCTION pv_evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO public.pv_calls VALUES (current_user); RETURN pg_catalog.texteq($1, $2); END $$;
CREATE OPERATOR pv_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pv_evil.texteq);
SET search_path = pv_evil, public, pg_catalog;
SELECT seqsales_train('pv_orders', model_name => 'pv_bob', options => '{"epochs": 1, "hidden_size": 8}') IS NOT NULL AS bob_trained;
SELECT seqsales_drop_model('pv_bob') AS bob_dropped;
RESET search_path;
RESET ROLE;
SELECT count(*) FILTER (WHERE who <> 'ss_bob') AS calls_as_another_role FROM pv_calls;

-- seqsales.max_training_memory: any role may lower it; only a superuser
-- may raise it above the server's setting or lift it
SET ROLE ss_bob;
SET seqsales.max_training_memory = '64MB';
SHOW seqsales.max_training_memory;
SELECT seqsales_train('pv_orders', model_name => 'pv_big', options => '{"epochs": 1, "hidden_size": 2048}');
SET seqsales.max_training_memory = '8GB';
SET seqsales.max_training_memory = -1;
RESET seqsales.max_training_memory;
SHOW seqsales.max_training_memory;
ALTER ROLE ss_bob SET seqsales.max_training_memory = -1;
SELECT set_config('seqsales.max_training_memory', '-1', true);
RESET ROLE;
SET seqsales.max_training_memory = -1;
SHOW seqsales.max_training_memory;
RESET seqsales.max_training_memory;

DROP SCHEMA pv_evil CASCADE;
DROP TABLE pv_orders, pv_calls;
SELECT sum(seqsales_drop_model(name)) AS dropped FROM (SELECT DISTINCT name FROM seqsales_model WHERE name LIKE 'pv\_%') n;
DROP ROLE ss_alice, ss_bob, ss_team;
