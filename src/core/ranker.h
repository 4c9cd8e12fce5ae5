/*
 * ranker.h - the feature ranker's parameter layout (ranker.c) and the
 * history-feature weights of the models that have them.
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
 * The history features' weights of a ranker or hybrid model (in logit units)
 * into w; returns 0 (w untouched) for an architecture without them.
 */
int			ss_history_weights(const ss_dims *d, const float *params, float w[SS_HIST_FEATURES]);


#endif
