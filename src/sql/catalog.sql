-- seqsales catalog: trained models and their per-epoch training log.
-- (Part of the install script; src/sql/*.sql are concatenated in order.)

CREATE TABLE seqsales_model (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL CHECK (name <> ''),
    version              integer NOT NULL CHECK (version > 0),
    architecture         text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    source_relation      text NOT NULL,
    columns              jsonb NOT NULL,
    hyperparameters      jsonb NOT NULL,
    categories           text[] NOT NULL,
    category_counts      bigint[] NOT NULL,
    feature_vocabularies jsonb NOT NULL,
    normalization        jsonb NOT NULL,
    metrics              jsonb NOT NULL,
    weights              bytea NOT NULL,
    format_version       integer NOT NULL,
    owner                regrole NOT NULL,
    readers              regrole[] NOT NULL DEFAULT '{}',
    source_oid           oid NOT NULL,
    UNIQUE (name, version)
);

COMMENT ON TABLE seqsales_model IS 'Models trained by seqsales_train(); one row per training run, versions numbered per name';
COMMENT ON COLUMN seqsales_model.columns IS 'Column spec: client, time, target, tiebreak, categorical[], numeric[], client_type, time_kind';
COMMENT ON COLUMN seqsales_model.categories IS 'Output classes in order (the category vocabulary)';
COMMENT ON COLUMN seqsales_model.category_counts IS 'Training target count of each category (the popularity prior)';
COMMENT ON COLUMN seqsales_model.feature_vocabularies IS 'Known values of each categorical column, in the order of columns->categorical';
COMMENT ON COLUMN seqsales_model.normalization IS 'Mean and population std of each numeric input (z-scores; missing values become the mean)';
COMMENT ON COLUMN seqsales_model.weights IS 'Dimensions and parameters, format in models/FORMAT.md';
COMMENT ON COLUMN seqsales_model.owner IS 'Role that trained the model: its members may retrain the name, drop it, grant it';
COMMENT ON COLUMN seqsales_model.readers IS 'Roles that may read and predict with the model besides its owner (seqsales_grant); - is PUBLIC';
COMMENT ON COLUMN seqsales_model.source_oid IS 'OID of the relation trained on: predicting from its name refuses another relation of that name (0: not recorded)';

CREATE INDEX seqsales_model_name_version ON seqsales_model (name, version DESC);

-- float weights do not compress: store them out of line without trying
ALTER TABLE seqsales_model ALTER COLUMN weights SET STORAGE EXTERNAL;

CREATE TABLE seqsales_training_log (
    model_id           bigint NOT NULL REFERENCES seqsales_model (id) ON DELETE CASCADE,
    epoch              integer NOT NULL,
    train_loss         double precision NOT NULL,
    validation_hit3    double precision NOT NULL,
    seconds            double precision NOT NULL,
    validation_seconds double precision NOT NULL,
    target_positions   bigint NOT NULL,
    gemm_gflop         double precision NOT NULL,
    PRIMARY KEY (model_id, epoch)
);

COMMENT ON TABLE seqsales_training_log IS 'Per-epoch training log of each model';
COMMENT ON COLUMN seqsales_training_log.gemm_gflop IS 'Matrix-product work of the epoch''s training part (2 m n k per product), in GFLOP';

-- Who sees what: a model's row (and so prediction with it) is visible to
-- the members of its owner and of its readers.  Nobody but the catalog's
-- owner writes these tables directly: seqsales_train, seqsales_drop_model,
-- seqsales_grant and seqsales_revoke check the caller's rights in C and
-- then write as the catalog's owner, with search_path pinned.
ALTER TABLE seqsales_model ENABLE ROW LEVEL SECURITY;
CREATE POLICY seqsales_model_visible ON seqsales_model FOR SELECT
    USING (pg_catalog.pg_has_role(owner, 'USAGE')
           OR EXISTS (SELECT 1 FROM pg_catalog.unnest(readers) AS r(role)
                      WHERE r.role::oid = 0 OR pg_catalog.pg_has_role(r.role, 'USAGE')));
ALTER TABLE seqsales_training_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY seqsales_training_log_visible ON seqsales_training_log FOR SELECT
    USING (EXISTS (SELECT 1 FROM seqsales_model m WHERE m.id = model_id));
REVOKE ALL ON seqsales_model, seqsales_training_log FROM PUBLIC;
GRANT SELECT ON seqsales_model, seqsales_training_log TO PUBLIC;

-- pg_dump keeps trained models
SELECT pg_catalog.pg_extension_config_dump('seqsales_model', '');
SELECT pg_catalog.pg_extension_config_dump('seqsales_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('seqsales_training_log', '');
