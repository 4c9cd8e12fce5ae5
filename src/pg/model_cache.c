/*
 * model_cache.c - loading models from the catalog, with a per-backend
 * cache (see model_cache.h).
 */
#include "model_cache.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "../core/blob.h"

#define MAX_CACHED_MODELS 16

static CachedModel *cache_head = NULL;
static CachedModel *detached = NULL;	/* out of the cache, still pinned */
static SPIPlanPtr lookup_named = NULL;
static SPIPlanPtr lookup_newest = NULL;
static char *lookup_schema = NULL;

/* ---------------------------------------------------------------- pins */

typedef struct Pin
{
	MemoryContextCallback cb;
	int		   *count;
} Pin;

static void
unpin(void *arg)
{
	Pin		   *p = (Pin *) arg;

	(*p->count)--;
}

/* One more user of *count until the current memory context goes away. */
static void
pin(int *count)
{
	Pin		   *p = palloc(sizeof(Pin));

	p->count = count;
	p->cb.func = unpin;
	p->cb.arg = p;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &p->cb);
	(*count)++;
}

static void
model_free(CachedModel *m)
{
	for (int i = 0; i < m->n_plans; i++)
		SPI_freeplan(m->plans[i].plan);
	MemoryContextDelete(m->cxt);
}

static void
list_remove(CachedModel **head, CachedModel *m)
{
	for (CachedModel **p = head; *p != NULL; p = &(*p)->next)
		if (*p == m)
		{
			*p = m->next;
			return;
		}
}

/* Takes m out of the cache: freed now, or when its last user ends. */
static void
cache_drop(CachedModel *m)
{
	list_remove(&cache_head, m);
	if (m->pins > 0)
	{
		m->next = detached;
		detached = m;
	}
	else
		model_free(m);
}

/* Frees the detached models no call uses any more. */
static void
free_detached(void)
{
	CachedModel **p = &detached;

	while (*p != NULL)
	{
		CachedModel *m = *p;

		if (m->pins > 0)
			p = &m->next;
		else
		{
			*p = m->next;
			model_free(m);
		}
	}
}

static SPIPlanPtr
keep_plan(const char *query, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(query, nargs, types);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

static void
prepare_lookups(const char *schema)
{
	char	   *q;
	Oid			text_type = TEXTOID;

	if (lookup_schema != NULL && strcmp(lookup_schema, schema) == 0)
		return;
	if (lookup_named)
		SPI_freeplan(lookup_named);
	if (lookup_newest)
		SPI_freeplan(lookup_newest);
	lookup_named = lookup_newest = NULL;
	if (lookup_schema)
		pfree(lookup_schema);
	lookup_schema = NULL;
	q = psprintf("SELECT id, xmin::text::bigint, name FROM %s.seqsales_model WHERE name = $1"
				 " ORDER BY version DESC LIMIT 1", schema);
	lookup_named = keep_plan(q, 1, &text_type);
	q = psprintf("SELECT id, xmin::text::bigint, name FROM %s.seqsales_model ORDER BY id DESC LIMIT 1",
				 schema);
	lookup_newest = keep_plan(q, 0, NULL);
	lookup_schema = MemoryContextStrdup(TopMemoryContext, schema);
}

static void
damaged(int64 id, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model " INT64_FORMAT " is damaged: %s", id, what),
			 errhint("Train the model again with seqsales_train.")));
}

static char **
text_array(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	return out;
}

static double *
float8_array(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	double	   *out;

	deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, n);
	out = palloc(sizeof(double) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
	return out;
}

