/*
 * evaluate_sql.c - seqsales_evaluate() and seqsales_class_report(): a
 * stored model's figures on held-out clients of a relation, by the
 * protocol's test (each client's last event the target, the events before
 * it the history), through the core's one metrics module (metrics.h).
 *
 * A model trained with unit 'order' is evaluated by the protocol's
 * next-order variant instead (each client with at least two orders: the
 * distinct categories of its last order the targets, the events of its
 * earlier orders the history): seqsales_evaluate then reports next-order
 * Hit@k, MRR@10 and Recall@k, and NULL for the line-level figures;
 * seqsales_class_report refuses it.
 *
 * Without a source, the clients are the model's own validation clients
 * (the md5 rule with the model's seed and validation fraction, on the
 * relation it was trained on): clients it never fitted on.  With a
 * source, every client of that relation.
 */
#include "seqsales.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "../core/blas.h"
#include "../core/evaluate.h"
#include "fold.h"
#include "load.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(seqsales_evaluate);
PG_FUNCTION_INFO_V1(seqsales_class_report);

typedef struct Evaluation
{
	ss_metrics *metrics;
	char	  **classes;		/* the model's, copied into the caller's context */
	int			n_classes;
	int64		clients;
	int			unit;			/* ss_unit of the model */
} Evaluation;

/* Evaluates model arg 0 on source arg 1 (NULL: its validation clients); results in cxt. */
static void
evaluate_model(FunctionCallInfo fcinfo, const char *fname, MemoryContext cxt, Evaluation *ev)
{
	const char *schema = seqsales_schema(fcinfo->flinfo->fn_oid);
	char	   *name;
	Oid			relid = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	CachedModel *m;
	ColumnSpec	cols;
	Oid			rel;
	RawEvents  *raw;
	FoldVocab	v;
	ss_dataset	data;
	int32	   *clients,
			   *fit;
	int			n = 0,
				n_fit = 0;
	MemoryContext old,
				prev_core;
	ss_train_callbacks cb = {NULL, core_tick, NULL};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_name must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	m = model_cache_get(schema, name);
	rel = model_source_relation(m, relid, &cols);
	core_load_blas();
	ss_blas_set_threads(1);

	old = MemoryContextSwitchTo(cxt);
	prev_core = core_use_context(cxt);
	raw = load_events(rel, &cols);
	MemoryContextSwitchTo(cxt);
	clients = palloc(sizeof(int32) * Max(raw->n_clients, 1));
	if (!OidIsValid(relid))
	{
		fit = palloc(sizeof(int32) * Max(raw->n_clients, 1));
		fold_split(raw, NULL, m->seed, m->validation_fraction, fit, &n_fit, clients, &n);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: model \"%s\" has no validation clients in %s", fname, name, m->source),
					 errhint("Pass the relation of the clients to evaluate on as the \"source\" argument.")));
	}
	else
		for (int c = 0; c < raw->n_clients; c++)
			clients[n++] = c;
	fold_vocab_of_model(raw, m->class_dict, m->classes, m->feat_dicts, m->dims.n_numeric,
						m->mean, m->std, &v);
	ev->unit = m->unit;
	if (m->unit == SS_UNIT_ORDER)
	{
		/* the source's categories, to count a target order's distinct unknown ones */
		int32	   *category_id = palloc_extended(sizeof(int32) * Max(raw->n_events, 1), MCXT_ALLOC_HUGE);

		if (strcmp(fname, "seqsales_class_report") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s: model \"%s\" was trained with unit 'order'", fname, name),
					 errdetail("The class report is of line-level predictions."),
					 errhint("Use seqsales_evaluate for its next-order Hit@k and Recall@k.")));
		memcpy(category_id, raw->cat, sizeof(int32) * raw->n_events);
		fold_encode(raw, &v, true, &data);
		ev->metrics = ss_metrics_new(m->dims.n_classes);
		ev->clients = ss_evaluate_orders(&m->dims, m->params, &data, category_id, clients, n,
										 m->max_length, seqsales_scoring_threads, &cb, ev->metrics);
	}
	else
	{
		fold_encode(raw, &v, true, &data);
		ev->metrics = ss_metrics_new(m->dims.n_classes);
		ev->clients = ss_evaluate_clients(&m->dims, m->params, &data, clients, n, m->max_length,
										  seqsales_scoring_threads, &cb, ev->metrics);
	}
	if (ev->clients < 0)
		core_serve_interrupt();	/* an interrupt the tick did not serve: throws */
	ev->n_classes = m->dims.n_classes;
	ev->classes = palloc(sizeof(char *) * ev->n_classes);
	for (int c = 0; c < ev->n_classes; c++)
		ev->classes[c] = pstrdup(m->classes[c]);
	core_use_context(prev_core);
	MemoryContextSwitchTo(old);
	SPI_finish();
}

