/*
 * predict_sql.c - seqsales_predict(): fetch one client's last events with
 * an indexed query, run the forward pass of the cached model, return the
 * top k categories.
 */
#include "seqsales.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "../core/ss_alloc.h"
#include "load.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(seqsales_predict);

static bool
is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

/* The history query of model m for relation relid (InvalidOid = its own source). */
static int
history_plan(CachedModel *m, Oid relid)
{
	Oid			rel = relid;
	ColumnSpec	cols = m->cols;
	StringInfoData q;
	SPIPlanPtr	plan;
	MemoryContext old;

	for (int i = 0; i < m->n_plans; i++)
		if (m->plan_rel[i] == relid)
			return i;
	if (!OidIsValid(rel))
	{
		rel = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(m->source)),
							   AccessShareLock, true);
		if (!OidIsValid(rel))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("source relation %s of model \"%s\" does not exist", m->source, m->name),
					 errhint("Pass the relation holding the histories as the \"source\" argument.")));
	}
	columns_validate(rel, &cols);
	if (columns_n_numeric(&cols) != m->dims.n_numeric)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" of %s is not of the kind the model was trained on (%s)",
						cols.time, get_rel_name(rel), time_kind_name(m->cols.time_kind))));

	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	columns_select_list(&cols, &q, false);
	appendStringInfo(&q, " FROM %s WHERE %s = $1 AND %s IS NOT NULL AND %s IS NOT NULL ORDER BY %s DESC",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)), get_rel_name(rel)),
					 quote_identifier(cols.client), quote_identifier(cols.target),
					 quote_identifier(cols.time), quote_identifier(cols.time));
	if (cols.tiebreak)
		appendStringInfo(&q, ", %s DESC", quote_identifier(cols.tiebreak));
	appendStringInfo(&q, " LIMIT %d", m->max_length + 1);
	plan = SPI_prepare(q.data, 1, &cols.client_type);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", q.data, SPI_result_code_string(SPI_result));
	if (m->n_plans == MAX_SOURCE_PLANS)
	{
		/* forget the oldest other-source plan */
		SPI_freeplan(m->plans[MAX_SOURCE_PLANS - 1]);
		m->n_plans--;
	}
	SPI_keepplan(plan);
	old = MemoryContextSwitchTo(m->cxt);
	memmove(m->plans + 1, m->plans, sizeof(SPIPlanPtr) * m->n_plans);
	memmove(m->plan_rel + 1, m->plan_rel, sizeof(Oid) * m->n_plans);
	memmove(m->plan_client_type + 1, m->plan_client_type, sizeof(Oid) * m->n_plans);
	m->plans[0] = plan;
	m->plan_rel[0] = relid;
	m->plan_client_type[0] = cols.client_type;
	m->n_plans++;
	MemoryContextSwitchTo(old);
	return 0;
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

/* Encodes the fetched rows (newest first) into the model's batch; returns the length. */
static int
encode_history(CachedModel *m)
{
	const ss_dims *d = &m->dims;
	const int	F = d->n_features,
				N = d->n_numeric,
				n_user_num = m->cols.n_num;
	const bool	has_gap = m->cols.time_kind != TIME_INTEGER;
	uint64		n_rows = SPI_processed;
	int			len = (int) Min(n_rows, (uint64) m->max_length);
	ss_batch   *b = m->batch;
	TupleDesc	desc = SPI_tuptable->tupdesc;

	b->B = 1;
	b->T = len;
	b->lengths[0] = len;
	for (int t = 0; t < len; t++)
	{
		HeapTuple	tup = SPI_tuptable->vals[len - 1 - t];	/* oldest first */
		bool		isnull;
		char	   *s = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		int			c = strdict_lookup(m->class_dict, s);

		b->cat[t] = c >= 0 ? c + SS_N_RESERVED : 1;
		b->target[t] = -1;
		for (int j = 0; j < F; j++)
		{
			Datum		v = SPI_getbinval(tup, desc, 3 + j, &isnull);
			int			id = isnull ? -1 : strdict_lookup(m->feat_dicts[j], TextDatumGetCString(v));

			b->feat[t * F + j] = id >= 0 ? id + SS_N_RESERVED : 1;
		}
		for (int j = 0; j < n_user_num; j++)
		{
			Datum		v = SPI_getbinval(tup, desc, 3 + F + j, &isnull);
			double		x = isnull ? NAN : DatumGetFloat8(v);

			b->num[t * N + j] = isfinite(x) ? (float) ((x - m->mean[j]) / m->std[j]) : 0.0f;
		}
		if (has_gap)
		{
			uint64		older = (uint64) (len - t);	/* row index of the previous event */
			double		gap = 0.0;

			if (older < n_rows)
			{
				double		now = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
				double		before = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[older], desc, 2, &isnull));

				gap = gap_feature(now - before);
			}
			b->num[t * N + n_user_num] = (float) ((gap - m->mean[n_user_num]) / m->std[n_user_num]);
		}
	}
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
	int			pi,
				len,
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
	pi = history_plan(m, source);
	key = client_key(fcinfo, m->plan_client_type[pi]);
	rc = SPI_execute_plan(m->plans[pi], &key, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "history query failed: %s", SPI_result_code_string(rc));
	len = encode_history(m);
	if (len > 0)
	{
		core_load_blas();
		core_use_context(m->cxt);
		ss_predict_batch(&m->dims, m->params, m->batch, m->ws, m->probs);
		core_use_context(NULL);
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
	for (int i = 0; i < k; i++)
		top[i] = -1;
	for (int c = 0; c < C; c++)
	{
		float		p = m->probs[c];
		int			i = k;

		while (i > 0 && (top[i - 1] < 0 || m->probs[top[i - 1]] < p))
			i--;
		if (i >= k)
			continue;
		memmove(top + i + 1, top + i, sizeof(int) * (k - i - 1));
		top[i] = c;
	}
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
