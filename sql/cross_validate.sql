-- seqsales regression tests: seqsales_cross_validate (client-level K-fold)
SET client_min_messages = warning;
CREATE TABLE cv_orders AS
SELECT * FROM seqsales_demo_orders
WHERE client_id IN (SELECT DISTINCT client_id FROM seqsales_demo_orders ORDER BY 1 LIMIT 300);

CREATE TEMP TABLE cv AS
SELECT * FROM seqsales_cross_validate('cv_orders', categorical => '{region}',
                                      options => '{"epochs": 2, "hidden_size": 16}', folds => 3);
SELECT fold FROM cv;
-- each fold's test clients are the protocol's md5 fold (clients with two events or more)
SELECT f.fold::text, count(*) AS clients
FROM (SELECT client_id, ('x' || substr(md5('1:' || client_id), 1, 7))::bit(28)::int % 3 AS fold
      FROM cv_orders GROUP BY client_id HAVING count(*) >= 2) f
GROUP BY 1
EXCEPT SELECT fold, clients::bigint FROM cv WHERE fold ~ '^[0-9]+$';
SELECT sum(clients) = (SELECT count(*) FROM (SELECT client_id FROM cv_orders GROUP BY 1 HAVING count(*) >= 2) c)
       AS every_client_tested_once
FROM cv WHERE fold ~ '^[0-9]+$';
-- figures are shares, ordered as Hit@k must be; every fold trained its epochs
SELECT bool_and(hit1 BETWEEN 0 AND 1 AND hit1 <= hit3 AND hit3 <= hit5 AND hit5 <= hit10 AND hit10 <= 1
                AND mrr10 BETWEEN hit1 AND hit10 AND macro_f1 BETWEEN 0 AND 1 AND coverage > 0) AS sane,
       bool_and(epochs = 2) AS two_epochs
FROM cv WHERE fold ~ '^[0-9]+$';
-- the mean and std rows are the folds' mean and sample standard deviation
SELECT abs(m.hit3 - a.hit3) < 1e-12 AS mean_hit3, abs(m.mrr10 - a.mrr10) < 1e-12 AS mean_mrr10,
       abs(s.hit3 - a.sd_hit3) < 1e-12 AS std_hit3, abs(m.clients - a.clients) < 1e-9 AS mean_clients
FROM (SELECT avg(hit3) AS hit3, avg(mrr10) AS mrr10, stddev_samp(hit3) AS sd_hit3, avg(clients) AS clients
      FROM cv WHERE fold ~ '^[0-9]+$') a,
     cv m, cv s
WHERE m.fold = 'mean' AND s.fold = 'std';
-- the same call gives the same figures (seeded), and stores no model
SELECT count(*) = 0 AS nothing_differs FROM (
  SELECT fold, hit1, hit3, mrr10 FROM seqsales_cross_validate('cv_orders', categorical => '{region}',
                                      options => '{"epochs": 2, "hidden_size": 16}', folds => 3)
  EXCEPT SELECT fold, hit1, hit3, mrr10 FROM cv) d;
SELECT count(*) AS models_stored FROM seqsales_model WHERE source_relation = 'public.cv_orders';

-- keep_models keeps each fold's model, which predicts as any model
SELECT fold, clients FROM seqsales_cross_validate('cv_orders', architecture => 'markov', folds => 2, keep_models => 'cv_kept');
SELECT name, architecture, (metrics->>'clients')::int = (SELECT count(*) FROM (SELECT client_id FROM cv_orders GROUP BY 1 HAVING count(*) >= 2) c) AS all_clients_read,
       (metrics->>'fitting_clients')::int + (metrics->>'validation_clients')::int < (metrics->>'clients')::int AS test_fold_left_out
FROM seqsales_model WHERE name LIKE 'cv\_kept%' ORDER BY name;
SELECT count(*) AS ranks FROM seqsales_predict((SELECT min(client_id) FROM cv_orders), 3, 'cv_kept_fold1');
SELECT seqsales_drop_model('cv_kept_fold0') + seqsales_drop_model('cv_kept_fold1') AS dropped;
SELECT * FROM seqsales_cross_validate('cv_orders', keep_models => '');

-- bad arguments
SELECT * FROM seqsales_cross_validate('cv_orders', folds => 1);
SELECT * FROM seqsales_cross_validate('cv_orders', folds => NULL);
SELECT * FROM seqsales_cross_validate('cv_orders', architecture => 'transformer');
SELECT * FROM seqsales_cross_validate('cv_orders', options => '{"hiden_size": 8}');
SELECT * FROM seqsales_cross_validate('cv_orders', folds => 100);
DROP TABLE cv_orders;
