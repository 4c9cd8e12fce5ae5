/*
 * train_sql.c - seqsales_train(): read a relation, split its clients,
 * build vocabularies and normalisation on the fitting clients, train in the
 * backend and store the model in the catalog (in the caller's transaction).
 */
#include "seqsales.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "portability/instr_time.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "../core/blas.h"
#include "../core/blob.h"
#include "../core/interrupt.h"
#include "../core/encode.h"
#include "catalog.h"
#include "load.h"

void		options_parse(Jsonb *options, ss_train_options *o);
void		options_to_json(const ss_train_options *o, int attention_size, StringInfo buf);

PG_FUNCTION_INFO_V1(seqsales_train);

/* ---------------------------------------------------------------- helpers */

static char *
name_arg(FunctionCallInfo fcinfo, int i, const char *what, bool nullable)
{
	if (PG_ARGISNULL(i))
	{
		if (nullable)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	}
	return pstrdup(NameStr(*PG_GETARG_NAME(i)));
}

static char **
name_array_arg(FunctionCallInfo fcinfo, int i, const char *what, int *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	if (PG_ARGISNULL(i))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("Pass an empty array '{}' for none.")));
	arr = PG_GETARG_ARRAYTYPE_P(i);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int j = 0; j < *n; j++)
	{
		if (nulls[j])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		out[j] = pstrdup(NameStr(*DatumGetName(elems[j])));
	}
	return out;
}

static int
cmp_strptr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Vocabulary of the ids in 'present': known values in byte order; map[id]
 * = index or -1.  Returns the number of known values.
 */
static int
build_vocab(ss_strdict *dict, const bool *present, int *map, char ***sorted_out)
{
	char	  **sorted = palloc(sizeof(char *) * Max(dict->n, 1));
	int			n = 0;
	ss_strdict *pos;

	for (int id = 0; id < dict->n; id++)
		if (present[id])
			sorted[n++] = dict->strs[id];
	qsort(sorted, n, sizeof(char *), cmp_strptr);
	pos = ss_strdict_new(n);
	for (int i = 0; i < n; i++)
		ss_strdict_intern(pos, sorted[i]);
	for (int id = 0; id < dict->n; id++)
		map[id] = present[id] ? ss_strdict_lookup(pos, dict->strs[id]) : -1;
	*sorted_out = sorted;
	return n;
}

static void
json_string_array(StringInfo buf, char **strs, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(buf, ", ");
		escape_json(buf, strs[i]);
	}
	appendStringInfoChar(buf, ']');
}

static void
json_double_array(StringInfo buf, const double *v, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, "%s%.9g", i ? ", " : "", v[i]);
	appendStringInfoChar(buf, ']');
}

/* ---------------------------------------------------------------- callbacks */

typedef struct TrainProgress
{
	int			n;
	int			cap;
	ss_epoch_stats *epochs;
} TrainProgress;

static void
on_tick(void *arg)
{
	(void) arg;
	CHECK_FOR_INTERRUPTS();
}

static void
on_epoch(void *arg, const ss_epoch_stats *st)
{
	TrainProgress *p = arg;

	if (p->n == p->cap)
	{
		p->cap = p->cap ? p->cap * 2 : 32;
		p->epochs = p->epochs ? repalloc(p->epochs, sizeof(ss_epoch_stats) * p->cap)
			: palloc(sizeof(ss_epoch_stats) * p->cap);
	}
	p->epochs[p->n++] = *st;
	if (!isfinite(st->train_loss))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("training diverged: the loss of epoch %d is not a finite number", st->epoch),
				 errdetail("No model was stored."),
				 errhint("Lower \"learning_rate\", or check the numeric columns for extreme values.")));
	ereport(NOTICE,
			(errmsg("epoch %d: train loss %.4f, validation Hit@3 %.4f, %.2f s%s",
					st->epoch, st->train_loss, st->validation_hit3, st->seconds,
					st->improved ? " (best so far)" : "")));
}

/* ---------------------------------------------------------------- catalog */

typedef struct ModelRow
{
	const char *name;
	const char *source;
	Oid			source_oid;
	StringInfoData columns;
	StringInfoData hyper;
	StringInfoData features;
	StringInfoData norm;
	StringInfoData metrics;
	char	  **categories;
	double	   *category_counts;
	int			n_classes;
	bytea	   *weights;
} ModelRow;

