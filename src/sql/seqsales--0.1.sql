-- seqsales 0.1 install script, as released (kept so that 0.1 can be installed and updated)
\echo Use "CREATE EXTENSION seqsales" to load this file. \quit

-- src/sql/catalog.sql
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

-- src/sql/functions.sql
-- seqsales functions: training and prediction.

CREATE FUNCTION seqsales_train(
    source          regclass,
    client_column   name DEFAULT 'client_id',
    time_column     name DEFAULT 'ordered_at',
    target_column   name DEFAULT 'category',
    categorical     name[] DEFAULT '{}',
    "numeric"       name[] DEFAULT '{}',
    model_name      text DEFAULT NULL,
    architecture    text DEFAULT 'gru4rec',
    options         jsonb DEFAULT '{}',
    tiebreak_column name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_train'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION seqsales_train(regclass, name, name, name, name[], name[], text, text, jsonb, name)
IS 'Trains a next-category model on the order lines of a table or view; returns the new model id';

-- The client id is accepted in the client column's own type (integer,
-- bigint, uuid, ...) or as text; both forms call the same C function.
-- PARALLEL SAFE: a prediction only reads (the catalog, the histories), so a
-- query calling it once per client can spread the calls over parallel
-- workers; a history relation that is a temporary table cannot be read
-- there, which the function reports with a hint.  COST: one call is a
-- history fetch and a forward pass, some 0.1 to 1 ms.
CREATE FUNCTION seqsales_predict(
    client_id  anyelement,
    k          integer DEFAULT 3,
    model_name text DEFAULT NULL,
    source     regclass DEFAULT NULL)
RETURNS TABLE (rank integer, category text, probability double precision)
AS 'MODULE_PATHNAME', 'seqsales_predict'
LANGUAGE C STABLE PARALLEL SAFE COST 10000 ROWS 3;

CREATE FUNCTION seqsales_predict(
    client_id  text,
    k          integer DEFAULT 3,
    model_name text DEFAULT NULL,
    source     regclass DEFAULT NULL)
RETURNS TABLE (rank integer, category text, probability double precision)
AS 'MODULE_PATHNAME', 'seqsales_predict'
LANGUAGE C STABLE PARALLEL SAFE COST 10000 ROWS 3;

COMMENT ON FUNCTION seqsales_predict(anyelement, integer, text, regclass)
IS 'The k most likely next categories of a client, from its last events';
COMMENT ON FUNCTION seqsales_predict(text, integer, text, regclass)
IS 'The k most likely next categories of a client, from its last events';

CREATE FUNCTION seqsales_predict_all(
    k          integer DEFAULT 3,
    model_name text DEFAULT NULL,
    source     regclass DEFAULT NULL)
RETURNS TABLE (client_id text, rank integer, category text, probability double precision)
AS 'MODULE_PATHNAME', 'seqsales_predict_all'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10000;
-- PARALLEL RESTRICTED: one call scores every client, in the leader (with
-- seqsales.scoring_threads threads); a parallel plan could otherwise run
-- it again in each worker, as the inner side of a join.

COMMENT ON FUNCTION seqsales_predict_all(integer, text, regclass)
IS 'Batch scoring: the k most likely next categories of every client of the source relation, in one ordered scan';

