/*
 * test_counting.c - the counting baselines (counting.h): hand-counted
 * parameters and orders on a tiny data set; on a random one, the order of
 * the scores against a direct transcription of the reference's lexsort
 * rules (anchors/torch_ref/baselines.py) for every history, directly and
 * through the engine as architectures (training, prediction, the blob);
 * the float32 limits of the tie-breaks; probabilities; interrupts; the
 * speed of a fit.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "../../src/core/arch.h"
#include "../../src/core/blob.h"
#include "../../src/core/counting.h"
#include "../../src/core/interrupt.h"
#include "../../src/core/metrics.h"
#include "../../src/core/predict.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/train.h"
#include "../../src/core/windows.h"

extern const ss_arch ss_arch_markov;

static const char *const kind_name[] = {"popularity", "client_frequency", "markov"};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ranking of the prediction path: score descending, ties by lower class index */
static const float *sort_scores;

static int
cmp_by_score(const void *pa, const void *pb)
{
	int			a = *(const int *) pa;
	int			b = *(const int *) pb;

	if (sort_scores[a] != sort_scores[b])
		return sort_scores[a] > sort_scores[b] ? -1 : 1;
	return a - b;
}

static void
order_of_scores(const float *scores, int C, int *order)
{
	for (int b = 0; b < C; b++)
		order[b] = b;
	sort_scores = scores;
	qsort(order, (size_t) C, sizeof(int), cmp_by_score);
}

static float *
fit_new(ss_counting_kind k, int C, const int32_t *target, const int64_t *offsets,
		const int32_t *clients, int n_clients)
{
	float	   *p = ss_alloc(sizeof(float) * (size_t) ss_counting_param_count(k, C));

	memset(p, 0xff, sizeof(float) * (size_t) ss_counting_param_count(k, C));	/* NaNs */
	if (!ss_counting_fit(k, C, target, offsets, clients, n_clients, p))
		CHECK(0, "counting: an uninterrupted fit says it was interrupted");
	return p;
}

/*
 * Scores of history for kind k, and in order the ranking of the prediction
 * path: shares of the sum (in double, stored as float, as predict.c), then
 * descending, ties by lower index.  Returns 1 when every score is >= 0 and
 * the raw scores rank the same.
 */
static int
order_of(ss_counting_kind k, int C, const float *params, const int32_t *h, int n,
		 float *scores, int *order)
{
	float	   *shares = ss_alloc(sizeof(float) * (size_t) C);
	int		   *raw = ss_alloc(sizeof(int) * (size_t) C);
	double		sum = 0.0;
	int			ok = 1;

	ss_counting_score(k, C, params, h, n, scores);
	for (int b = 0; b < C; b++)
	{
		ok &= scores[b] >= 0.0f;
		sum += scores[b];
	}
	for (int b = 0; b < C; b++)
		shares[b] = sum > 0.0 ? (float) (scores[b] / sum) : 1.0f / C;
	order_of_scores(scores, C, raw);
	order_of_scores(shares, C, order);
	ok &= memcmp(raw, order, sizeof(int) * (size_t) C) == 0;
	ss_free(shares);
	ss_free(raw);
	return ok;
}

/* ---------------------------------------------------------------- by hand */

/*
 * C = 4, four clients, client 3 left out of the fitting:
 *
 *   client 0:  1 2 1 0
 *   client 1:  1 2 1 3
 *   client 2:  3 ? 3 2 1 0        (? = unknown, -1)
 *   client 3:  0 0 0 0            (not fitted)
 *
 * counts: 0: 1 + 1 = 2;  1: 2 + 2 + 1 = 5;  2: 1 + 1 + 1 = 3;  3: 1 + 2 = 3
 * (13 known events).  Popularity order 1 (5), 2 (3), 3 (3, tie with 2 by
 * index), 0 (2): ranks 0: 3, 1: 0, 2: 1, 3: 2.
 *
 * transitions (consecutive known events; 3 -> ? and ? -> 3 count nothing):
 *   client 0: 1->2, 2->1, 1->0;  client 1: 1->2, 2->1, 1->3;
 *   client 2: 3->2, 2->1, 1->0
 *   row 0: 0 0 0 0   (0 only ever ends a client: no outgoing transition)
 *   row 1: 2 0 2 1   row 2: 0 3 0 0   row 3: 0 0 1 0
 *
 * orders (all four):
 *   popularity              1 2 3 0
 *   markov  after [2 1]     row 1: 0 and 2 tie at 2, 2 more popular: 2 0;
 *                           then 3 (1), then 1 (0): 2 0 3 1  (by index
 *                           alone it would be 0 2 3 1)
 *   markov  after [1 3]     row 3: 2, then 1 3 0 by popularity: 2 1 3 0
 *   markov  after [1 0]     row 0 empty: popularity 1 2 3 0
 *   markov  after [1 ?]     last category unknown: popularity 1 2 3 0 (not
 *                           row 1: the last event decides, known or not)
 *   markov  after []        popularity
 *   client_frequency [2 3 2 3 0]
 *                           counts 2: 2, 3: 2, 0: 1; 3 last at 3, 2 at 2:
 *                           3 2, then 0, then 1: 3 2 0 1  (popularity and
 *                           index would put 2 before 3)
 *   client_frequency [0 ? 3]
 *                           0 and 3 once, 3 more recent: 3 0, then 1 2 by
 *                           popularity: 3 0 1 2
 *   client_frequency [0]    0, then 1 2 3: 0 1 2 3
 *   client_frequency [? ?]  nothing known: popularity 1 2 3 0
 */
