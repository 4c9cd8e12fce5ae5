-- seqsales functions: training and prediction.

CREATE FUNCTION seqsales_train(
    source          regclass,
    client_column   name DEFAULT 'client_id',
    time_column     name DEFAULT 'ordered_at',
    target_column   name DEFAULT 'category',
    categorical     name[] DEFAULT '{}',
    "numeric"       name[] DEFAULT '{}',
    model_name      text DEFAULT NULL,
    architecture    text DEFAULT 'hybrid',
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

-- Model administration: only members of a model's owning role (or a
-- superuser) may drop, grant or re-point it.  Written in C: they check the
-- caller's rights, then change the catalog as its owner (no SECURITY
-- DEFINER function, no search_path to pin).
CREATE FUNCTION seqsales_drop_model(model_name text, version integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_drop_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION seqsales_drop_model(text, integer)
IS 'Drops a model (every version, or one) and its training log; returns the versions dropped';

CREATE FUNCTION seqsales_grant(model_name text, role text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_grant'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION seqsales_grant(text, text)
IS 'Lets a role (or PUBLIC) read and predict with every version of a model, and its later versions';

CREATE FUNCTION seqsales_revoke(model_name text, role text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_revoke'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION seqsales_revoke(text, text)
IS 'Takes back seqsales_grant';

CREATE FUNCTION seqsales_set_source(model_name text, source regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'seqsales_set_source'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION seqsales_set_source(text, regclass)
IS 'Records the relation a model predicts from by default (after a restore, or a table created again)';
