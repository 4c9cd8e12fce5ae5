-- seqsales model selection (0.2): evaluation, class report, cross-validation.

CREATE FUNCTION seqsales_evaluate(
    model_name text,
    source     regclass DEFAULT NULL,
    OUT hit1 double precision, OUT hit3 double precision, OUT hit5 double precision,
    OUT hit10 double precision, OUT mrr10 double precision, OUT ndcg10 double precision,
    OUT coverage double precision, OUT macro_f1 double precision, OUT weighted_f1 double precision,
    OUT hit3_repeat double precision, OUT hit3_new double precision, OUT clients bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'seqsales_evaluate'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION seqsales_evaluate(text, regclass)
IS 'Hit@k, MRR, NDCG, coverage and F1 of a model on held-out clients: its validation clients, or every client of source';

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

CREATE FUNCTION seqsales_cross_validate(
    source          regclass,
    client_column   name DEFAULT 'client_id',
    time_column     name DEFAULT 'ordered_at',
    target_column   name DEFAULT 'category',
    categorical     name[] DEFAULT '{}',
    "numeric"       name[] DEFAULT '{}',
    architecture    text DEFAULT 'gru4rec',
    options         jsonb DEFAULT '{}',
    tiebreak_column name DEFAULT NULL,
    folds           integer DEFAULT 5)
RETURNS TABLE (fold text, clients double precision, hit1 double precision, hit3 double precision,
               hit5 double precision, hit10 double precision, mrr10 double precision,
               ndcg10 double precision, coverage double precision, macro_f1 double precision,
               weighted_f1 double precision, hit3_repeat double precision, hit3_new double precision,
               epochs double precision, seconds double precision)
AS 'MODULE_PATHNAME', 'seqsales_cross_validate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION seqsales_cross_validate(regclass, name, name, name, name[], name[], text, jsonb, name, integer)
IS 'Client-level K-fold cross-validation (md5 folds of the protocol): one row per fold, then mean and std';