static CachedModel *
model_load(const char *schema, int64 id, int64 xmin, const char *name)
{
	/* under the caller's context until complete, so that an error frees it */
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales model",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CachedModel *m = palloc0(sizeof(CachedModel));
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	bytea	   *blob;
	const char *err;
	int			n,
				n_counts;
	char	  **cats;
	double	   *counts,
				total = 0.0;
	char	   *q;
	instr_time	t0,
				t1;
	MemoryContext prev_core;

	INSTR_TIME_SET_CURRENT(t0);
	m->cxt = cxt;
	m->id = id;
	m->xmin = xmin;
	m->name = pstrdup(name);
	q = psprintf("SELECT weights, categories, category_counts::float8[], source_relation,"
				 " columns->>'client', columns->>'time', columns->>'target', columns->>'tiebreak',"
				 " columns->>'time_kind',"
				 " ARRAY(SELECT x FROM jsonb_array_elements_text(columns->'categorical') WITH ORDINALITY a(x, i) ORDER BY i),"
				 " ARRAY(SELECT x FROM jsonb_array_elements_text(columns->'numeric') WITH ORDINALITY a(x, i) ORDER BY i),"
				 " ARRAY(SELECT x::float8 FROM jsonb_array_elements_text(normalization->'mean') WITH ORDINALITY a(x, i) ORDER BY i),"
				 " ARRAY(SELECT x::float8 FROM jsonb_array_elements_text(normalization->'std') WITH ORDINALITY a(x, i) ORDER BY i),"
				 " (hyperparameters->>'max_length')::int, format_version, source_oid,"
				 " coalesce((hyperparameters->>'seed')::int8, 1), coalesce((hyperparameters->>'validation_fraction')::float8, 0.1),"
				 " architecture, coalesce(hyperparameters->>'unit', 'line')"
				 " FROM %s.seqsales_model WHERE id = $1", schema);
	if (SPI_execute_with_args(q, 1, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		damaged(id, "its catalog row cannot be read");
	/* SPI returns in its own procedure context: everything below lives in cxt */
	MemoryContextSwitchTo(cxt);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	for (int i = 1; i <= 15; i++)
		if (i != 8 && SPI_getbinval(tup, desc, i, &isnull) && isnull)
			damaged(id, "a required catalog column is NULL");
	if (DatumGetInt32(SPI_getbinval(tup, desc, 15, &isnull)) != SS_BLOB_VERSION)
		damaged(id, "unsupported format version");

	/* weights: a copy in cxt (detoasted once), the parameters read in place from it */
	blob = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 1, &isnull));
	prev_core = core_use_context(cxt);
	err = ss_blob_decode_in_place((const uint8_t *) VARDATA_ANY(blob), VARSIZE_ANY_EXHDR(blob),
								  &m->dims, &m->params);
	if (err != NULL)
		damaged(id, err);

	/* vocabularies and priors */
	cats = text_array(SPI_getbinval(tup, desc, 2, &isnull), &n);
	counts = float8_array(SPI_getbinval(tup, desc, 3, &isnull), &n_counts);
	if (n != m->dims.n_classes || n_counts != n)
		damaged(id, "the category vocabulary does not match the weights");
	m->classes = cats;
	m->class_dict = ss_strdict_new(n);
	m->prior = palloc(sizeof(double) * n);
	for (int c = 0; c < n; c++)
	{
		if (cats[c] == NULL || ss_strdict_intern(m->class_dict, cats[c]) != c || !(counts[c] >= 0))
			damaged(id, "the category vocabulary has NULL or duplicate entries");
		total += counts[c];
	}
	for (int c = 0; c < n; c++)
		m->prior[c] = total > 0 ? counts[c] / total : 1.0 / n;

	/* columns */
	m->source = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
	m->source_oid = DatumGetObjectId(SPI_getbinval(tup, desc, 16, &isnull));
	m->cols.client = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
	m->cols.time = TextDatumGetCString(SPI_getbinval(tup, desc, 6, &isnull));
	m->cols.target = TextDatumGetCString(SPI_getbinval(tup, desc, 7, &isnull));
	{
		Datum		tb = SPI_getbinval(tup, desc, 8, &isnull);

		m->cols.tiebreak = isnull ? NULL : TextDatumGetCString(tb);
	}
	{
		char	   *kind = TextDatumGetCString(SPI_getbinval(tup, desc, 9, &isnull));

		m->cols.time_kind = strcmp(kind, "integer") == 0 ? TIME_INTEGER
			: strcmp(kind, "date") == 0 ? TIME_DATE : TIME_TIMESTAMP;
	}
	m->cols.cat = text_array(SPI_getbinval(tup, desc, 10, &isnull), &m->cols.n_cat);
	m->cols.num = text_array(SPI_getbinval(tup, desc, 11, &isnull), &m->cols.n_num);
	m->mean = float8_array(SPI_getbinval(tup, desc, 12, &isnull), &n);
	if (n != m->dims.n_numeric || n != columns_n_numeric(&m->cols))
		damaged(id, "the normalisation statistics do not match the weights");
	m->std = float8_array(SPI_getbinval(tup, desc, 13, &isnull), &n);
	if (n != m->dims.n_numeric)
		damaged(id, "the normalisation statistics do not match the weights");
	for (int j = 0; j < n; j++)
		if (!isfinite(m->mean[j]) || !isfinite(m->std[j]) || m->std[j] <= 0)
			damaged(id, "a normalisation statistic is not a positive finite number");
	m->max_length = DatumGetInt32(SPI_getbinval(tup, desc, 14, &isnull));
	m->seed = DatumGetInt64(SPI_getbinval(tup, desc, 17, &isnull));
	m->validation_fraction = DatumGetFloat8(SPI_getbinval(tup, desc, 18, &isnull));
	m->architecture = TextDatumGetCString(SPI_getbinval(tup, desc, 19, &isnull));
	{
		char	   *unit = TextDatumGetCString(SPI_getbinval(tup, desc, 20, &isnull));

		if (strcmp(unit, "line") != 0 && strcmp(unit, "order") != 0)
			damaged(id, "its unit is neither 'line' nor 'order'");
		m->unit = strcmp(unit, "order") == 0 ? SS_UNIT_ORDER : SS_UNIT_LINE;
	}
	if (m->max_length < 1 || m->max_length > 10000)
		damaged(id, "max_length is out of range");
	if (m->cols.n_cat != m->dims.n_features)
		damaged(id, "the categorical columns do not match the weights");

	/* feature vocabularies, one row per value in order */
	q = psprintf("SELECT f.i::int, v.x FROM %s.seqsales_model m,"
				 " jsonb_array_elements(m.feature_vocabularies) WITH ORDINALITY f(arr, i),"
				 " jsonb_array_elements_text(f.arr) WITH ORDINALITY v(x, j)"
				 " WHERE m.id = $1 ORDER BY f.i, v.j", schema);
	if (SPI_execute_with_args(q, 1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		damaged(id, "the feature vocabularies cannot be read");
	MemoryContextSwitchTo(cxt);
	m->feat_dicts = palloc(sizeof(ss_strdict *) * Max(m->dims.n_features, 1));
	for (int j = 0; j < m->dims.n_features; j++)
		m->feat_dicts[j] = ss_strdict_new(m->dims.feature_vocab[j]);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int			j = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)) - 1;
		char	   *v = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

		if (j < 0 || j >= m->dims.n_features || v == NULL)
			damaged(id, "the feature vocabularies do not match the weights");
		if (ss_strdict_intern(m->feat_dicts[j], v) != m->feat_dicts[j]->n - 1)
			damaged(id, "a feature vocabulary has duplicate entries");
	}
	for (int j = 0; j < m->dims.n_features; j++)
		if (m->feat_dicts[j]->n != m->dims.feature_vocab[j])
			damaged(id, "the feature vocabularies do not match the weights");

	m->batch = ss_batch_new(&m->dims, 1, m->max_length);
	m->ws = ss_workspace_new();
	m->probs = palloc(sizeof(float) * m->dims.n_classes);
	core_use_context(prev_core);
	MemoryContextSwitchTo(old);

	MemoryContextSetParent(cxt, CacheMemoryContext);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	m->decode_ms = INSTR_TIME_GET_MILLISEC(t1);
	ereport(DEBUG1,
			(errmsg("seqsales: model %lld loaded into the backend cache in %.1f ms",
					(long long) id, m->decode_ms)));
	return m;
}

