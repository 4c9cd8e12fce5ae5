/*
 * test_history.c - the history features (history.c), the feature ranker
 * (ranker.c) and the hybrid (gru4rec.c with a history head):
 *   - the statistics and the features of a hand-made history, by hand;
 *   - no feature reads the target: changing the target event (its
 *     category, whether it starts an order, the events after it) leaves the
 *     features and the logits of its query unchanged;
 *   - the ranker's and the hybrid's gradients against finite differences,
 *     and no gradient on the frozen statistics;
 *   - blob round trips.
 */
#include <math.h>
#include <string.h>

#include "unit.h"
#include "gradcheck.h"
#include "../../src/core/blob.h"
#include "../../src/core/gru4rec.h"
#include "../../src/core/history.h"
#include "../../src/core/interrupt.h"
#include "../../src/core/layers.h"
#include "../../src/core/model.h"
#include "../../src/core/ranker.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/windows.h"

#define TOL 2e-2

static ss_rng rng;

/*
 * Two clients, C = 4.  Client 0: orders {0, 1} {2} {0, 3} then {1, 2};
 * client 1: {3} {0, 1, 2} {1}.  order_start marks the first event of each.
 */
static const int32_t cats[] = {0, 1, 2, 0, 3, 1, 2, 3, 0, 1, 2, 1};
static const uint8_t starts[] = {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1};

static ss_dataset *
make_data(uint8_t *order_start, int32_t *target)
{
	ss_dataset *d = SS_NEW_ARRAY(ss_dataset, 1);
	const int	n = 12;

	d->n_clients = 2;
	d->n_events = n;
	d->offsets = SS_NEW_ARRAY(int64_t, 3);
	d->offsets[1] = 7;
	d->offsets[2] = n;
	d->cat_in = SS_NEW_ARRAY(int32_t, n);
	d->feat_in = SS_NEW_ARRAY(int32_t, 1);
	d->num_in = SS_NEW_ARRAY(float, 1);
	d->target = target;
	memcpy(target, cats, sizeof(cats));
	memcpy(order_start, starts, sizeof(starts));
	for (int i = 0; i < n; i++)
		d->cat_in[i] = target[i] + SS_N_RESERVED;
	d->order_start = order_start;
	return d;
}

static void
free_data(ss_dataset *d)
{
	ss_free(d->offsets);
	ss_free(d->cat_in);
	ss_free(d->feat_in);
	ss_free(d->num_in);
	ss_free(d);
}