-- src/sql/demo_data.sql
-- seqsales: built-in synthetic demo data generator.
--
-- Fragment of the extension install script (concatenated by the Makefile):
-- no CREATE EXTENSION, no \echo, no transaction control, objects created in
-- the current schema.
--
--   SELECT seqsales_demo_data();              -- 2000 clients, seed 1
--   SELECT seqsales_demo_data(100000, 42);
--
-- (Re)creates and fills seqsales_demo_orders with anonymised-looking B2B
-- procurement lines (one row per order line) and returns the row count.
-- The generator is a set-based port of the ideas of the reference Python
-- generator (anchors/torch_ref/gen_synth.py).  The next product family is
-- predictable from the history through:
--
--   * latent industry segment (not written): drives which equipment the client
--     owns and which of the 16 "other" families it buys (Zipf-like popularity);
--   * installed base: each owned equipment type needs its consumable (CONS_*)
--     re-ordered periodically and periodic maintenance (MAINT_*), on a period
--     drawn per client and installation -- the time gaps carry the signal;
--   * maintenance follows equipment: buying EQ_x triggers a commissioning
--     MAINT_x within days and an initial CONS_x stock, and starts the cycles;
--   * routine re-orders: each client re-orders 2-4 "other" families on its own
--     period (15-75 days);
--   * bundles: packaging -> freight, furniture -> office supplies, ...
--     usually follow within hours / a day or two;
--   * seasonality: HVAC spring service, office supplies in Aug/Sep, catering in
--     December, licences in January, PPE/workwear in Q4, public-sector
--     equipment purchases in Nov/Dec.
--
-- Lengths: ~32 lines per client on average (median ~25, a long tail, ~2%
-- one-off buyers), orders between 2021-01-01 and 2023-12-31 (UTC, business
-- hours); ~3% of order_volume and ~4% of contract_value are NULL.
--
-- Determinism: every random number is a hash of (seed, client, process, event
-- index, draw index) computed with hashint8extended() (Jenkins lookup3 on
-- 32-bit integer values: pure integer arithmetic, endian independent, stable
-- across PostgreSQL versions because hash partitioning depends on it).  No
-- random()/setseed() is used, so the result depends neither on the plan nor on
-- the order in which rows are produced.  Float noise only goes through + - * /,
-- exp and ln (a last-ulp libm difference could only matter at an exact
-- rounding boundary).  Client c's rows depend only on (c, seed), so the first
-- N clients of a larger run are identical to a run with N clients.
--
-- The two helpers below are inlined by the planner; they are called
-- unqualified, so they must be reachable through search_path like
-- seqsales_demo_data() itself.

-- Uniform [0, 1) from the 52 low bits of a 64-bit hash of (k, s).
CREATE FUNCTION @extschema@.seqsales_demo_rand(k bigint, s bigint)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (hashint8extended(k, s) & 4503599627370495)::double precision
         / 4503599627370496.0
$$;

COMMENT ON FUNCTION @extschema@.seqsales_demo_rand(bigint, bigint) IS
  'internal helper of seqsales_demo_data(): deterministic uniform [0,1) from a hash of (k, s)';

-- Approximately standard normal (Irwin-Hall: sum of the four 16-bit lanes of
-- one 64-bit hash, standardised; bounded to +-3.46).
CREATE FUNCTION @extschema@.seqsales_demo_randn(k bigint, s bigint)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (((hashint8extended(k, s) & 65535)
         + ((hashint8extended(k, s) >> 16) & 65535)
         + ((hashint8extended(k, s) >> 32) & 65535)
         + ((hashint8extended(k, s) >> 48) & 65535))::double precision
         - 131070.0) * (1.7320508075688772 / 65536.0)
$$;

COMMENT ON FUNCTION @extschema@.seqsales_demo_randn(bigint, bigint) IS
  'internal helper of seqsales_demo_data(): deterministic approx. N(0,1) from a hash of (k, s)';