static void
test_by_hand(void)
{
	const int32_t target[] = {1, 2, 1, 0, 1, 2, 1, 3, 3, -1, 3, 2, 1, 0, 0, 0, 0, 0};
	const int64_t offsets[] = {0, 4, 8, 14, 18};
	const int32_t clients[] = {2, 0, 1};
	const float counts[4] = {2, 5, 3, 3};
	const float ranks[4] = {3, 0, 1, 2};
	const float trans[16] = {0, 0, 0, 0, 2, 0, 2, 1, 0, 3, 0, 0, 0, 0, 1, 0};
	struct
	{
		ss_counting_kind k;
		int			n;
		int32_t		h[5];
		int			expect[4];
		const char *what;
	}			cases[] = {
		{SS_COUNT_POPULARITY, 2, {3, 3}, {1, 2, 3, 0}, "popularity"},
		{SS_COUNT_POPULARITY, 0, {0}, {1, 2, 3, 0}, "popularity, empty history"},
		{SS_COUNT_MARKOV, 2, {2, 1}, {2, 0, 3, 1}, "markov after 1: a tie of transitions by popularity"},
		{SS_COUNT_MARKOV, 2, {1, 3}, {2, 1, 3, 0}, "markov after 3: the rest by popularity"},
		{SS_COUNT_MARKOV, 2, {1, 0}, {1, 2, 3, 0}, "markov after 0: empty transition row, popularity"},
		{SS_COUNT_MARKOV, 2, {1, -1}, {1, 2, 3, 0}, "markov after an unknown category: popularity"},
		{SS_COUNT_MARKOV, 2, {1, 7}, {1, 2, 3, 0}, "markov after a class out of range: popularity"},
		{SS_COUNT_MARKOV, 0, {0}, {1, 2, 3, 0}, "markov, empty history: popularity"},
		{SS_COUNT_CLIENT_FREQUENCY, 5, {2, 3, 2, 3, 0}, {3, 2, 0, 1}, "client_frequency: a tie of counts by recency"},
		{SS_COUNT_CLIENT_FREQUENCY, 3, {0, -1, 3}, {3, 0, 1, 2}, "client_frequency with an unknown category"},
		{SS_COUNT_CLIENT_FREQUENCY, 1, {0}, {0, 1, 2, 3}, "client_frequency: the rest by popularity"},
		{SS_COUNT_CLIENT_FREQUENCY, 2, {-1, -1}, {1, 2, 3, 0}, "client_frequency, nothing known: popularity"},
		{SS_COUNT_CLIENT_FREQUENCY, 0, {0}, {1, 2, 3, 0}, "client_frequency, empty history: popularity"},
	};
	float	   *p[3];
	float		scores[4];
	int			order[4];

	for (int k = 0; k < 3; k++)
		p[k] = fit_new((ss_counting_kind) k, 4, target, offsets, clients, 3);
	CHECK(ss_counting_param_count(SS_COUNT_POPULARITY, 4) == 8 &&
		  ss_counting_param_count(SS_COUNT_CLIENT_FREQUENCY, 4) == 8 &&
		  ss_counting_param_count(SS_COUNT_MARKOV, 4) == 24,
		  "counting: parameter blocks of 2 C and 2 C + C^2 floats");
	CHECK(memcmp(p[0], counts, sizeof(counts)) == 0 && memcmp(p[0] + 4, ranks, sizeof(ranks)) == 0 &&
		  memcmp(p[1], p[0], 8 * sizeof(float)) == 0 && memcmp(p[2], p[0], 8 * sizeof(float)) == 0,
		  "counting: class counts and popularity ranks by hand (client 3 left out, unknown skipped)");
	CHECK(memcmp(p[2] + 8, trans, sizeof(trans)) == 0,
		  "counting: markov transitions by hand (none across an unknown event)");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int			ok = order_of(cases[i].k, 4, p[cases[i].k], cases[i].h, cases[i].n, scores, order);

		CHECK(ok && memcmp(order, cases[i].expect, sizeof(order)) == 0,
			  "counting by hand: %s: %d %d %d %d (expected %d %d %d %d)", cases[i].what,
			  order[0], order[1], order[2], order[3], cases[i].expect[0], cases[i].expect[1],
			  cases[i].expect[2], cases[i].expect[3]);
	}

	/* probabilities = score / sum */
	{
		const int32_t h_markov[] = {2, 1};
		const int32_t h_freq[] = {2, 3, 2, 3, 0};
		const double p_markov[4] = {0.4, 0.0, 0.4, 0.2};
		const double p_freq[4] = {0.2, 0.0, 0.4, 0.4};
		double		sum,
					err_pop = 0,
					err_markov = 0,
					err_freq = 0;

		ss_counting_score(SS_COUNT_POPULARITY, 4, p[0], NULL, 0, scores);
		sum = scores[0] + scores[1] + scores[2] + scores[3];
		for (int b = 0; b < 4; b++)
			err_pop = fmax(err_pop, fabs(scores[b] / sum - counts[b] / 13.0));
		ss_counting_score(SS_COUNT_MARKOV, 4, p[2], h_markov, 2, scores);
		sum = scores[0] + scores[1] + scores[2] + scores[3];
		for (int b = 0; b < 4; b++)
			err_markov = fmax(err_markov, fabs(scores[b] / sum - p_markov[b]));
		ss_counting_score(SS_COUNT_CLIENT_FREQUENCY, 4, p[1], h_freq, 5, scores);
		sum = scores[0] + scores[1] + scores[2] + scores[3];
		for (int b = 0; b < 4; b++)
			err_freq = fmax(err_freq, fabs(scores[b] / sum - p_freq[b]));
		CHECK(err_pop < 1e-5 && err_markov < 1e-5 && err_freq < 1e-5,
			  "counting: score / sum is the share of fitting events (off %.1e), of transitions "
			  "from the last category (%.1e), of the window (%.1e)", err_pop, err_markov, err_freq);
	}
	for (int k = 0; k < 3; k++)
		ss_free(p[k]);
}

