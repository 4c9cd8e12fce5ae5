-- seqsales model selection (0.2): evaluation, class report, cross-validation.

CREATE FUNCTION seqsales_evaluate(
    model_name text,
    source     regclass DEFAULT NULL,
    OUT hit1 double precision, OUT hit3 double precision, OUT hit5 double precision,
    OUT hit10 double precision, OUT mrr10 double precision, OUT ndcg10 double precision,
    OUT coverage double precision, OUT macro_f1 double precision, OUT weighted_f1 double precision,
    OUT hit3_repeat double precision, OUT hit3_new double precision, OUT clients bigint,
    OUT unit text, OUT recall1 double precision, OUT recall3 double precision,
    OUT recall5 double precision, OUT recall10 double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'seqsales_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION seqsales_evaluate(text, regclass)
IS 'Hit@k, MRR, NDCG, coverage and F1 of a model on held-out clients: its validation clients, or every client of source; for a model of unit order, next-order Hit@k, MRR@10 and Recall@k';

CREATE FUNCTION seqsales_class_report(
    model_name text,
    source     regclass DEFAULT NULL)
RETURNS TABLE (category text, support bigint, predicted bigint, "precision" double precision,
               recall double precision, f1 double precision, hit3 double precision,
               confused_with text, confusion_share double precision)
AS 'MODULE_PATHNAME', 'seqsales_class_report'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION seqsales_class_report(text, regclass)
IS 'Per category: support, precision, recall and F1 of the top-1, Hit@3, and its most frequent confusion';

CREATE FUNCTION seqsales_history_weights(model_name text)
RETURNS TABLE (feature text, weight double precision)
AS 'MODULE_PATHNAME', 'seqsales_history_weights'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION seqsales_history_weights(text)
IS 'The weights a ranker or hybrid model gives its per-category history features (logit units)';

CREATE FUNCTION seqsales_cross_validate(
    source          regclass,
    client_column   name DEFAULT 'client_id',
    time_column     name DEFAULT 'ordered_at',
    target_column   name DEFAULT 'category',
    categorical     name[] DEFAULT '{}',
    "numeric"       name[] DEFAULT '{}',
    architecture    text DEFAULT 'hybrid',
    options         jsonb DEFAULT '{}',
    tiebreak_column name DEFAULT NULL,
    folds           integer DEFAULT 5,
    keep_models     text DEFAULT NULL)
RETURNS TABLE (fold text, clients double precision, hit1 double precision, hit3 double precision,
               hit5 double precision, hit10 double precision, mrr10 double precision,
               ndcg10 double precision, coverage double precision, macro_f1 double precision,
               weighted_f1 double precision, hit3_repeat double precision, hit3_new double precision,
               epochs double precision, seconds double precision,
               recall1 double precision, recall3 double precision, recall5 double precision,
               recall10 double precision)
AS 'MODULE_PATHNAME', 'seqsales_cross_validate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION seqsales_cross_validate(regclass, name, name, name, name[], name[], text, jsonb, name, integer, text)
IS 'Client-level K-fold cross-validation (md5 folds of the protocol): one row per fold, then mean and std; keep_models stores fold k as <keep_models>_fold<k>; with options {"unit": "order"}, next-order Hit@k, MRR@10 and Recall@k';

-- ------------------------------------------------------------------ tuning

CREATE FUNCTION seqsales_option_table()
RETURNS TABLE (name text, kind text, min double precision, max double precision)
AS 'MODULE_PATHNAME', 'seqsales_option_table'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION seqsales_option_table()
IS 'The options of seqsales_train: name, kind (integer, real, boolean, text: one of a list, min and max the first and last index) and range';

-- The default search space of seqsales_tune: the reference's (hidden size,
-- layers, learning rate, dropout, focal gamma, weighted sampling, batch
-- size) and the embedding scale and history length.
CREATE FUNCTION seqsales_default_search_space()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{"hidden_size": {"choices": [64, 128, 256]},
         "layers": {"low": 1, "high": 2},
         "learning_rate": {"low": 0.0003, "high": 0.003, "log": true},
         "dropout": {"low": 0.0, "high": 0.5},
         "focal_gamma": {"low": 0.0, "high": 3.0},
         "weighted_sampling": {"choices": [false, true]},
         "batch_size": {"choices": [64, 128, 256, 512]},
         "embedding_scale": {"low": 0.5, "high": 2.0, "log": true},
         "max_length": {"choices": [20, 50, 100]}}'::jsonb;

