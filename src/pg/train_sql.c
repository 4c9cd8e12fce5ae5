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
#include "../core/arch.h"
#include "catalog.h"
#include "fold.h"
#include "load.h"
#include "train_args.h"


PG_FUNCTION_INFO_V1(seqsales_train);

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
insert_model(const Catalog *cat, const ModelRow *m, const char *arch, const TrainProgress *prog)
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
	vals[1] = CStringGetTextDatum(arch);
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

/*
 * The catalog row of a trained fold (its name locked and checked by
 * catalog_prepare_training), written as the catalog's owner; returns the
 * model's id.
 */
int64
store_model(const Catalog *cat, const StoredFold *f)
{
	ModelRow	row;
	const int	F = f->cols->n_cat,
				N = f->raw->n_numeric;
	const char *num_names_gap = GAP_FEATURE_NAME;

	memset(&row, 0, sizeof(row));
	row.name = f->name;
	row.source = qualified_relation_name(f->relid);
	row.source_oid = f->relid;
	row.categories = f->vocab->class_names;
	row.category_counts = f->res->class_counts;
	row.n_classes = f->dims->n_classes;

	initStringInfo(&row.columns);
	appendStringInfoString(&row.columns, "{\"client\": ");
	escape_json(&row.columns, f->cols->client);
	appendStringInfoString(&row.columns, ", \"time\": ");
	escape_json(&row.columns, f->cols->time);
	appendStringInfoString(&row.columns, ", \"target\": ");
	escape_json(&row.columns, f->cols->target);
	appendStringInfoString(&row.columns, ", \"tiebreak\": ");
	if (f->cols->tiebreak)
		escape_json(&row.columns, f->cols->tiebreak);
	else
		appendStringInfoString(&row.columns, "null");
	appendStringInfoString(&row.columns, ", \"categorical\": ");
	json_string_array(&row.columns, f->cols->cat, f->cols->n_cat);
	appendStringInfoString(&row.columns, ", \"numeric\": ");
	json_string_array(&row.columns, f->cols->num, f->cols->n_num);
	appendStringInfoString(&row.columns, ", \"client_type\": ");
	escape_json(&row.columns, format_type_be(f->cols->client_type));
	appendStringInfo(&row.columns, ", \"time_kind\": \"%s\"}", time_kind_name(f->cols->time_kind));

	initStringInfo(&row.hyper);
	options_to_json(f->opt, f->dims->attn, &row.hyper);

	initStringInfo(&row.features);
	appendStringInfoChar(&row.features, '[');
	for (int j = 0; j < F; j++)
	{
		if (j)
			appendStringInfoString(&row.features, ", ");
		json_string_array(&row.features, f->vocab->feat_names[j], f->dims->feature_vocab[j]);
	}
	appendStringInfoChar(&row.features, ']');

	initStringInfo(&row.norm);
	appendStringInfoString(&row.norm, "{\"columns\": ");
	{
		char	  **names = palloc(sizeof(char *) * (N + 1));

		for (int j = 0; j < f->cols->n_num; j++)
			names[j] = f->cols->num[j];
		if (N > f->cols->n_num)
			names[f->cols->n_num] = (char *) num_names_gap;
		json_string_array(&row.norm, names, N);
	}
	appendStringInfoString(&row.norm, ", \"mean\": ");
	json_double_array(&row.norm, f->vocab->mean, N);
	appendStringInfoString(&row.norm, ", \"std\": ");
	json_double_array(&row.norm, f->vocab->std, N);
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
					 f->res->epochs_run, f->res->best_epoch, f->res->best_validation_hit3,
					 f->load_seconds, f->res->seconds_total,
					 f->res->targets_per_second, f->raw->n_clients, f->n_fit, f->n_val, f->raw->rows_read,
					 f->raw->n_events, f->res->train_targets, f->res->n_windows, f->res->n_params,
					 f->res->workspace_bytes, f->memory_estimate,
					 f->raw->skipped_times, f->raw->unrepresentable);
	escape_json(&row.metrics, ss_blas_info());
	appendStringInfoChar(&row.metrics, '}');

	{
		size_t		len = ss_blob_size(f->dims);

		row.weights = palloc_extended(VARHDRSZ + len, MCXT_ALLOC_HUGE);
		SET_VARSIZE(row.weights, VARHDRSZ + len);
		ss_blob_encode(f->dims, f->res->params, (uint8_t *) VARDATA(row.weights));
	}

	return insert_model(cat, &row, ss_arch_of(f->dims)->name, f->prog);
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
	static const TrainArgPos pos = {0, 1, 2, 3, 4, 5, 7, 8, 9};
	TrainArgs	args;
	ss_train_options opt;
	MemoryContext train_cxt,
				old;
	RawEvents  *raw;
	int32	   *fit,
			   *val;
	int			n_fit = 0,
				n_val = 0;
	FoldVocab	vocab;
	ss_dims		dims;
	ss_dataset	data;
	ss_train_result res;
	TrainProgress prog = {0};
	int			arch_id;
	int64		model_id;
	Catalog		cat;
	MemoryContext prev_core;
	int64		memory_estimate;

	/* ------------------------------------------------ arguments */
	train_args_get(fcinfo, &pos, &args);
	relid = args.relid;
	model_name = PG_ARGISNULL(6) ? get_rel_name(relid) : text_to_cstring(PG_GETARG_TEXT_PP(6));
	if (model_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (strlen(model_name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	train_args_check(&args);
	cols = args.cols;
	arch_id = args.arch_id;

	train_cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales training",
									  ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* what can fail before a row is read: rights, read-only, a concurrent training */
	catalog_open(fcinfo->flinfo->fn_oid, &cat);
	catalog_prepare_training(&cat, model_name);
	old = MemoryContextSwitchTo(train_cxt);
	prev_core = core_use_context(train_cxt);
	options_parse(args.options, args.arch_id, &opt);
	MemoryContextSwitchTo(train_cxt);	/* SPI calls return in SPI's context */
	core_load_blas();

	/* ------------------------------------------------ data */
	INSTR_TIME_SET_CURRENT(load_start);
	raw = load_events(relid, &cols);
	INSTR_TIME_SET_CURRENT(load_time);
	INSTR_TIME_SUBTRACT(load_time, load_start);
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

	/* client split of the protocol, vocabularies and normalisation from the fitting clients */
	fit = palloc(sizeof(int32) * raw->n_clients);
	val = palloc(sizeof(int32) * raw->n_clients);
	fold_split(raw, NULL, opt.seed, opt.validation_fraction, fit, &n_fit, val, &n_val);
	if (n_fit == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no client is left for fitting after the validation split"),
				 errhint("Lower the \"validation_fraction\" option or add clients.")));
	fold_vocab(raw, fit, n_fit, &vocab);
	fold_encode(raw, &vocab, true, &data);

	/* ------------------------------------------------ model */
	fold_dims(&vocab, arch_id, &opt, &dims);
	prog.notices = true;
	memory_estimate = fold_train(&dims, &data, fit, n_fit, val, n_val, &opt,
								 (int64) MemoryContextMemAllocated(train_cxt, true),
								 get_rel_name(relid), &prog, &res);

	/* ------------------------------------------------ catalog row */
	{
		StoredFold	f = {model_name, relid, &cols, &vocab, &dims, &opt, &res, &prog, raw, n_fit, n_val,
		INSTR_TIME_GET_DOUBLE(load_time), memory_estimate};

		model_id = store_model(&cat, &f);
	}

	MemoryContextSwitchTo(old);
	core_use_context(prev_core);
	SPI_finish();
	MemoryContextDelete(train_cxt);
	PG_RETURN_INT64(model_id);
}
