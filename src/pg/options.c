/*
 * options.c - the options jsonb of seqsales_train: each key with its JSON
 * type and text handed to the core's checks (src/core/options.h: every key
 * known, every value checked against its range, errors that name the key),
 * their errors raised here.
 */
#include "seqsales.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "../core/options.h"

/* An error of the core's option checks (options.h), as an ERROR. */
static void
option_error(ss_option_status status, const char *message, const char *hint)
{
	/* every status is a bad parameter value today */
	(void) status;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", message),
			 hint[0] ? errhint("%s", hint) : 0));
}

void		options_parse(Jsonb *options, int arch, ss_train_options *o);

/* Requires an SPI connection. */
void
options_parse(Jsonb *options, int arch, ss_train_options *o)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1] = {JsonbPGetDatum(options)};
	int			rc;

	ss_train_options_default_for(o, arch);
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
		size_t		size = ss_option_error_size(key, type, value);
		char	   *message = palloc(size),
				   *hint = palloc(size);
		ss_option_status st = ss_option_set(o, key, type, value, message, hint, size);

		if (st != SS_OPTION_OK)
			option_error(st, message, hint);
		pfree(message);
		pfree(hint);
	}
	{
		char		message[512],
					hint[512];
		ss_option_status st = ss_options_finish(o, message, hint, sizeof(message));	/* resolves window_stride */

		if (st != SS_OPTION_OK)
			option_error(st, message, hint);
	}
}

void		options_to_json(const ss_train_options *o, int attention_size, StringInfo buf);

void
options_to_json(const ss_train_options *o, int attention_size, StringInfo buf)
{
	size_t		n = ss_options_to_json(o, attention_size, NULL, 0);

	enlargeStringInfo(buf, (int) n);
	ss_options_to_json(o, attention_size, buf->data + buf->len, n + 1);
	buf->len += (int) n;
}
