/*
 * model_cache.h - decoded models, cached per backend.
 *
 * A cached model is keyed by its catalog row's id and xmin: every
 * prediction looks the row up (a small indexed query) and decodes it again
 * only when the row is new or was changed.  Each model lives in its own
 * memory context under CacheMemoryContext.
 */
#ifndef SEQSALES_MODEL_CACHE_H
#define SEQSALES_MODEL_CACHE_H

#include "seqsales.h"

#define MAX_SOURCE_PLANS 8

typedef struct CachedModel
{
	int64		id;
	int64		xmin;
	char	   *name;
	MemoryContext cxt;
	ss_dims		dims;
	const float *params;		/* inside the detoasted weights when aligned (blob.h) */
	char	  **classes;		/* n_classes names */
	ss_strdict *class_dict;
	ss_strdict **feat_dicts;	/* per categorical feature */
	double	   *mean;			/* n_numeric */
	double	   *std;
	double	   *prior;			/* popularity: training target shares */
	ColumnSpec	cols;
	char	   *source;			/* quoted qualified name */
	int			max_length;
	/* history query per source relation (InvalidOid = the model's own) */
	int			n_plans;
	Oid			plan_rel[MAX_SOURCE_PLANS];
	Oid			plan_client_type[MAX_SOURCE_PLANS];
	SPIPlanPtr	plans[MAX_SOURCE_PLANS];
	ss_workspace *ws;
	ss_batch   *batch;
	float	   *probs;
	double		decode_ms;		/* what loading this model cost */
	struct CachedModel *next;
} CachedModel;

/*
 * The model of that name (NULL = the newest model), decoded and cached.
 * Requires an SPI connection.  schema is the extension's, quoted.
 */
CachedModel *model_cache_get(const char *schema, const char *name);

#endif
