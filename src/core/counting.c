/*
 * counting.c - the counting baselines (see counting.h for the parameter
 * block, the scores and their float32 limits).
 *
 * Fitting is one pass over the fitting clients' events: class counts in
 * int64, transitions in the markov table itself, counted as uint32 in the
 * floats' bytes (memcpy, no aliasing) and turned into floats in place
 * afterwards, so the table needs no second copy of 4 C^2 bytes.  The
 * popularity ranks come from sorting the exact counts.
 *
 * Scoring writes scores[] and reads nothing else it could not share:
 * client_frequency counts the window in scores[] itself, marks the
 * categories it has given their recency term by a negative sign on the
 * way back through the window, and then settles every entry in one pass.
 *
 * The three architectures (arch.h) at the end only adapt a batch to that:
 * each query row's events as classes, one ss_counting_score per row.
 */
#include "counting.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch_impl.h"
#include "ss_alloc.h"
#include "windows.h"

/* events counted, or floats written, between two polls: a few ms */
#define POLL_EVENTS ((int64_t) 1 << 20)
#define POLL_FLOATS ((int64_t) 1 << 22)

const char *
ss_counting_check(ss_counting_kind k, int C)
{
	if (C < 1 || C > SS_COUNTING_MAX_CLASSES)
		return "number of categories out of range";
	if ((k == SS_COUNT_MARKOV || k == SS_COUNT_MARKOV_ORDER) && C > SS_COUNTING_MARKOV_MAX_CLASSES)
		return "too many categories for a markov model: at most 16000, as its transition "
			"table of 4 C^2 bytes must fit one value of 1 GB";
	return NULL;
}

int64_t
ss_counting_param_count(ss_counting_kind k, int C)
{
	return 2 * (int64_t) C + (k == SS_COUNT_MARKOV || k == SS_COUNT_MARKOV_ORDER ? (int64_t) C * C : 0);
}

/* ---------------------------------------------------------------- fitting */

static inline int
known(int32_t cls, int C)
{
	return cls >= 0 && cls < C;
}

/* table[i] += 1 on the uint32 stored in the float's bytes, saturating */
static inline void
bump(float *table, int64_t i)
{
	uint32_t	v;

	memcpy(&v, &table[i], sizeof(v));
	v += v != UINT32_MAX;
	memcpy(&table[i], &v, sizeof(v));
}

/* n floats set to 0 (the bit pattern of uint32 0 too); 0 if interrupted */
static int
zero_floats(float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i += POLL_FLOATS)
	{
		if (i > 0 && ss_interrupted())
			return 0;
		memset(x + i, 0, sizeof(float) * (size_t) (n - i < POLL_FLOATS ? n - i : POLL_FLOATS));
	}
	return 1;
}

/* the uint32 counts in x[0 .. n-1] turned into floats in place; 0 if interrupted */
static int
counts_to_floats(float *x, int64_t n)
{
	for (int64_t i0 = 0; i0 < n; i0 += POLL_FLOATS)
	{
		int64_t		i1 = n - i0 < POLL_FLOATS ? n : i0 + POLL_FLOATS;

		if (i0 > 0 && ss_interrupted())
			return 0;
		for (int64_t i = i0; i < i1; i++)
		{
			uint32_t	v;

			memcpy(&v, &x[i], sizeof(v));
			x[i] = (float) v;
		}
	}
	return 1;
}

typedef struct class_count
{
	int64_t		count;
	int32_t		cls;
} class_count;

/* popularity order: count descending, then class index */
static int
cmp_popularity(const void *pa, const void *pb)
{
	const class_count *a = pa;
	const class_count *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return (a->cls > b->cls) - (a->cls < b->cls);
}