/* ---------------------------------------------------------------- against the reference's rules */

static uint64_t rng_state;

static uint32_t
next_u32(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t) ((rng_state * 2685821657736338717ULL) >> 32);
}

static double
uniform(void)
{
	return next_u32() / 4294967296.0;
}

/*
 * The reference's orders, written from baselines.py independently of
 * counting.c: integer counts, each order a stable sort on a tuple of
 * integer keys (np.lexsort, the last key of its argument first).
 */
#define NKEY 3
typedef struct keyed
{
	int64_t		key[NKEY];
	int			cls;
} keyed;

static int
cmp_keyed(const void *pa, const void *pb)
{
	const keyed *a = pa;
	const keyed *b = pb;

	for (int j = 0; j < NKEY; j++)
		if (a->key[j] != b->key[j])
			return a->key[j] < b->key[j] ? -1 : 1;
	return a->cls - b->cls;		/* stable */
}

static void
lexsort(keyed *rows, int C, int *order)
{
	for (int b = 0; b < C; b++)
		rows[b].cls = b;
	qsort(rows, (size_t) C, sizeof(keyed), cmp_keyed);
	for (int b = 0; b < C; b++)
		order[b] = rows[b].cls;
}

typedef struct reference
{
	int			C;
	int64_t    *counts;
	int64_t    *trans;			/* C x C */
	int64_t    *pop_pos;
	int		   *pop_order;
} reference;

static void
reference_fit(reference *ref, int C, const int32_t *target, const int64_t *offsets,
			  const int32_t *clients, int n_clients)
{
	keyed	   *rows = SS_NEW_ARRAY(keyed, C);

	ref->C = C;
	ref->counts = SS_NEW_ARRAY(int64_t, C);
	ref->trans = SS_NEW_ARRAY(int64_t, (int64_t) C * C);
	ref->pop_pos = SS_NEW_ARRAY(int64_t, C);
	ref->pop_order = SS_NEW_ARRAY(int, C);
	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		for (int64_t r = offsets[c]; r < offsets[c + 1]; r++)
		{
			if (target[r] < 0)
				continue;
			ref->counts[target[r]]++;
			if (r > offsets[c] && target[r - 1] >= 0)
				ref->trans[(int64_t) target[r - 1] * C + target[r]]++;
		}
	}
	/* pop_order = argsort(-counts, kind="stable") */
	for (int b = 0; b < C; b++)
	{
		rows[b].key[0] = -ref->counts[b];
		rows[b].key[1] = rows[b].key[2] = 0;
	}
	lexsort(rows, C, ref->pop_order);
	for (int i = 0; i < C; i++)
		ref->pop_pos[ref->pop_order[i]] = i;
	ss_free(rows);
}

static void
reference_free(reference *ref)
{
	ss_free(ref->counts);
	ss_free(ref->trans);
	ss_free(ref->pop_pos);
	ss_free(ref->pop_order);
}

/*
 * The reference's order of the class after window win[0 .. n-1]; returns
 * how many neighbours in it have equal first keys but are out of index
 * order (where its tie-break decided what the index would not).
 */
