-- seqsales regression tests: CALL seqsales_tune (a study, cancelled and continued)
SET client_min_messages = warning;
\set VERBOSITY terse
CREATE TABLE tune_orders AS
SELECT * FROM seqsales_demo_orders
WHERE client_id IN (SELECT DISTINCT client_id FROM seqsales_demo_orders ORDER BY 1 LIMIT 200);

-- bad arguments: nothing is stored
CALL seqsales_tune('bad', 'tune_orders', search_space => '{"hiden_size": {"low": 8, "high": 16}}');
CALL seqsales_tune('bad', 'tune_orders', search_space => '{}');
CALL seqsales_tune('bad', 'tune_orders', search_space => '[]');
CALL seqsales_tune('bad', 'tune_orders', search_space => '{"dropout": {"low": 0.5, "high": 0.1}}');
CALL seqsales_tune('bad', 'tune_orders', search_space => '{"dropout": {"low": 0, "high": 2}}');
CALL seqsales_tune('bad', 'tune_orders', search_space => '{"weighted_sampling": {"low": 0, "high": 1}}');
CALL seqsales_tune('bad', 'tune_orders', search_space => '{"hidden_size": {"choices": []}}');
CALL seqsales_tune('bad', 'tune_orders', search_space => '{"seed": {"low": 1, "high": 9}}');
CALL seqsales_tune('bad', 'tune_orders', folds => 1);
CALL seqsales_tune('bad', 'tune_orders', trials => 0);
CALL seqsales_tune('', 'tune_orders');
SELECT count(*) AS studies FROM seqsales_study;
-- inside a transaction block a procedure cannot commit
BEGIN;
CALL seqsales_tune('bad', 'tune_orders', trials => 1, options => '{"epochs": 1}');
ROLLBACK;

-- a study cancelled by statement_timeout in its first trial keeps what it committed
SET statement_timeout = '400ms';
CALL seqsales_tune('t1', 'tune_orders', options => '{"epochs": 40, "patience": 40, "hidden_size": 64}',
                   trials => 2, folds => 2,
                   search_space => '{"learning_rate": {"low": 0.001, "high": 0.01, "log": true}}');
RESET statement_timeout;
SELECT name, folds, model_name FROM seqsales_study;
SELECT number, state FROM seqsales_trial WHERE study = 't1' ORDER BY number;
-- the same call continues it: the unfinished trial is failed, the next one runs, the best is trained
CALL seqsales_tune('t1', 'tune_orders', options => '{"epochs": 40, "patience": 40, "hidden_size": 64}',
                   trials => 2, folds => 2,
                   search_space => '{"learning_rate": {"low": 0.001, "high": 0.01, "log": true}}');
SELECT number, state, error, cardinality(fold_values) AS folds, value > 0 AS scored,
       (parameters->>'learning_rate')::float8 BETWEEN 0.001 AND 0.01 AS in_range,
       cardinality(intermediate) AS steps
FROM seqsales_trial WHERE study = 't1' ORDER BY number;
SELECT name, version, (hyperparameters->>'learning_rate')::float8 =
       (SELECT (parameters->>'learning_rate')::float8 FROM seqsales_trial WHERE study = 't1' AND state = 'complete'
        ORDER BY value DESC LIMIT 1) AS best_parameters,
       hyperparameters->>'hidden_size' AS hidden
FROM seqsales_model WHERE name = 't1';
-- a finished study does nothing more but train its best again
CALL seqsales_tune('t1', 'tune_orders', options => '{"epochs": 40, "patience": 40, "hidden_size": 64}',
                   trials => 2, folds => 2,
                   search_space => '{"learning_rate": {"low": 0.001, "high": 0.01, "log": true}}');
SELECT count(*) AS trials FROM seqsales_trial WHERE study = 't1';
-- other arguments for the same study
CALL seqsales_tune('t1', 'tune_orders', options => '{"epochs": 3}', trials => 2, folds => 2);

-- a trial that fails is recorded, and the study goes on
CALL seqsales_tune('t2', 'tune_orders', options => '{"epochs": 2, "hidden_size": 8}', trials => 2, folds => 2,
                   search_space => '{"max_length": {"choices": [10, 20000]}}');
SELECT state, error IS NOT NULL AS has_error FROM seqsales_trial WHERE study = 't2' ORDER BY number;

-- studies and trials are their owner's
CREATE ROLE tune_other;
SET ROLE tune_other;
SELECT count(*) AS visible_studies FROM seqsales_study;
SELECT count(*) AS visible_trials FROM seqsales_trial;
UPDATE seqsales_trial SET value = 1;
RESET ROLE;
DROP ROLE tune_other;

SELECT seqsales_drop_model('t1') >= 1 AS dropped;
SELECT seqsales_drop_model('t2') >= 0 AS dropped;
DELETE FROM seqsales_study;
DROP TABLE tune_orders;