/* count[C] and rank[C] of the parameter block from the exact counts */
static void
write_popularity(int C, const int64_t *counts, float *params)
{
	class_count *order = SS_NEW_ARRAY(class_count, C);

	for (int b = 0; b < C; b++)
	{
		order[b].count = counts[b];
		order[b].cls = b;
		params[b] = (float) counts[b];
	}
	qsort(order, (size_t) C, sizeof(class_count), cmp_popularity);
	for (int i = 0; i < C; i++)
		params[C + order[i].cls] = (float) i;
	ss_free(order);
}

/*
 * The distinct known classes of rows [r0, r1) into out (returns how many),
 * stamp[c] == mark marking those already taken (stamp: C entries)
 */
static int
order_classes(const int32_t *target, int64_t r0, int64_t r1, int C, int64_t *stamp, int64_t mark,
			  int32_t *out)
{
	int			n = 0;

	for (int64_t r = r0; r < r1; r++)
		if (known(target[r], C) && stamp[target[r]] != mark)
		{
			stamp[target[r]] = mark;
			out[n++] = target[r];
		}
	return n;
}

/*
 * markov_order's transitions: for each client, each pair of consecutive
 * orders (a, b), every distinct known class of a to every distinct known
 * class of b once.  0 when interrupted.
 */
static int
count_order_transitions(int C, const int32_t *target, const uint8_t *order_start,
						const int64_t *offsets, const int32_t *clients, int n_clients, float *trans)
{
	int64_t    *stamp = SS_NEW_ARRAY(int64_t, C);
	int32_t    *prev = SS_NEW_ARRAY(int32_t, C),
			   *cur = SS_NEW_ARRAY(int32_t, C);
	int64_t		work = 0,
				mark = 0;
	int			ok = 1;

	for (int64_t c = 0; c < C; c++)
		stamp[c] = -1;
	for (int i = 0; i < n_clients && ok; i++)
	{
		int64_t		r0 = offsets[clients[i]],
					r1 = offsets[clients[i] + 1];
		int			n_prev = 0;

		for (int64_t s = r0; s < r1;)
		{
			int64_t		e = s + 1;
			int			n_cur;
			int32_t    *tmp;

			while (e < r1 && order_start != NULL && !order_start[e])
				e++;
			n_cur = order_classes(target, s, e, C, stamp, mark++, cur);
			for (int a = 0; a < n_prev; a++)
				for (int b = 0; b < n_cur; b++)
					bump(trans, (int64_t) prev[a] * C + cur[b]);
			work += (e - s) + (int64_t) n_prev * n_cur;
			tmp = prev;
			prev = cur;
			cur = tmp;
			n_prev = n_cur;
			s = e;
		}
		if (work >= POLL_EVENTS)
		{
			work = 0;
			if (ss_interrupted())
				ok = 0;
		}
	}
	ss_free(stamp);
	ss_free(prev);
	ss_free(cur);
	return ok;
}

int
ss_counting_fit_orders(ss_counting_kind k, int C, const int32_t *target,
					   const uint8_t *order_start, const int64_t *offsets,
					   const int32_t *clients, int n_clients, float *params)
{
	float	   *trans = params + 2 * (int64_t) C;

	if (k != SS_COUNT_MARKOV_ORDER)
		return ss_counting_fit(k, C, target, offsets, clients, n_clients, params);
	/* the class counts and popularity as popularity's; the table then */
	if (!ss_counting_fit(SS_COUNT_POPULARITY, C, target, offsets, clients, n_clients, params))
		return 0;
	if (!zero_floats(trans, (int64_t) C * C))
		return 0;
	if (!count_order_transitions(C, target, order_start, offsets, clients, n_clients, trans))
		return 0;
	return counts_to_floats(trans, (int64_t) C * C);
}

