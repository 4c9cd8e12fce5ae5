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
    UNIQUE (name, version)
);

COMMENT ON TABLE seqsales_model IS 'Models trained by seqsales_train(); one row per training run, versions numbered per name';
COMMENT ON COLUMN seqsales_model.columns IS 'Column spec: client, time, target, tiebreak, categorical[], numeric[], client_type, time_kind';
COMMENT ON COLUMN seqsales_model.categories IS 'Output classes in order (the category vocabulary)';
COMMENT ON COLUMN seqsales_model.category_counts IS 'Training target count of each category (the popularity prior)';
COMMENT ON COLUMN seqsales_model.feature_vocabularies IS 'Known values of each categorical column, in the order of columns->categorical';
COMMENT ON COLUMN seqsales_model.normalization IS 'Mean and population std of each numeric input (z-scores; missing values become the mean)';
COMMENT ON COLUMN seqsales_model.weights IS 'Dimensions and parameters, format in models/FORMAT.md';

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

-- pg_dump keeps trained models
SELECT pg_catalog.pg_extension_config_dump('seqsales_model', '');
SELECT pg_catalog.pg_extension_config_dump('seqsales_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('seqsales_training_log', '');
