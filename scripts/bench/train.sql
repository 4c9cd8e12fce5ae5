-- bench step 4: train on bench_train; wall time of the seqsales_train call and
-- the peak resident set (VmHWM) of this backend, read before the session ends.
\set ON_ERROR_STOP on
SET client_min_messages = notice;

DO $$
DECLARE
    p  bench_params;
    t0 timestamptz;
    id bigint;
BEGIN
    SELECT * INTO p FROM bench_params;
    t0 := clock_timestamp();
    EXECUTE 'SELECT seqsales_train($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)'
    INTO id
    USING 'bench_train'::regclass, 'client_id'::name, 'ts'::name, 'category'::name,
          p.cat_cols::name[], p.num_cols::name[], 'bench'::text, p.architecture, p.options, 'line'::name;
    INSERT INTO bench_result
    VALUES ('model_id', to_jsonb(id)),
           ('train_seconds', to_jsonb(extract(epoch FROM clock_timestamp() - t0)::float8));
END $$;

INSERT INTO bench_result
SELECT 'peak_rss_mb',
       to_jsonb((regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                              'VmHWM:\s*(\d+) kB'))[1]::float8 / 1024);

-- the per-epoch log (stderr)
SELECT l.epoch, round(l.train_loss::numeric, 4) AS train_loss,
       round(l.validation_hit3::numeric, 4) AS validation_hit3,
       round(l.seconds::numeric, 2) AS seconds, round(l.validation_seconds::numeric, 2) AS validation_seconds,
       l.target_positions, round((l.target_positions / l.seconds)::numeric) AS positions_per_second
FROM seqsales_training_log l
WHERE l.model_id = (SELECT (value #>> '{}')::bigint FROM bench_result WHERE key = 'model_id')
ORDER BY l.epoch;

-- does the extension's split agree with ours (same fitting/validation clients, same classes)?
DO $$
DECLARE
    s     seqsales_model;
    n_fit bigint;
    n_val bigint;
BEGIN
    SELECT * INTO s FROM seqsales_model
    WHERE id = (SELECT (value #>> '{}')::bigint FROM bench_result WHERE key = 'model_id');
    SELECT count(*) FILTER (WHERE role = 'fit'), count(*) FILTER (WHERE role = 'val')
    INTO n_fit, n_val FROM bench_clients;
    RAISE NOTICE 'model %: % epochs (best %), % s, % positions/s, % training targets, % parameters',
        s.id, s.metrics ->> 'epochs_run', s.metrics ->> 'best_epoch', s.metrics ->> 'train_seconds',
        s.metrics ->> 'train_positions_per_second', s.metrics ->> 'training_targets', s.metrics ->> 'parameters';
    IF (s.metrics ->> 'fitting_clients')::bigint IS DISTINCT FROM n_fit
       OR (s.metrics ->> 'validation_clients')::bigint IS DISTINCT FROM n_val
       OR s.categories IS DISTINCT FROM
          (SELECT array_agg(category ORDER BY category COLLATE "C") FROM bench_categories) THEN
        RAISE WARNING 'the extension''s fitting/validation split differs from the benchmark''s: '
                      'extension % fitting / % validation clients and % classes, benchmark % / % and %',
            s.metrics ->> 'fitting_clients', s.metrics ->> 'validation_clients', cardinality(s.categories),
            n_fit, n_val, (SELECT count(*) FROM bench_categories);
    END IF;
END $$;