static int
reference_order(const reference *ref, ss_counting_kind k, const int32_t *win, int n, int *order)
{
	const int	C = ref->C;
	keyed	   *rows = SS_NEW_ARRAY(keyed, C);
	int64_t    *h_counts = SS_NEW_ARRAY(int64_t, C);
	int64_t    *last_pos = SS_NEW_ARRAY(int64_t, C);
	int			m = 0,
				decided = 0,
				keyed_sort = 0;

	/* hist = window[window >= 0]; bincount; maximum.at(last_pos, hist, arange) */
	for (int b = 0; b < C; b++)
		last_pos[b] = -1;
	for (int i = 0; i < n; i++)
		if (win[i] >= 0)
		{
			h_counts[win[i]]++;
			last_pos[win[i]] = m++;
		}
	if (k == SS_COUNT_POPULARITY)
		memcpy(order, ref->pop_order, sizeof(int) * C);
	else if (k == SS_COUNT_CLIENT_FREQUENCY)
	{
		/* lexsort((pop_pos, -last_pos, -h_counts)) */
		for (int b = 0; b < C; b++)
		{
			rows[b].key[0] = -h_counts[b];
			rows[b].key[1] = -last_pos[b];
			rows[b].key[2] = ref->pop_pos[b];
		}
		lexsort(rows, C, order);
		keyed_sort = 1;
	}
	else
	{
		/* a = window[-1]; row = trans[a] if a >= 0; lexsort((pop_pos, -row)) if row.sum() > 0 */
		int			a = n > 0 ? win[n - 1] : -1;
		int64_t		total = 0;

		for (int b = 0; a >= 0 && b < C; b++)
			total += ref->trans[(int64_t) a * C + b];
		if (total == 0)
			memcpy(order, ref->pop_order, sizeof(int) * C);
		else
		{
			for (int b = 0; b < C; b++)
			{
				rows[b].key[0] = -ref->trans[(int64_t) a * C + b];
				rows[b].key[1] = ref->pop_pos[b];
				rows[b].key[2] = 0;
			}
			lexsort(rows, C, order);
			keyed_sort = 1;
		}
	}
	for (int i = 0; keyed_sort && i + 1 < C; i++)
		decided += rows[i].key[0] == rows[i + 1].key[0] && rows[i].cls > rows[i + 1].cls;
	ss_free(rows);
	ss_free(h_counts);
	ss_free(last_pos);
	return decided;
}

/*
 * C = 30, 400 clients of 2 to 60 events: categories drawn skewed (low
 * classes frequent), a client's earlier category repeated half the time
 * (windows with repeats and ties), 4% unknown events; two thirds of the
 * clients fitted, and those never buy classes 27 to 29 (no count, no
 * transition row), which the others do.
 */
#define R_C 30
#define R_CLIENTS 400
#define R_MAX_LEN 12

typedef struct sample_data
{
	int64_t    *offsets;
	int32_t    *target;
	int32_t    *fit;
	int32_t    *rest;			/* the clients not fitted */
	int			n_fit,
				n_rest;
} sample_data;

static void
sample_data_make(sample_data *r)
{
	r->offsets = SS_NEW_ARRAY(int64_t, R_CLIENTS + 1);
	r->target = SS_NEW_ARRAY(int32_t, R_CLIENTS * 60);
	r->fit = SS_NEW_ARRAY(int32_t, R_CLIENTS);
	r->rest = SS_NEW_ARRAY(int32_t, R_CLIENTS);
	r->n_fit = r->n_rest = 0;
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int c = 0; c < R_CLIENTS; c++)
	{
		int			n = 2 + (int) (uniform() * 59);
		int			fitted = c % 3 != 2;
		int64_t		o = r->offsets[c];

		for (int i = 0; i < n; i++)
		{
			int32_t		y;

			if (uniform() < 0.04)
				y = -1;
			else if (i > 0 && uniform() < 0.5)
			{
				y = r->target[o + (int64_t) (uniform() * i)];
				if (y < 0)
					y = 0;
			}
			else
				y = (int32_t) ((fitted ? 27 : 30) * pow(uniform(), 2.5));
			r->target[o + i] = y;
		}
		r->offsets[c + 1] = o + n;
		if (fitted)
			r->fit[r->n_fit++] = c;
		else
			r->rest[r->n_rest++] = c;
	}
}

static void
sample_data_free(sample_data *r)
{
	ss_free(r->offsets);
	ss_free(r->target);
	ss_free(r->fit);
	ss_free(r->rest);
}

