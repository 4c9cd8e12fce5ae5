/*
 * predict_sql.c - seqsales_predict(): fetch one client's last events with
 * an indexed query, run the forward pass of the cached model, return the
 * top k categories.
 */
#include "seqsales.h"

#include <math.h>

#include "access/parallel.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "../core/blas.h"
#include "../core/encode.h"
#include "../core/history.h"
#include "../core/metrics.h"
#include "../core/ss_alloc.h"
#include "load.h"
#include "model_cache.h"
#include "row_scan.h"

PG_FUNCTION_INFO_V1(seqsales_predict);

/*
 * The relation holding the histories (relid, or InvalidOid for the model's
 * own source), its columns checked against the model; returns its OID.
 * Done on every call, so that a call after DROP, RENAME or ALTER gets what
 * a fresh backend gets.  The model's own source is looked up by name and
 * must be the relation trained on: a temporary table of another session,
 * or a table dropped and created again, only has the same name.
 */
Oid
model_source_relation(const CachedModel *m, Oid relid, ColumnSpec *cols)
{
	Oid			rel = relid;

	*cols = m->cols;
	if (!OidIsValid(rel))
	{
		rel = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(m->source)),
							   AccessShareLock, true);
		if (!OidIsValid(rel))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("source relation %s of model \"%s\" does not exist", m->source, m->name),
					 errhint("Pass the relation holding the histories as the \"source\" argument.")));
		if (OidIsValid(m->source_oid) && rel != m->source_oid)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("relation %s is not the relation model \"%s\" was trained on", m->source, m->name),
					 errdetail("The relation of that name was dropped and created again since, or it is another session's temporary table."),
					 errhint("Pass the relation holding the histories as the \"source\" argument, "
							 "or record it as the model's source with seqsales_set_source().")));
	}
	else
	{
		LockRelationOid(rel, AccessShareLock);
		if (get_rel_name(rel) == NULL)
			ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", rel)));
	}
	/* a parallel worker cannot read the leader's temporary tables */
	if (IsParallelWorker() && get_rel_persistence(rel) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the histories of model \"%s\" are in temporary table %s, which a parallel worker cannot read",
						m->name, get_rel_name(rel)),
				 errhint("Run this query without parallel workers (SET max_parallel_workers_per_gather = 0), "
						 "or keep the histories in a regular table.")));
	columns_validate(rel, cols);
	if (columns_n_numeric(cols) != m->dims.n_numeric)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" of %s is not of the kind the model was trained on (%s)",
						cols->time, get_rel_name(rel), time_kind_name(m->cols.time_kind))));
	return rel;
}

/* The history query of model m for relation relid (InvalidOid = its own source), pinned. */
static SourcePlan *
history_plan(CachedModel *m, Oid relid)
{
	ColumnSpec	cols;
	Oid			rel = model_source_relation(m, relid, &cols);
	char	   *rel_name = qualified_relation_name(rel);
	SourcePlan *plan = source_plan_find(m, relid, rel, rel_name, cols.client_type);
	StringInfoData q;

	if (plan != NULL)
		return plan;
	initStringInfo(&q);
	columns_history_query(&cols, rel, true, true, &q);
	appendStringInfo(&q, " LIMIT %d", m->max_length + 1);
	return source_plan_add(m, relid, rel, rel_name, cols.client_type, q.data);
}

/* The client id argument as a value of the client column's type. */
static Datum
client_key(FunctionCallInfo fcinfo, Oid col_type)
{
	Oid			arg_type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Datum		arg = PG_GETARG_DATUM(0);
	Oid			infunc,
				ioparam,
				outfunc;
	bool		varlena;

	if (arg_type == col_type)
		return arg;
	if (arg_type == TEXTOID || arg_type == VARCHAROID || arg_type == BPCHAROID ||
		arg_type == UNKNOWNOID || (is_integer_type(arg_type) && is_integer_type(col_type)))
	{
		/* through the text form: range and syntax errors come from the type */
		getTypeOutputInfo(arg_type, &outfunc, &varlena);
		getTypeInputInfo(col_type, &infunc, &ioparam);
		return OidInputFunctionCall(infunc,
									arg_type == UNKNOWNOID ? DatumGetCString(arg)
									: OidOutputFunctionCall(outfunc, arg),
									ioparam, -1);
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("client id of type %s does not match the client column of type %s",
					format_type_be(arg_type), format_type_be(col_type)),
			 errhint("Pass the client id as %s%s.", format_type_be(col_type),
					 col_type == TEXTOID ? "" : ", or as text")));
	return (Datum) 0;
}