CachedModel *
model_cache_get(const char *schema, const char *name)
{
	Datum		args[1];
	int			rc;
	int64		id,
				xmin;
	bool		isnull;
	char	   *row_name;
	CachedModel *m,
			   *unpinned = NULL;
	int			count = 0;

	free_detached();
	prepare_lookups(schema);
	if (name != NULL)
	{
		args[0] = CStringGetTextDatum(name);
		rc = SPI_execute_plan(lookup_named, args, NULL, true, 1);
	}
	else
		rc = SPI_execute_plan(lookup_newest, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "model lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		if (name != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name),
					 errhint("List the models you may use with: SELECT name, version FROM %s.seqsales_model;", schema)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no model has been trained yet"),
				 errhint("Train one with seqsales_train().")));
	}
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	xmin = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	row_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

	for (m = cache_head; m != NULL; m = m->next)
	{
		if (m->id == id)
		{
			if (m->xmin == xmin)
			{
				/* most recently used first */
				list_remove(&cache_head, m);
				m->next = cache_head;
				cache_head = m;
				pin(&m->pins);
				return m;
			}
			cache_drop(m);		/* the row changed */
			break;
		}
	}
	for (m = cache_head; m != NULL; m = m->next)
	{
		count++;
		if (m->pins == 0)
			unpinned = m;		/* the least recently used one, at the end */
	}
	if (count >= MAX_CACHED_MODELS && unpinned != NULL)
		cache_drop(unpinned);	/* (when all are pinned, nesting is deep: keep them) */
	m = model_load(schema, id, xmin, row_name);
	m->next = cache_head;
	cache_head = m;
	pin(&m->pins);
	return m;
}