static void
test_stats_and_features(void)
{
	uint8_t		os[12];
	int32_t		tg[12];
	ss_dataset *data = make_data(os, tg);
	const int	C = 4;
	const int32_t fit[2] = {0, 1};
	float	   *stats = SS_NEW_ARRAY(float, ss_hist_stats_floats(C));
	float	   *x = SS_NEW_ARRAY(float, SS_HIST_FEATURES * C);
	float	   *scratch = SS_NEW_ARRAY(float, ss_hist_scratch_floats(C));
	ss_hist_stats s;
	ss_dims		d;
	ss_batch   *batch;
	ss_window	w = {0, 5, 5};	/* client 0, input rows 0..4, target row 5 */
	int			ok = 1;

	const uint32_t keys[2] = {ss_client_key("c0"), ss_client_key("c1")};

	data->client_key = keys;
	ss_hist_fit(C, data, fit, 2, stats);
	ss_hist_stats_bind(C, stats, &s);
	/* 12 events: counts 3, 4, 3, 2 */
	CHECK(fabsf(s.log_pop[1] - logf(5.0f / 16.0f)) < 1e-5 && fabsf(s.log_pop[3] - logf(3.0f / 16.0f)) < 1e-5,
		  "history: popularity is the smoothed share of the fitting clients' events");
	/* transitions from 0: 0->1, 0->3, 0->1 (rows 0-1, 3-4, 8-9): 2 x (0->1) out of 3 */
	CHECK(fabsf(s.trans[0 * C + 1] - logf((2.0f + 2.0f * 5.0f / 16.0f) / 5.0f)) < 1e-5,
		  "history: transitions counted between consecutive events of a client");
	/* orders with 0: {0,1} {0,3} {0,1,2}, 1 in two of them; 7 orders, 1 in 4 of them */
	CHECK(fabsf(s.cooc[0 * C + 1] - logf((2.0f + 2.0f * 5.0f / 11.0f) / 5.0f)) < 1e-5,
		  "history: co-occurrence counted over the orders of the fitting clients");
	/* orders with 2 followed by another: {2} -> {0,3}, {0,1,2} -> {1}; 0 in 4 of 7 orders */
	CHECK(fabsf(s.onext[2 * C + 0] - logf((1.0f + 2.0f * 4.0f / 11.0f) / 4.0f)) < 1e-5,
		  "history: transitions between consecutive orders of a client");

	memset(&d, 0, sizeof(d));
	d.arch = SS_ARCH_RANKER;
	d.n_classes = C;
	d.hidden = d.layers = d.attn = 1;
	ss_dims_finish(&d, 1.0);
	batch = ss_batch_new(&d, 1, 8);
	ss_fill_batch(data, &w, 1, 1, batch);
	ss_hist_features(C, &s, batch, 4, 0, x, scratch);
	{
		float	   *nb = SS_NEW_ARRAY(float, ss_hist_neighbours_floats(1));

		ss_hist_neighbours(C, &s, 1, batch->client_key, x, nb);
		ss_free(nb);
	}
	/* history 0 1 | 2 | 0 3 ; current order {0, 3}, previous {2} */
	ok = fabsf(x[1 * C + 0] - log1pf(2.0f)) < 1e-6 && fabsf(x[2 * C + 0] - 0.4f) < 1e-6
		&& fabsf(x[3 * C + 0] - (0.7f + 0.7f * 0.7f * 0.7f * 0.7f)) < 1e-5
		&& fabsf(x[4 * C + 0] - 0.5f) < 1e-6 && x[4 * C + 2] == 1.0f / 3.0f
		&& x[5 * C + 1] == s.trans[3 * C + 1] && x[6 * C + 1] == s.trans[0 * C + 1]
		&& x[7 * C + 1] == s.trans[2 * C + 1]
		&& x[8 * C + 0] == 1.0f && x[8 * C + 3] == 1.0f && x[8 * C + 1] == 0.0f && x[8 * C + 2] == 0.0f
		&& fabsf(x[9 * C + 1] - 0.5f * (s.cooc[0 * C + 1] + s.cooc[3 * C + 1])) < 1e-6
		&& x[10 * C + 1] == fmaxf(s.cooc[0 * C + 1], s.cooc[3 * C + 1])
		&& fabsf(x[11 * C + 0] - 2.0f / 3.0f) < 1e-6 && fabsf(x[11 * C + 2] - 1.0f / 3.0f) < 1e-6
		&& x[12 * C + 2] == 1.0f && x[12 * C + 0] == 0.0f
		&& fabsf(x[13 * C + 3] - log1pf(2.0f)) < 1e-6 && x[13 * C + 1] == 0.0f
		&& fabsf(x[14 * C + 2] - 0.5f * (s.onext[0 * C + 2] + s.onext[3 * C + 2])) < 1e-6
		/* client 0's only neighbour is client 1 (counts 1 2 1 1 of 0..3), itself excluded */
		&& batch->client_key[0] == keys[0]
		&& fabsf(x[15 * C + 1] - 2.0f / sqrtf(7.0f)) < 1e-5 && fabsf(x[15 * C + 3] - 1.0f / sqrtf(7.0f)) < 1e-5;
	CHECK(ok, "history: the features of a hand-made history (counts, decay, recency, lags, orders)");
	ss_batch_free(batch);
	ss_free(stats);
	ss_free(x);
	ss_free(scratch);
	free_data(data);
}

/*
 * The features and logits of the query of a window (ranker or hybrid) when
 * the target row (row 5 of client 0) and what follows it are changed: the
 * same.
 */
