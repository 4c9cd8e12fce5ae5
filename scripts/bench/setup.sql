-- bench step 1: the extension, the run's parameters and the raw table the CSV
-- is copied into.  psql variables: data, seed, architecture, options, header
-- (the CSV's column names, one per line).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION seqsales;

CREATE TABLE bench_params AS
SELECT d.data, d.seed, d.architecture, d.header,
       d.options,
       coalesce((d.options ->> 'seed')::bigint, d.seed) AS validation_seed,
       floor(100 * coalesce((d.options ->> 'validation_fraction')::float8, 0.1) + 0.5)::int AS validation_cut,
       coalesce((d.options ->> 'max_length')::int, 50) AS max_length,
       ARRAY(SELECT c FROM unnest(d.header) WITH ORDINALITY u(c, i) WHERE left(c, 4) = 'cat_' ORDER BY i) AS cat_cols,
       ARRAY(SELECT c FROM unnest(d.header) WITH ORDINALITY u(c, i) WHERE left(c, 4) = 'num_' ORDER BY i) AS num_cols,
       NULL::text AS ts_kind
FROM (SELECT :'data'::text AS data,
             :'seed'::int AS seed,
             :'architecture'::text AS architecture,
             string_to_array(:'header', E'\n') AS header,
             -- the user's options win; the seed defaults to --seed
             jsonb_build_object('seed', :'seed'::int) || :'options'::jsonb AS options) d;

DO $$
DECLARE
    p bench_params;
    missing text;
BEGIN
    SELECT * INTO p FROM bench_params;
    IF jsonb_typeof(p.options) <> 'object' THEN
        RAISE EXCEPTION '--options must be a JSON object, not %', jsonb_typeof(p.options);
    END IF;
    SELECT string_agg(c, ', ') INTO missing
    FROM unnest(ARRAY['client_id', 'ts', 'category']) c WHERE c <> ALL (p.header);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '%: missing column(s) %', p.data, missing
            USING HINT = 'The header must be client_id,ts,category,<cat_*>,<num_*>.';
    END IF;
    -- every column as text (the reference reads the CSV as strings); line = file row order
    EXECUTE format('CREATE TABLE bench_raw (%s, line bigserial)',
                   (SELECT string_agg(format('%I text', c), ', ' ORDER BY i)
                    FROM unnest(p.header) WITH ORDINALITY u(c, i)));
END $$;

-- numeric feature values: like pandas.to_numeric(errors="coerce"), anything
-- that is not a number (the empty string included) is missing
CREATE FUNCTION bench_float(s text) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s ~* '^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$'
                  OR s ~* '^\s*[-+]?(inf|infinity|nan)\s*$' THEN s::float8 END
$$;

-- key -> value of the run's measurements (train_seconds, peak_rss_mb, ...)
CREATE TABLE bench_result (key text PRIMARY KEY, value jsonb NOT NULL);
