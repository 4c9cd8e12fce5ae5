/*
 * test_order.c - the order-aware mode's pieces (unit 'order'): order
 * windows and their target sets (windows.h), the batch they fill, the
 * next-order set loss against finite differences (layers.h), markov_order's
 * counts and scores (counting.h).  The next-order evaluation is checked
 * by hand in sql/order_mode.sql, the memory estimate in test_memory.c.
 */
#include <string.h>

#include "unit.h"
#include "gradcheck.h"
#include "../../src/core/counting.h"
#include "../../src/core/layers.h"
#include "../../src/core/model.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/windows.h"

/*
 * Three clients, orders in braces (class, -1 = unknown):
 *   0: {0, 1} {2} {3, -1, 3}      rows 0..5
 *   1: {1, 2}                     rows 6..7 (one order: no window)
 *   2: {0} {-1} {1} {2, 0}        rows 8..12 (the unknown-only order: no window)
 */
static const int32_t T_CLASS[13] = {0, 1, 2, 3, -1, 3, 1, 2, 0, -1, 1, 2, 0};
static const uint8_t T_START[13] = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0};
static const int64_t T_OFFSETS[4] = {0, 6, 8, 13};

static void
make(ss_dataset *d, int32_t *cat_in, int32_t *feat, float *num)
{
	memset(d, 0, sizeof(*d));
	d->n_clients = 3;
	d->n_events = 13;
	d->offsets = (int64_t *) T_OFFSETS;
	d->target = (int32_t *) T_CLASS;
	d->order_start = T_START;
	for (int r = 0; r < 13; r++)
		cat_in[r] = T_CLASS[r] >= 0 ? T_CLASS[r] + SS_N_RESERVED : 1;
	d->cat_in = cat_in;
	d->feat_in = feat;
	d->num_in = num;
}

static void
test_windows(void)
{
	ss_dataset	d;
	int32_t		cat_in[13],
				feat[1];
	int32_t		clients[3] = {0, 1, 2};
	int32_t    *sets;
	int64_t		n_sets,
				n;
	ss_window  *w;
	int			ok;

	make(&d, cat_in, feat, NULL);
	w = ss_order_windows_of(&d, clients, 3, 50, &sets, &n_sets, &n);
	/* client 0: orders 2 and 3; client 2: orders 3 and 4 (order 2 has no known class) */
	ok = n == 4 &&
		w[0].start == 0 && w[0].end == 2 && w[0].first_target == 2 && w[0].set_size == 1 &&
		sets[w[0].set_begin] == 2 &&
		w[1].start == 0 && w[1].end == 3 && w[1].set_size == 1 && sets[w[1].set_begin] == 3 &&
		w[2].start == 8 && w[2].end == 10 && w[2].set_size == 1 && sets[w[2].set_begin] == 1 &&
		w[3].start == 8 && w[3].end == 11 && w[3].set_size == 2 &&
		sets[w[3].set_begin] == 0 && sets[w[3].set_begin + 1] == 2;
	CHECK(ok, "order windows: one per later order with a known class, input = the earlier orders, "
		  "targets = its distinct known classes, ascending");
	ss_free(w);
	ss_free(sets);

	/* max_length 2: the last 2 events before the order, never a line of it */
	w = ss_order_windows_of(&d, clients, 3, 2, &sets, &n_sets, &n);
	CHECK(n == 4 && w[1].start == 1 && w[1].end == 3 && w[3].start == 9 && w[3].end == 11,
		  "order windows: the last max_length events of the earlier orders");
	{
		ss_dims		dims;
		ss_batch   *b;
		int64_t		q;
		int			one_query = 1;

		memset(&dims, 0, sizeof(dims));
		dims.n_classes = 4;
		b = ss_batch_new(&dims, 4, 2);
		q = ss_fill_order_batch(&d, w, 4, sets, b);
		for (int s = 0; s < 4; s++)
			for (int t = 0; t < b->lengths[s]; t++)
			{
				int			last = t == b->lengths[s] - 1;
				const ss_window *ws = &w[b->origin[s]];
				int32_t		y = b->target[(int64_t) t * b->B + s];

				one_query &= last ? y == sets[ws->set_begin] && b->target_ends[(int64_t) t * b->B + s]
					: y == -1;
			}
		CHECK(q == 4 && one_query, "order batch: one query per window, at its last position");
		ss_batch_free(b);
	}
	ss_free(w);
	ss_free(sets);
}

