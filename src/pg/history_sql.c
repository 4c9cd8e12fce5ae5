/*
 * history_sql.c - seqsales_history_weights: what a ranker or hybrid model
 * learned of the history features (src/core/history.h), readable in SQL.
 */
#include "seqsales.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "../core/arch.h"
#include "../core/ranker.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(seqsales_history_weights);

/* One row per history feature: its name and weight (logit units). */
Datum
seqsales_history_weights(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *schema = seqsales_schema(fcinfo->flinfo->fn_oid);
	char	   *model_name;
	CachedModel *m;
	float		w[SS_HIST_FEATURES];
	int			has;
	const char *arch;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	m = model_cache_get(schema, model_name);
	has = ss_history_weights(&m->dims, m->params, w);
	arch = ss_arch_of(&m->dims)->name;
	SPI_finish();
	if (!has)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" (architecture %s) has no history features", model_name, arch),
				 errhint("Only the ranker and hybrid architectures weigh history features.")));
	for (int f = 0; f < SS_HIST_FEATURES; f++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(ss_hist_feature_names[f]);
		values[1] = Float8GetDatum(w[f]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