static void
test_no_target_leak(int arch)
{
	uint8_t		os[12];
	int32_t		tg[12];
	ss_dataset *data = make_data(os, tg);
	const int	C = 4;
	const int32_t fit[2] = {0, 1};
	ss_dims		d;
	float	   *params;
	ss_window	w = {1, 5, 5};
	ss_batch   *batch;
	ss_workspace *ws = ss_workspace_new();
	float		before[4],
				after[4],
				*logits;
	int			same = 1;

	memset(&d, 0, sizeof(d));
	d.arch = arch;
	d.n_classes = C;
	d.hidden = 4;
	d.layers = 1;
	d.attn = 3;
	ss_dims_finish(&d, 1.0);
	params = SS_NEW_ARRAY(float, ss_param_count(&d));
	ss_params_init(&d, params, &rng);
	ss_arch_of(&d)->prepare(&d, data, fit, 2, params);
	batch = ss_batch_new(&d, 1, 8);
	for (int change = 0; change < 3 && same; change++)
	{
		ss_fill_batch(data, &w, 1, 1, batch);
		ss_model_forward(&d, params, batch, SS_QUERY_TARGETS, 0.0f, NULL, ws, &logits, NULL, NULL);
		memcpy(change == 0 ? before : after, logits, sizeof(before));
		if (change > 0)
			same = memcmp(before, after, sizeof(before)) == 0;
		/* the target's category and order, then the rest of its order and history */
		if (change == 0)
		{
			data->target[5] = 3;
			data->cat_in[5] = 3 + SS_N_RESERVED;
			os[5] = 0;
		}
		else
		{
			data->target[6] = 0;
			data->cat_in[6] = SS_N_RESERVED;
			os[6] = 1;
		}
	}
	CHECK(same, "%s: changing the target event, its order and what follows leaves its query's logits unchanged",
		  ss_arch_of(&d)->name);
	ss_free(params);
	ss_batch_free(batch);
	ss_workspace_free(ws);
	free_data(data);
}

typedef struct
{
	ss_dims		d;
	float	   *params;
	ss_batch   *batch;
	ss_workspace *ws;
	int32_t		y[64];
	float		dropout;
	ss_rng		mask_rng;
} model_ctx;

static double
model_loss(void *p)
{
	model_ctx  *c = p;
	float	   *logits;
	const int32_t *qt,
			   *qb;
	int			n_q;

	ss_rng_seed(&c->mask_rng, 5);
	n_q = ss_model_forward(&c->d, c->params, c->batch, SS_QUERY_TARGETS, c->dropout,
						   c->dropout > 0 ? &c->mask_rng : NULL, c->ws, &logits, &qt, &qb);
	for (int i = 0; i < n_q; i++)
		c->y[i] = c->batch->target[qt[i] * c->batch->B + qb[i]];
	return ss_focal_loss(n_q, c->d.n_classes, logits, c->y, NULL, 0.0f, logits, NULL);
}