Datum
seqsales_evaluate(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales evaluation",
											  ALLOCSET_DEFAULT_SIZES);
	Evaluation	ev;
	ss_metric_summary s;
	TupleDesc	desc;
	Datum		values[17];
	bool		nulls[17] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "seqsales_evaluate must return a record");
	evaluate_model(fcinfo, "seqsales_evaluate", cxt, &ev);
	if (ev.unit == SS_UNIT_ORDER)
	{
		ss_set_summary o;

		/* next order: Hit@k, MRR@10, Recall@k; the line-level figures NULL */
		ss_metrics_set_summary(ev.metrics, &o);
		values[0] = Float8GetDatum(o.hit1);
		values[1] = Float8GetDatum(o.hit3);
		values[2] = Float8GetDatum(o.hit5);
		values[3] = Float8GetDatum(o.hit10);
		values[4] = Float8GetDatum(o.mrr10);
		for (int i = 5; i <= 10; i++)
			nulls[i] = true;
		values[11] = Int64GetDatum(o.n);
		values[12] = CStringGetTextDatum("order");
		values[13] = Float8GetDatum(o.recall1);
		values[14] = Float8GetDatum(o.recall3);
		values[15] = Float8GetDatum(o.recall5);
		values[16] = Float8GetDatum(o.recall10);
		desc = BlessTupleDesc(desc);
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
	}
	ss_metrics_summary(ev.metrics, &s);
	values[0] = Float8GetDatum(s.hit1);
	values[1] = Float8GetDatum(s.hit3);
	values[2] = Float8GetDatum(s.hit5);
	values[3] = Float8GetDatum(s.hit10);
	values[4] = Float8GetDatum(s.mrr10);
	values[5] = Float8GetDatum(s.ndcg10);
	values[6] = Float8GetDatum(s.coverage);
	values[7] = Float8GetDatum(s.macro_f1);
	values[8] = Float8GetDatum(s.weighted_f1);
	values[9] = Float8GetDatum(s.hit3_repeat);
	nulls[9] = s.n_repeat == 0;
	values[10] = Float8GetDatum(s.hit3_new);
	nulls[10] = s.n_new == 0;
	values[11] = Int64GetDatum(s.n);
	values[12] = CStringGetTextDatum("line");
	nulls[13] = nulls[14] = nulls[15] = nulls[16] = true;
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

typedef struct ClassRow
{
	int			c;
	ss_class_stats st;
} ClassRow;

static int
by_support(const void *a, const void *b)
{
	const ClassRow *x = a,
			   *y = b;

	if (x->st.support != y->st.support)
		return x->st.support > y->st.support ? -1 : 1;
	if (x->c < 0 || y->c < 0)
		return x->c < 0 ? 1 : -1;	/* <unseen> last among equals */
	return x->c - y->c;
}

Datum
seqsales_class_report(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales class report",
											  ALLOCSET_DEFAULT_SIZES);
	Evaluation	ev;
	ClassRow   *rows;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	evaluate_model(fcinfo, "seqsales_class_report", cxt, &ev);
	rows = palloc(sizeof(ClassRow) * (ev.n_classes + 1));
	for (int c = -1; c < ev.n_classes; c++)
	{
		ss_metrics_class(ev.metrics, c, &rows[n].st);
		rows[n].c = c;
		if (rows[n].st.support > 0 || rows[n].st.predicted > 0)
			n++;
	}
	qsort(rows, n, sizeof(ClassRow), by_support);
	for (int i = 0; i < n; i++)
	{
		const ss_class_stats *st = &rows[i].st;
		Datum		values[9];
		bool		nulls[9] = {0};

		values[0] = CStringGetTextDatum(rows[i].c >= 0 ? ev.classes[rows[i].c] : "<unseen>");
		values[1] = Int64GetDatum(st->support);
		values[2] = Int64GetDatum(st->predicted);
		values[3] = Float8GetDatum(st->precision);
		values[4] = Float8GetDatum(st->recall);
		values[5] = Float8GetDatum(st->f1);
		values[6] = Float8GetDatum(st->hit3_rate);
		nulls[6] = st->support == 0;
		if (st->confused_with >= 0)
		{
			values[7] = CStringGetTextDatum(ev.classes[st->confused_with]);
			values[8] = Float8GetDatum(st->confusion_share);
		}
		else
			nulls[7] = nulls[8] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