/* Every prefix of every client, in windows of its last R_MAX_LEN events, is a history. */
static void
test_against_reference(void)
{
	const int	C = R_C;
	sample_data rd;
	reference	ref;
	float		scores[R_C];
	int			mine[R_C],
				theirs[R_C];

	sample_data_make(&rd);
	reference_fit(&ref, C, rd.target, rd.offsets, rd.fit, rd.n_fit);
	for (int k = 0; k < 3; k++)
	{
		float	   *p = fit_new((ss_counting_kind) k, C, rd.target, rd.offsets, rd.fit, rd.n_fit);
		int64_t		histories = 0,
					same = 0,
					nonneg = 0,
					cut_ties = 0,
					targets = 0,
					ranked = 0;
		int			counts_ok = 1;

		for (int b = 0; b < C; b++)
			counts_ok &= p[b] == (float) ref.counts[b] && p[C + b] == (float) ref.pop_pos[b];
		for (int64_t i = 0; k == SS_COUNT_MARKOV && i < (int64_t) C * C; i++)
			counts_ok &= p[2 * C + i] == (float) ref.trans[i];
		for (int c = 0; c < R_CLIENTS; c++)
			for (int64_t t = rd.offsets[c]; t <= rd.offsets[c + 1]; t++)
			{
				int64_t		s = t - R_MAX_LEN > rd.offsets[c] ? t - R_MAX_LEN : rd.offsets[c];
				int			n = (int) (t - s);

				nonneg += order_of((ss_counting_kind) k, C, p, rd.target + s, n, scores, mine);
				cut_ties += reference_order(&ref, (ss_counting_kind) k, rd.target + s, n, theirs);
				same += memcmp(mine, theirs, sizeof(mine)) == 0;
				histories++;
				/* the metrics' rank of the next event (ties against it) = its reference position */
				if (t < rd.offsets[c + 1] && rd.target[t] >= 0)
				{
					float		sh[R_C];
					double		sum = 0.0;
					int			pos = 0;

					for (int b = 0; b < C; b++)
						sum += scores[b];
					for (int b = 0; b < C; b++)
						sh[b] = (float) (scores[b] / sum);
					while (theirs[pos] != rd.target[t])
						pos++;
					ranked += ss_target_rank(sh, C, rd.target[t]) == pos + 1;
					targets++;
				}
			}
		CHECK(counts_ok && same == histories && nonneg == histories && ranked == targets,
			  "counting vs the reference's rules, %s: parameters equal its counts; the whole order "
			  "of %lld of %lld histories equal (%lld ties decided against the index); scores >= 0 "
			  "and ranked alike raw and as shares; the metrics' rank of %lld of %lld next events "
			  "is their reference position",
			  kind_name[k], (long long) same, (long long) histories, (long long) cut_ties,
			  (long long) ranked, (long long) targets);
		ss_free(p);
	}
	reference_free(&ref);
	sample_data_free(&rd);
}

/* ---------------------------------------------------------------- as architectures */

static pthread_t main_thread;
static int	off_main_allocs;

static void *
watched_alloc(size_t size)
{
	if (!pthread_equal(pthread_self(), main_thread))
		__atomic_add_fetch(&off_main_allocs, 1, __ATOMIC_RELAXED);
	return malloc(size ? size : 1);
}

/* the random data set as the engine's dataset (no features, no numerics) */
static ss_dataset *
dataset_of(const sample_data *rd)
{
	ss_dataset *d = SS_NEW_ARRAY(ss_dataset, 1);
	int64_t		n = rd->offsets[R_CLIENTS];

	d->n_clients = R_CLIENTS;
	d->n_events = n;
	d->offsets = rd->offsets;
	d->target = rd->target;
	d->cat_in = SS_NEW_ARRAY(int32_t, n);
	d->feat_in = SS_NEW_ARRAY(int32_t, 1);
	d->num_in = SS_NEW_ARRAY(float, 1);
	for (int64_t i = 0; i < n; i++)
		d->cat_in[i] = rd->target[i] >= 0 ? rd->target[i] + SS_N_RESERVED : 1;
	return d;
}

/*
 * Through the engine: ss_dims_finish's check, ss_train (the fit, then the
 * validation's forward over every target), ss_predict_batch(es) on the
 * protocol's test windows (every client's last 12 events before its last),
 * a forward pass over every target position, and the blob.
 */
