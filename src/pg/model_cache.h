/*
 * model_cache.h - decoded models, cached per backend.
 *
 * A cached model is keyed by its catalog row's id and xmin: every
 * prediction looks the row up (a small indexed query, under the caller's
 * rights: the catalog's row security decides what it finds) and decodes it
 * again only when the row is new or was changed.  Each model lives in its
 * own memory context under CacheMemoryContext.
 *
 * Calls nest: the history query of a call may read a view, or evaluate a
 * function, that predicts with other models, or with the same one.  So a
 * call pins the model it uses (model_cache_get) until the memory context
 * current at that call goes away: the caller's SPI connection, deleted by
 * SPI_finish or, when the call fails, by the abort of its (sub)transaction.
 * A pinned model is never freed, only detached from the cache (when
 * evicted or when its row changed) and freed once unpinned.  Its history
 * plans are pinned the same way (source_plan_find / source_plan_add).
 */
#ifndef SEQSALES_MODEL_CACHE_H
#define SEQSALES_MODEL_CACHE_H

#include "seqsales.h"

#define MAX_SOURCE_PLANS 8

/*
 * The history query of a model on one relation, kept across calls.  Every
 * call resolves and checks the relation again (cheap catalog lookups), and
 * a plan whose relation, name or client type no longer matches is replaced:
 * after DROP, RENAME or ALTER a call gives the error or the result a fresh
 * backend gives.
 */
typedef struct SourcePlan
{
	Oid			arg_rel;		/* the source argument, InvalidOid = the model's own */
	Oid			rel;			/* what it resolved to */
	Oid			client_type;
	char	   *rel_name;		/* qualified name in the query text */
	SPIPlanPtr	plan;
	int			pins;			/* calls executing it */
	uint64		last_use;
} SourcePlan;

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
	Oid			source_oid;		/* the relation trained on (InvalidOid: not recorded) */
	int			max_length;
	int64		seed;			/* of its client split (hyperparameters) */
	double		validation_fraction;
	char	   *architecture;
	int			unit;			/* ss_unit (train.h): hyperparameters' "unit", 'line' when absent */
	int			n_plans;
	SourcePlan	plans[MAX_SOURCE_PLANS];	/* never moved while the model lives */
	uint64		plan_clock;
	int			pins;			/* calls using it */
	ss_workspace *ws;
	ss_batch   *batch;
	float	   *probs;
	double		decode_ms;		/* what loading this model cost */
	struct CachedModel *next;
} CachedModel;

/*
 * The model of that name (NULL = the newest model the caller may read),
 * decoded and cached, pinned for the caller.  Requires an SPI connection.
 * schema is the extension's, quoted.
 */
CachedModel *model_cache_get(const char *schema, const char *name);

/*
 * The kept plan of m's history query on relation relid, for a relation
 * already checked by the caller (rel, its qualified name rel_name,
 * client_type), pinned like the model; NULL when there is none yet or the
 * relation changed.  source_plan_add then prepares it from the query text
 * (built only then); when every slot of m is pinned by outer calls, the
 * plan is one for this call alone, freed by SPI_finish.
 */
SourcePlan *source_plan_find(CachedModel *m, Oid arg_rel, Oid rel, const char *rel_name,
							 Oid client_type);
SourcePlan *source_plan_add(CachedModel *m, Oid arg_rel, Oid rel, const char *rel_name,
							Oid client_type, const char *query);

/*
 * The relation the histories of m are read from: relid, or (InvalidOid)
 * its own source, which must still be the relation trained on; locked,
 * its columns checked against the model's into *cols (predict_sql.c).
 */
Oid			model_source_relation(const CachedModel *m, Oid relid, ColumnSpec *cols);

#endif