int
ss_counting_fit(ss_counting_kind k, int C, const int32_t *target,
				const int64_t *offsets, const int32_t *clients, int n_clients,
				float *params)
{
	float	   *trans = k == SS_COUNT_MARKOV ? params + 2 * (int64_t) C : NULL;
	int64_t    *counts;
	int64_t		work = 0;

	if (trans != NULL && !zero_floats(trans, (int64_t) C * C))
		return 0;
	counts = SS_NEW_ARRAY(int64_t, C);
	for (int i = 0; i < n_clients; i++)
	{
		int64_t		r0 = offsets[clients[i]],
					r1 = offsets[clients[i] + 1];

		for (int64_t r = r0; r < r1; r++)
		{
			int32_t		b = target[r];

			if (!known(b, C))
				continue;
			counts[b]++;
			if (trans != NULL && r > r0 && known(target[r - 1], C))
				bump(trans, (int64_t) target[r - 1] * C + b);
		}
		work += r1 - r0;
		if (work >= POLL_EVENTS)
		{
			work = 0;
			if (ss_interrupted())
			{
				ss_free(counts);
				return 0;
			}
		}
	}
	write_popularity(C, counts, params);
	ss_free(counts);
	if (trans != NULL && !counts_to_floats(trans, (int64_t) C * C))
		return 0;
	return 1;
}

/* ---------------------------------------------------------------- scoring */

/* ceil(log2(m + 1)) for m >= 0 */
static int
bits_for(int64_t m)
{
	int			k = 0;

	while (((int64_t) 1 << k) < m + 1)
		k++;
	return k;
}

/*
 * The tie-break step for counts up to top (>= 1) and tie terms up to m:
 * 2^(E - 22) (E: 2^(E-1) <= top < 2^E) when that keeps the m-th term
 * below 1: every score exact and a relative 2^-22 from the next; else
 * 2^-(bits_for(m) + 1), tie terms below 1/2 (counting.h).
 */
static float
tie_step(float top, int64_t m)
{
	int			e;
	int			k = bits_for(m);

	(void) frexpf(top, &e);
	return ldexpf(1.0f, e - 22 <= -k ? e - 22 : -(k + 1));
}

/* the scale of the popularity term of the categories without a count */
static float
absent_step(int C)
{
	return ldexpf(1.0f, -(2 * bits_for(C) + 20));
}

/*
 * Scores from counts[C] (class counts, or a markov row), the rest by
 * popularity: count + lambda (C - rank) where counted, mu (C - rank)
 * elsewhere.  Returns 0, scores untouched, when every count is 0.
 */
static int
score_counts(int C, const float *counts, const float *rank, float *scores)
{
	const float mu = absent_step(C);
	float		top = 0.0f;
	float		lambda;

	for (int b = 0; b < C; b++)
		if (counts[b] > top)
			top = counts[b];
	if (top == 0.0f)
		return 0;
	lambda = tie_step(top, C);
	for (int b = 0; b < C; b++)
	{
		float		pop = (float) C - rank[b];

		scores[b] = counts[b] > 0.0f ? counts[b] + lambda * pop : mu * pop;
	}
	return 1;
}

static void
score_popularity(int C, const float *params, float *scores)
{
	const float mu = absent_step(C);

	/* no fitting event at all: the ranks alone */
	if (!score_counts(C, params, params + C, scores))
		for (int b = 0; b < C; b++)
			scores[b] = mu * ((float) C - params[C + b]);
}

static void
score_client_frequency(int C, const float *params, const int32_t *history, int n,
					   float *scores)
{
	const float *rank = params + C;
	const float mu = absent_step(C);
	int			distinct = 0;
	float		top = 0.0f;
	float		u;
	int			r;

	memset(scores, 0, sizeof(float) * (size_t) C);
	for (int i = 0; i < n; i++)
	{
		int32_t		b = history[i];

		if (!known(b, C))
			continue;
		distinct += scores[b] == 0.0f;
		scores[b] += 1.0f;
		if (scores[b] > top)
			top = scores[b];
	}
	if (distinct == 0)
	{
		score_popularity(C, params, scores);
		return;
	}

	/* back through the window: the most recent category gets r = d, the next d - 1 .. */
	u = tie_step(top, distinct);
	r = distinct;
	for (int i = n - 1; i >= 0; i--)
	{
		int32_t		b = history[i];

		if (known(b, C) && scores[b] > 0.0f)
		{
			scores[b] = -(scores[b] + u * (float) r);
			r--;
		}
	}
	for (int b = 0; b < C; b++)
		scores[b] = scores[b] < 0.0f ? -scores[b] : mu * ((float) C - rank[b]);
}