/* The encoding rule of model m (src/core/encode.h). */
static ss_encoder
model_encoder(const CachedModel *m)
{
	ss_encoder	e;

	e.classes = m->class_dict;
	e.n_features = m->dims.n_features;
	e.features = (const ss_strdict *const *) m->feat_dicts;
	e.n_numeric = m->cols.n_num;
	e.has_gap = m->cols.time_kind != TIME_INTEGER;
	e.mean = m->mean;
	e.std = m->std;
	return e;
}

/*
 * The gap feature of an event's numeric inputs num: gap_seconds after the
 * client's previous event, < 0 for its first event (gap 0).
 */
static void
encode_gap(const CachedModel *m, double gap_seconds, float *num)
{
	ss_encoder	e = model_encoder(m);

	ss_encode_gap(&e, gap_seconds, num);
}

/*
 * Encodes one event row as model input: category (column col), time
 * (col + 1), categoricals, numerics.  gap_seconds < 0 marks a client's
 * first event (gap feature 0).
 */
static void
encode_event(const CachedModel *m, const Datum *values, const bool *nulls, int col,
			 double gap_seconds, int32 *cat, int32 *feat, float *num)
{
	ss_encoder	e = model_encoder(m);
	const char *features[SS_MAX_FEATURES];
	double		numeric[SS_MAX_NUMERIC];

	for (int j = 0; j < e.n_features; j++)
		features[j] = nulls[col + 2 + j] ? NULL : TextDatumGetCString(values[col + 2 + j]);
	for (int j = 0; j < e.n_numeric; j++)
		numeric[j] = nulls[col + 2 + e.n_features + j] ? NAN
			: DatumGetFloat8(values[col + 2 + e.n_features + j]);
	ss_encode_event(&e, TextDatumGetCString(values[col]), features, numeric, gap_seconds,
					cat, feat, num);
}

/* Encodes the fetched rows (newest first) into the model's batch; returns the length. */
static int
encode_history(CachedModel *m)
{
	const ss_dims *d = &m->dims;
	uint64		n_rows = SPI_processed;
	int			len = (int) Min(n_rows, (uint64) m->max_length);
	ss_batch   *b = m->batch;
	TupleDesc	desc = SPI_tuptable->tupdesc;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);

	b->B = 1;
	b->T = len;
	b->lengths[0] = len;

	for (int t = 0; t < len; t++)
	{
		uint64		r = (uint64) (len - 1 - t); /* oldest first */
		double		gap = -1.0;
		bool		isnull;

		/* all columns at once: SPI_getbinval walks the row from its start each time */
		heap_deform_tuple(SPI_tuptable->vals[r], desc, values, nulls);
		if (r + 1 < n_rows)
			gap = DatumGetFloat8(values[1])
				- DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[r + 1], desc, 2, &isnull));
		encode_event(m, values, nulls, 0, gap, &b->cat[t], &b->feat[t * d->n_features],
					 &b->num[t * d->n_numeric]);
		b->target[t] = -1;
		b->order_start[t] = gap != 0.0;	/* -1: no earlier event */
	}
	pfree(values);
	pfree(nulls);
	return len;
}