/* gradients of the ranker or the hybrid on a random batch with orders */
static void
test_gradients(int arch, float dropout)
{
	uint8_t		os[12];
	int32_t		tg[12];
	ss_dataset *data = make_data(os, tg);
	const int32_t fit[2] = {0, 1};
	model_ctx	c;
	const int	B = 3,
				T = 6,
				C = 4,
				lengths[3] = {6, 5, 2};
	int64_t		n,
				n_stats = ss_hist_stats_floats(C);
	float	   *grads,
			   *logits;
	int			zero = 1;

	memset(&c, 0, sizeof(c));
	c.d.arch = arch;
	c.d.n_classes = C;
	c.d.n_features = 0;
	c.d.n_numeric = 1;
	c.d.hidden = 4;
	c.d.layers = 1;
	c.d.attn = 3;
	c.dropout = dropout;
	ss_dims_finish(&c.d, 1.0);
	n = ss_param_count(&c.d);
	c.params = SS_NEW_ARRAY(float, n);
	grads = SS_NEW_ARRAY(float, n);
	ss_params_init(&c.d, c.params, &rng);
	ss_arch_of(&c.d)->prepare(&c.d, data, fit, 2, c.params);
	c.batch = ss_batch_new(&c.d, B, T);
	c.batch->B = B;
	c.batch->T = T;
	c.ws = ss_workspace_new();
	for (int b = 0; b < B; b++)
	{
		c.batch->lengths[b] = lengths[b];
		for (int t = 0; t < T; t++)
		{
			int			p = t * B + b,
						valid = t < lengths[b];

			c.batch->cat[p] = valid ? 1 + (int) ss_rng_below(&rng, C + 1) : 0;
			c.batch->num[p] = valid ? ss_rng_normal(&rng) : 0;
			c.batch->order_start[p] = t == 0 || ss_rng_below(&rng, 2);
			c.batch->target[p] = valid && (arch == SS_ARCH_RANKER ? t == lengths[b] - 1 : 1)
				? (int) ss_rng_below(&rng, C) : -1;
		}
	}
	/* weights of the head away from their start, so that every feature matters */
	for (int i = 0; i < SS_HIST_FEATURES; i++)
	{
		float	   *head;

		if (arch == SS_ARCH_RANKER)
		{
			ss_ranker_params p;

			ss_ranker_bind(&c.d, c.params, &p);
			head = p.w;
		}
		else
		{
			ss_gru4rec_params p;

			ss_gru4rec_bind(&c.d, c.params, &p);
			head = p.head;
		}
		head[i] = 0.05f * ss_rng_normal(&rng);
	}
	ss_workspace_reserve(c.ws, &c.d, c.batch, 1);
	memset(grads, 0, sizeof(float) * n);
	model_loss(&c);
	logits = NULL;
	{
		const int32_t *qt,
				   *qb;
		int			n_q;

		ss_rng_seed(&c.mask_rng, 5);
		n_q = ss_model_forward(&c.d, c.params, c.batch, SS_QUERY_TARGETS, c.dropout,
							   c.dropout > 0 ? &c.mask_rng : NULL, c.ws, &logits, &qt, &qb);
		for (int i = 0; i < n_q; i++)
			c.y[i] = c.batch->target[qt[i] * c.batch->B + qb[i]];
		ss_focal_loss(n_q, C, logits, c.y, NULL, 0.0f, logits, NULL);
		ss_model_backward(&c.d, c.params, c.batch, logits, c.ws, grads);
	}
	for (int64_t i = n - n_stats; i < n; i++)
		zero &= grads[i] == 0.0f;
	CHECK(zero, "%s: no gradient on the frozen statistics", ss_arch_of(&c.d)->name);
	if (arch == SS_ARCH_RANKER)
	{
		ss_ranker_params p,
					g;

		ss_ranker_bind(&c.d, c.params, &p);
		ss_ranker_bind(&c.d, grads, &g);
		CHECK(gradcheck("ranker.w", p.w, g.w, SS_HIST_FEATURES, model_loss, &c, 1e-3, 20, 1e-3) < TOL,
			  "ranker: gradient of the feature weights against finite differences");
		CHECK(gradcheck("ranker.b", p.b, g.b, C, model_loss, &c, 1e-3, 20, 1e-3) < TOL,
			  "ranker: gradient of the biases against finite differences");
	}
	else
	{
		ss_gru4rec_params p,
					g;

		ss_gru4rec_bind(&c.d, c.params, &p);
		ss_gru4rec_bind(&c.d, grads, &g);
		CHECK(gradcheck("hybrid.head", p.head, g.head, SS_HIST_FEATURES, model_loss, &c, 1e-3, 20, 1e-3) < TOL,
			  "hybrid%s: gradient of the history head against finite differences", dropout > 0 ? " (dropout)" : "");
		CHECK(gradcheck("hybrid.w_ih", p.w_ih[0], g.w_ih[0], (int64_t) 3 * 4 * c.d.input_dim, model_loss, &c,
						1e-2, 40, 1e-3) < TOL,
			  "hybrid%s: gradient of W_ih (with the order inputs) against finite differences",
			  dropout > 0 ? " (dropout)" : "");
		CHECK(gradcheck("hybrid.cat_emb", p.enc.cat_emb, g.enc.cat_emb, (int64_t) (C + 2) * c.d.emb_dim[0],
						model_loss, &c, 1e-2, 40, 1e-3) < TOL,
			  "hybrid%s: gradient of the category embedding against finite differences",
			  dropout > 0 ? " (dropout)" : "");
		CHECK(gradcheck("hybrid.w_o", p.w_o, g.w_o, (int64_t) C * 8, model_loss, &c, 1e-2, 40, 1e-3) < TOL,
			  "hybrid%s: gradient of the output layer against finite differences", dropout > 0 ? " (dropout)" : "");
	}
	{
		size_t		len = ss_blob_size(&c.d);
		uint8_t    *blob = ss_alloc(len);
		ss_dims		back;
		float	   *decoded = NULL;
		const char *err;

		ss_blob_encode(&c.d, c.params, blob);
		err = ss_blob_decode(blob, len, &back, &decoded);
		CHECK(err == NULL && memcmp(&back, &c.d, sizeof(back)) == 0 &&
			  memcmp(decoded, c.params, sizeof(float) * n) == 0,
			  "%s: blob round trip keeps the architecture, dimensions, weights and statistics",
			  ss_arch_of(&c.d)->name);
		ss_free(decoded);
		ss_free(blob);
	}
	ss_free(c.params);
	ss_free(grads);
	ss_batch_free(c.batch);
	ss_workspace_free(c.ws);
	free_data(data);
}

