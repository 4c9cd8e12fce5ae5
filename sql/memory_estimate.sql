-- seqsales regression tests: the memory estimate is an upper bound of the
-- backend's peak.  Each training runs in a fresh backend; its peak growth
-- is VmHWM after minus VmRSS before, less the shared memory and the
-- file-backed pages (shared_buffers, OpenBLAS's code) it mapped meanwhile,
-- and must not pass metrics->'memory_estimate_bytes'; nor is the estimate
-- much above it (twice the growth and 16 MB: the sort's work_mem that a
-- small training may never use).
CREATE TABLE mem_est_events AS
SELECT c AS client_id,
       timestamp '2020-01-01' + e * interval '1 day' AS ordered_at,
       'c' || (hashint8(c * 100003 + e / 3) & 2147483647) % 20 AS category,
       'r' || (hashint8(c * 7 + e) & 2147483647) % 4 AS region,
       ((hashint8(c * 13 + e) & 65535) / 655.36)::float8 AS volume
FROM generate_series(1, 203) c,
     generate_series(1, CASE WHEN c > 200 THEN 2500 + 500 * (c - 201)
                             ELSE 2 + (hashint4(c) & 2147483647) % 30 END) e;
CREATE FUNCTION mem_est_kb(status text, field text) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT substring(status FROM field || ':\s+(\d+) kB')::bigint $$;
-- bytes of private memory the backend grew by at its peak
CREATE FUNCTION mem_est_growth(before text, after text) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT 1024 * (mem_est_kb(after, 'VmHWM') - mem_est_kb(before, 'VmRSS')
                     - (mem_est_kb(after, 'RssShmem') - mem_est_kb(before, 'RssShmem'))
                     - (mem_est_kb(after, 'RssFile') - mem_est_kb(before, 'RssFile'))) $$;

-- hidden 16, the default max_length 50, two features
\c
SET client_min_messages = warning;
SELECT pg_read_file('/proc/self/status') AS before \gset
SELECT seqsales_train('mem_est_events', categorical => '{region}', "numeric" => '{volume}',
                      model_name => 'mem_est_a', options => '{"hidden_size": 16, "epochs": 2}') AS id \gset
SELECT pg_read_file('/proc/self/status') AS after \gset
SELECT mem_est_growth(:'before', :'after') <= (metrics->>'memory_estimate_bytes')::bigint AS peak_within_estimate,
       (metrics->>'memory_estimate_bytes')::bigint <= 2 * mem_est_growth(:'before', :'after') + 16 * 1048576 AS estimate_close
FROM seqsales_model WHERE id = :id;

-- hidden 64, two layers, max_length 1000, batches of 64 targets on two threads
\c
SET client_min_messages = warning;
SELECT pg_read_file('/proc/self/status') AS before \gset
SELECT seqsales_train('mem_est_events', categorical => '{region}', "numeric" => '{volume}',
                      model_name => 'mem_est_b',
                      options => '{"hidden_size": 64, "layers": 2, "max_length": 1000, "batch_size": 64,
                                   "threads": 2, "epochs": 1}') AS id \gset
SELECT pg_read_file('/proc/self/status') AS after \gset
SELECT mem_est_growth(:'before', :'after') <= (metrics->>'memory_estimate_bytes')::bigint AS peak_within_estimate,
       (metrics->>'memory_estimate_bytes')::bigint <= 2 * mem_est_growth(:'before', :'after') + 16 * 1048576 AS estimate_close
FROM seqsales_model WHERE id = :id;

-- hidden 8, max_length 10000: whole histories of up to 3500 events, attention over all of them
\c
SET client_min_messages = warning;
SELECT pg_read_file('/proc/self/status') AS before \gset
SELECT seqsales_train('mem_est_events', categorical => '{region}', "numeric" => '{volume}',
                      model_name => 'mem_est_c', options => '{"hidden_size": 8, "max_length": 10000, "epochs": 1}') AS id \gset
SELECT pg_read_file('/proc/self/status') AS after \gset
SELECT mem_est_growth(:'before', :'after') <= (metrics->>'memory_estimate_bytes')::bigint AS peak_within_estimate,
       (metrics->>'memory_estimate_bytes')::bigint <= 2 * mem_est_growth(:'before', :'after') + 16 * 1048576 AS estimate_close
FROM seqsales_model WHERE id = :id;

-- hidden 32, max_length 500, weighted draws, no features
\c
SET client_min_messages = warning;
SELECT pg_read_file('/proc/self/status') AS before \gset
SELECT seqsales_train('mem_est_events', model_name => 'mem_est_d',
                      options => '{"hidden_size": 32, "max_length": 500, "weighted_sampling": true,
                                   "class_weighting": true, "epochs": 1}') AS id \gset
SELECT pg_read_file('/proc/self/status') AS after \gset
SELECT mem_est_growth(:'before', :'after') <= (metrics->>'memory_estimate_bytes')::bigint AS peak_within_estimate,
       (metrics->>'memory_estimate_bytes')::bigint <= 2 * mem_est_growth(:'before', :'after') + 16 * 1048576 AS estimate_close
FROM seqsales_model WHERE id = :id;

\c
SELECT sum(seqsales_drop_model(name)) AS dropped
FROM (SELECT DISTINCT name FROM seqsales_model WHERE name LIKE 'mem\_est\_%') n;
DROP FUNCTION mem_est_growth(text, text);
DROP FUNCTION mem_est_kb(text, text);
DROP TABLE mem_est_events;
