/*
 * train_args.c - the training arguments (train_args.h).
 */
#include "train_args.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "../core/arch.h"

char *
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

void
train_args_get(FunctionCallInfo fcinfo, const TrainArgPos *pos, TrainArgs *a)
{
	memset(a, 0, sizeof(*a));
	if (PG_ARGISNULL(pos->source))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source relation must not be NULL")));
	a->relid = PG_GETARG_OID(pos->source);
	a->cols.client = name_arg(fcinfo, pos->client, "client_column", false);
	a->cols.time = name_arg(fcinfo, pos->time, "time_column", false);
	a->cols.target = name_arg(fcinfo, pos->target, "target_column", false);
	a->cols.cat = name_array_arg(fcinfo, pos->categorical, "categorical", &a->cols.n_cat);
	a->cols.num = name_array_arg(fcinfo, pos->numeric, "numeric", &a->cols.n_num);
	if (PG_ARGISNULL(pos->architecture))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("architecture must not be NULL")));
	a->architecture = text_to_cstring(PG_GETARG_TEXT_PP(pos->architecture));
	if (PG_ARGISNULL(pos->options))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("options must not be NULL"),
				 errhint("Pass '{}' for the defaults.")));
	a->options = PG_GETARG_JSONB_P(pos->options);
	a->cols.tiebreak = pos->tiebreak >= 0 ? name_arg(fcinfo, pos->tiebreak, "tiebreak_column", true) : NULL;
}

void
train_args_check(TrainArgs *a)
{
	if (ss_arch_by_name(a->architecture, &a->arch_id) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown architecture \"%s\"", a->architecture),
				 errhint("Architectures: %s.", ss_arch_names())));
	columns_validate(a->relid, &a->cols);
}
