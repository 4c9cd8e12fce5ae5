/*
 * encode.c - one event row as model input (see encode.h).
 */
#include "encode.h"

#include <float.h>
#include <math.h>

float
ss_numeric_value(double x)
{
	/* false for NaN too */
	return fabs(x) <= FLT_MAX ? (float) x : NAN;
}

float
ss_zscore(double x, double mean, double std)
{
	double		z;

	if (!(fabs(x) <= FLT_MAX))
		return 0.0f;
	z = (x - mean) / std;
	if (!isfinite(z))
		return 0.0f;
	if (z > SS_ZSCORE_MAX)
		z = SS_ZSCORE_MAX;
	else if (z < -SS_ZSCORE_MAX)
		z = -SS_ZSCORE_MAX;
	return (float) z;
}

double
ss_gap_feature(double seconds)
{
	double		days = seconds / 86400.0;
	double		g = log1p(days > 0.0 ? days : 0.0);	/* days NaN: 0 */

	return isfinite(g) ? g : 0.0;
}

static int32_t
encode_id(const ss_strdict *dict, const char *s)
{
	return ss_embedding_id(s != NULL ? ss_strdict_lookup(dict, s) : -1);
}

void
ss_encode_gap(const ss_encoder *e, double gap_seconds, float *num)
{
	const int	j = e->n_numeric;

	if (e->has_gap)
		num[j] = ss_zscore(ss_gap_feature(gap_seconds), e->mean[j], e->std[j]);
}

void
ss_encode_event(const ss_encoder *e, const char *category,
				const char *const *features, const double *numeric,
				double gap_seconds, int32_t *cat, int32_t *feat, float *num)
{
	*cat = encode_id(e->classes, category);
	for (int j = 0; j < e->n_features; j++)
		feat[j] = encode_id(e->features[j], features[j]);
	for (int j = 0; j < e->n_numeric; j++)
		num[j] = ss_zscore(numeric[j], e->mean[j], e->std[j]);
	ss_encode_gap(e, gap_seconds, num);
}