static void
test_as_architecture(void)
{
	sample_data rd;
	reference	ref;
	ss_dataset *data;
	ss_window  *w = SS_NEW_ARRAY(ss_window, R_CLIENTS);
	ss_window  *all = SS_NEW_ARRAY(ss_window, R_CLIENTS);
	float	   *probs = SS_NEW_ARRAY(float, R_CLIENTS * R_C);
	float	   *halves[2];
	float		shares[R_C];
	int			theirs[R_C],
				mine[R_C];
	ss_dims		d;
	const char *err;
	int			id = -1;

	sample_data_make(&rd);
	reference_fit(&ref, R_C, rd.target, rd.offsets, rd.fit, rd.n_fit);
	data = dataset_of(&rd);
	for (int c = 0; c < R_CLIENTS; c++)
	{
		w[c].end = rd.offsets[c + 1] - 1;
		w[c].start = w[c].end - R_MAX_LEN > rd.offsets[c] ? w[c].end - R_MAX_LEN : rd.offsets[c];
		w[c].first_target = w[c].end;
		all[c].start = rd.offsets[c];
		all[c].end = rd.offsets[c] + R_MAX_LEN < w[c].end ? rd.offsets[c] + R_MAX_LEN : w[c].end;
		all[c].first_target = all[c].start + 1;
	}
	halves[0] = probs;
	halves[1] = probs + (R_CLIENTS / 2) * R_C;

	CHECK(ss_arch_by_name("markov", &id) == &ss_arch_markov && id == SS_ARCH_MARKOV &&
		  ss_arch_by_name("client_frequency", &id) != NULL && id == SS_ARCH_CLIENT_FREQUENCY &&
		  ss_arch_by_name("popularity", &id) != NULL && id == SS_ARCH_POPULARITY &&
		  strstr(ss_arch_names(), "popularity, client_frequency, markov") != NULL,
		  "counting archs: found by name (%s)", ss_arch_names());
	memset(&d, 0, sizeof(d));
	d.arch = SS_ARCH_MARKOV;
	d.n_classes = SS_COUNTING_MARKOV_MAX_CLASSES + 1;
	d.hidden = d.layers = d.attn = 1;
	err = ss_dims_finish(&d, 1.0);
	CHECK(err != NULL && strstr(err, "markov") != NULL,
		  "counting archs: ss_dims_finish refuses markov at %d classes: %s",
		  SS_COUNTING_MARKOV_MAX_CLASSES + 1, err ? err : "(accepted)");

	for (int k = 0; k < 3; k++)
	{
		ss_train_options o;
		ss_train_result res;
		float	   *direct = fit_new((ss_counting_kind) k, R_C, rd.target, rd.offsets, rd.fit, rd.n_fit);
		ss_batch   *batch,
				   *parts[2];
		ss_workspace *ws,
				   *part_ws[2];
		float	   *scores;
		const int32_t *qt,
				   *qb;
		int			same = 0,
					equal = 0,
					queries_ok = 1,
					n_q,
					ok;
		int64_t		targets;
		float	   *decoded = NULL;
		ss_dims		d2;
		uint8_t    *blob;
		size_t		len;

		memset(&d, 0, sizeof(d));
		d.arch = SS_ARCH_POPULARITY + k;
		d.n_classes = R_C;
		d.hidden = d.layers = d.attn = 1;
		err = ss_dims_finish(&d, 1.0);
		ss_train_options_default(&o);
		o.max_length = R_MAX_LEN;
		if (err == NULL)
			err = ss_train(&d, data, rd.fit, rd.n_fit, rd.rest, rd.n_rest, &o, NULL, &res);
		CHECK(err == NULL && res.n_params == ss_counting_param_count((ss_counting_kind) k, R_C) &&
			  memcmp(res.params, direct, sizeof(float) * (size_t) res.n_params) == 0 &&
			  res.epochs_run == 1 && res.best_validation_hit3 > 0.0 && res.best_validation_hit3 < 1.0,
			  "counting arch %s: ss_train fits the parameters of ss_counting_fit; validation Hit@3 %.3f",
			  kind_name[k], err ? 0.0 : res.best_validation_hit3);
		if (err != NULL)
		{
			ss_free(direct);
			continue;
		}

		/* prediction on the test windows, the whole order against the reference's */
		batch = ss_batch_new(&d, R_CLIENTS, R_MAX_LEN);
		ws = ss_workspace_new();
		ss_fill_batch(data, w, R_CLIENTS, 0, batch);
		ok = ss_predict_batch(&d, res.params, batch, ws, probs);
		for (int b = 0; b < R_CLIENTS; b++)
		{
			const ss_window *wi = &w[batch->origin[b]];
			int			n = (int) (wi->end - wi->start);
			double		sum = 0.0;

			reference_order(&ref, (ss_counting_kind) k, rd.target + wi->start, n, theirs);
			order_of_scores(probs + (int64_t) b * R_C, R_C, mine);
			same += memcmp(mine, theirs, sizeof(mine)) == 0;
			ss_counting_score((ss_counting_kind) k, R_C, direct, rd.target + wi->start, n, shares);
			for (int c = 0; c < R_C; c++)
				sum += shares[c];
			for (int c = 0; c < R_C; c++)
				shares[c] = (float) (shares[c] / sum);
			equal += memcmp(shares, probs + (int64_t) b * R_C, sizeof(shares)) == 0;
		}
		CHECK(ok && same == R_CLIENTS && equal == R_CLIENTS,
			  "counting arch %s: ss_predict_batch on %d test windows: the reference's whole order "
			  "for %d, the shares of ss_counting_score's scores for %d",
			  kind_name[k], R_CLIENTS, same, equal);

		/* two threads, no allocation on the worker */
		for (int i = 0; i < 2; i++)
		{
			parts[i] = ss_batch_new(&d, R_CLIENTS / 2, R_MAX_LEN);
			part_ws[i] = ss_workspace_new();
			ss_fill_batch(data, w + i * (R_CLIENTS / 2), R_CLIENTS / 2, 0, parts[i]);
		}
		main_thread = pthread_self();
		off_main_allocs = 0;
		ss_set_allocator(watched_alloc, NULL);
		ok = ss_predict_batches(&d, res.params, parts, part_ws, halves, 2);
		ss_set_allocator(NULL, NULL);
		same = 0;
		for (int i = 0; i < 2; i++)
			for (int b = 0; b < R_CLIENTS / 2; b++)
			{
				const ss_window *wi = &w[i * (R_CLIENTS / 2) + parts[i]->origin[b]];

				reference_order(&ref, (ss_counting_kind) k, rd.target + wi->start,
								(int) (wi->end - wi->start), theirs);
				order_of_scores(halves[i] + (int64_t) b * R_C, R_C, mine);
				same += memcmp(mine, theirs, sizeof(mine)) == 0;
			}
		CHECK(ok && same == R_CLIENTS && off_main_allocs == 0,
			  "counting arch %s: ss_predict_batches on 2 threads: %d of %d orders the reference's, "
			  "%d allocations off the calling thread", kind_name[k], same, R_CLIENTS, off_main_allocs);

		/* every target position of each client's first window: the scores of its prefix */
		targets = ss_fill_batch(data, all, R_CLIENTS, 1, batch);
		n_q = ss_model_forward(&d, res.params, batch, SS_QUERY_TARGETS, 0.0f, NULL, ws, &scores, &qt, &qb);
		for (int i = 0; i < n_q && queries_ok; i++)
		{
			const ss_window *wi = &all[batch->origin[qb[i]]];

			ss_counting_score((ss_counting_kind) k, R_C, direct, rd.target + wi->start, qt[i] + 1,
							  shares);
			queries_ok = memcmp(shares, scores + (int64_t) i * R_C, sizeof(shares)) == 0;
		}
		CHECK(n_q == targets && queries_ok,
			  "counting arch %s: a forward pass over %d target positions scores each from the events "
			  "up to it", kind_name[k], n_q);

		/* the blob */
		len = ss_blob_size(&d);
		blob = ss_alloc(len);
		ss_blob_encode(&d, res.params, blob);
		err = ss_blob_decode(blob, len, &d2, &decoded);
		CHECK(err == NULL && d2.arch == d.arch && d2.n_classes == R_C &&
			  memcmp(decoded, res.params, sizeof(float) * (size_t) res.n_params) == 0,
			  "counting arch %s: the blob (id %u, %zu bytes) decodes to the same model (%s)",
			  kind_name[k], ss_arch_of(&d)->blob_id, len, err ? err : "ok");

		ss_free(decoded);
		ss_free(blob);
		for (int i = 0; i < 2; i++)
		{
			ss_batch_free(parts[i]);
			ss_workspace_free(part_ws[i]);
		}
		ss_batch_free(batch);
		ss_workspace_free(ws);
		ss_train_result_free(&res);
		ss_free(direct);
	}
	ss_free(data->cat_in);
	ss_free(data->feat_in);
	ss_free(data->num_in);
	ss_free(data);
	ss_free(w);
	ss_free(all);
	ss_free(probs);
	reference_free(&ref);
	sample_data_free(&rd);
}