SourcePlan *
source_plan_find(CachedModel *m, Oid arg_rel, Oid rel, const char *rel_name, Oid client_type)
{
	for (int i = 0; i < m->n_plans; i++)
	{
		SourcePlan *q = &m->plans[i];

		if (q->arg_rel == arg_rel && q->rel == rel && q->client_type == client_type &&
			strcmp(q->rel_name, rel_name) == 0)
		{
			q->last_use = ++m->plan_clock;
			pin(&q->pins);
			return q;
		}
	}
	return NULL;
}

SourcePlan *
source_plan_add(CachedModel *m, Oid arg_rel, Oid rel, const char *rel_name, Oid client_type,
				const char *query)
{
	SourcePlan *p = NULL;
	SPIPlanPtr	plan;
	bool		new_slot = false;

	/* a slot to (re)use: this source's stale one, a free one, or the least recently used */
	for (int i = 0; i < m->n_plans && p == NULL; i++)
		if (m->plans[i].arg_rel == arg_rel && m->plans[i].pins == 0)
			p = &m->plans[i];
	if (p == NULL && m->n_plans < MAX_SOURCE_PLANS)
	{
		p = &m->plans[m->n_plans];
		new_slot = true;
	}
	if (p == NULL)
		for (int i = 0; i < m->n_plans; i++)
			if (m->plans[i].pins == 0 && (p == NULL || m->plans[i].last_use < p->last_use))
				p = &m->plans[i];
	plan = SPI_prepare(query, 1, &client_type);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query, SPI_result_code_string(SPI_result));
	if (p == NULL)
	{
		/* every slot is in use by an outer call: a plan for this call only */
		p = palloc0(sizeof(SourcePlan));
		p->plan = plan;
	}
	else
	{
		if (p->plan != NULL)
			SPI_freeplan(p->plan);
		p->plan = NULL;
		if (p->rel_name != NULL)
			pfree(p->rel_name);
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		p->plan = plan;
		p->rel_name = MemoryContextStrdup(m->cxt, rel_name);
		p->last_use = ++m->plan_clock;
		if (new_slot)
			m->n_plans++;
	}
	p->arg_rel = arg_rel;
	p->rel = rel;
	p->client_type = client_type;
	pin(&p->pins);
	return p;
}