/* 1 when every float of x[0 .. n) is finite */
static int
all_finite(const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

/*
 * Hostile histories, C = 1 and C = 3, statistics counted on no client and
 * on clients whose events are all unknown or all in one order: sequences
 * of 1 to 5 events, unknown categories (id 1), a sequence of unknown
 * events only, no order start after the first event.  Every feature and
 * every logit (queries at every position and at the last) is finite, and
 * a query's logits do not change when the padding after its sequence and
 * the other sequences of the batch are rewritten.
 */
static void
test_hostile_histories(int arch, int C, int n_fit)
{
	/* client 0: one unknown event; client 1: three unknown in one order; client 2: five known, one order */
	static const int32_t raw[9] = {-1, -1, -1, -1, 0, 0, 0, 0, 0};
	static const uint8_t raw_starts[9] = {1, 1, 0, 0, 1, 0, 0, 0, 0};
	ss_dataset *data = SS_NEW_ARRAY(ss_dataset, 1);
	int32_t		target[9];
	uint8_t		starts[9];
	const int32_t fit[3] = {0, 1, 2};
	const int	B = 4,
				T = 5,
				lengths[4] = {5, 3, 2, 1};
	ss_dims		d;
	float	   *params,
			   *logits,
			   *x = SS_NEW_ARRAY(float, SS_HIST_FEATURES * C),
			   *scratch = SS_NEW_ARRAY(float, ss_hist_scratch_floats(C)),
			   *last = SS_NEW_ARRAY(float, (int64_t) B * C);
	ss_batch   *batch;
	ss_workspace *ws = ss_workspace_new();
	ss_hist_stats st;
	int			finite = 1,
				same = 1,
				n_q;

	data->n_clients = 3;
	data->n_events = 9;
	data->offsets = SS_NEW_ARRAY(int64_t, 4);
	data->offsets[1] = 1;
	data->offsets[2] = 4;
	data->offsets[3] = 9;
	data->cat_in = SS_NEW_ARRAY(int32_t, 9);
	data->feat_in = SS_NEW_ARRAY(int32_t, 1);
	data->num_in = SS_NEW_ARRAY(float, 1);
	for (int i = 0; i < 9; i++)
	{
		target[i] = raw[i] < 0 ? -1 : (i * 2) % C;
		starts[i] = raw_starts[i];
		data->cat_in[i] = target[i] < 0 ? 1 : target[i] + SS_N_RESERVED;
	}
	data->target = target;
	data->order_start = starts;

	memset(&d, 0, sizeof(d));
	d.arch = arch;
	d.n_classes = C;
	d.n_numeric = 1;
	d.hidden = 4;
	d.layers = 1;
	d.attn = 3;
	ss_dims_finish(&d, 1.0);
	params = SS_NEW_ARRAY(float, ss_param_count(&d));
	ss_params_init(&d, params, &rng);
	ss_arch_of(&d)->prepare(&d, data, fit, n_fit, params);
	finite &= all_finite(params, ss_param_count(&d));
	ss_hist_stats_bind(C, arch == SS_ARCH_RANKER ? params + SS_HIST_FEATURES + C
					   : params + ss_param_count(&d) - ss_hist_stats_floats(C), &st);

	batch = ss_batch_new(&d, B, T);
	for (int round = 0; round < 2; round++)
	{
		batch->B = B;
		batch->T = T;
		for (int b = 0; b < B; b++)
		{
			batch->lengths[b] = lengths[b];
			batch->client_key[b] = (uint32_t) b + 1;
			for (int t = 0; t < T; t++)
			{
				int64_t		p = (int64_t) t * B + b;
				int			valid = t < lengths[b];

				/* sequence 2: unknown events only; 0: a single order; padding rewritten in round 1 */
				if (valid && b != 0)
					batch->cat[p] = b == 2 ? 1 : (t % 2 ? 1 : SS_N_RESERVED + (t % C));
				else if (valid)
					batch->cat[p] = SS_N_RESERVED + (t % C);
				else
					batch->cat[p] = round == 0 ? 0 : SS_N_RESERVED + ((t + b) % C);
				if (round == 1 && valid && b != 0)
					batch->cat[p] = SS_N_RESERVED + ((3 * t + b) % C);	/* the other sequences */
				batch->num[p] = valid ? 0.5f : (round == 0 ? 0.0f : 9.0f);
				batch->order_start[p] = valid ? (t == 0 || (b == 1 && t == 2)) : (uint8_t) round;
				batch->target[p] = valid || round == 1 ? (t + b) % C : -1;
				batch->target_ends[p] = 1;
			}
		}
		for (int b = 0; b < B; b++)
			for (int t = 0; t < lengths[b]; t++)
			{
				ss_hist_features(C, &st, batch, t, b, x, scratch);
				finite &= all_finite(x, SS_HIST_FEATURES * C);
			}
		if (round == 0)
		{
			n_q = ss_model_forward(&d, params, batch, SS_QUERY_TARGETS, 0.0f, NULL, ws, &logits, NULL, NULL);
			finite &= n_q == 5 + 3 + 2 + 1 && all_finite(logits, (int64_t) n_q * C);
		}
		n_q = ss_model_forward(&d, params, batch, SS_QUERY_LAST, 0.0f, NULL, ws, &logits, NULL, NULL);
		finite &= n_q == B && all_finite(logits, (int64_t) B * C);
		if (round == 0)
			memcpy(last, logits, sizeof(float) * B * C);
		else
			same = memcmp(last, logits, sizeof(float) * C) == 0;	/* sequence 0's */
	}
	CHECK(finite, "%s, C = %d, statistics of %d clients (unknown events, one order): finite features and logits "
		  "at every position of sequences of 1 to 5 events", ss_arch_of(&d)->name, C, n_fit);
	CHECK(same, "%s, C = %d: a query's logits ignore the padding after its sequence and the other sequences",
		  ss_arch_of(&d)->name, C);
	ss_free(params);
	ss_free(x);
	ss_free(scratch);
	ss_free(last);
	ss_batch_free(batch);
	ss_workspace_free(ws);
	ss_free(data->offsets);
	ss_free(data->cat_in);
	ss_free(data->feat_in);
	ss_free(data->num_in);
	ss_free(data);
}

/*
 * The neighbours' feature polls for an interrupt between queries (some
 * 0.8 ms each at C = 4000): cut short at its first poll, it leaves the
 * later queries' slices as they were and the span reports the interrupt.
 */
static void
test_neighbours_interrupt(void)
{
	const int	C = 200,
				n_q = 40;
	const int64_t FC = (int64_t) SS_HIST_FEATURES * C;
	float	   *stats = SS_NEW_ARRAY(float, ss_hist_stats_floats(C));
	float	   *x = SS_NEW_ARRAY(float, n_q * FC);
	float	   *scratch = SS_NEW_ARRAY(float, ss_hist_neighbours_floats(n_q));
	uint32_t	keys[40] = {0};
	ss_hist_stats s;
	int			interrupted,
				untouched = 1;
	int64_t		polls;

	ss_hist_stats_bind(C, stats, &s);
	for (int j = 0; j < SS_HIST_NEIGHBOURS; j++)
		s.nb[(int64_t) j * (C + 2) + 2 + j % C] = 1.0f;
	for (int i = 0; i < n_q; i++)
		x[i * FC + 15 * C + i % C] = 3.0f;
	ss_interrupt_begin();
	ss_interrupt_inject(1);
	ss_hist_neighbours(C, &s, n_q, keys, x, scratch);
	polls = ss_interrupt_polls();
	interrupted = ss_interrupt_end();
	ss_interrupt_inject(0);
	for (int i = 0; i < n_q; i++)
		untouched &= x[i * FC + 15 * C + i % C] == 3.0f;
	CHECK(interrupted && polls >= 1 && untouched,
		  "history: the neighbours' feature stops at an interrupt, before the queries' slices are rewritten "
		  "(%lld polls)", (long long) polls);
	ss_hist_neighbours(C, &s, n_q, keys, x, scratch);
	CHECK(fabsf(x[15 * C + 0] - 1.0f) < 1e-6 && x[15 * C + 1] == 0.0f,
		  "history: outside a watched span it runs whole (a query's only neighbours: its category's)");
	ss_free(stats);
	ss_free(x);
	ss_free(scratch);
}

/*
 * A ranker or hybrid blob whose header was tampered with fails to decode
 * with a message, allocating nothing: another category count (the
 * parameter count no longer matches), another parameter count, more
 * categories than the architecture serves, a truncated blob.
 */
static void
test_blob_hostile(int arch)
{
	ss_dims		d,
				back;
	float	   *params,
			   *decoded = (float *) 1;
	uint8_t    *blob;
	size_t		len;
	int64_t		n;
	const char *err[4];
	uint64_t	count;
	int			ok = 1;

	memset(&d, 0, sizeof(d));
	d.arch = arch;
	d.n_classes = 4;
	d.hidden = 4;
	d.layers = 1;
	d.attn = 3;
	ss_dims_finish(&d, 1.0);
	n = ss_param_count(&d);
	params = SS_NEW_ARRAY(float, n);
	len = ss_blob_size(&d);
	blob = ss_alloc(len);
	for (int k = 0; k < 4; k++)
	{
		const size_t n_at = len - 4 - 4 * (size_t) n - 8;	/* the u64 parameter count */
		uint32_t	classes = k == 0 ? 5 : 4001;

		ss_blob_encode(&d, params, blob);
		if (k == 0 || k == 2)
			memcpy(blob + 12, &classes, 4);	/* the category count, the first dimension */
		else if (k == 1)
		{
			memcpy(&count, blob + n_at, 8);
			count++;
			memcpy(blob + n_at, &count, 8);
		}
		err[k] = ss_blob_decode(blob, k == 3 ? len - 4 : len, &back, &decoded);
		ok &= err[k] != NULL && decoded == NULL;
	}
	CHECK(ok && strstr(err[0], "parameter count") && strstr(err[1], "parameter count")
		  && strstr(err[2], "out of range") && strstr(err[3], "length"),
		  "%s: a blob with another category count, parameter count, 4001 categories or truncated fails to decode "
		  "(%s; %s; %s; %s)", ss_arch_of(&d)->name, err[0], err[1], err[2], err[3]);
	ss_free(params);
	ss_free(blob);
}

void		run_history_tests(void);

void
run_history_tests(void)
{
	ss_rng_seed(&rng, 11);
	test_stats_and_features();
	test_neighbours_interrupt();
	test_blob_hostile(SS_ARCH_RANKER);
	test_blob_hostile(SS_ARCH_HYBRID);
	test_no_target_leak(SS_ARCH_RANKER);
	test_no_target_leak(SS_ARCH_HYBRID);
	test_gradients(SS_ARCH_RANKER, 0.0f);
	test_gradients(SS_ARCH_HYBRID, 0.0f);
	test_gradients(SS_ARCH_HYBRID, 0.3f);
	for (int n_fit = 0; n_fit <= 3; n_fit += 3)
		for (int C = 1; C <= 3; C += 2)
		{
			test_hostile_histories(SS_ARCH_RANKER, C, n_fit);
			test_hostile_histories(SS_ARCH_HYBRID, C, n_fit);
		}
}