static void
score_markov(int C, const float *params, const int32_t *history, int n, float *scores)
{
	if (n == 0 || !known(history[n - 1], C) ||
		!score_counts(C, params + 2 * (int64_t) C + (int64_t) history[n - 1] * C, params + C,
					  scores))
		score_popularity(C, params, scores);
}

/* the summed transition rows of the distinct known classes of history (the previous order) */
static void
score_markov_order(int C, const float *params, const int32_t *history, int n, float *scores)
{
	const float *trans = params + 2 * (int64_t) C;
	int			rows = 0;

	memset(scores, 0, sizeof(float) * (size_t) C);
	for (int i = 0; i < n; i++)
	{
		int			seen = 0;

		if (!known(history[i], C))
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = history[j] == history[i];
		if (seen)
			continue;
		for (int b = 0; b < C; b++)
			scores[b] += trans[(int64_t) history[i] * C + b];
		rows++;
	}
	if (rows == 0 || !score_counts(C, scores, params + C, scores))
		score_popularity(C, params, scores);
}

void
ss_counting_score(ss_counting_kind k, int C, const float *params,
				  const int32_t *history, int n, float *scores)
{
	switch (k)
	{
		case SS_COUNT_POPULARITY:
			score_popularity(C, params, scores);
			break;
		case SS_COUNT_CLIENT_FREQUENCY:
			score_client_frequency(C, params, history, n, scores);
			break;
		case SS_COUNT_MARKOV:
			score_markov(C, params, history, n, scores);
			break;
		case SS_COUNT_MARKOV_ORDER:
			score_markov_order(C, params, history, n, scores);
			break;
	}
}

/* ---------------------------------------------------------------- as architectures (arch.h) */

enum
{
	WS_SCORES = 1, WS_QT, WS_QB, WS_HISTORY
};

/* the kind of a counted architecture (model.h) */
static ss_counting_kind
kind_of(const ss_dims *d)
{
	switch (d->arch)
	{
		case SS_ARCH_CLIENT_FREQUENCY:
			return SS_COUNT_CLIENT_FREQUENCY;
		case SS_ARCH_MARKOV:
			return SS_COUNT_MARKOV;
		case SS_ARCH_MARKOV_ORDER:
			return SS_COUNT_MARKOV_ORDER;
		default:
			return SS_COUNT_POPULARITY;
	}
}

static const char *
counting_check(const ss_dims *d)
{
	return ss_counting_check(kind_of(d), d->n_classes);
}

static int64_t
counting_param_count(const ss_dims *d)
{
	return ss_counting_param_count(kind_of(d), d->n_classes);
}

/* never used for a counted model (ss_train fits it); zeros, to be defined */
static void
counting_init(const ss_dims *d, float *params, ss_rng *rng)
{
	(void) rng;
	ss_copy_floats(params, NULL, counting_param_count(d));
}

static int64_t
counting_pack_floats(const ss_dims *d)
{
	(void) d;
	return 0;
}

/* what forward asks of each buffer; nothing more with backward (there is none) */
static void
counting_pass_bytes(const ss_dims *d, const ss_pass_shape *s, int with_backward,
					int64_t bytes[SS_WS_SLOTS])
{
	(void) with_backward;
	memset(bytes, 0, sizeof(int64_t) * SS_WS_SLOTS);
	bytes[WS_QT] = sizeof(int32_t) * (s->TB + 1);
	bytes[WS_QB] = sizeof(int32_t) * (s->TB + 1);
	bytes[WS_HISTORY] = sizeof(int32_t) * (s->T + 1);
	bytes[WS_SCORES] = sizeof(float) * s->n_q * d->n_classes;
}