/* ---------------------------------------------------------------- float32 limits */

/*
 * client_frequency at its float32 limit: a window of d - 2 singletons
 * (classes 2 .. d-1, oldest first), then classes 0 and 1 1024 times each,
 * alternating, 1 last; C = d + 5, ranks = class indices.  At d = 2047,
 * c_max (d + 1) = 1024 x 2048 = 2^21: exact, 1 (more recent) before 0.  At
 * d = 2052 the step is coarser and 0 and 1 may tie (by index); either way
 * they stay above the singletons, which (small counts) keep their recency
 * order, and the absent classes follow by popularity.
 */
static void
test_window_limit(int d, int exact)
{
	const int	C = d + 5,
				n = (d - 2) + 2 * 1024;
	float	   *p = SS_NEW_ARRAY(float, 2 * C);
	float	   *scores = SS_NEW_ARRAY(float, C);
	int		   *order = SS_NEW_ARRAY(int, C);
	int32_t    *window = SS_NEW_ARRAY(int32_t, n);
	int			ok,
				alike;

	for (int b = 0; b < C; b++)
	{
		p[b] = 1;
		p[C + b] = (float) b;
	}
	for (int i = 0; i < d - 2; i++)
		window[i] = 2 + i;
	for (int i = 0; i < 2 * 1024; i++)
		window[d - 2 + i] = i % 2;
	alike = order_of(SS_COUNT_CLIENT_FREQUENCY, C, p, window, n, scores, order);
	ok = exact ? alike && order[0] == 1 && order[1] == 0 : order[0] + order[1] == 1;
	for (int i = 0; i < d - 2; i++)
		ok &= order[2 + i] == d - 1 - i;
	for (int i = 0; i < 5; i++)
		ok &= order[d + i] == d + i;
	CHECK(ok, "counting limits: client_frequency, window of %d events, two classes of 1024 and %d "
		  "singletons: %s (first %d)", n, d - 2,
		  exact ? "c_max (d + 1) = 2^21, exact: the more recent first" :
		  "c_max (d + 1) > 2^21: the two first, maybe tied, the rest in order", order[0]);
	ss_free(p);
	ss_free(scores);
	ss_free(order);
	ss_free(window);
}

/*
 * Markov parameter blocks written by hand (the layout of counting.h),
 * C = 4, ranks 3 2 1 0: popularity prefers the higher index, so a tie
 * broken by index instead of popularity shows.
 */
