/*
 * encode.h - one event row as model input: the one rule, used when a
 * training encodes its rows (src/pg/load.c, train_sql.c) and when a
 * prediction encodes a history (src/pg/predict_sql.c).
 *
 *   category        embedding id: its index in the class vocabulary + 2;
 *                   unknown (or NULL) = 1 (SS_UNKNOWN_ID); 0 is padding
 *   categoricals    the same, in each feature's own vocabulary
 *   numerics        z-score (x - mean) / std as float32, then clamped to
 *                   [-SS_ZSCORE_MAX, SS_ZSCORE_MAX]; a missing value (SQL
 *                   NULL, NaN, +-inf), one beyond float32's range (1e39,
 *                   1e308: finite as float8, infinite once stored as
 *                   float32) and one whose z-score is not finite all get
 *                   0, that is the mean (imputed)
 *   gap             log1p(days since the client's previous event), 0 for
 *                   the first event, a negative gap or a non-finite one
 *                   (infinite timestamps), then z-scored like a numeric
 *
 * so every input the model reads is a valid embedding row or a finite
 * float of bounded size, whatever the row holds.
 */
#ifndef SS_ENCODE_H
#define SS_ENCODE_H

#include <stdint.h>

#include "model.h"
#include "strdict.h"

/* embedding id of an unknown value (model.h: 0 = padding, 1 = unknown) */
#define SS_UNKNOWN_ID 1

/*
 * Bound of every z-score fed to the model.  Training data are standardised
 * on the fitting clients, so a legitimate value lies within a few (at most
 * some hundreds of) standard deviations; 1e4 keeps an outlier's input
 * large but far from float32 overflow in the input products (a few
 * thousand terms of weights times 1e4).
 */
#define SS_ZSCORE_MAX 1e4

/* The embedding id of vocabulary index (-1 = unknown). */
static inline int32_t
ss_embedding_id(int index)
{
	return index >= 0 ? (int32_t) index + SS_N_RESERVED : SS_UNKNOWN_ID;
}

/*
 * A numeric value as the training stores it before standardising: x as
 * float32, or NaN (missing) when x is NaN, infinite or beyond float32's
 * range.
 */
float		ss_numeric_value(double x);

/* z-score of x (see above): finite, within +-SS_ZSCORE_MAX, 0 when missing */
float		ss_zscore(double x, double mean, double std);

/*
 * The gap feature before standardising: log1p(seconds / 86400), 0 for
 * seconds <= 0 (a first event is given -1) or not finite; finite, >= 0.
 */
double		ss_gap_feature(double seconds);

/* What a model needs to encode rows: its vocabularies and normalisation. */
typedef struct ss_encoder
{
	const ss_strdict *classes;	/* category vocabulary */
	int			n_features;		/* categorical features */
	const ss_strdict *const *features;	/* n_features vocabularies */
	int			n_numeric;		/* numeric columns (the gap feature apart) */
	int			has_gap;		/* 1: the gap feature follows them */
	const double *mean;			/* n_numeric + has_gap */
	const double *std;
} ss_encoder;

/*
 * Encodes one event: category (NULL = unknown), features[n_features] (a
 * NULL entry = SQL NULL), numeric[n_numeric] (NaN = NULL), and the gap to
 * the client's previous event (< 0: first event).  Writes *cat,
 * feat[n_features] and num[n_numeric + has_gap].
 */
void		ss_encode_event(const ss_encoder *e, const char *category,
							const char *const *features, const double *numeric,
							double gap_seconds, int32_t *cat, int32_t *feat, float *num);

/* (Re)writes only the gap input of an encoded event's num (nothing without one). */
void		ss_encode_gap(const ss_encoder *e, double gap_seconds, float *num);

#endif
