/*
 * history.h - per-category features of a client's history: what counting
 * knows, as inputs of a learned model.
 *
 * The feature ranker (ranker.c) is a multinomial logit over them; the
 * hybrid GRU (gru4rec.c, architecture 'hybrid') adds the same combination
 * of them (its "history head") to the network's logits.  For a query at
 * position t of sequence b of a batch, the features of category c read
 * positions 0 .. t of that sequence only (its categories and which of them
 * start an order), and statistics counted once on the fitting clients'
 * events.  Nothing of the target event is read: not its category, time,
 * order or features (batch->target is never looked at).
 *
 * The statistics are part of the model's parameter block (frozen: their
 * gradient is always 0, so Adam never moves them) and so stored with it:
 * C + 3 C^2 + SS_HIST_NEIGHBOURS (C + 2) floats (popularity, transitions,
 * co-occurrence within orders, transitions between consecutive orders, the
 * neighbours' keys and normalised category vectors; 0.76 MB at C = 135,
 * 208 MB at C = 4,000, the largest C served: SS_HIST_MAX_CLASSES).
 *
 * Features of category c (f = 0 .. SS_HIST_FEATURES - 1):
 *   0  log popularity share (fitting clients' events)
 *   1  log1p(count of c in the history)
 *   2  its share of the history's events
 *   3  its count decayed by 0.7 per event back
 *   4  recency: 1 / (1 + events since its last occurrence), 0 if none
 *   5  log P(next = c | last category)      transitions between consecutive
 *   6  log P(next = c | second last)        events of the fitting clients;
 *   7  log P(next = c | third last)         popularity when there is none
 *   8  1 if c is in the current order (the events since the last order start)
 *   9  mean over the current order's categories a of log P(c in an order | a in it)
 *  10  max of the same
 *  11  share of the history's orders that contain c
 *  12  1 if c is in the order before the current one
 *  13  feature 8 x log1p(the current order's size)
 *  14  mean over the current order's categories a of log P(c in the next
 *      order | a in this one): what follows an order like the current one
 *  15  similar clients (TIFU-KNN style): the share of c in the category
 *      vectors of the SS_HIST_TOP stored fitting clients most similar to
 *      the history (cosine of category counts), weighted by similarity; a
 *      client is never its own neighbour (client keys, ss_client_key)
 */
#ifndef SS_HISTORY_H
#define SS_HISTORY_H

#include <stdint.h>

#include "model.h"

struct ss_dataset;

#define SS_HIST_FEATURES 16
#define SS_HIST_MAX_CLASSES 4000
#define SS_HIST_NEIGHBOURS 1000		/* fitting clients stored (a deterministic sample) */
#define SS_HIST_TOP 50			/* neighbours a history is compared with */

typedef struct ss_hist_stats
{
	float	   *log_pop;		/* C */
	float	   *trans;			/* C x C: row a = log P(next = c | a) */
	float	   *cooc;			/* C x C: row a = log P(c in the order | a in it) */
	float	   *onext;			/* C x C: row a = log P(c in the next order | a in this one) */
	float	   *nb;				/* SS_HIST_NEIGHBOURS x (C + 2): the key's two 16-bit halves, the unit vector */
} ss_hist_stats;

/* the features' names, as seqsales_history_weights shows them */
extern const char *const ss_hist_feature_names[SS_HIST_FEATURES];

/* a client's key, never 0 (0 = none): FNV-1a of its id's text */
uint32_t	ss_client_key(const char *id);

/* floats of the statistics block */
int64_t		ss_hist_stats_floats(int C);
void		ss_hist_stats_bind(int C, float *base, ss_hist_stats *s);

/*
 * Counts the statistics on the fitting clients' events (class -1 events
 * are skipped) into the block at base.  Allocates its own scratch
 * (C x C doubles): not for worker threads.
 */
void		ss_hist_fit(int C, const struct ss_dataset *data, const int32_t *fit, int n_fit,
						float *base);

/* floats of scratch ss_hist_features needs */
int64_t		ss_hist_scratch_floats(int C);

/*
 * The features of the history of query (t, b): x[f * C + c], but for the
 * neighbours' (15): its slice holds the history's category counts, for
 * ss_hist_neighbours.  scratch holds ss_hist_scratch_floats(C) floats.
 */
void		ss_hist_features(int C, const ss_hist_stats *s, const ss_batch *batch, int t, int b,
							 float *x, float *scratch);

/* floats of scratch ss_hist_neighbours needs for n_q queries */
int64_t		ss_hist_neighbours_floats(int64_t n_q);

/*
 * Feature 15 of n_q queries at once (x: n_q blocks of SS_HIST_FEATURES x C,
 * as ss_hist_features left them; keys[i]: query i's client key, 0 = none):
 * the similarities of every query with every stored client in one matrix
 * product, then each query's SS_HIST_TOP most similar (itself excluded).
 * Polls for an interrupt (interrupt.h) between queries: when cut short,
 * feature 15 of the queries is undefined.
 */
void		ss_hist_neighbours(int C, const ss_hist_stats *s, int n_q, const uint32_t *keys,
							   float *x, float *scratch);

/*
 * A history head's weights are stored divided by this: Adam's steps are
 * then that much larger for them than for a network's weights, so that the
 * head reaches counting's weights (units of log-odds) within an epoch.
 */
#define SS_HEAD_SCALE 10.0f

/* NULL, or why the ranker / hybrid cannot serve these dimensions (arch.h, check) */
const char *ss_hist_check(const ss_dims *d);

/*
 * The history head of the n_q query rows (qt, qb) of a batch, as the ranker
 * and the hybrid run it: the features of every query into x (n_q blocks of
 * SS_HIST_FEATURES x C, kept for the backward pass), then
 * logits[i][c] += sum_f SS_HEAD_SCALE head[f] x_f,c (head as stored).
 * scratch: ss_hist_scratch_floats(C); nb: ss_hist_neighbours_floats(n_q);
 * keys: n_q.  Returns 0 when interrupted (interrupt.h: the logits are not
 * to be read).
 */
int			ss_hist_head_forward(int C, const ss_hist_stats *s, const float *head,
								 const ss_batch *batch, int n_q, const int32_t *qt,
								 const int32_t *qb, float *x, float *scratch, float *nb,
								 uint32_t *keys, float *logits);

/*
 * grad_head[f] += SS_HEAD_SCALE sum_i,c dlogits[i][c] x_i,f,c after
 * ss_hist_head_forward; returns 0 when interrupted (nothing added).
 */
int			ss_hist_head_backward(int C, int n_q, const float *x, const float *dlogits,
								  float *grad_head);

#endif
