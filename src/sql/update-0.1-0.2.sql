-- seqsales 0.1 -> 0.2: models belong to the role that trained them, and
-- record the relation they were trained on.
\echo Use "ALTER EXTENSION seqsales UPDATE TO '0.2'" to load this file. \quit

ALTER TABLE @extschema@.seqsales_model
    ADD COLUMN owner regrole,
    ADD COLUMN readers regrole[] NOT NULL DEFAULT '{}',
    ADD COLUMN source_oid oid;
-- models trained before 0.2: owned by the catalog's owner (who could write
-- it), their source the relation now of that name
UPDATE @extschema@.seqsales_model
SET owner = (SELECT relowner FROM pg_catalog.pg_class WHERE oid = '@extschema@.seqsales_model'::pg_catalog.regclass),
    source_oid = coalesce(pg_catalog.to_regclass(source_relation)::oid, 0);
ALTER TABLE @extschema@.seqsales_model
    ALTER COLUMN owner SET NOT NULL,
    ALTER COLUMN source_oid SET NOT NULL;

COMMENT ON COLUMN @extschema@.seqsales_model.owner IS 'Role that trained the model: its members may retrain the name, drop it, grant it';
COMMENT ON COLUMN @extschema@.seqsales_model.readers IS 'Roles that may read and predict with the model besides its owner (seqsales_grant); - is PUBLIC';
COMMENT ON COLUMN @extschema@.seqsales_model.source_oid IS 'OID of the relation trained on: predicting from its name refuses another relation of that name (0: not recorded)';

ALTER TABLE @extschema@.seqsales_model ENABLE ROW LEVEL SECURITY;
CREATE POLICY seqsales_model_visible ON @extschema@.seqsales_model FOR SELECT
    USING (pg_catalog.pg_has_role(owner, 'USAGE')
           OR EXISTS (SELECT 1 FROM pg_catalog.unnest(readers) AS r(role)
                      WHERE r.role::oid = 0 OR pg_catalog.pg_has_role(r.role, 'USAGE')));
ALTER TABLE @extschema@.seqsales_training_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY seqsales_training_log_visible ON @extschema@.seqsales_training_log FOR SELECT
    USING (EXISTS (SELECT 1 FROM @extschema@.seqsales_model m WHERE m.id = model_id));
REVOKE ALL ON @extschema@.seqsales_model, @extschema@.seqsales_training_log FROM PUBLIC;
GRANT SELECT ON @extschema@.seqsales_model, @extschema@.seqsales_training_log TO PUBLIC;

CREATE FUNCTION @extschema@.seqsales_drop_model(model_name text, version integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_drop_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.seqsales_drop_model(text, integer)
IS 'Drops a model (every version, or one) and its training log; returns the versions dropped';

CREATE FUNCTION @extschema@.seqsales_grant(model_name text, role text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_grant'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.seqsales_grant(text, text)
IS 'Lets a role (or PUBLIC) read and predict with every version of a model, and its later versions';

CREATE FUNCTION @extschema@.seqsales_revoke(model_name text, role text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_revoke'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.seqsales_revoke(text, text)
IS 'Takes back seqsales_grant';

CREATE FUNCTION @extschema@.seqsales_set_source(model_name text, source regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_set_source'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.seqsales_set_source(text, regclass)
IS 'Records the relation a model predicts from by default (after a restore, or a table created again)';

-- 0.2's default architecture is the hybrid (GRU4Rec + attention + history head)
CREATE OR REPLACE FUNCTION @extschema@.seqsales_train(
    source          regclass,
    client_column   name DEFAULT 'client_id',
    time_column     name DEFAULT 'ordered_at',
    target_column   name DEFAULT 'category',
    categorical     name[] DEFAULT '{}',
    "numeric"       name[] DEFAULT '{}',
    model_name      text DEFAULT NULL,
    architecture    text DEFAULT 'hybrid',
    options         jsonb DEFAULT '{}',
    tiebreak_column name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_train'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
