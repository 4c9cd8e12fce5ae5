-- bench step 7: the result as one JSON object (the only stdout line of this step).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

WITH res AS (
    SELECT jsonb_object_agg(key, value) AS r FROM bench_result),
model AS (
    SELECT s.* FROM seqsales_model s, res WHERE s.id = (res.r ->> 'model_id')::bigint)
SELECT json_build_object(
           'hit1', x.hit1, 'hit3', x.hit3, 'hit5', x.hit5, 'hit10', x.hit10, 'mrr10', x.mrr10,
           'macro_f1', x.macro_f1, 'weighted_f1', x.weighted_f1,
           'hit3_repeat', x.hit3_repeat, 'hit3_new', x.hit3_new,
           'unit', x.unit, 'recall1', x.recall1, 'recall3', x.recall3, 'recall5', x.recall5,
           'recall10', x.recall10, 'evaluated_clients', x.clients,
           'test_clients', (SELECT count(*) FROM bench_test_targets),
           'epochs', (model.metrics ->> 'epochs_run')::int,
           'best_epoch', (model.metrics ->> 'best_epoch')::int,
           'validation_hit3', (model.metrics ->> 'validation_hit3')::float8,
           'train_seconds', res.r -> 'train_seconds',
           'train_positions_per_second', (model.metrics ->> 'train_positions_per_second')::float8,
           'predict_ms_p50', res.r -> 'predict_ms_p50',
           'predict_clients_per_second', res.r -> 'predict_clients_per_second',
           'peak_rss_mb', res.r -> 'peak_rss_mb',
           'ndcg10', x.ndcg10, 'coverage', x.coverage,
           'baselines', (SELECT json_object_agg(b.method, to_jsonb(b) - 'method')
                         FROM bench_metrics b WHERE b.method <> 'model'),
           'cv', (SELECT json_agg(to_jsonb(c) ORDER BY c.method, c.fold) FROM bench_cv c),
           'tuning', (SELECT json_build_object('trials', count(*),
                                               'complete', count(*) FILTER (WHERE t.state = 'complete'),
                                               'pruned', count(*) FILTER (WHERE t.state = 'pruned'),
                                               'failed', count(*) FILTER (WHERE t.state = 'failed'),
                                               'seconds', extract(epoch FROM max(t.finished_at) - min(t.started_at)),
                                               'best_value', max(t.value),
                                               'best_parameters', (SELECT t2.parameters FROM seqsales_trial t2
                                                                   WHERE t2.study = 'bench' AND t2.state = 'complete'
                                                                   ORDER BY t2.value DESC LIMIT 1))
                      FROM seqsales_trial t WHERE t.study = 'bench' HAVING count(*) > 0),
           'split', json_build_object(
               'seed', p.seed,
               'fit_clients', (SELECT count(*) FROM bench_clients WHERE role = 'fit'),
               'validation_clients', (SELECT count(*) FROM bench_clients WHERE role = 'val'),
               'test_clients', (SELECT count(*) FROM bench_clients WHERE role = 'test'),
               'classes', (SELECT count(*) FROM bench_categories)),
           'architecture', p.architecture,
           'data', p.data,
           'options', p.options)
FROM bench_metrics x, res, model, bench_params p
WHERE x.method = 'model';
