-- bench step 2: typed events, the protocol's client split, the training
-- relation, the test clients' events, histories and targets, and the fitting
-- clients' categories (to check the extension's split against ours).
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SET TimeZone = 'UTC';

-- typed events: ts integer if every value is an integer, else a timestamp
-- (zoned values converted to UTC); client ids normalised as the reference does
-- (an all-integer id column is read as integers); num_* float8, missing = NULL;
-- cat_* and category stay text ('' is a value)
DO $$
DECLARE
    p      bench_params;
    int_ts boolean;
    int_id boolean;
    cols   text := '';
    c      text;
BEGIN
    SELECT * INTO p FROM bench_params;
    SELECT coalesce(bool_and(ts ~ '^-?\d+$'), false), coalesce(bool_and(client_id ~ '^-?\d+$'), false)
    INTO int_ts, int_id FROM bench_raw;
    FOREACH c IN ARRAY p.cat_cols LOOP
        cols := cols || format(', %I', c);
    END LOOP;
    FOREACH c IN ARRAY p.num_cols LOOP
        cols := cols || format(', bench_float(%1$I) AS %1$I', c);
    END LOOP;
    EXECUTE format('CREATE TABLE bench_typed AS SELECT %s AS client_id, %s AS ts, category%s, line FROM bench_raw',
                   CASE WHEN int_id THEN 'client_id::numeric::text' ELSE 'client_id' END,
                   CASE WHEN int_ts THEN 'ts::bigint'
                        ELSE $x$(NULLIF(ts, '')::timestamptz AT TIME ZONE 'UTC')$x$ END,
                   cols);
    UPDATE bench_params SET ts_kind = CASE WHEN int_ts THEN 'integer' ELSE 'datetime' END;
END $$;

-- sorted by (client_id, ts, file row); pos = 1-based position in the client's
-- history, n = its number of events; clients with >= 2 events
CREATE TABLE bench_events AS
SELECT *
FROM (SELECT t.*,
             row_number() OVER (PARTITION BY client_id ORDER BY ts, line) AS pos,
             count(*) OVER (PARTITION BY client_id) AS n
      FROM bench_typed t
      WHERE ts IS NOT NULL) e
WHERE n >= 2;
CREATE INDEX ON bench_events (client_id, pos);
ANALYZE bench_events;

-- client split (PROTOCOL.md): fold = md5 hex [0:7] % 5, fold 0 = test;
-- validation = train clients with md5 hex [7:14] % 100 < 100 f, with the
-- seed the extension is given (options.seed, default --seed)
CREATE TABLE bench_clients AS
SELECT c.client_id, c.n,
       ('x' || substr(md5(p.seed::text || ':' || c.client_id), 1, 7))::bit(28)::int % 5 AS fold,
       CASE
           WHEN ('x' || substr(md5(p.seed::text || ':' || c.client_id), 1, 7))::bit(28)::int % 5 = 0 THEN 'test'
           WHEN ('x' || substr(md5(p.validation_seed::text || ':' || c.client_id), 8, 7))::bit(28)::int % 100
                < p.validation_cut THEN 'val'
           ELSE 'fit'
       END AS role
FROM (SELECT client_id, max(n) AS n FROM bench_events GROUP BY client_id) c, bench_params p;
CREATE UNIQUE INDEX ON bench_clients (client_id);
ANALYZE bench_clients;

-- what the extension trains on: every event of the non-test clients (it
-- takes the validation clients out by itself, with the same rule)
CREATE TABLE bench_train AS
SELECT e.* FROM bench_events e JOIN bench_clients c USING (client_id) WHERE c.role <> 'test'
ORDER BY e.client_id, e.pos;
-- the index a deployment has for seqsales_predict's history query; it also
-- gives seqsales_predict_all its ordered scan without a sort
CREATE INDEX ON bench_train (client_id, ts, line);
ANALYZE bench_train;

-- the test clients' histories: every event but the last (predict reads the
-- last max_length of them, newest first by (ts, line))
CREATE TABLE bench_test_history AS
SELECT e.* FROM bench_events e JOIN bench_clients c USING (client_id)
WHERE c.role = 'test' AND e.pos < e.n
ORDER BY e.client_id, e.pos;
CREATE INDEX ON bench_test_history (client_id, ts, line);
ANALYZE bench_test_history;

-- every event of the test clients: seqsales_evaluate takes each one's last
-- event as the target and the events before it as the history
CREATE TABLE bench_test AS
SELECT e.* FROM bench_events e JOIN bench_clients c USING (client_id)
WHERE c.role = 'test'
ORDER BY e.client_id, e.pos;
CREATE INDEX ON bench_test (client_id, ts, line);
ANALYZE bench_test;

-- targets: the category of each test client's last event
CREATE TABLE bench_test_targets AS
SELECT e.client_id, e.category AS target, e.n
FROM bench_events e JOIN bench_clients c USING (client_id)
WHERE c.role = 'test' AND e.pos = e.n;
CREATE UNIQUE INDEX ON bench_test_targets (client_id);
ANALYZE bench_test_targets;

-- fitting clients' category counts: the classes (only these are ranked),
-- popularity order = count desc, then name (class index) order
CREATE TABLE bench_categories AS
SELECT e.category, count(*) AS cnt,
       row_number() OVER (ORDER BY count(*) DESC, e.category COLLATE "C") AS pop_rank,
       count(*)::float8 / (sum(count(*)) OVER ())::float8 AS prob
FROM bench_events e JOIN bench_clients c USING (client_id)
WHERE c.role = 'fit'
GROUP BY e.category;
CREATE UNIQUE INDEX ON bench_categories (category);
ANALYZE bench_categories;

-- what it came to (stderr)
\pset format unaligned
\pset tuples_only on
SELECT format('data: %s rows, %s clients read; kept %s clients / %s events (ts: %s); %s categories; '
              'cat features {%s}; numeric {%s}',
              (SELECT count(*) FROM bench_raw), (SELECT count(DISTINCT client_id) FROM bench_typed),
              (SELECT count(*) FROM bench_clients), (SELECT count(*) FROM bench_events), p.ts_kind,
              (SELECT count(DISTINCT category) FROM bench_events),
              array_to_string(p.cat_cols, ', '), array_to_string(p.num_cols, ', '))
       || E'\n' ||
       format('split (seed %s, validation seed %s): fit %s / validation %s / test %s clients; %s classes; '
              '%s training events; %s test targets unseen in the fitting clients',
              p.seed, p.validation_seed,
              (SELECT count(*) FROM bench_clients WHERE role = 'fit'),
              (SELECT count(*) FROM bench_clients WHERE role = 'val'),
              (SELECT count(*) FROM bench_clients WHERE role = 'test'),
              (SELECT count(*) FROM bench_categories),
              (SELECT count(*) FROM bench_train),
              (SELECT count(*) FROM bench_test_targets t
               WHERE NOT EXISTS (SELECT 1 FROM bench_categories k WHERE k.category = t.target)))
FROM bench_params p;
