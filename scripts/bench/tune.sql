-- bench step (--tune N): a study of N trials (3 inner folds, TPE, median
-- pruning) on the training clients by CALL seqsales_tune; its best
-- parameters are retrained on every training client as model 'bench' (the
-- model the next steps evaluate).  psql variables: trials, time_limit ('' = none).
\set ON_ERROR_STOP on
SET client_min_messages = notice;

CREATE TABLE bench_tune_params AS SELECT :'trials'::int AS trials, nullif(:'time_limit', '')::interval AS time_limit;

DO $$
DECLARE
    p  bench_params;
    n  int;
    tl interval;
    t0 timestamptz := clock_timestamp();
    id bigint;
BEGIN
    SELECT * INTO p FROM bench_params;
    SELECT trials, time_limit INTO n, tl FROM bench_tune_params;
    CALL seqsales_tune('bench', 'bench_train', 'client_id', 'ts', 'category', p.cat_cols::name[],
                       p.num_cols::name[], p.architecture, p.options, 'line',
                       trials => n, folds => 3, time_limit => tl, model_name => 'bench');
    SELECT max(s.id) INTO id FROM seqsales_model s WHERE s.name = 'bench';
    INSERT INTO bench_result
    VALUES ('model_id', to_jsonb(id)),
           ('tune_seconds', to_jsonb(extract(epoch FROM clock_timestamp() - t0)::float8)),
           ('train_seconds', to_jsonb((SELECT (s.metrics ->> 'train_seconds')::float8 FROM seqsales_model s WHERE s.id = id)));
END $$;

SELECT number, state, round(value::numeric, 4) AS value, epochs, round(seconds::numeric, 1) AS seconds, parameters
FROM seqsales_trial WHERE study = 'bench' ORDER BY number;