/* the class of an embedding id (encode.h: class + 2; 1 unknown, 0 padding) */
static inline int32_t
class_of_id(int32_t id)
{
	return id >= SS_N_RESERVED ? id - SS_N_RESERVED : -1;
}

/*
 * Scores of the query rows: a query at position t of sequence b sees its
 * events 0 .. t (client_frequency all of them, markov the last,
 * markov_order those of the order of the last, by the batch's order_start,
 * popularity none).  Dropout and rng are ignored: counting has no training mode.
 */
static int
counting_forward(const ss_dims *d, const float *params, const ss_batch *batch,
				 ss_query_mode mode, float dropout, ss_rng *rng, ss_workspace *ws,
				 float **scores_out, const int32_t **qt_out, const int32_t **qb_out)
{
	const ss_counting_kind k = kind_of(d);
	const int	B = batch->B,
				T = batch->T,
				C = d->n_classes;
	const int64_t TB = (int64_t) T * B;
	int32_t    *qt = (int32_t *) ss_ws_get(ws, WS_QT, sizeof(int32_t) * (TB + 1));
	int32_t    *qb = (int32_t *) ss_ws_get(ws, WS_QB, sizeof(int32_t) * (TB + 1));
	int32_t    *history = (int32_t *) ss_ws_get(ws, WS_HISTORY, sizeof(int32_t) * (T + 1));
	float	   *scores;
	int			n_q;

	(void) dropout;
	(void) rng;
	ws->train = 0;
	ws->dropout = 0.0f;
	n_q = ss_queries_of(batch, mode, qt, qb);
	ws->n_q = n_q;
	scores = SS_WSF(ws, WS_SCORES, (int64_t) n_q * C);
	for (int i = 0; i < n_q; i++)
	{
		const int	b = qb[i],
					n = qt[i] + 1;
		int			m = k == SS_COUNT_CLIENT_FREQUENCY ? n : k == SS_COUNT_MARKOV && n > 0;

		if (k == SS_COUNT_MARKOV_ORDER)
			/* back to the first event of the last event's order */
			for (m = n > 0; m < n && !batch->order_start[(int64_t) (n - m) * B + b]; m++)
				;

		if (ss_row_poll(i, C))
		{
			ws->n_q = n_q = 0;
			break;
		}
		for (int s = 0; s < m; s++)
			history[s] = class_of_id(batch->cat[(int64_t) (n - m + s) * B + b]);
		ss_counting_score(k, C, params, history, m, scores + (int64_t) i * C);
	}
	*scores_out = scores;
	if (qt_out)
		*qt_out = qt;
	if (qb_out)
		*qb_out = qb;
	return n_q;
}

static const char *
counting_fit(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
			 float *params)
{
	const char *err = counting_check(d);

	if (err != NULL)
		return err;
	(void) ss_counting_fit_orders(kind_of(d), d->n_classes, data->target, data->order_start,
								  data->offsets, fit, n_fit, params);
	return NULL;
}

#define COUNTING_ARCH(sql_name, what, id) { \
	.name = sql_name, \
	.description = what, \
	.blob_id = id, \
	.output = SS_OUTPUT_SCORES, \
	.one_target_per_window = 0, \
	.check = counting_check, \
	.param_count = counting_param_count, \
	.init = counting_init, \
	.pack_floats = counting_pack_floats, \
	.pass_bytes = counting_pass_bytes, \
	.forward = counting_forward, \
	.backward = NULL, \
	.fit = counting_fit, \
}

const ss_arch ss_arch_popularity =
COUNTING_ARCH("popularity", "category counts of the fitting clients", 3);
const ss_arch ss_arch_client_frequency =
COUNTING_ARCH("client_frequency", "category counts of the client's window, then popularity", 4);
const ss_arch ss_arch_markov =
COUNTING_ARCH("markov", "transitions from the last category, then popularity", 5);
const ss_arch ss_arch_markov_order =
COUNTING_ARCH("markov", "transitions from the previous order's categories, then popularity", 261);