Datum
seqsales_predict(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *schema;
	char	   *model_name;
	Oid			source = InvalidOid;
	int			k;
	CachedModel *m;
	SourcePlan *plan;
	int			len,
				C;
	Datum		key;
	int		   *top;
	double	   *top_p;
	char	  **top_name;
	MemoryContext call_cxt = CurrentMemoryContext;
	int			rc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("client id must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL")));
	k = PG_GETARG_INT32(1);
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be positive, not %d", k)));
	model_name = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		source = PG_GETARG_OID(3);
	schema = seqsales_schema(fcinfo->flinfo->fn_oid);

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	m = model_cache_get(schema, model_name);
	C = m->dims.n_classes;
	plan = history_plan(m, source);
	key = client_key(fcinfo, plan->client_type);
	rc = SPI_execute_plan(plan->plan, &key, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "history query failed: %s", SPI_result_code_string(rc));
	len = encode_history(m);
	/*
	 * No client key: a prediction compares the history with every stored
	 * neighbour (a stored client may be its own: its history then is the
	 * past it was stored with), the same for seqsales_predict_all.
	 */
	m->batch->client_key[0] = 0;
	if (len > 0)
	{
		/* one history: no OpenBLAS needed (ss_sgemm_plain, the packed kernel) */
		MemoryContext prev = core_use_context(m->cxt);

		while (!ss_predict_batch(&m->dims, m->params, m->batch, m->ws, m->probs))
			core_serve_interrupt();	/* cut short: throws, or computes again */
		core_use_context(prev);
	}
	else
	{
		/* no history: the popularity prior */
		for (int c = 0; c < C; c++)
			m->probs[c] = (float) m->prior[c];
		ereport(DEBUG1, (errmsg("seqsales: client has no history, returning the popularity prior")));
	}

	/* top k, ties by category order */
	k = Min(k, C);
	top = MemoryContextAlloc(call_cxt, sizeof(int) * k);
	top_p = MemoryContextAlloc(call_cxt, sizeof(double) * k);
	top_name = MemoryContextAlloc(call_cxt, sizeof(char *) * k);
	ss_top_k(m->probs, C, k, top);
	for (int i = 0; i < k; i++)
	{
		top_p[i] = m->probs[top[i]];
		top_name[i] = MemoryContextStrdup(call_cxt, m->classes[top[i]]);
	}
	SPI_finish();

	for (int i = 0; i < k; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(top_name[i]);
		values[2] = Float8GetDatum(top_p[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------- batch scoring */

/*
 * Clients per forward pass.  64 rows keep the products at full speed in the
 * packed kernel while the pass's activations stay small (about 12 MB at
 * hidden 128, max_length 50): they are fresh memory on every call, and at
 * 256 clients page faults alone took 16% of a call (perf).
 */
#define SCORE_BATCH 64

PG_FUNCTION_INFO_V1(seqsales_predict_all);

/*
 * Clients collected for the forward passes: their last events, newest first
 * (the scan reads each history backwards), client-major; up to
 * SCORE_BATCH per scoring thread.
 */
typedef struct ScoreBatch
{
	int			n,
				cap;
	char	  **ids;
	int		   *len;
	int32	   *cat;			/* cap x L */
	int32	   *feat;			/* cap x L x F */
	float	   *num;			/* cap x L x N */
	uint8	   *order_start;	/* cap x L */
} ScoreBatch;

/* State of one seqsales_predict_all scan, passed to score_row for each row. */
typedef struct ScoreScan
{
	CachedModel *m;
	ScoreBatch *sb;
	int			n_threads;
	ss_batch   *batch[SS_MAX_THREADS];	/* thread k's clients, longest first */
	ss_workspace *ws[SS_MAX_THREADS];
	float	   *probs[SS_MAX_THREADS];
	int			k;
	ReturnSetInfo *rsinfo;
	MemoryContext call_cxt,		/* this call's buffers and the engine's allocations */
				batch_cxt,		/* client ids of the batch being collected */
				row_cxt;		/* text copies of one row */
	ClientGroup group;			/* where a client's rows start */
	int			seen;			/* its rows read so far, up to L + 1 */
	double		oldest_time;	/* time of its oldest event kept so far */
} ScoreScan;

static int
longer_first(const void *a, const void *b, void *arg)
{
	const int  *len = (const int *) arg;
	int			i = *(const int *) a,
				j = *(const int *) b;

	if (len[i] != len[j])
		return len[i] > len[j] ? -1 : 1;
	return i < j ? -1 : i > j;	/* ties in scan order */
}

/*
 * Scores the collected clients: sorted longest history first and dealt
 * round-robin to the threads (so each thread's batch is longest first too,
 * and the recurrent steps run only on the histories still going), one
 * forward pass per thread, then k rows per client in scan order.
 */
static void
score_batch(ScoreScan *s)
{
	CachedModel *m = s->m;
	ScoreBatch *sb = s->sb;
	const int	L = m->max_length,
				F = m->dims.n_features,
				N = m->dims.n_numeric,
				C = m->dims.n_classes,
				B = sb->n,
				k = s->k,
				n_parts = Min(s->n_threads, B);
	int		   *top = palloc(sizeof(int) * k);
	int		   *order = palloc(sizeof(int) * B),	/* position j: client order[j] */
			   *pos_of = palloc(sizeof(int) * B);	/* its inverse */
	MemoryContext prev;

	for (int i = 0; i < B; i++)
		order[i] = i;
	qsort_arg(order, B, sizeof(int), longer_first, sb->len);
	for (int part = 0; part < n_parts; part++)
	{
		ss_batch   *batch = s->batch[part];
		int			Bp = 0,
					T;

		for (int j = part; j < B; j += n_parts)
			batch->origin[Bp++] = order[j];
		T = sb->len[batch->origin[0]];
		batch->B = Bp;
		batch->T = T;
		memset(batch->cat, 0, sizeof(int32) * T * Bp);
		memset(batch->feat, 0, sizeof(int32) * T * Bp * F);
		memset(batch->num, 0, sizeof(float) * T * Bp * N);
		for (int b = 0; b < Bp; b++)
		{
			int			i = batch->origin[b],
						len = sb->len[i];

			batch->lengths[b] = len;
			batch->client_key[b] = 0;	/* as seqsales_predict: no exclusion */
			for (int t = 0; t < len; t++)
			{
				/* step t (oldest first) is the (len - 1 - t)-th event read */
				int64		p = (int64) t * Bp + b,
							q = (int64) i * L + (len - 1 - t);

				batch->cat[p] = sb->cat[q];
				memcpy(batch->feat + p * F, sb->feat + q * F, sizeof(int32) * F);
				memcpy(batch->num + p * N, sb->num + q * N, sizeof(float) * N);
				batch->order_start[p] = sb->order_start[q];
			}
		}
		for (int64 i = 0; i < (int64) T * Bp; i++)
			batch->target[i] = -1;
	}
	prev = core_use_context(s->call_cxt);
	while (!ss_predict_batches(&m->dims, m->params, s->batch, s->ws, s->probs, n_parts))
		core_serve_interrupt();
	core_use_context(prev);
	/* order[j] went to thread j % n_parts, row j / n_parts: invert for scan order */
	for (int j = 0; j < B; j++)
		pos_of[order[j]] = j;
	for (int c = 0; c < B; c++)
	{
		int			j = pos_of[c];
		const float *pc = s->probs[j % n_parts] + (int64) (j / n_parts) * C;

		ss_top_k(pc, C, k, top);
		for (int i = 0; i < k; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			values[0] = CStringGetTextDatum(sb->ids[c]);
			values[1] = Int32GetDatum(i + 1);
			values[2] = CStringGetTextDatum(m->classes[top[i]]);
			values[3] = Float8GetDatum(pc[top[i]]);
			tuplestore_putvalues(s->rsinfo->setResult, s->rsinfo->setDesc, values, nulls);
		}
	}
	sb->n = 0;
	pfree(pos_of);
	pfree(order);
	pfree(top);
}

/* The client being read is complete: add it to the batch, score a full batch. */
static void
close_client(ScoreScan *s)
{
	s->sb->n++;
	if (s->sb->n == s->sb->cap)
	{
		MemoryContext old = MemoryContextSwitchTo(s->row_cxt);

		score_batch(s);
		MemoryContextSwitchTo(old);
		MemoryContextReset(s->batch_cxt);
	}
}

/*
 * One row of the scan: client, category, time, categoricals, numerics, each
 * history newest first.  The first L rows of a client are encoded; the next
 * one only gives the gap before the oldest of them; the rest (cut by
 * max_length anyway) cost a comparison of their client id.
 */
static void
score_row(TupleTableSlot *slot, void *arg)
{
	ScoreScan  *s = (ScoreScan *) arg;
	ScoreBatch *sb = s->sb;
	const CachedModel *m = s->m;
	const int	L = m->max_length,
				F = m->dims.n_features,
				N = m->dims.n_numeric;
	MemoryContext old = MemoryContextSwitchTo(s->row_cxt);
	const bool	had_client = s->group.have;	/* sb->ids[sb->n] is being read */
	bool		isnull;
	int64		pos;

	if (client_group_starts(&s->group, slot))
	{
		/* a new client: its id as text (not null: the scan's WHERE) */
		text	   *client = DatumGetTextPP(slot_getattr(slot, 1, &isnull));
		int			client_len = VARSIZE_ANY_EXHDR(client);

		if (had_client)
			close_client(s);
		sb->ids[sb->n] = MemoryContextAlloc(s->batch_cxt, client_len + 1);
		memcpy(sb->ids[sb->n], VARDATA_ANY(client), client_len);
		sb->ids[sb->n][client_len] = '\0';
		sb->len[sb->n] = 0;
		s->seen = 0;
	}
	pos = (int64) sb->n * L + s->seen;
	if (s->seen < L)
	{
		double		t;

		slot_getallattrs(slot);
		t = DatumGetFloat8(slot->tts_values[2]);
		encode_event(m, slot->tts_values, slot->tts_isnull, 1, -1.0,
					 &sb->cat[pos], &sb->feat[pos * F], &sb->num[pos * N]);
		sb->order_start[pos] = 1;
		/* the newer event read before this one is t after it */
		if (s->seen > 0)
		{
			encode_gap(m, s->oldest_time - t, &sb->num[(pos - 1) * N]);
			sb->order_start[pos - 1] = s->oldest_time != t;
		}
		s->oldest_time = t;
		sb->len[sb->n]++;
	}
	else if (s->seen == L)
	{
		double		t = DatumGetFloat8(slot_getattr(slot, 3, &isnull));

		encode_gap(m, s->oldest_time - t, &sb->num[(pos - 1) * N]);
		sb->order_start[pos - 1] = s->oldest_time != t;
	}
	if (s->seen <= L)
		s->seen++;				/* past L + 1 rows it no longer matters */
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->row_cxt);
}

Datum
seqsales_predict_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *schema;
	char	   *model_name;
	Oid			source = InvalidOid,
				rel;
	int			k,
				L,
				F,
				N;
	ColumnSpec	cols;
	StringInfoData q;
	ScoreScan	s;
	MemoryContext prev;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL")));
	k = PG_GETARG_INT32(0);
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be positive, not %d", k)));
	model_name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		source = PG_GETARG_OID(2);
	schema = seqsales_schema(fcinfo->flinfo->fn_oid);

	InitMaterializedSRF(fcinfo, 0);
	memset(&s, 0, sizeof(s));
	s.rsinfo = rsinfo;
	s.call_cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales scoring",
									   ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	s.m = model_cache_get(schema, model_name);
	s.k = Min(k, s.m->dims.n_classes);
	rel = model_source_relation(s.m, source, &cols);
	core_load_blas();
	ss_blas_set_threads(1);

	MemoryContextSwitchTo(s.call_cxt);
	L = s.m->max_length;
	F = s.m->dims.n_features;
	N = s.m->dims.n_numeric;
	s.n_threads = seqsales_scoring_threads;
	s.sb = palloc0(sizeof(ScoreBatch));
	s.sb->cap = SCORE_BATCH * s.n_threads;
	s.sb->ids = palloc(sizeof(char *) * s.sb->cap);
	s.sb->len = palloc(sizeof(int) * s.sb->cap);
	s.sb->cat = palloc_extended(sizeof(int32) * s.sb->cap * L, MCXT_ALLOC_HUGE);
	s.sb->feat = palloc_extended(sizeof(int32) * s.sb->cap * L * Max(F, 1), MCXT_ALLOC_HUGE);
	s.sb->num = palloc_extended(sizeof(float) * s.sb->cap * L * Max(N, 1), MCXT_ALLOC_HUGE);
	s.sb->order_start = palloc_extended(sizeof(uint8) * s.sb->cap * L, MCXT_ALLOC_HUGE);
	prev = core_use_context(s.call_cxt);
	for (int t = 0; t < s.n_threads; t++)
	{
		s.batch[t] = ss_batch_new(&s.m->dims, SCORE_BATCH, L);
		s.ws[t] = ss_workspace_new();	/* this call's own: the cached one stays batch-1 sized */
		s.probs[t] = palloc(sizeof(float) * SCORE_BATCH * s.m->dims.n_classes);
	}
	core_use_context(prev);
	s.batch_cxt = AllocSetContextCreate(s.call_cxt, "seqsales scoring batch", ALLOCSET_DEFAULT_SIZES);
	s.row_cxt = AllocSetContextCreate(s.call_cxt, "seqsales scoring row", ALLOCSET_DEFAULT_SIZES);

	client_group_init(&s.group, &cols, s.call_cxt);

	/* one ordered scan of every history, newest event first */
	initStringInfo(&q);
	columns_history_query(&cols, rel, false, true, &q);
	row_scan(q.data, score_row, &s);
	if (s.group.have)
		close_client(&s);
	if (s.sb->n > 0)
	{
		MemoryContextSwitchTo(s.row_cxt);
		score_batch(&s);
	}
	SPI_finish();
	MemoryContextDelete(s.call_cxt);
	return (Datum) 0;
}