/* ---------------------------------------------------------------- set loss */

typedef struct set_ctx
{
	int			C;
	float	   *z;
	float	   *scratch;
	const int32_t *set;
	int			n_set;
} set_ctx;

static double
set_loss_of(void *p)
{
	set_ctx    *c = p;

	return ss_set_loss_row(c->C, c->z, c->set, c->n_set, 1.0f, c->scratch);
}

static void
test_set_loss(void)
{
	ss_rng		rng;
	const int32_t sets[3][3] = {{2}, {0, 4}, {1, 3, 5}};
	const int	sizes[3] = {1, 2, 3};

	ss_rng_seed(&rng, 5);
	for (int k = 0; k < 3; k++)
	{
		set_ctx		c = {7};
		float		d[7],
					z[7],
					scratch[7];
		double		ce = 0.0,
					lse = 0.0,
					l;

		for (int j = 0; j < c.C; j++)
			z[j] = 2.0f * ss_rng_normal(&rng);
		c.z = z;
		c.scratch = scratch;
		c.set = sets[k];
		c.n_set = sizes[k];
		l = ss_set_loss_row(c.C, z, c.set, c.n_set, 1.0f, d);
		CHECK(gradcheck("set loss", z, d, c.C, set_loss_of, &c, 1e-2, 20, 1e-3) < 1e-2,
			  "set loss backward, a set of %d", sizes[k]);
		for (int j = 0; j < c.C; j++)
			lse += exp(z[j]);
		for (int i = 0; i < c.n_set; i++)
			ce += -(z[c.set[i]] - log(lse)) / c.n_set;
		CHECK(fabs(l - ce) < 1e-5, "set loss = the mean over the set of -log p (%.6f vs %.6f)", l, ce);
	}
	{
		/* a set of one is the line-level cross-entropy (focal gamma 0), gradient included */
		float		z[4] = {0.5f, -1.0f, 2.0f, 0.0f},
					d1[4],
					d2[4];
		int32_t		y = 1;
		double		a = ss_set_loss_row(4, z, &y, 1, 0.25f, d1),
					b = ss_focal_loss(1, 4, z, &y, NULL, 0.0f, d2, NULL);
		int			same = fabs(a - b) < 1e-6;

		for (int j = 0; j < 4; j++)
			same &= fabsf(d1[j] - 0.25f * d2[j]) < 1e-6f;
		CHECK(same, "set loss of a single target is the cross-entropy, its gradient scaled");
	}
}

/* ---------------------------------------------------------------- markov_order, evaluation */

static void
test_markov_order(void)
{
	ss_dataset	d;
	int32_t		cat_in[13],
				feat[1];
	int32_t		clients[2] = {0, 2};
	const int	C = 4;
	float	   *p = SS_NEW_ARRAY(float, ss_counting_param_count(SS_COUNT_MARKOV_ORDER, C));
	float		s[4];
	int32_t		prev[2] = {2, 0};
	int			ok;

	make(&d, cat_in, feat, NULL);
	ok = ss_counting_fit_orders(SS_COUNT_MARKOV_ORDER, C, T_CLASS, T_START, T_OFFSETS, clients, 2, p);
	/*
	 * client 0: {0,1} -> {2} -> {3}: 0->2, 1->2, 2->3; client 2: {0} -> {} -> {1} -> {0,2}:
	 * nothing from {0} (the next order has no known class), 1->0, 1->2
	 */
	ok &= p[8 + 0 * C + 2] == 1 && p[8 + 1 * C + 2] == 2 && p[8 + 2 * C + 3] == 1 &&
		p[8 + 1 * C + 0] == 1 && p[8 + 0 * C + 1] == 0 && p[8 + 3 * C + 0] == 0;
	CHECK(ok, "markov_order: transitions between consecutive orders, each distinct pair once");
	/* from the order {2, 0}: row 2 (3: 1) + row 0 (2: 1): 2 and 3 tie, 2 the more popular */
	ss_counting_score(SS_COUNT_MARKOV_ORDER, C, p, prev, 2, s);
	CHECK(s[2] > s[3] && s[3] > s[0] && s[3] > s[1],
		  "markov_order: the previous order's summed transition rows, ties by popularity");
	ss_free(p);
}

void		run_order_tests(void);

void
run_order_tests(void)
{
	test_windows();
	test_set_loss();
	test_markov_order();
}
