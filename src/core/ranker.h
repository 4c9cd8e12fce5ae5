/*
 * ranker.h - the feature ranker's parameter layout (ranker.c), and the
 * query positions of a batch that every architecture without attention
 * reads the same way.
 */
#ifndef SS_RANKER_H
#define SS_RANKER_H

#include "history.h"
#include "model.h"

typedef struct ss_ranker_params
{
	float	   *w;				/* SS_HIST_FEATURES: the features' weights */
	float	   *b;				/* C: per-category bias */
	ss_hist_stats stats;		/* frozen */
} ss_ranker_params;

void		ss_ranker_bind(const ss_dims *d, float *base, ss_ranker_params *p);

/*
 * The query rows of a batch: every position with a target (SS_QUERY_TARGETS)
 * or each sequence's last (SS_QUERY_LAST), sequence by sequence; qt / qb
 * hold T B + 1.  Returns their number.
 */
int			ss_queries_of(const ss_batch *batch, ss_query_mode mode, int32_t *qt, int32_t *qb);

#endif
