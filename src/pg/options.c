/*
 * options.c - the options jsonb of seqsales_train: every key known, every
 * value checked against its range, errors that name the key.
 */
#include "seqsales.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include <math.h>

typedef enum OptKind
{
	OPT_INT,
	OPT_REAL,
	OPT_BOOL
} OptKind;

typedef struct OptDef
{
	const char *name;
	OptKind		kind;
	double		min;
	double		max;
	bool		min_exclusive;
	size_t		offset;
} OptDef;

#define O(field) offsetof(ss_train_options, field)

static const OptDef option_defs[] = {
	{"hidden_size", OPT_INT, 1, 4096, false, O(hidden)},
	{"layers", OPT_INT, 1, SS_MAX_LAYERS, false, O(layers)},
	{"embedding_scale", OPT_REAL, 0, 16, true, O(embedding_scale)},
	{"dropout", OPT_REAL, 0, 0.95, false, O(dropout)},
	{"learning_rate", OPT_REAL, 0, 1, true, O(learning_rate)},
	{"batch_size", OPT_INT, 1, 65536, false, O(batch_size)},
	{"epochs", OPT_INT, 1, 10000, false, O(epochs)},
	{"patience", OPT_INT, 1, 10000, false, O(patience)},
	{"max_length", OPT_INT, 1, 10000, false, O(max_length)},
	{"window_stride", OPT_INT, 0, 10000, false, O(window_stride)},
	{"focal_gamma", OPT_REAL, 0, 10, false, O(focal_gamma)},
	{"class_weighting", OPT_BOOL, 0, 1, false, O(class_weighting)},
	{"weighted_sampling", OPT_BOOL, 0, 1, false, O(weighted_sampling)},
	{"validation_fraction", OPT_REAL, 0, 0.9, false, O(validation_fraction)},
	{"seed", OPT_INT, -2147483648.0, 2147483647.0, false, O(seed)},
	{"threads", OPT_INT, 1, 64, false, O(threads)},
};

#undef O

static const char *
known_keys(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < lengthof(option_defs); i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", option_defs[i].name);
	return buf.data;
}

static void
set_option(ss_train_options *o, const OptDef *def, const char *type, const char *value)
{
	char	   *base = (char *) o;

	if (def->kind == OPT_BOOL)
	{
		if (strcmp(type, "boolean") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" must be a boolean, not %s", def->name, type)));
		*(int *) (base + def->offset) = strcmp(value, "true") == 0;
		return;
	}
	if (strcmp(type, "number") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number, not %s", def->name, type)));
	{
		char	   *end;
		double		v = strtod(value, &end);
		bool		low = def->min_exclusive ? v <= def->min : v < def->min;

		if (*end != '\0' || !isfinite(v) || low || v > def->max)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" is out of range: %s", def->name, value),
					 errhint("\"%s\" must be %s %g and at most %g%s.", def->name,
							 def->min_exclusive ? "greater than" : "at least", def->min, def->max,
							 def->kind == OPT_INT ? ", a whole number" : "")));
		if (def->kind == OPT_INT)
		{
			if (v != floor(v))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be a whole number: %s", def->name, value)));
			if (def->offset == offsetof(ss_train_options, seed))
				*(int64_t *) (base + def->offset) = (int64_t) v;
			else
				*(int *) (base + def->offset) = (int) v;
		}
		else
			*(double *) (base + def->offset) = v;
	}
}

void		options_parse(Jsonb *options, ss_train_options *o);

/* Requires an SPI connection. */
void
options_parse(Jsonb *options, ss_train_options *o)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1] = {JsonbPGetDatum(options)};
	int			rc;

	ss_train_options_default(o);
	rc = SPI_execute_with_args("SELECT jsonb_typeof($1)", 1, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1 ||
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "object") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errhint("For example '{\"epochs\": 10, \"hidden_size\": 64}'.")));
	rc = SPI_execute_with_args("SELECT key, jsonb_typeof(value), value #>> '{}' FROM jsonb_each($1) ORDER BY key",
							   1, argtypes, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		const char *key = SPI_getvalue(tup, desc, 1);
		const char *type = SPI_getvalue(tup, desc, 2);
		const char *value = SPI_getvalue(tup, desc, 3);
		const OptDef *def = NULL;

		for (size_t k = 0; k < lengthof(option_defs); k++)
			if (strcmp(option_defs[k].name, key) == 0)
				def = &option_defs[k];
		if (def == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Known options: %s.", known_keys())));
		set_option(o, def, type, value ? value : "null");
	}
	if (o->window_stride > o->max_length)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"window_stride\" (%d) must not exceed \"max_length\" (%d)",
						o->window_stride, o->max_length),
				 errhint("Windows starting further apart than max_length would leave targets out; "
						 "0 means max_length / 2.")));
	o->window_stride = ss_window_stride(o);	/* recorded as resolved */
}

void		options_to_json(const ss_train_options *o, int attention_size, StringInfo buf);

void
options_to_json(const ss_train_options *o, int attention_size, StringInfo buf)
{
	const char *base = (const char *) o;

	appendStringInfoChar(buf, '{');
	for (size_t k = 0; k < lengthof(option_defs); k++)
	{
		const OptDef *def = &option_defs[k];

		appendStringInfo(buf, "%s\"%s\": ", k ? ", " : "", def->name);
		if (def->kind == OPT_BOOL)
			appendStringInfoString(buf, *(const int *) (base + def->offset) ? "true" : "false");
		else if (def->kind == OPT_REAL)
			appendStringInfo(buf, "%.17g", *(const double *) (base + def->offset));
		else if (def->offset == offsetof(ss_train_options, seed))
			appendStringInfo(buf, INT64_FORMAT, (int64) o->seed);
		else
			appendStringInfo(buf, "%d", *(const int *) (base + def->offset));
	}
	appendStringInfo(buf, ", \"attention_size\": %d, \"gradient_clip\": %g}", attention_size, o->clip);
}