static void
test_float_limits(void)
{
	float		p[24] = {1, 2, 3, 4, 3, 2, 1, 0};
	float		scores[4];
	int			order[4];
	int32_t		h[1] = {0};
	int			alike;

	/* t_max (C + 1) <= 2^21: t = 419430, exact; ties among equal counts by popularity */
	p[8] = 419430;
	p[9] = 419430;
	p[10] = 419429;
	p[11] = 0;
	alike = order_of(SS_COUNT_MARKOV, 4, p, h, 1, scores, order);
	CHECK(alike && order[0] == 1 && order[1] == 0 && order[2] == 2 && order[3] == 3,
		  "counting limits: markov counts of 419430 with C = 4 (t (C + 1) <= 2^21) keep the "
		  "popularity tie-break, raw and as shares: %d %d %d %d", order[0], order[1], order[2], order[3]);

	/* t = 2^23: the tie term rounds away; equal counts tie (index), counts stay in order */
	p[8] = 8388608;
	p[9] = 8388608;
	p[10] = 8388607;
	p[11] = 1;
	order_of(SS_COUNT_MARKOV, 4, p, h, 1, scores, order);
	CHECK(order[0] == 0 && order[1] == 1 && order[2] == 2 && order[3] == 3 && scores[0] == scores[1],
		  "counting limits: markov counts of 2^23 tie (ranked by index), yet a count one lower "
		  "stays below them: %d %d %d %d", order[0], order[1], order[2], order[3]);
	test_window_limit(2047, 1);
	test_window_limit(2052, 0);
}

/* ---------------------------------------------------------------- checks, interrupts, speed */

static void
test_check(void)
{
	const char *err = ss_counting_check(SS_COUNT_MARKOV, 16001);

	CHECK(ss_counting_check(SS_COUNT_MARKOV, SS_COUNTING_MARKOV_MAX_CLASSES) == NULL &&
		  ss_counting_check(SS_COUNT_POPULARITY, SS_COUNTING_MAX_CLASSES) == NULL &&
		  ss_counting_check(SS_COUNT_CLIENT_FREQUENCY, 1) == NULL,
		  "counting check: markov at %d classes, the others at %d, one class: accepted",
		  SS_COUNTING_MARKOV_MAX_CLASSES, SS_COUNTING_MAX_CLASSES);
	CHECK(err != NULL && strstr(err, "at most 16000") != NULL,
		  "counting check: markov at 16001 classes refused: %s", err ? err : "(accepted)");
	CHECK(ss_counting_check(SS_COUNT_POPULARITY, 0) != NULL &&
		  ss_counting_check(SS_COUNT_CLIENT_FREQUENCY, SS_COUNTING_MAX_CLASSES + 1) != NULL,
		  "counting check: no class, or more than %d, refused", SS_COUNTING_MAX_CLASSES);
}

/*
 * 1.2 M events of 24000 clients, C = 1000 (markov's table of 4 MB); a fit cut
 * short says so, called again it gives the uninterrupted parameters.
 */
static void
test_interrupt_and_speed(void)
{
	const int	C = 1000,
				n_clients = 24000,
				per_client = 50;
	const int64_t n = (int64_t) n_clients * per_client;
	int64_t    *offsets = SS_NEW_ARRAY(int64_t, n_clients + 1);
	int32_t    *target = SS_NEW_ARRAY(int32_t, n);
	int32_t    *clients = SS_NEW_ARRAY(int32_t, n_clients);
	double		secs[3];

	rng_state = 12345;
	for (int c = 0; c < n_clients; c++)
	{
		offsets[c + 1] = offsets[c] + per_client;
		clients[c] = c;
	}
	for (int64_t r = 0; r < n; r++)
		target[r] = (int32_t) (C * pow(uniform(), 2.0));
	for (int k = 0; k < 3; k++)
	{
		int64_t		np = ss_counting_param_count((ss_counting_kind) k, C);
		float	   *a = ss_alloc(sizeof(float) * (size_t) np);
		float	   *b = ss_alloc(sizeof(float) * (size_t) np);
		int			ok1,
					ok2,
					cut1,
					cut2;
		double		t0 = now_s();

		ss_counting_fit((ss_counting_kind) k, C, target, offsets, clients, n_clients, a);
		secs[k] = now_s() - t0;
		ss_interrupt_inject(1);
		ss_interrupt_begin();
		ok1 = ss_counting_fit((ss_counting_kind) k, C, target, offsets, clients, n_clients, b);
		cut1 = ss_interrupt_end();
		ss_interrupt_begin();
		ok2 = ss_counting_fit((ss_counting_kind) k, C, target, offsets, clients, n_clients, b);
		cut2 = ss_interrupt_end();
		ss_interrupt_inject(0);
		CHECK(!ok1 && cut1 && ok2 && !cut2 && memcmp(a, b, sizeof(float) * (size_t) np) == 0,
			  "counting %s: a fit cut short by an interrupt says so; again, it equals an "
			  "uninterrupted one", kind_name[k]);
		ss_free(a);
		ss_free(b);
	}
	CHECK(secs[0] < 2.0 && secs[1] < 2.0 && secs[2] < 2.0,
		  "counting: fitting 1.2 M events (C = %d) takes %.3f s (popularity), %.3f s "
		  "(client_frequency), %.3f s (markov)", C, secs[0], secs[1], secs[2]);
	ss_free(offsets);
	ss_free(target);
	ss_free(clients);
}

void		run_counting_tests(void);

void
run_counting_tests(void)
{
	test_by_hand();
	test_against_reference();
	test_as_architecture();
	test_float_limits();
	test_check();
	test_interrupt_and_speed();
}