CREATE TABLE seqsales_study (
    name            text PRIMARY KEY,
    owner           regrole NOT NULL,
    source_relation text NOT NULL,
    architecture    text NOT NULL,
    options         jsonb NOT NULL,
    search_space    jsonb NOT NULL,
    folds           integer NOT NULL,
    model_name      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE seqsales_study IS 'Hyperparameter studies of seqsales_tune';

CREATE TABLE seqsales_trial (
    study        text NOT NULL REFERENCES seqsales_study (name) ON DELETE CASCADE,
    number       integer NOT NULL,
    owner        regrole NOT NULL,
    state        text NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')),
    parameters   jsonb NOT NULL,
    fold_values  double precision[],
    value        double precision,
    intermediate double precision[],
    epochs       integer,
    seconds      double precision,
    error        text,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    PRIMARY KEY (study, number)
);
COMMENT ON TABLE seqsales_trial IS 'Trials of seqsales_tune: parameters, per-fold validation Hit@3, their mean (value), state';
COMMENT ON COLUMN seqsales_trial.intermediate IS 'Best validation Hit@3 so far per step (fold x epochs + epoch - 1), for the pruner';

-- a study and its trials are their owner's: the procedure writes them under
-- the caller's rights, row security keeps other roles out
ALTER TABLE seqsales_study ENABLE ROW LEVEL SECURITY;
CREATE POLICY seqsales_study_owner ON seqsales_study
    USING (pg_catalog.pg_has_role(owner, 'USAGE')) WITH CHECK (pg_catalog.pg_has_role(owner, 'USAGE'));
ALTER TABLE seqsales_trial ENABLE ROW LEVEL SECURITY;
CREATE POLICY seqsales_trial_owner ON seqsales_trial
    USING (pg_catalog.pg_has_role(owner, 'USAGE')) WITH CHECK (pg_catalog.pg_has_role(owner, 'USAGE'));
REVOKE ALL ON seqsales_study, seqsales_trial FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON seqsales_study, seqsales_trial TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('seqsales_study', '');
SELECT pg_catalog.pg_extension_config_dump('seqsales_trial', '');

CREATE FUNCTION seqsales_tpe_suggest(kinds text[], lows double precision[], highs double precision[],
                                     logs double precision[], n_choices double precision[],
                                     states text[], "values" double precision[],
                                     params double precision[], steps double precision[],
                                     n_steps integer, seed bigint)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'seqsales_tpe_suggest'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION seqsales_tune_trial(
    source regclass, client_column name, time_column name, target_column name,
    categorical name[], "numeric" name[], architecture text, options jsonb,
    tiebreak_column name, folds integer, history_states text[], history_steps double precision[],
    OUT state text, OUT value double precision, OUT fold_values double precision[],
    OUT intermediate double precision[], OUT epochs integer, OUT seconds double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'seqsales_tune_trial'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The dimensions of a search space, in key order: each key an option of
-- seqsales_train; {"choices": [..]} is categorical, else {"low", "high"
-- [, "log"]} is an integer or real range by the option's kind.
CREATE FUNCTION seqsales_search_dimensions(search_space jsonb)
RETURNS TABLE (i integer, name text, kind text, low double precision, high double precision,
               log boolean, choices jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k text;
    spec jsonb;
    opt record;
    n integer := 0;
BEGIN
    IF search_space IS NULL OR jsonb_typeof(search_space) <> 'object' THEN
        RAISE EXCEPTION 'search_space must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM jsonb_object_keys(search_space)) THEN
        RAISE EXCEPTION 'the search space is empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give at least one option to search, or pass NULL for the default search space.';
    END IF;
    FOR k, spec IN SELECT e.key, e.value FROM jsonb_each(search_space) e ORDER BY e.key LOOP
        SELECT * INTO opt FROM @extschema@.seqsales_option_table() o WHERE o.name = k;
        IF NOT FOUND OR k IN ('seed', 'threads', 'epochs', 'patience', 'validation_fraction') THEN
            RAISE EXCEPTION 'unknown study parameter "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A study searches options of seqsales_train (but not seed, threads, epochs, patience, validation_fraction): '
                             || (SELECT string_agg(o.name, ', ') FROM @extschema@.seqsales_option_table() o
                                 WHERE o.name NOT IN ('seed', 'threads', 'epochs', 'patience', 'validation_fraction')) || '.';
        END IF;
        n := n + 1;
        i := n;
        name := k;
        log := coalesce((spec->>'log')::boolean, false);
        choices := NULL;
        IF spec ? 'choices' THEN
            IF jsonb_typeof(spec->'choices') <> 'array' OR jsonb_array_length(spec->'choices') < 1 THEN
                RAISE EXCEPTION 'study parameter "%": "choices" must be a non-empty array', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            kind := 'categorical';
            choices := spec->'choices';
            low := 0;
            high := jsonb_array_length(choices) - 1;
        ELSIF spec ? 'low' AND spec ? 'high' THEN
            IF opt.kind = 'boolean' THEN
                RAISE EXCEPTION 'study parameter "%" is a boolean: give "choices"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            kind := CASE opt.kind WHEN 'integer' THEN 'int' ELSE 'float' END;
            low := (spec->>'low')::double precision;
            high := (spec->>'high')::double precision;
            IF NOT (low <= high) OR low < opt.min OR high > opt.max THEN
                RAISE EXCEPTION 'study parameter "%": [%, %] is not a range within [%, %]', k, low, high, opt.min, opt.max
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        ELSE
            RAISE EXCEPTION 'study parameter "%" needs "choices", or "low" and "high"', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- Runs (or continues) a study: `trials` trials in all, each the mean
-- validation Hit@3 over `folds` inner folds, TPE after 10 random ones,
-- median pruning; commits after every trial; then trains the best
-- parameters on every client of source as model `model_name` (default: the
-- study's name).  Must be CALLed outside a transaction block.
CREATE PROCEDURE seqsales_tune(
    study           text,
    source          regclass,
    client_column   name DEFAULT 'client_id',
    time_column     name DEFAULT 'ordered_at',
    target_column   name DEFAULT 'category',
    categorical     name[] DEFAULT '{}',
    "numeric"       name[] DEFAULT '{}',
    architecture    text DEFAULT 'hybrid',
    options         jsonb DEFAULT '{}',
    tiebreak_column name DEFAULT NULL,
    trials          integer DEFAULT 30,
    folds           integer DEFAULT 3,
    search_space    jsonb DEFAULT NULL,
    time_limit      interval DEFAULT NULL,
    model_name      text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    space jsonb := coalesce(search_space, @extschema@.seqsales_default_search_space());
    st @extschema@.seqsales_study;
    started timestamptz := clock_timestamp();
    finished integer;
    num integer;
    sugg double precision[];
    params jsonb;
    r record;
    best jsonb;
    n_steps integer;
    h_states text[];
    h_values double precision[];
    h_params double precision[];
    h_steps double precision[];
    d_names text[];
    d_kinds text[];
    d_lows double precision[];
    d_highs double precision[];
    d_logs double precision[];
    d_n_choices double precision[];
    d_choices jsonb[];
    the_model text := coalesce(model_name, study);
BEGIN
    IF study IS NULL OR study = '' THEN
        RAISE EXCEPTION 'study name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF source IS NULL THEN
        RAISE EXCEPTION 'source relation must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF trials IS NULL OR trials < 1 THEN
        RAISE EXCEPTION 'trials must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF folds IS NULL OR folds < 2 OR folds > 100 THEN
        RAISE EXCEPTION 'folds must be between 2 and 100, not %', folds USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the search space's dimensions, checked, once
    SELECT array_agg(d.name ORDER BY d.i), array_agg(d.kind ORDER BY d.i),
           array_agg(d.low ORDER BY d.i), array_agg(d.high ORDER BY d.i),
           array_agg(d.log::integer::double precision ORDER BY d.i),
           array_agg(coalesce(jsonb_array_length(d.choices), 0)::double precision ORDER BY d.i),
           array_agg(d.choices ORDER BY d.i)
    INTO d_names, d_kinds, d_lows, d_highs, d_logs, d_n_choices, d_choices
    FROM @extschema@.seqsales_search_dimensions(space) d;
    n_steps := folds * coalesce((options->>'epochs')::integer, 30);

    SELECT * INTO st FROM @extschema@.seqsales_study s WHERE s.name = study;
    IF NOT FOUND THEN
        INSERT INTO @extschema@.seqsales_study (name, owner, source_relation, architecture, options, search_space, folds, model_name)
        VALUES (study, current_user::text::regrole, source::text, architecture, options, space, folds, the_model);
    ELSIF st.source_relation <> source::text OR st.architecture <> architecture OR st.options <> options
          OR st.search_space <> space OR st.folds <> folds THEN
        RAISE EXCEPTION 'study "%" exists with other arguments', study
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It searches %s on %s with options %s and %s folds.', st.architecture, st.source_relation, st.options, st.folds),
                  HINT = 'Continue it with the same arguments, or give the new study another name.';
    END IF;
    -- trials of an earlier call that did not finish (cancelled, timed out, crashed)
    UPDATE @extschema@.seqsales_trial t SET state = 'failed', finished_at = clock_timestamp(),
           error = 'not finished: the call running it was cancelled or its session ended'
    WHERE t.study = seqsales_tune.study AND t.state = 'running';
    COMMIT;

    LOOP
        SELECT count(*) INTO finished FROM @extschema@.seqsales_trial t
        WHERE t.study = seqsales_tune.study AND t.state <> 'running';
        EXIT WHEN finished >= trials;
        EXIT WHEN time_limit IS NOT NULL AND clock_timestamp() - started >= time_limit;

        -- the history as arrays, parameters in the dimensions' order
        SELECT coalesce(array_agg(t.state ORDER BY t.number), '{}'),
               coalesce(array_agg(t.value ORDER BY t.number), '{}')
        INTO h_states, h_values
        FROM @extschema@.seqsales_trial t
        WHERE t.study = seqsales_tune.study AND t.state <> 'running';
        SELECT coalesce(array_agg(p.x ORDER BY t.number, dm.i), '{}')
        INTO h_params
        FROM @extschema@.seqsales_trial t
        CROSS JOIN unnest(d_names, d_kinds, d_choices) WITH ORDINALITY dm(name, kind, choices, i)
        CROSS JOIN LATERAL (SELECT CASE
            WHEN NOT t.parameters ? dm.name THEN NULL
            WHEN dm.kind = 'categorical' THEN
                (SELECT c.n - 1 FROM jsonb_array_elements(dm.choices) WITH ORDINALITY c(v, n)
                 WHERE c.v = t.parameters->dm.name LIMIT 1)
            ELSE (t.parameters->>dm.name)::double precision END AS x) p
        WHERE t.study = seqsales_tune.study AND t.state <> 'running';
        SELECT coalesce(array_agg(coalesce(t.intermediate[s], 'NaN') ORDER BY t.number, s), '{}')
        INTO h_steps
        FROM @extschema@.seqsales_trial t CROSS JOIN generate_series(1, n_steps) s
        WHERE t.study = seqsales_tune.study AND t.state <> 'running';
        SELECT coalesce(max(t.number) + 1, 0) INTO num FROM @extschema@.seqsales_trial t
        WHERE t.study = seqsales_tune.study;

        sugg := @extschema@.seqsales_tpe_suggest(
            d_kinds, d_lows, d_highs, d_logs, d_n_choices,
            h_states, h_values, h_params, h_steps, n_steps,
            coalesce((options->>'seed')::bigint, 1));
        SELECT jsonb_object_agg(dm.name, CASE dm.kind
                   WHEN 'categorical' THEN dm.choices->(sugg[dm.i::integer]::integer)
                   WHEN 'int' THEN to_jsonb(round(sugg[dm.i::integer])::bigint)
                   ELSE to_jsonb(sugg[dm.i::integer]) END)
        INTO params FROM unnest(d_names, d_kinds, d_choices) WITH ORDINALITY dm(name, kind, choices, i);

        INSERT INTO @extschema@.seqsales_trial (study, number, owner, state, parameters)
        VALUES (study, num, current_user::text::regrole, 'running', params);
        COMMIT;

        BEGIN
            SELECT * INTO r FROM @extschema@.seqsales_tune_trial(
                source, client_column, time_column, target_column, categorical, "numeric",
                architecture, options || params, tiebreak_column, folds, h_states, h_steps);
            UPDATE @extschema@.seqsales_trial t
            SET state = r.state, value = r.value, fold_values = r.fold_values, intermediate = r.intermediate,
                epochs = r.epochs, seconds = r.seconds, finished_at = clock_timestamp()
            WHERE t.study = seqsales_tune.study AND t.number = num;
        EXCEPTION WHEN OTHERS THEN
            -- a failed trial (a cancel is not caught: it ends the call, the trial stays running until the next)
            UPDATE @extschema@.seqsales_trial t
            SET state = 'failed', error = SQLERRM, finished_at = clock_timestamp()
            WHERE t.study = seqsales_tune.study AND t.number = num;
        END;
        COMMIT;
        RAISE NOTICE 'seqsales_tune %: trial % %', study, num,
            (SELECT format('%s, value %s, %s s', t.state, round(t.value::numeric, 4), round(t.seconds::numeric, 1))
             FROM @extschema@.seqsales_trial t WHERE t.study = seqsales_tune.study AND t.number = num);
    END LOOP;

    SELECT t.parameters INTO best FROM @extschema@.seqsales_trial t
    WHERE t.study = seqsales_tune.study AND t.state = 'complete'
    ORDER BY t.value DESC, t.number LIMIT 1;
    IF best IS NULL THEN
        RAISE EXCEPTION 'no trial of study "%" completed', study
            USING ERRCODE = 'data_exception',
                  HINT = 'See the trials'' errors: SELECT number, state, error FROM seqsales_trial WHERE study = ''' || study || '''.';
    END IF;
    PERFORM @extschema@.seqsales_train(source, client_column, time_column, target_column, categorical, "numeric",
                                       the_model, architecture, options || best, tiebreak_column);
    RAISE NOTICE 'seqsales_tune %: best parameters % trained as model "%"', study, best, the_model;
END $$;

COMMENT ON PROCEDURE seqsales_tune(text, regclass, name, name, name, name[], name[], text, jsonb, name, integer, integer, jsonb, interval, text)
IS 'Hyperparameter search (TPE, median pruning) committing after every trial; the best parameters are trained as a model';