CREATE FUNCTION seqsales_demo_data(clients integer DEFAULT 2000, seed integer DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
-- The row estimates of the generate_series() steps are far too high, which
-- would make the planner spend seconds JIT-compiling; 64MB keeps the sorts and
-- hashes of a 100k-client run in memory.  Both are restored on exit.
SET jit = off
SET work_mem = '64MB'
AS $fn$
DECLARE
  p_clients integer := clients;
  p_seed    integer := seed;
  base      bigint;
  sch       text := current_schema();
  n_rows    bigint;
BEGIN
  IF p_clients IS NULL OR p_clients < 1 OR p_clients > 10000000 THEN
    RAISE EXCEPTION 'seqsales_demo_data: clients must be between 1 and 10000000, got %',
                    coalesce(p_clients::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the number of synthetic clients, e.g. SELECT seqsales_demo_data(2000, 1);';
  END IF;
  IF p_seed IS NULL THEN
    RAISE EXCEPTION 'seqsales_demo_data: seed must not be NULL'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass any integer seed, e.g. SELECT seqsales_demo_data(2000, 1); the same (clients, seed) always gives the same rows.';
  END IF;
  IF sch IS NULL THEN
    RAISE EXCEPTION 'seqsales_demo_data: no current schema to create seqsales_demo_orders in'
      USING ERRCODE = 'invalid_schema_name',
            HINT = 'Set search_path to an existing schema.';
  END IF;

  base := hashint8extended(p_seed, 7340033);

  IF to_regclass(format('%I.seqsales_demo_orders', sch)) IS NOT NULL THEN
    EXECUTE format('DROP TABLE %I.seqsales_demo_orders', sch);
  END IF;
  EXECUTE format($ddl$
    CREATE TABLE %I.seqsales_demo_orders (
      client_id        text        NOT NULL,
      ordered_at       timestamptz NOT NULL,
      category         text        NOT NULL,
      contract_type    text,
      supplier_segment text,
      region           text,
      order_volume     numeric,
      contract_value   numeric
    )$ddl$, sch);
  EXECUTE format('COMMENT ON TABLE %I.seqsales_demo_orders IS %L', sch,
                 format('seqsales synthetic demo order lines: seqsales_demo_data(%s, %s)', p_clients, p_seed));

  -- $1 = number of clients, $2 = base seed.
  -- Times t are in days since the client's first possible order (start_day,
  -- days since 2021-01-01 UTC); w is the client's observation window.
  EXECUTE format($q$
  INSERT INTO %I.seqsales_demo_orders
  WITH
  eqt(eq, ename, cname, p_eq, p_maint, p_cons) AS (VALUES
    (1, 'PUMPS',           'PUMP_SEALS',      8000.0,  650.0, 18.0),
    (2, 'COMPRESSORS',     'COMPRESSOR_OIL', 14000.0,  900.0,  9.0),
    (3, 'FORKLIFTS',       'FORKLIFT_TYRES', 26000.0, 1100.0, 60.0),
    (4, 'HVAC',            'HVAC_FILTERS',   18000.0,  800.0, 14.0),
    (5, 'SERVERS',         'STORAGE_DRIVES', 12000.0, 1200.0, 95.0),
    (6, 'PRINTERS',        'TONER',           2500.0,  300.0, 45.0),
    (7, 'CNC_MACHINES',    'CUTTING_TOOLS',  60000.0, 2000.0, 25.0),
    (8, 'LAB_INSTRUMENTS', 'LAB_REAGENTS',   30000.0, 1500.0, 40.0)),
  -- "other" families, listed by global popularity (Zipf rank)
  oth0(rnk, name, price) AS (VALUES
    (1, 'OFFICE_SUPPLIES', 8.0), (2, 'PPE_SAFETY', 15.0), (3, 'CLEANING_SUPPLIES', 6.0),
    (4, 'PACKAGING', 3.0), (5, 'IT_ACCESSORIES', 30.0), (6, 'FASTENERS', 0.8),
    (7, 'ELECTRICAL_COMPONENTS', 12.0), (8, 'WORKWEAR', 35.0), (9, 'HAND_TOOLS', 40.0),
    (10, 'LUBRICANTS', 10.0), (11, 'SOFTWARE_LICENSES', 120.0), (12, 'LIGHTING', 25.0),
    (13, 'FREIGHT_SERVICES', 80.0), (14, 'OFFICE_FURNITURE', 250.0), (15, 'CATERING', 20.0),
    (16, 'CONSULTING', 1200.0)),
  oth AS MATERIALIZED (SELECT oth0.*, 1.0 / power(rnk::numeric, 0.5) AS zipf FROM oth0),
  -- 40 categories; kind 1 = EQ, 2 = MAINT, 3 = CONS, 4 = other
  cat AS MATERIALIZED (
    SELECT eq AS cat_id, 'EQ_' || ename AS name, 1 AS kind, eq, 0 AS rnk, p_eq AS price FROM eqt
    UNION ALL SELECT 8 + eq, 'MAINT_' || ename, 2, eq, 0, p_maint FROM eqt
    UNION ALL SELECT 16 + eq, 'CONS_' || cname, 3, eq, 0, p_cons FROM eqt
    UNION ALL SELECT 24 + rnk, name, 4, 0, rnk, price FROM oth),
  -- latent industries: 1 manufacturing .20, 2 healthcare, 3 logistics,
  -- 4 it_services, 5 public_sector, 6 construction (.16 each)
  ind(ind, pref_eq, pref_oth) AS (VALUES
    (1, '{1,2,7,3}'::int[], '{6,10,7,9,4,12}'::int[]),
    (2, '{8,4,6,5}',        '{3,1,15,5}'),
    (3, '{3,4,6}',          '{4,13,8,12}'),
    (4, '{5,6,4}',          '{5,11,14,16}'),
    (5, '{6,4,5,8}',        '{1,14,16,3,15}'),
    (6, '{2,1,3}',          '{2,9,8,7,6}')),
  bundle(src, dst) AS (VALUES  -- after src, dst is likely next
    (24 + 4, 24 + 13),   -- packaging -> freight
    (24 + 14, 24 + 1),   -- office furniture -> office supplies
    (24 + 7, 24 + 12),   -- electrical components -> lighting
    (24 + 9, 24 + 6),    -- hand tools -> fasteners
    (24 + 16, 24 + 11),  -- consulting -> software licences
    (24 + 5, 16 + 5),    -- IT accessories -> storage drives
    (24 + 8, 24 + 2),    -- workwear -> PPE
    (24 + 10, 24 + 9)),  -- lubricants -> hand tools
  -- month of each day since 2021-01-01
  mon AS (SELECT array_agg(extract(month FROM date '2021-01-01' + d)::int ORDER BY d) AS m
          FROM generate_series(0, 1100) d),
  -- ad-hoc purchase stream: category distribution per (industry, month) as
  -- 1000 lookup slots (exact numeric arithmetic, so the slots are portable)
  sw AS (
    SELECT i.ind, mm, c.cat_id,
           CASE WHEN c.kind = 1
                THEN 0.05 * CASE WHEN c.eq = ANY (i.pref_eq) THEN 1.0 ELSE 0.15 END
                          * CASE WHEN i.ind = 5 THEN CASE WHEN mm IN (11, 12) THEN 4.0 ELSE 0.6 END ELSE 1.0 END
                ELSE 0.3 * o.zipf
                     * CASE WHEN c.rnk = ANY (i.pref_oth) THEN 1.0 ELSE 0.3 END
                     * CASE c.name
                         WHEN 'OFFICE_SUPPLIES'   THEN CASE WHEN mm IN (8, 9) THEN 2.5 ELSE 1.0 END
                         WHEN 'CATERING'          THEN CASE WHEN mm = 12 THEN 4.0 ELSE 0.7 END
                         WHEN 'PPE_SAFETY'        THEN CASE WHEN mm IN (10, 11, 12) THEN 2.0 ELSE 1.0 END
                         WHEN 'WORKWEAR'          THEN CASE WHEN mm IN (10, 11, 12) THEN 2.0 ELSE 1.0 END
                         WHEN 'LIGHTING'          THEN CASE WHEN mm IN (10, 11, 12, 1) THEN 1.5 ELSE 1.0 END
                         WHEN 'SOFTWARE_LICENSES' THEN CASE WHEN mm = 1 THEN 3.0 ELSE 0.8 END
                         WHEN 'CONSULTING'        THEN CASE WHEN mm IN (1, 2) THEN 2.0 ELSE 1.0 END
                         ELSE 1.0 END
           END AS w
    FROM ind i CROSS JOIN generate_series(1, 12) mm
    CROSS JOIN cat c LEFT JOIN oth o ON o.rnk = c.rnk
    WHERE c.kind IN (1, 4)),
  sc AS (
    SELECT ind, mm, cat_id,
           sum(w) OVER (PARTITION BY ind, mm ORDER BY cat_id) / sum(w) OVER (PARTITION BY ind, mm) AS hi
    FROM sw),
  sl AS (
    SELECT ind, mm, cat_id, round(1000 * hi)::int AS hi,
           round(1000 * coalesce(lag(hi) OVER (PARTITION BY ind, mm ORDER BY cat_id), 0))::int AS lo
    FROM sc),
  -- flattened into one bytea, byte ((ind - 1) * 12 + mm - 1) * 1000 + slot
  -- (0-based) is the category id; get_byte() is O(1)
  slots AS (
    SELECT string_agg(decode(repeat(lpad(to_hex(cat_id), 2, '0'), hi - lo), 'hex'), ''::bytea
                      ORDER BY ind, mm, cat_id) AS arr
    FROM sl),
  -- routine candidate weights per (industry, family): Zipf x industry affinity
  rw AS MATERIALIZED (
    SELECT i.ind, o.rnk,
           (CASE WHEN o.rnk = ANY (i.pref_oth) THEN 1.0 ELSE 0.1 END / power(o.rnk::numeric, 0.2))::float8 AS w
    FROM ind i CROSS JOIN oth o),
  -- clients and their latent parameters
  cl0 AS (
    SELECT c, cs,
           'C' || CASE WHEN c < 1000000 THEN lpad(c::text, 6, '0') ELSE c::text END AS client_id,
           CASE WHEN u1 < 0.20 THEN 1 WHEN u1 < 0.36 THEN 2 WHEN u1 < 0.52 THEN 3
                WHEN u1 < 0.68 THEN 4 WHEN u1 < 0.84 THEN 5 ELSE 6 END AS ind,
           1 + floor(5 * u2)::int AS region,
           exp(0.6 * z3) AS scale,                          -- company size
           u4 < 0.5 AS subscriber,                          -- prefers subscriptions for consumables
           floor(730 * u5)::int AS start_day,
           CASE WHEN u6 < 0.02 THEN 1                       -- a few one-off buyers
                ELSE least(200, greatest(2, round(25 * exp(0.7 * z7))))::int END AS n_target,
           exp(0.5 * z8) / 45.0 AS adhoc_rate,              -- ad-hoc purchases per day
           1 + floor(3 * u9)::int AS k_eq,                  -- preferred equipment types owned
           CASE WHEN u10 < 0.2 THEN 1 + floor(8 * u11)::int END AS extra_eq,
           2 + floor(3 * u12)::int AS n_rout                -- routine re-order families
    FROM generate_series(1, $1) c
    CROSS JOIN LATERAL (SELECT hashint8extended(c, $2) AS cs) h
    CROSS JOIN LATERAL (
      SELECT @extschema@.seqsales_demo_rand(1, cs) AS u1, @extschema@.seqsales_demo_rand(2, cs) AS u2,
             @extschema@.seqsales_demo_randn(3, cs) AS z3, @extschema@.seqsales_demo_rand(4, cs) AS u4,
             @extschema@.seqsales_demo_rand(5, cs) AS u5, @extschema@.seqsales_demo_rand(6, cs) AS u6,
             @extschema@.seqsales_demo_randn(7, cs) AS z7, @extschema@.seqsales_demo_randn(8, cs) AS z8,
             @extschema@.seqsales_demo_rand(9, cs) AS u9, @extschema@.seqsales_demo_rand(10, cs) AS u10,
             @extschema@.seqsales_demo_rand(11, cs) AS u11, @extschema@.seqsales_demo_rand(12, cs) AS u12
      OFFSET 0) r),
  -- observation window w (days): ~n_target events at the expected event
  -- rate (E[1/period] of the cycles), capped at 2023-12-31; one-off buyers
  -- get half a day and exactly one forced ad-hoc purchase
  cl AS MATERIALIZED (
    SELECT cl0.*,
           CASE WHEN n_target = 1 THEN 0.5
                ELSE least(1095 - start_day,
                           greatest(60.0, 0.85 * n_target
                             / (0.0243 * (least(k_eq, cardinality(i.pref_eq)) + (extra_eq IS NOT NULL)::int)
                                + 0.0268 * n_rout + 1.1 * adhoc_rate)))
           END AS w
    FROM cl0 JOIN ind i USING (ind)),
  -- installed base at the start of the window
  pe AS (
    SELECT cl.c, e.eq, cl.k_eq,
           row_number() OVER (PARTITION BY cl.c ORDER BY @extschema@.seqsales_demo_rand(100 + e.eq, cl.cs)) AS rn
    FROM cl JOIN ind i USING (ind) CROSS JOIN LATERAL unnest(i.pref_eq) e(eq)),
  inst0 AS (
    SELECT c, eq FROM pe WHERE rn <= k_eq
    UNION
    SELECT c, extra_eq FROM cl WHERE extra_eq IS NOT NULL),
  -- routine families: weighted sampling without replacement (Efraimidis-Spirakis)
  ro AS MATERIALIZED (
    SELECT x.c, x.w, x.rnk, rs, 15 + 60 * @extschema@.seqsales_demo_rand(1, rs) AS period,
           @extschema@.seqsales_demo_rand(2, rs) AS phase,
           exp(0.5 * @extschema@.seqsales_demo_randn(3, rs)) * x.scale AS usage
    FROM (
      SELECT cl.c, cl.w, cl.scale, cl.n_rout, rw.rnk, hashint8extended(200 + rw.rnk, cl.cs) AS rs,
             row_number() OVER (PARTITION BY cl.c
                                ORDER BY -ln(1.0 - @extschema@.seqsales_demo_rand(400 + rw.rnk, cl.cs)) / rw.w) AS rn
      FROM cl JOIN rw USING (ind)) x
    WHERE x.rn <= x.n_rout),
  -- ad-hoc purchases (other families and new equipment), Poisson-like count,
  -- uniform times, category from the (industry, month) slot table
  ad0 AS (
    SELECT cl.c, cl.ind, cl.start_day, e.es, cl.w * @extschema@.seqsales_demo_rand(1, e.es) AS t
    FROM cl
    CROSS JOIN LATERAL generate_series(1, CASE WHEN cl.n_target = 1 THEN 1
                                               ELSE floor(cl.adhoc_rate * cl.w + @extschema@.seqsales_demo_rand(20, cl.cs))::int END) m
    CROSS JOIN LATERAL (SELECT hashint8extended(m, hashint8extended(21, cl.cs)) AS es) e
    OFFSET 0),
  ad AS MATERIALIZED (
    SELECT ad0.c, ad0.t,
           get_byte((SELECT arr FROM slots),
                    ((ad0.ind - 1) * 12 + (SELECT m FROM mon)[ad0.start_day + floor(ad0.t)::int + 1] - 1) * 1000
                    + floor(1000 * @extschema@.seqsales_demo_rand(2, ad0.es))::int) AS cat_id,
           ad0.es
    FROM ad0),
  eqb AS (SELECT c, t, cat_id AS eq, es FROM ad WHERE cat_id <= 8),
  -- all installations: initial base + first purchase of a new equipment type
  inst AS MATERIALIZED (
    SELECT i.c, i.eq, cl.w, hs.iseed, p.pc, p.pm, p.usage, p.units,
           coalesce(i.t_inst, (@extschema@.seqsales_demo_rand(5, hs.iseed) - 1) * p.pc) AS a_c,
           coalesce(i.t_inst, (@extschema@.seqsales_demo_rand(6, hs.iseed) - 1) * p.pm) AS a_m,
           coalesce(i.t_inst, -1e9) AS t_inst
    FROM (SELECT c, eq, NULL::float8 AS t_inst FROM inst0
          UNION ALL
          (SELECT DISTINCT ON (b.c, b.eq) b.c, b.eq, b.t
           FROM eqb b
           WHERE NOT EXISTS (SELECT 1 FROM inst0 o WHERE o.c = b.c AND o.eq = b.eq)
           ORDER BY b.c, b.eq, b.t)) i
    JOIN cl ON cl.c = i.c
    CROSS JOIN LATERAL (SELECT hashint8extended(300 + i.eq, cl.cs) AS iseed) hs
    CROSS JOIN LATERAL (
      SELECT 25 + 75 * @extschema@.seqsales_demo_rand(1, hs.iseed) AS pc,            -- consumable period
             120 + 120 * @extschema@.seqsales_demo_rand(2, hs.iseed) AS pm,          -- maintenance period
             exp(0.5 * @extschema@.seqsales_demo_randn(3, hs.iseed)) * cl.scale AS usage,
             1 + floor(2 * cl.scale * @extschema@.seqsales_demo_rand(4, hs.iseed)) AS units
      OFFSET 0) p),
  -- consumable re-orders
  cons AS (
    SELECT c, t, 16 + eq AS cat_id,
           greatest(1, round(usage * pc * exp(0.15 * @extschema@.seqsales_demo_randn(2, es)))) AS vol, es
    FROM (SELECT i.c, i.eq, i.w, i.usage, i.pc, e.es,
                 i.a_c + i.pc * (k + 0.07 * @extschema@.seqsales_demo_randn(1, e.es)) AS t
          FROM inst i
          CROSS JOIN LATERAL generate_series(1, ceil((i.w - i.a_c) / i.pc + 0.25)::int) k
          CROSS JOIN LATERAL (SELECT hashint8extended(k * 4 + 1, i.iseed) AS es) e
          OFFSET 0) x
    WHERE t >= 0 AND t <= w AND @extschema@.seqsales_demo_rand(3, es) >= 0.05),
  -- periodic maintenance
  maint AS (
    SELECT c, t, 8 + eq AS cat_id, units AS vol, es
    FROM (SELECT i.c, i.eq, i.w, i.units, e.es,
                 i.a_m + i.pm * (k + 0.06 * @extschema@.seqsales_demo_randn(1, e.es)) AS t
          FROM inst i
          CROSS JOIN LATERAL generate_series(1, ceil((i.w - i.a_m) / i.pm + 0.21)::int) k
          CROSS JOIN LATERAL (SELECT hashint8extended(k * 4 + 2, i.iseed) AS es) e
          OFFSET 0) x
    WHERE t >= 0 AND t <= w AND @extschema@.seqsales_demo_rand(3, es) >= 0.05),
  -- HVAC spring service (March to mid-May), most years
  spring AS (
    SELECT i.c, x.t, 8 + 4 AS cat_id, i.units AS vol, e.es
    FROM inst i
    JOIN cl ON cl.c = i.c
    CROSS JOIN generate_series(0, 2) y
    CROSS JOIN LATERAL (SELECT hashint8extended(y * 4 + 3, i.iseed) AS es) e
    CROSS JOIN LATERAL (SELECT 365 * y + 59 + 75 * @extschema@.seqsales_demo_rand(1, e.es) - cl.start_day AS t) x
    WHERE i.eq = 4 AND x.t >= 0 AND x.t <= i.w AND x.t > i.t_inst + 20
      AND @extschema@.seqsales_demo_rand(2, e.es) < 0.7),
  -- after buying equipment: commissioning service and initial consumable stock
  fu AS (
    SELECT b.c, b.t + 0.2 + 3 * @extschema@.seqsales_demo_rand(31, b.es) AS t, 8 + b.eq AS cat_id,
           i.units AS vol, hashint8extended(32, b.es) AS es
    FROM eqb b JOIN inst i ON i.c = b.c AND i.eq = b.eq
    WHERE @extschema@.seqsales_demo_rand(30, b.es) < 0.9
    UNION ALL
    SELECT b.c, b.t + 0.5 + 6 * @extschema@.seqsales_demo_rand(34, b.es), 16 + b.eq,
           greatest(1, round(1.5 * i.usage * i.pc)), hashint8extended(35, b.es)
    FROM eqb b JOIN inst i ON i.c = b.c AND i.eq = b.eq
    WHERE @extschema@.seqsales_demo_rand(33, b.es) < 0.8),
  -- routine re-orders of other families
  rev AS (
    SELECT c, t, 24 + rnk AS cat_id,
           greatest(1, round(usage * period * exp(0.15 * @extschema@.seqsales_demo_randn(2, es)))) AS vol, es
    FROM (SELECT r.c, r.rnk, r.usage, r.period, r.w, e.es,
                 r.period * (r.phase - 1 + k + 0.08 * @extschema@.seqsales_demo_randn(1, e.es)) AS t
          FROM ro r
          CROSS JOIN LATERAL generate_series(1, ceil(r.w / r.period + 1.28 - r.phase)::int) k
          CROSS JOIN LATERAL (SELECT hashint8extended(k * 4 + 1, r.rs) AS es) e
          OFFSET 0) x
    WHERE t >= 0 AND t <= w AND @extschema@.seqsales_demo_rand(3, es) >= 0.05),
  ev AS (
    SELECT c, t, cat_id, NULL::float8 AS vol, es FROM ad
    UNION ALL SELECT c, t, cat_id, vol, es FROM cons
    UNION ALL SELECT c, t, cat_id, vol, es FROM maint
    UNION ALL SELECT c, t, cat_id, vol, es FROM spring
    UNION ALL SELECT c, t, cat_id, vol, es FROM fu
    UNION ALL SELECT c, t, cat_id, vol, es FROM rev),
  -- bundles: the related family usually follows within hours or a day or two
  allev AS (
    SELECT * FROM ev
    UNION ALL
    SELECT ev.c, ev.t + 0.02 + 1.0 * @extschema@.seqsales_demo_rand(41, ev.es), b.dst, NULL::float8,
           hashint8extended(42, ev.es)
    FROM ev JOIN bundle b ON b.src = ev.cat_id
    WHERE @extschema@.seqsales_demo_rand(40, ev.es) < 0.7),
  -- everything inside the client's window, with the client's attributes
  rk AS (
    SELECT a.t, a.cat_id, a.es, cl.client_id, cl.start_day, cl.region, cl.subscriber, cl.ind,
           coalesce(a.vol,
                    CASE WHEN a.cat_id <= 8
                         THEN 1 + floor(1.2 * cl.scale * @extschema@.seqsales_demo_rand(27, a.es))
                         ELSE greatest(1, round(exp(2.5 + 0.8 * @extschema@.seqsales_demo_randn(28, a.es)) * cl.scale))
                    END) AS vol
    FROM allev a JOIN cl ON cl.c = a.c
    WHERE a.t >= 0 AND a.t <= cl.w
    OFFSET 0)
  SELECT
    r.client_id,
    -- business hours 07:00-17:00 UTC of the event's day
    to_timestamp(1609459200 + (r.start_day + floor(r.t)) * 86400
                 + 25200 + round(36000 * (r.t - floor(r.t)))),
    k.name,
    CASE k.kind
      WHEN 3 THEN CASE WHEN u.c1 * (CASE WHEN r.subscriber THEN 1.0 ELSE 0.6 END) < 0.4 THEN 'framework'
                       WHEN u.c1 * (CASE WHEN r.subscriber THEN 1.0 ELSE 0.6 END) < 0.5 THEN 'spot'
                       ELSE 'subscription' END
      WHEN 2 THEN CASE WHEN u.c1 < 0.10 THEN 'framework' WHEN u.c1 < 0.25 THEN 'spot'
                       ELSE 'service_agreement' END
      WHEN 1 THEN CASE WHEN u.c1 * (CASE WHEN r.ind = 5 THEN 1.4 ELSE 0.9 END) < 0.2 THEN 'framework'
                       WHEN u.c1 * (CASE WHEN r.ind = 5 THEN 1.4 ELSE 0.9 END) < 0.5 THEN 'spot'
                       ELSE 'tender' END
      ELSE CASE WHEN u.c1 * (CASE WHEN k.rnk = 11 THEN 1.8 ELSE 1.0 END) < 0.5 THEN 'framework'
                WHEN u.c1 * (CASE WHEN k.rnk = 11 THEN 1.8 ELSE 1.0 END) < 0.9 THEN 'spot'
                ELSE 'subscription' END
    END,
    CASE k.kind
      WHEN 3 THEN CASE WHEN u.c2 < 0.6 THEN 'preferred' WHEN u.c2 < 0.8 THEN 'tactical' ELSE 'marketplace' END
      WHEN 2 THEN CASE WHEN u.c2 < 0.3 THEN 'strategic' WHEN u.c2 < 0.9 THEN 'specialist' ELSE 'tactical' END
      WHEN 1 THEN CASE WHEN u.c2 < 0.5 THEN 'strategic' WHEN u.c2 < 0.9 THEN 'specialist' ELSE 'tactical' END
      ELSE CASE WHEN u.c2 < 0.4 THEN 'preferred' WHEN u.c2 < 0.7 THEN 'tactical' ELSE 'marketplace' END
    END,
    (ARRAY['north', 'south', 'east', 'west', 'central'])[r.region],
    CASE WHEN u.n1 < 0.03 THEN NULL ELSE r.vol::bigint::numeric END,
    CASE WHEN u.n2 < 0.04 THEN NULL   -- in cents, rounded half-even
         ELSE round(100 * r.vol * k.price * exp(0.3 * @extschema@.seqsales_demo_randn(26, r.es)))::bigint * 0.01 END
  FROM rk r
  JOIN cat k ON k.cat_id = r.cat_id
  CROSS JOIN LATERAL (
    SELECT @extschema@.seqsales_demo_rand(21, r.es) AS c1, @extschema@.seqsales_demo_rand(22, r.es) AS c2,
           @extschema@.seqsales_demo_rand(24, r.es) AS n1, @extschema@.seqsales_demo_rand(25, r.es) AS n2) u
  $q$, sch) USING p_clients, base;
  GET DIAGNOSTICS n_rows = ROW_COUNT;

  EXECUTE format('CREATE INDEX ON %I.seqsales_demo_orders (client_id, ordered_at)', sch);
  EXECUTE format('ANALYZE %I.seqsales_demo_orders', sch);
  RETURN n_rows;
END
$fn$;

COMMENT ON FUNCTION seqsales_demo_data(integer, integer) IS
  'seqsales: (re)create and fill seqsales_demo_orders with deterministic synthetic B2B order lines '
  '(~32 lines per client, 40 product families); returns the number of rows';