static int64
insert_model(const Catalog *cat, const ModelRow *m, const TrainProgress *prog)
{
	StringInfoData q;
	Datum	   *cats = palloc(sizeof(Datum) * m->n_classes);
	Datum	   *counts = palloc(sizeof(Datum) * m->n_classes);
	Oid			types[13] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID,
	INT8ARRAYOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID, OIDOID, OIDOID};
	Datum		vals[13];
	bool		isnull;
	int64		id;
	int			rc;
	SPIPlanPtr	plan;
	CatalogWrite w;

	for (int c = 0; c < m->n_classes; c++)
	{
		cats[c] = CStringGetTextDatum(m->categories[c]);
		counts[c] = Int64GetDatum((int64) m->category_counts[c]);
	}
	vals[0] = CStringGetTextDatum(m->name);
	vals[1] = CStringGetTextDatum("gru4rec");
	vals[2] = CStringGetTextDatum(m->source);
	vals[3] = CStringGetTextDatum(m->columns.data);
	vals[4] = CStringGetTextDatum(m->hyper.data);
	vals[5] = PointerGetDatum(construct_array(cats, m->n_classes, TEXTOID, -1, false, TYPALIGN_INT));
	vals[6] = PointerGetDatum(construct_array(counts, m->n_classes, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	vals[7] = CStringGetTextDatum(m->features.data);
	vals[8] = CStringGetTextDatum(m->norm.data);
	vals[9] = CStringGetTextDatum(m->metrics.data);
	vals[10] = PointerGetDatum(m->weights);
	vals[11] = ObjectIdGetDatum(GetUserId());	/* the trainer owns the model */
	vals[12] = ObjectIdGetDatum(m->source_oid);

	/*
	 * As the catalog's owner.  Versions of a name are numbered from the
	 * latest committed state (the name's lock, held since the training
	 * began, keeps every other training of it out until this commits); the
	 * grants of the previous version carry over.
	 */
	catalog_write_begin(cat, &w);
	initStringInfo(&q);
	appendStringInfo(&q,
					 "INSERT INTO %s.seqsales_model (name, version, architecture, source_relation, columns,"
					 " hyperparameters, categories, category_counts, feature_vocabularies, normalization,"
					 " metrics, weights, format_version, owner, readers, source_oid)"
					 " SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4::jsonb, $5::jsonb, $6, $7,"
					 " $8::jsonb, $9::jsonb, $10::jsonb, $11, %d, $12::regrole,"
					 " coalesce((SELECT readers FROM %s.seqsales_model WHERE name = $1 ORDER BY version DESC LIMIT 1), '{}'),"
					 " $13 FROM %s.seqsales_model WHERE name = $1"
					 " RETURNING id",
					 cat->schema, SS_BLOB_VERSION, cat->schema, cat->schema);
	plan = SPI_prepare(q.data, 13, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, vals, NULL, GetLatestSnapshot(), InvalidSnapshot, false, true, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not store the model: %s", SPI_result_code_string(rc));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freeplan(plan);

	if (prog->n > 0)
	{
		Datum	   *ep = palloc(sizeof(Datum) * prog->n),
				   *loss = palloc(sizeof(Datum) * prog->n),
				   *hit = palloc(sizeof(Datum) * prog->n),
				   *sec = palloc(sizeof(Datum) * prog->n),
				   *vsec = palloc(sizeof(Datum) * prog->n),
				   *tgt = palloc(sizeof(Datum) * prog->n),
				   *gf = palloc(sizeof(Datum) * prog->n);
		Oid			ltypes[8] = {INT8OID, INT4ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, FLOAT8ARRAYOID};
		Datum		lvals[8];

		for (int i = 0; i < prog->n; i++)
		{
			ep[i] = Int32GetDatum(prog->epochs[i].epoch);
			loss[i] = Float8GetDatum(prog->epochs[i].train_loss);
			hit[i] = Float8GetDatum(prog->epochs[i].validation_hit3);
			sec[i] = Float8GetDatum(prog->epochs[i].seconds);
			vsec[i] = Float8GetDatum(prog->epochs[i].validation_seconds);
			tgt[i] = Int64GetDatum(prog->epochs[i].targets);
			gf[i] = Float8GetDatum(prog->epochs[i].gemm_flops * 1e-9);
		}
		lvals[0] = Int64GetDatum(id);
		lvals[1] = PointerGetDatum(construct_array(ep, prog->n, INT4OID, 4, true, TYPALIGN_INT));
		lvals[2] = PointerGetDatum(construct_array(loss, prog->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		lvals[3] = PointerGetDatum(construct_array(hit, prog->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		lvals[4] = PointerGetDatum(construct_array(sec, prog->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		lvals[5] = PointerGetDatum(construct_array(vsec, prog->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		lvals[6] = PointerGetDatum(construct_array(tgt, prog->n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		lvals[7] = PointerGetDatum(construct_array(gf, prog->n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		resetStringInfo(&q);
		appendStringInfo(&q,
						 "INSERT INTO %s.seqsales_training_log (model_id, epoch, train_loss, validation_hit3,"
						 " seconds, validation_seconds, target_positions, gemm_gflop)"
						 " SELECT $1, * FROM unnest($2, $3, $4, $5, $6, $7, $8)", cat->schema);
		rc = SPI_execute_with_args(q.data, 8, ltypes, lvals, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not store the training log: %s", SPI_result_code_string(rc));
	}
	catalog_write_end(&w);
	return id;
}

/* ---------------------------------------------------------------- train */

Datum
seqsales_train(PG_FUNCTION_ARGS)
{
	Oid			relid;
	instr_time	load_start,
				load_time;
	ColumnSpec	cols;
	char	   *model_name;
	char	   *arch;
	ss_train_options opt;
	MemoryContext train_cxt,
				old;
	RawEvents  *raw;
	int32	   *fit,
			   *val;
	int			n_fit = 0,
				n_val = 0;
	int		   *class_map,
			  **feat_maps;
	char	  **class_names;
	char	 ***feat_names;
	double	   *mean,
			   *std;
	ss_dims		dims;
	ss_dataset	data;
	ss_train_result res;
	ss_train_callbacks cb;
	TrainProgress prog = {0};
	const char *err;
	ModelRow	row;
	int64		model_id;
	int			N,
				F;
	const char *num_names_gap = GAP_FEATURE_NAME;
	Catalog		cat;
	MemoryContext prev_core;
	int64		memory_estimate;

	/* ------------------------------------------------ arguments */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	memset(&cols, 0, sizeof(cols));
	cols.client = name_arg(fcinfo, 1, "client_column", false);
	cols.time = name_arg(fcinfo, 2, "time_column", false);
	cols.target = name_arg(fcinfo, 3, "target_column", false);
	cols.cat = name_array_arg(fcinfo, 4, "categorical", &cols.n_cat);
	cols.num = name_array_arg(fcinfo, 5, "numeric", &cols.n_num);
	model_name = PG_ARGISNULL(6) ? get_rel_name(relid) : text_to_cstring(PG_GETARG_TEXT_PP(6));
	if (PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("architecture must not be NULL")));
	arch = text_to_cstring(PG_GETARG_TEXT_PP(7));
	if (PG_ARGISNULL(8))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("options must not be NULL"),
				 errhint("Pass '{}' for the defaults.")));
	cols.tiebreak = name_arg(fcinfo, 9, "tiebreak_column", true);
	if (model_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (strlen(model_name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	if (strcmp(arch, "gru4rec") != 0)
		ereport(ERROR,
				(errcode(strcmp(arch, "bilstm") == 0 ? ERRCODE_FEATURE_NOT_SUPPORTED
						 : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown or unsupported architecture \"%s\"", arch),
				 errhint("Supported: gru4rec.")));
	columns_validate(relid, &cols);

	train_cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales training",
									  ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* what can fail before a row is read: rights, read-only, a concurrent training */
	catalog_open(fcinfo->flinfo->fn_oid, &cat);
	catalog_prepare_training(&cat, model_name);
	old = MemoryContextSwitchTo(train_cxt);
	prev_core = core_use_context(train_cxt);
	options_parse(PG_GETARG_JSONB_P(8), &opt);
	MemoryContextSwitchTo(train_cxt);	/* SPI calls return in SPI's context */
	core_load_blas();

	/* ------------------------------------------------ data */
	INSTR_TIME_SET_CURRENT(load_start);
	raw = load_events(relid, &cols);
	INSTR_TIME_SET_CURRENT(load_time);
	INSTR_TIME_SUBTRACT(load_time, load_start);
	F = cols.n_cat;
	N = raw->n_numeric;
	if (raw->skipped_times > 0 || raw->unrepresentable > 0)
		ereport(NOTICE,
				(errmsg("seqsales_train: " INT64_FORMAT " rows with an infinite time skipped, "
						INT64_FORMAT " numeric values beyond the real range treated as missing",
						raw->skipped_times, raw->unrepresentable),
				 errdetail("Numeric inputs are single precision: values beyond +/-3.4e38 become the column's mean.")));
	if (raw->rows_read == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no rows to train on", get_rel_name(relid)),
				 errdetail("Rows whose client, time or target is NULL are skipped."),
				 errhint("seqsales_train needs order lines with a client, a time and a target category.")));
	if (raw->n_clients == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no client with at least two events", get_rel_name(relid)),
				 errhint("A client's history needs two events to give one training target.")));

	/* client split of the protocol: validation where md5 part 7..14 % 100 < 100 f */
	fit = palloc(sizeof(int32) * raw->n_clients);
	val = palloc(sizeof(int32) * raw->n_clients);
	{
		uint32		cut = (uint32) floor(100.0 * opt.validation_fraction + 0.5);

		for (int c = 0; c < raw->n_clients; c++)
		{
			if (cut > 0 && client_hash_part(opt.seed, raw->client_ids[c], 7) % 100 < cut)
				val[n_val++] = c;
			else
				fit[n_fit++] = c;
		}
	}
	if (n_fit == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no client is left for fitting after the validation split"),
				 errhint("Lower the \"validation_fraction\" option or add clients.")));

	/* vocabularies and normalisation from the fitting clients only */
	{
		bool	   *present = palloc0(sizeof(bool) * raw->categories->n);
		double	   *sum = palloc0(sizeof(double) * Max(N, 1));
		double	   *sq = palloc0(sizeof(double) * Max(N, 1));
		int64	   *cnt = palloc0(sizeof(int64) * Max(N, 1));

		for (int i = 0; i < n_fit; i++)
			for (int64 e = raw->offsets[fit[i]]; e < raw->offsets[fit[i] + 1]; e++)
			{
				present[raw->cat[e]] = true;
				for (int j = 0; j < N; j++)
				{
					float		v = raw->num[e * N + j];

					if (!isnan(v))
					{
						sum[j] += v;
						cnt[j]++;
					}
				}
			}
		class_map = palloc(sizeof(int) * raw->categories->n);
		memset(&dims, 0, sizeof(dims));
		dims.n_classes = build_vocab(raw->categories, present, class_map, &class_names);

		feat_maps = palloc(sizeof(int *) * Max(F, 1));
		feat_names = palloc(sizeof(char **) * Max(F, 1));
		for (int j = 0; j < F; j++)
		{
			bool	   *fp = palloc0(sizeof(bool) * Max(raw->values[j]->n, 1));

			for (int i = 0; i < n_fit; i++)
				for (int64 e = raw->offsets[fit[i]]; e < raw->offsets[fit[i] + 1]; e++)
					if (raw->feat[e * F + j] >= 0)
						fp[raw->feat[e * F + j]] = true;
			feat_maps[j] = palloc(sizeof(int) * Max(raw->values[j]->n, 1));
			dims.feature_vocab[j] = build_vocab(raw->values[j], fp, feat_maps[j], &feat_names[j]);
		}
		mean = palloc0(sizeof(double) * Max(N, 1));
		std = palloc0(sizeof(double) * Max(N, 1));
		for (int j = 0; j < N; j++)
			mean[j] = cnt[j] > 0 ? sum[j] / cnt[j] : 0.0;
		for (int i = 0; i < n_fit; i++)
			for (int64 e = raw->offsets[fit[i]]; e < raw->offsets[fit[i] + 1]; e++)
				for (int j = 0; j < N; j++)
				{
					float		v = raw->num[e * N + j];

					if (!isnan(v))
						sq[j] += (v - mean[j]) * (v - mean[j]);
				}
		for (int j = 0; j < N; j++)
		{
			std[j] = cnt[j] > 0 ? sqrt(sq[j] / cnt[j]) : 1.0;
			if (!(std[j] > 0.0) || !isfinite(std[j]))
				std[j] = 1.0;
			if (!isfinite(mean[j]))
				mean[j] = 0.0;
		}
	}

	/* encode every event with the fitting vocabularies (in place) */
	data.n_clients = raw->n_clients;
	data.n_events = raw->n_events;
	data.n_features = F;
	data.n_numeric = N;
	data.offsets = raw->offsets;
	data.cat_in = palloc_extended(sizeof(int32) * Max(raw->n_events, 1), MCXT_ALLOC_HUGE);
	data.target = raw->cat;		/* rewritten in place below */
	data.feat_in = raw->feat;
	data.num_in = raw->num;
	for (int64 e = 0; e < raw->n_events; e++)
	{
		int			c = class_map[raw->cat[e]];

		data.target[e] = c;
		data.cat_in[e] = ss_embedding_id(c);
		for (int j = 0; j < F; j++)
		{
			int			v = raw->feat[e * F + j];

			v = v >= 0 ? feat_maps[j][v] : -1;
			data.feat_in[e * F + j] = ss_embedding_id(v);
		}
		for (int j = 0; j < N; j++)
		{
			float		v = raw->num[e * N + j];

			data.num_in[e * N + j] = ss_zscore(v, mean[j], std[j]);	/* NaN: 0 */
		}
	}

	/* ------------------------------------------------ model */
	dims.n_features = F;
	dims.n_numeric = N;
	dims.hidden = opt.hidden;
	dims.layers = opt.layers;
	dims.attn = opt.hidden;
	if ((err = ss_dims_finish(&dims, opt.embedding_scale)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot build the model: %s", err)));
	/*
	 * held: the training context's blocks (the events, dictionaries, client
	 * ids) and 1 MB for the catalog caches and plans of the call (0.7 MB in
	 * a fresh backend); transient: the scan's sort, done (work_mem of tuples
	 * in blocks that double up to ALLOCSET_DEFAULT_MAXSIZE: the last one may
	 * be as large as all the others, up to that size)
	 */
	/* watched: it replays every epoch's steps, seconds on tens of millions of events */
	for (;;)
	{
		ss_interrupt_begin();
		memory_estimate = ss_train_memory_estimate(&dims, &data, fit, n_fit, val, n_val, &opt,
												   (int64) MemoryContextMemAllocated(train_cxt, true) + 1024 * 1024,
												   (int64) work_mem * 1024
												   + Min((int64) work_mem * 1024, ALLOCSET_DEFAULT_MAXSIZE));
		if (!ss_interrupt_end())
			break;
		core_serve_interrupt();	/* throws, or the estimate is made again */
	}
	check_training_memory(memory_estimate, "events, model, optimiser state and activations");
	ereport(DEBUG1,
			(errmsg("seqsales: %d clients (%d fitting, %d validation), " INT64_FORMAT " events, %d categories, %s",
					raw->n_clients, n_fit, n_val, raw->n_events, dims.n_classes, ss_blas_info())));

	cb.arg = &prog;
	cb.tick = on_tick;
	cb.epoch_done = on_epoch;
	err = ss_train(&dims, &data, fit, n_fit, val, n_val, &opt, &cb, &res);
	if (err != NULL)
		ereport(ERROR,
				(errcode(err == ss_train_cancelled ? ERRCODE_QUERY_CANCELED : ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot train on relation %s: %s", get_rel_name(relid), err)));
	ss_blas_set_threads(1);
	for (int64 i = 0; i < res.n_params; i++)
		if (!isfinite(res.params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("training diverged: the model's parameters are not all finite"),
					 errdetail("No model was stored."),
					 errhint("Lower \"learning_rate\", or check the numeric columns for extreme values.")));

	/* ------------------------------------------------ catalog row */
	memset(&row, 0, sizeof(row));
	row.name = model_name;
	row.source = qualified_relation_name(relid);
	row.source_oid = relid;
	row.categories = class_names;
	row.category_counts = res.class_counts;
	row.n_classes = dims.n_classes;

	initStringInfo(&row.columns);
	appendStringInfoString(&row.columns, "{\"client\": ");
	escape_json(&row.columns, cols.client);
	appendStringInfoString(&row.columns, ", \"time\": ");
	escape_json(&row.columns, cols.time);
	appendStringInfoString(&row.columns, ", \"target\": ");
	escape_json(&row.columns, cols.target);
	appendStringInfoString(&row.columns, ", \"tiebreak\": ");
	if (cols.tiebreak)
		escape_json(&row.columns, cols.tiebreak);
	else
		appendStringInfoString(&row.columns, "null");
	appendStringInfoString(&row.columns, ", \"categorical\": ");
	json_string_array(&row.columns, cols.cat, cols.n_cat);
	appendStringInfoString(&row.columns, ", \"numeric\": ");
	json_string_array(&row.columns, cols.num, cols.n_num);
	appendStringInfoString(&row.columns, ", \"client_type\": ");
	escape_json(&row.columns, format_type_be(cols.client_type));
	appendStringInfo(&row.columns, ", \"time_kind\": \"%s\"}", time_kind_name(cols.time_kind));

	initStringInfo(&row.hyper);
	options_to_json(&opt, dims.attn, &row.hyper);

	initStringInfo(&row.features);
	appendStringInfoChar(&row.features, '[');
	for (int j = 0; j < F; j++)
	{
		if (j)
			appendStringInfoString(&row.features, ", ");
		json_string_array(&row.features, feat_names[j], dims.feature_vocab[j]);
	}
	appendStringInfoChar(&row.features, ']');

	initStringInfo(&row.norm);
	appendStringInfoString(&row.norm, "{\"columns\": ");
	{
		char	  **names = palloc(sizeof(char *) * (N + 1));

		for (int j = 0; j < cols.n_num; j++)
			names[j] = cols.num[j];
		if (N > cols.n_num)
			names[cols.n_num] = (char *) num_names_gap;
		json_string_array(&row.norm, names, N);
	}
	appendStringInfoString(&row.norm, ", \"mean\": ");
	json_double_array(&row.norm, mean, N);
	appendStringInfoString(&row.norm, ", \"std\": ");
	json_double_array(&row.norm, std, N);
	appendStringInfoChar(&row.norm, '}');

	initStringInfo(&row.metrics);
	appendStringInfo(&row.metrics,
					 "{\"epochs_run\": %d, \"best_epoch\": %d, \"validation_hit3\": %.6f,"
					 " \"load_seconds\": %.3f, \"train_seconds\": %.3f, \"train_positions_per_second\": %.1f,"
					 " \"clients\": %d, \"fitting_clients\": %d, \"validation_clients\": %d,"
					 " \"rows_read\": " INT64_FORMAT ", \"events\": " INT64_FORMAT ","
					 " \"training_targets\": " INT64_FORMAT ", \"windows\": " INT64_FORMAT ","
					 " \"parameters\": " INT64_FORMAT ", \"activation_bytes\": " INT64_FORMAT ","
					 " \"memory_estimate_bytes\": " INT64_FORMAT ","
					 " \"rows_skipped_infinite_time\": " INT64_FORMAT ", \"numeric_values_made_missing\": " INT64_FORMAT ","
					 " \"blas\": ",
					 res.epochs_run, res.best_epoch, res.best_validation_hit3,
					 INSTR_TIME_GET_DOUBLE(load_time), res.seconds_total,
					 res.targets_per_second, raw->n_clients, n_fit, n_val, raw->rows_read,
					 raw->n_events, res.train_targets, res.n_windows, res.n_params,
					 res.workspace_bytes, memory_estimate,
					 raw->skipped_times, raw->unrepresentable);
	escape_json(&row.metrics, ss_blas_info());
	appendStringInfoChar(&row.metrics, '}');

	{
		size_t		len = ss_blob_size(&dims);

		row.weights = palloc_extended(VARHDRSZ + len, MCXT_ALLOC_HUGE);
		SET_VARSIZE(row.weights, VARHDRSZ + len);
		ss_blob_encode(&dims, res.params, (uint8_t *) VARDATA(row.weights));
	}

	model_id = insert_model(&cat, &row, &prog);

	MemoryContextSwitchTo(old);
	core_use_context(prev_core);
	SPI_finish();
	MemoryContextDelete(train_cxt);
	PG_RETURN_INT64(model_id);
}
