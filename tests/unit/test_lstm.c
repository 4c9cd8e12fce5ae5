/*
 * test_lstm.c - the LSTM layer (lstm_layer.c): its forward pass against a
 * plain double-precision transcription of PyTorch's equations, its backward
 * pass against finite differences (through OpenBLAS, the packed kernel,
 * finished sequences skipped with the weight gradients over every row or
 * step by step, and run on the time-reversed batch as the backward
 * direction of a bidirectional LSTM), the time reversal itself, interrupt
 * polling; then the whole bidirectional LSTM + attention model (lstm.c):
 * its gradient against finite differences, with and without dropout, its
 * workspace sized in advance, its blob.
 */
#include <string.h>

#include "unit.h"
#include "gradcheck.h"
#include "../../src/core/blob.h"
#include "../../src/core/interrupt.h"
#include "../../src/core/layers.h"
#include "../../src/core/lstm.h"
#include "../../src/core/model.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"

#define TOL 1e-2

static ss_rng rng;

static float *
randn(int64_t n, float scale)
{
	float	   *x = SS_NEW_ARRAY(float, n);

	for (int64_t i = 0; i < n; i++)
		x[i] = scale * ss_rng_normal(&rng);
	return x;
}

static double
dot(const float *a, const float *b, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

/* largest |a - b| relative to the largest |b| */
static double
max_rel_diff(const float *a, const float *b, int64_t n)
{
	double		diff = 0.0,
				scale = 1e-30;

	for (int64_t i = 0; i < n; i++)
	{
		diff = fmax(diff, fabs((double) a[i] - b[i]));
		scale = fmax(scale, fabs((double) b[i]));
	}
	return diff / scale;
}

static double
sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/*
 * The hidden states of sequence b of length len (rows B apart in x and h),
 * straight from PyTorch's documented equations, in double.
 */
static void
lstm_reference(int B, int D, int H, int b, int len, const float *x,
			   const float *w_ih, const float *w_hh, const float *b_ih,
			   const float *b_hh, double *h)
{
	double		hp[64] = {0},
				cp[64] = {0},
				a[256];

	for (int t = 0; t < len; t++)
	{
		const float *xt = x + ((int64_t) t * B + b) * D;

		for (int k = 0; k < 4 * H; k++)
		{
			a[k] = (double) b_ih[k] + b_hh[k];
			for (int j = 0; j < D; j++)
				a[k] += (double) w_ih[k * D + j] * xt[j];
			for (int j = 0; j < H; j++)
				a[k] += (double) w_hh[k * H + j] * hp[j];
		}
		for (int j = 0; j < H; j++)
		{
			double		i = sigmoid(a[j]),
						f = sigmoid(a[H + j]),
						g = tanh(a[2 * H + j]),
						o = sigmoid(a[3 * H + j]);

			cp[j] = f * cp[j] + i * g;
			hp[j] = o * tanh(cp[j]);
			h[((int64_t) t * B + b) * H + j] = hp[j];
		}
	}
}

typedef struct
{
	int			T,
				B,
				D,
				H,
				reversed;		/* run on the time-reversed batch */
	const int32_t *rows,
			   *lengths;
	float	   *x,
			   *w_ih,
			   *w_hh,
			   *b_ih,
			   *b_hh,
			   *gates,
			   *c,
			   *h,				/* the layer's states (reversed time if reversed) */
			   *out,			/* the states in the batch's time order */
			   *xr,				/* the layer's input (x reversed if reversed) */
			   *zeros,
			   *r,
			   *pack;
} lstm_ctx;

static double
lstm_loss(void *p)
{
	lstm_ctx   *c = p;
	int64_t		TB = (int64_t) c->T * c->B;
	const float *in = c->x;

	if (c->reversed)
	{
		ss_reverse_steps(c->T, c->B, c->lengths, c->D, c->x, c->D, c->xr, c->D, 0);
		in = c->xr;
	}
	ss_lstm_forward(c->T, c->B, c->D, c->H, in, c->w_ih, c->w_hh, c->b_ih, c->b_hh,
					c->gates, c->c, c->h, c->zeros, c->pack, c->rows);
	if (c->reversed)
		ss_reverse_steps(c->T, c->B, c->lengths, c->H, c->h, c->H, c->out, c->H, 0);
	else
		memcpy(c->out, c->h, sizeof(float) * TB * c->H);
	return dot(c->out, c->r, TB * c->H);
}

/*
 * Forward against the reference and backward against finite differences,
 * T = 5, B = 3, lengths 5, 3, 2 (rows 3, 3, 2, 1, 1).  Runs: OpenBLAS with
 * every row computed (the finished sequences then run on as if they were
 * still going, so the reference is taken at full length), the packed
 * kernel likewise, finished sequences skipped with the weight gradients
 * over every row (no scratch) and step by step (scratch), and the reversed
 * batch (the backward direction).  The first two must agree with each other to float rounding.
 */
static void
test_lstm_layer(void)
{
	static const int32_t rows[5] = {3, 3, 2, 1, 1};
	static const int32_t lengths[3] = {5, 3, 2};
	static const int32_t full[3] = {5, 5, 5};
	lstm_ctx	c = {5, 3, 4, 6, 0, NULL, NULL};
	int64_t		TB = c.T * c.B,
				G = 4 * c.H;
	size_t		pa = ss_pack_scratch_floats(c.D, G),
				pb = ss_pack_scratch_floats(c.H, G);
	float	   *pack = SS_NEW_ARRAY(float, pa > pb ? pa : pb);
	float	   *scratch = SS_NEW_ARRAY(float, ss_lstm_scratch_floats(c.B, c.D, c.H));
	float	   *g_ref[6] = {NULL};
	double	   *h_ref = SS_NEW_ARRAY(double, TB * c.H);
	double		agree = 0.0;

	c.x = randn(TB * c.D, 1);
	c.w_ih = randn(G * c.D, 0.5f);
	c.w_hh = randn(G * c.H, 0.5f);
	c.b_ih = randn(G, 0.5f);
	c.b_hh = randn(G, 0.5f);
	c.gates = SS_NEW_ARRAY(float, TB * G);
	c.c = SS_NEW_ARRAY(float, TB * c.H);
	c.h = SS_NEW_ARRAY(float, TB * c.H);
	c.out = SS_NEW_ARRAY(float, TB * c.H);
	c.xr = SS_NEW_ARRAY(float, TB * c.D);
	c.zeros = SS_NEW_ARRAY(float, c.H);
	c.r = randn(TB * c.H, 1);
	for (int run = 0; run <= 4; run++)
	{
		static const char *const how[5] = {
			"OpenBLAS", "packed", "finished sequences skipped",
			"finished sequences skipped, weight gradients step by step", "reversed batch"
		};
		const int	ragged = run >= 2;
		float	   *dh = SS_NEW_ARRAY(float, TB * c.H),
				   *dgates = SS_NEW_ARRAY(float, TB * G),
				   *dc = SS_NEW_ARRAY(float, c.B * c.H),
				   *dx = SS_NEW_ARRAY(float, TB * c.D),
				   *dxr = SS_NEW_ARRAY(float, TB * c.D),
				   *dw_ih = SS_NEW_ARRAY(float, G * c.D),
				   *dw_hh = SS_NEW_ARRAY(float, G * c.H),
				   *db_ih = SS_NEW_ARRAY(float, G),
				   *db_hh = SS_NEW_ARRAY(float, G);
		float	   *grads[6] = {c.out, dx, dw_ih, dw_hh, db_ih, db_hh};
		int64_t		sizes[6] = {TB * c.H, TB * c.D, G * c.D, G * c.H, G, G};
		const int32_t *len = ragged ? lengths : full;
		double		fwd = 0.0;
		int			bad_zero = 0;

		c.pack = run >= 1 ? pack : NULL;
		c.rows = ragged ? rows : NULL;
		c.lengths = ragged ? lengths : NULL;
		c.reversed = run == 4;
		lstm_loss(&c);

		/* forward: the reference on each sequence (reversed in time if so run) */
		for (int b = 0; b < c.B; b++)
			lstm_reference(c.B, c.D, c.H, b, len[b], c.reversed ? c.xr : c.x,
						   c.w_ih, c.w_hh, c.b_ih, c.b_hh, h_ref);
		for (int t = 0; t < c.T; t++)
			for (int b = 0; b < c.B; b++)
				for (int j = 0; j < c.H; j++)
				{
					int64_t		p = ((int64_t) t * c.B + b) * c.H + j;

					if (t < len[b])
						fwd = fmax(fwd, fabs(c.h[p] - h_ref[p]));
					else
						bad_zero += c.h[p] != 0.0f || c.c[p] != 0.0f;
				}
		CHECK(fwd < 1e-5 && bad_zero == 0,
			  "LSTM forward (%s) = PyTorch's equations in double (max difference %.2g), zeros past each end",
			  how[run], fwd);

		/* backward */
		if (c.reversed)
			ss_reverse_steps(c.T, c.B, c.lengths, c.H, c.r, c.H, dh, c.H, 0);
		else
			memcpy(dh, c.r, sizeof(float) * TB * c.H);
		ss_lstm_backward(c.T, c.B, c.D, c.H, c.reversed ? c.xr : c.x, c.w_ih, c.w_hh,
						 c.gates, c.c, c.h, dh, dgates, dc, c.reversed ? dxr : dx,
						 dw_ih, dw_hh, db_ih, db_hh, c.zeros, c.pack, c.rows,
						 run >= 3 ? scratch : NULL);
		if (c.reversed)
			ss_reverse_steps(c.T, c.B, c.lengths, c.D, dxr, c.D, dx, c.D, 0);
		if (run == 0)
		{
			g_ref[0] = SS_NEW_ARRAY(float, TB * c.H);
			memcpy(g_ref[0], c.out, sizeof(float) * TB * c.H);
			for (int i = 1; i < 6; i++)
				g_ref[i] = grads[i];
		}
		else if (run == 1)
		{
			for (int i = 0; i < 6; i++)
				agree = fmax(agree, max_rel_diff(grads[i], g_ref[i], sizes[i]));
		}
		if (ragged)
		{
			int			nonzero = 0;

			for (int t = 0; t < c.T; t++)
				for (int b = rows[t]; b < c.B; b++)
					for (int j = 0; j < c.D; j++)
						nonzero += dx[((int64_t) t * c.B + b) * c.D + j] != 0.0f;
			CHECK(nonzero == 0, "LSTM backward (%s): dx = 0 past each end", how[run]);
		}
		CHECK(gradcheck("lstm.x", c.x, dx, TB * c.D, lstm_loss, &c, 1e-2, 60, 1e-3) < TOL, "LSTM backward (%s): dx", how[run]);
		CHECK(gradcheck("lstm.w_ih", c.w_ih, dw_ih, G * c.D, lstm_loss, &c, 1e-2, 60, 1e-3) < TOL, "LSTM backward (%s): dW_ih", how[run]);
		CHECK(gradcheck("lstm.w_hh", c.w_hh, dw_hh, G * c.H, lstm_loss, &c, 1e-2, 60, 1e-3) < TOL, "LSTM backward (%s): dW_hh", how[run]);
		CHECK(gradcheck("lstm.b_ih", c.b_ih, db_ih, G, lstm_loss, &c, 1e-2, 60, 1e-3) < TOL, "LSTM backward (%s): db_ih", how[run]);
		CHECK(gradcheck("lstm.b_hh", c.b_hh, db_hh, G, lstm_loss, &c, 1e-2, 60, 1e-3) < TOL, "LSTM backward (%s): db_hh", how[run]);
	}
	CHECK(agree < 1e-5, "LSTM packed = OpenBLAS: states and every gradient (max relative difference %.2g)", agree);
}

/*
 * The recurrence alone after an input projection done elsewhere gives the
 * layer's states exactly and its gradients up to the order of the sums.
 */
static void
test_lstm_steps(void)
{
	static const int32_t rows[5] = {3, 3, 2, 1, 1};
	const int	T = 5,
				B = 3,
				D = 4,
				H = 6,
				G = 4 * H;
	int64_t		TB = T * B;
	float	   *x = randn(TB * D, 1),
			   *w_ih = randn(G * D, 0.5f),
			   *w_hh = randn(G * H, 0.5f),
			   *b_ih = randn(G, 0.5f),
			   *b_hh = randn(G, 0.5f),
			   *r = randn(TB * H, 1),
			   *zeros = SS_NEW_ARRAY(float, H),
			   *pack = SS_NEW_ARRAY(float, ss_pack_scratch_floats(D > H ? D : H, G)),
			   *scratch = SS_NEW_ARRAY(float, ss_lstm_scratch_floats(B, D, H)),
			   *steps_scratch = SS_NEW_ARRAY(float, ss_steps_scratch_floats(T, B, G, D > H ? D : H));
	float	   *gates[2],
			   *c[2],
			   *h[2],
			   *dh[2],
			   *dg[2],
			   *dc[2],
			   *dx[2],
			   *dw_ih[2],
			   *dw_hh[2],
			   *db_ih[2],
			   *db_hh[2];
	double		diff = 0.0;

	for (int k = 0; k < 2; k++)
	{
		gates[k] = SS_NEW_ARRAY(float, TB * G);
		c[k] = SS_NEW_ARRAY(float, TB * H);
		h[k] = SS_NEW_ARRAY(float, TB * H);
		dh[k] = SS_NEW_ARRAY(float, TB * H);
		dg[k] = SS_NEW_ARRAY(float, TB * G);
		dc[k] = SS_NEW_ARRAY(float, B * H);
		dx[k] = SS_NEW_ARRAY(float, TB * D);
		dw_ih[k] = SS_NEW_ARRAY(float, G * D);
		dw_hh[k] = SS_NEW_ARRAY(float, G * H);
		db_ih[k] = SS_NEW_ARRAY(float, G);
		db_hh[k] = SS_NEW_ARRAY(float, G);
		memcpy(dh[k], r, sizeof(float) * TB * H);
	}
	ss_lstm_forward(T, B, D, H, x, w_ih, w_hh, b_ih, b_hh, gates[0], c[0], h[0], zeros, pack, rows);
	ss_lstm_backward(T, B, D, H, x, w_ih, w_hh, gates[0], c[0], h[0], dh[0], dg[0], dc[0], dx[0],
					 dw_ih[0], dw_hh[0], db_ih[0], db_hh[0], zeros, pack, rows, scratch);

	ss_dense_forward_steps(T, B, rows, D, G, x, w_ih, b_ih, gates[1], pack);
	ss_lstm_steps_forward(T, B, H, w_hh, b_hh, gates[1], c[1], h[1], zeros, pack, rows);
	ss_lstm_steps_backward(T, B, H, w_hh, gates[1], c[1], h[1], dh[1], dg[1], dc[1],
						   dw_hh[1], db_hh[1], zeros, pack, rows, scratch);
	ss_dense_backward_steps(T, B, rows, D, G, x, w_ih, dg[1], dx[1], 0, dw_ih[1], db_ih[1],
							pack, steps_scratch);
	diff = fmax(max_rel_diff(h[1], h[0], TB * H), max_rel_diff(dx[1], dx[0], TB * D));
	diff = fmax(diff, max_rel_diff(dw_ih[1], dw_ih[0], G * D));
	diff = fmax(diff, max_rel_diff(dw_hh[1], dw_hh[0], G * H));
	diff = fmax(diff, max_rel_diff(db_ih[1], db_ih[0], G));
	diff = fmax(diff, max_rel_diff(db_hh[1], db_hh[0], G));
	CHECK(diff < 1e-5, "LSTM recurrence alone after a separate input projection = the whole layer (max relative difference %.2g)", diff);
}

/*
 * Reversal: positions map as documented, zeros past each end, twice gives
 * the batch back, row strides (into the right half of a wider row) and
 * accumulation.
 */
static void
test_reverse_steps(void)
{
	static const int32_t lengths[3] = {4, 2, 1};
	const int	T = 4,
				B = 3,
				W = 2;
	float		x[4 * 3 * 2],
				y[4 * 3 * 2],
				z[4 * 3 * 2],
				wide[4 * 3 * 5];
	int			bad = 0;

	for (int i = 0; i < T * B * W; i++)
		x[i] = 1.0f + i;
	ss_reverse_steps(T, B, lengths, W, x, W, y, W, 0);
	for (int t = 0; t < T; t++)
		for (int b = 0; b < B; b++)
			for (int j = 0; j < W; j++)
			{
				float		want = t < lengths[b] ? x[((lengths[b] - 1 - t) * B + b) * W + j] : 0.0f;

				bad += y[(t * B + b) * W + j] != want;
			}
	CHECK(bad == 0, "reverse: x_rev[t, b] = x[len_b - 1 - t, b], zeros past each end");
	ss_reverse_steps(T, B, lengths, W, y, W, z, W, 0);
	bad = 0;
	for (int t = 0; t < T; t++)
		for (int b = 0; b < B; b++)
			for (int j = 0; j < W; j++)
				bad += z[(t * B + b) * W + j] != (t < lengths[b] ? x[(t * B + b) * W + j] : 0.0f);
	CHECK(bad == 0, "reverse twice: the batch back");
	for (int i = 0; i < T * B * 5; i++)
		wide[i] = 0.5f;
	ss_reverse_steps(T, B, lengths, W, y, W, wide + 3, 5, 1);
	bad = 0;
	for (int t = 0; t < T; t++)
		for (int b = 0; b < B; b++)
			for (int j = 0; j < 5; j++)
			{
				float		want = 0.5f;

				if (j >= 3 && t < lengths[b])
					want += x[(t * B + b) * W + j - 3];
				bad += wide[(t * B + b) * 5 + j] != want;
			}
	CHECK(bad == 0, "reverse with row strides and accumulation: added into the right columns only");
}

/*
 * Interrupts: a forward and backward pass polls at least once per time
 * step each way; cut short at any of its polls, it reports the interrupt,
 * and run again from the same inputs gives the uninterrupted results bit
 * for bit.
 */
static void
test_lstm_interrupt(void)
{
	static const int32_t rows[8] = {4, 4, 3, 3, 2, 2, 1, 1};
	const int	T = 8,
				B = 4,
				D = 5,
				H = 8,
				G = 4 * H;
	int64_t		TB = T * B,
				polls = 0;
	float	   *x = randn(TB * D, 1),
			   *w_ih = randn(G * D, 0.5f),
			   *w_hh = randn(G * H, 0.5f),
			   *b_ih = randn(G, 0.5f),
			   *b_hh = randn(G, 0.5f),
			   *r = randn(TB * H, 1),
			   *zeros = SS_NEW_ARRAY(float, H),
			   *pack = SS_NEW_ARRAY(float, ss_pack_scratch_floats(D > H ? D : H, G)),
			   *scratch = SS_NEW_ARRAY(float, ss_lstm_scratch_floats(B, D, H)),
			   *gates = SS_NEW_ARRAY(float, TB * G),
			   *c = SS_NEW_ARRAY(float, TB * H),
			   *h = SS_NEW_ARRAY(float, TB * H),
			   *dh = SS_NEW_ARRAY(float, TB * H),
			   *dg = SS_NEW_ARRAY(float, TB * G),
			   *dc = SS_NEW_ARRAY(float, B * H),
			   *dx = SS_NEW_ARRAY(float, TB * D),
			   *grad = SS_NEW_ARRAY(float, G * (D + H + 2)),
			   *h_ref = SS_NEW_ARRAY(float, TB * H),
			   *dx_ref = SS_NEW_ARRAY(float, TB * D),
			   *grad_ref = SS_NEW_ARRAY(float, G * (D + H + 2));
	int			cut = 1,
				same = 1;

	for (int n = 0; n <= 2 * T + 4; n++)
	{
		int			interrupted;

		memcpy(dh, r, sizeof(float) * TB * H);
		memset(grad, 0, sizeof(float) * G * (D + H + 2));
		ss_interrupt_begin();
		ss_interrupt_inject(n);
		ss_lstm_forward(T, B, D, H, x, w_ih, w_hh, b_ih, b_hh, gates, c, h, zeros, pack, rows);
		ss_lstm_backward(T, B, D, H, x, w_ih, w_hh, gates, c, h, dh, dg, dc, dx,
						 grad, grad + G * D, grad + G * (D + H), grad + G * (D + H + 1),
						 zeros, pack, rows, scratch);
		if (n == 0)
			polls = ss_interrupt_polls();
		interrupted = ss_interrupt_end();
		ss_interrupt_inject(0);
		if (n == 0)
		{
			memcpy(h_ref, h, sizeof(float) * TB * H);
			memcpy(dx_ref, dx, sizeof(float) * TB * D);
			memcpy(grad_ref, grad, sizeof(float) * G * (D + H + 2));
			continue;
		}
		if (!interrupted && n <= polls)
			cut = 0;
		/* the same pass again, uninterrupted */
		memcpy(dh, r, sizeof(float) * TB * H);
		memset(grad, 0, sizeof(float) * G * (D + H + 2));
		ss_lstm_forward(T, B, D, H, x, w_ih, w_hh, b_ih, b_hh, gates, c, h, zeros, pack, rows);
		ss_lstm_backward(T, B, D, H, x, w_ih, w_hh, gates, c, h, dh, dg, dc, dx,
						 grad, grad + G * D, grad + G * (D + H), grad + G * (D + H + 1),
						 zeros, pack, rows, scratch);
		if (memcmp(h, h_ref, sizeof(float) * TB * H) != 0 ||
			memcmp(dx, dx_ref, sizeof(float) * TB * D) != 0 ||
			memcmp(grad, grad_ref, sizeof(float) * G * (D + H + 2)) != 0)
			same = 0;
	}
	CHECK(polls >= 2 * T, "LSTM forward and backward over %d steps poll %ld times", T, (long) polls);
	CHECK(cut && same, "LSTM cut short at any of its polls reports it; run again, the same results bit for bit");
}

/* ---------------------------------------------------------------- the model */

typedef struct
{
	ss_dims		d;
	float	   *params;
	ss_batch   *batch;
	ss_workspace *ws;
	float	   *alpha;
	int32_t    *y;
	float		dropout;
	ss_rng		mask_rng;		/* reseeded before every pass: the same masks each time */
} model_ctx;

static int
model_pass(model_ctx *c, float **logits)
{
	const int32_t *qt,
			   *qb;
	int			n_q;

	ss_rng_seed(&c->mask_rng, 99);
	n_q = ss_model_forward(&c->d, c->params, c->batch, SS_QUERY_TARGETS, c->dropout,
						   c->dropout > 0.0f ? &c->mask_rng : NULL, c->ws, logits, &qt, &qb);
	for (int i = 0; i < n_q; i++)
		c->y[i] = c->batch->target[qt[i] * c->batch->B + qb[i]];
	return n_q;
}

static double
model_loss(void *p)
{
	model_ctx  *c = p;
	float	   *logits;
	int			n_q = model_pass(c, &logits);

	return ss_focal_loss(n_q, c->d.n_classes, logits, c->y, c->alpha, 2.0f, logits, NULL);
}

/*
 * B = 4 windows of lengths 6, 4, 4, 1 (T = 6), three with a target at
 * their last event, one without (it must not be queried), targets
 * elsewhere (ignored); a categorical feature and two numerics.  Every
 * parameter's gradient against finite differences; 2 layers also with
 * dropout (the same masks at every evaluation).  Then: one query per
 * window that has a target, at its last event; reserved in advance, the
 * workspace does not grow during a training pass or a prediction; the blob
 * keeps the architecture and the weights.
 */
static void
test_lstm_model(int layers, float dropout)
{
	model_ctx	c;
	const int	B = 4,
				T = 6,
				lengths[4] = {6, 4, 4, 1};
	int64_t		n;
	float	   *grads;
	ss_lstm_params pp,
				gp;
	struct
	{
		char		name[32];
		float	   *p,
				   *g;
		int64_t		n;
	}			parts[48];
	int			n_parts = 0;
	const int	H = 5,
				A = 4,
				C = 5;

	memset(&c, 0, sizeof(c));
	c.d.arch = SS_ARCH_LSTM;
	c.d.n_classes = C;
	c.d.n_features = 1;
	c.d.feature_vocab[0] = 3;
	c.d.n_numeric = 2;
	c.d.hidden = H;
	c.d.layers = layers;
	c.d.attn = A;
	c.dropout = dropout;
	ss_dims_finish(&c.d, 1.0);
	n = ss_param_count(&c.d);
	c.params = SS_NEW_ARRAY(float, n);
	ss_params_init(&c.d, c.params, &rng);
	grads = SS_NEW_ARRAY(float, n);
	c.batch = ss_batch_new(&c.d, B, T);
	c.batch->B = B;
	c.batch->T = T;
	c.ws = ss_workspace_new();
	c.alpha = SS_NEW_ARRAY(float, C);
	c.y = SS_NEW_ARRAY(int32_t, B * T);
	for (int j = 0; j < C; j++)
		c.alpha[j] = 0.6f + 0.2f * j;
	for (int b = 0; b < B; b++)
	{
		c.batch->lengths[b] = lengths[b];
		for (int t = 0; t < T; t++)
		{
			int			p = t * B + b,
						valid = t < lengths[b];

			c.batch->cat[p] = valid ? 1 + (int) ss_rng_below(&rng, C + 1) : 0;
			c.batch->feat[p] = valid ? 1 + (int) ss_rng_below(&rng, 4) : 0;
			c.batch->num[p * 2] = valid ? ss_rng_normal(&rng) : 0;
			c.batch->num[p * 2 + 1] = valid ? ss_rng_normal(&rng) : 0;
			c.batch->target[p] = valid && (t == lengths[b] - 1 ? b != 2 : t % 2 == 0)
				? (int) ss_rng_below(&rng, C) : -1;
		}
	}
	{
		float	   *logits;
		const int32_t *qt,
				   *qb;
		int			n_q,
					ok;

		/* reserved in advance, nothing grows: a training pass, then a prediction */
		ss_workspace_reserve(c.ws, &c.d, c.batch, 1);
		{
			int64_t		before = ss_workspace_bytes(c.ws);

			n_q = model_pass(&c, &logits);
			ss_focal_loss(n_q, C, logits, c.y, c.alpha, 2.0f, logits, NULL);
			ss_model_backward(&c.d, c.params, c.batch, logits, c.ws, grads);
			CHECK(ss_workspace_bytes(c.ws) == before,
				  "lstm (%d layer%s%s): a training pass allocates nothing after ss_workspace_reserve",
				  layers, layers > 1 ? "s" : "", dropout > 0 ? ", dropout" : "");
		}
		ss_model_forward(&c.d, c.params, c.batch, SS_QUERY_TARGETS, c.dropout,
						 c.dropout > 0.0f ? &c.mask_rng : NULL, c.ws, &logits, &qt, &qb);
		ok = n_q == 3;
		for (int i = 0; i < n_q && ok; i++)
			ok = qt[i] == lengths[qb[i]] - 1 && qb[i] != 2;
		CHECK(ok, "lstm: one query per window with a target at its last event (%d)", n_q);
		{
			ss_workspace *pw = ss_workspace_new();
			int64_t		before;

			ss_workspace_reserve_predict(pw, &c.d, c.batch);
			before = ss_workspace_bytes(pw);
			n_q = ss_model_forward(&c.d, c.params, c.batch, SS_QUERY_LAST, 0.0f, NULL, pw,
								   &logits, &qt, &qb);
			CHECK(n_q == B && ss_workspace_bytes(pw) == before,
				  "lstm: a prediction queries every window and allocates nothing after ss_workspace_reserve_predict");
			ss_workspace_free(pw);
		}
	}
	{
		size_t		len = ss_blob_size(&c.d);
		uint8_t    *blob = ss_alloc(len);
		ss_dims		back;
		float	   *decoded = NULL;
		const char *err;

		ss_blob_encode(&c.d, c.params, blob);
		err = ss_blob_decode(blob, len, &back, &decoded);
		CHECK(err == NULL && back.arch == SS_ARCH_LSTM && memcmp(&back, &c.d, sizeof(back)) == 0 &&
			  memcmp(decoded, c.params, sizeof(float) * n) == 0,
			  "lstm (%d layer%s): blob round trip keeps the architecture, dimensions and weights",
			  layers, layers > 1 ? "s" : "");
		ss_free(decoded);
		ss_free(blob);
	}
	ss_lstm_bind(&c.d, c.params, &pp);
	ss_lstm_bind(&c.d, grads, &gp);
#define PART(nm, f, cnt) do { snprintf(parts[n_parts].name, sizeof(parts[n_parts].name), "%s", nm); \
		parts[n_parts].p = pp.f; parts[n_parts].g = gp.f; parts[n_parts].n = cnt; n_parts++; } while (0)
	PART("cat_emb", enc.cat_emb, (int64_t) (C + 2) * c.d.emb_dim[0]);
	PART("feat_emb0", enc.feat_emb[0], (int64_t) 5 * c.d.emb_dim[1]);
	for (int l = 0; l < layers; l++)
		for (int dir = 0; dir < 2; dir++)
		{
			char		nm[32];
			int			in = l == 0 ? c.d.input_dim : 2 * H;
			const char *sfx = dir ? "_reverse" : "";

			snprintf(nm, sizeof(nm), "w_ih_l%d%s", l, sfx);
			PART(nm, w_ih[l][dir], (int64_t) 4 * H * in);
			snprintf(nm, sizeof(nm), "w_hh_l%d%s", l, sfx);
			PART(nm, w_hh[l][dir], (int64_t) 4 * H * H);
			snprintf(nm, sizeof(nm), "b_ih_l%d%s", l, sfx);
			PART(nm, b_ih[l][dir], 4 * H);
			snprintf(nm, sizeof(nm), "b_hh_l%d%s", l, sfx);
			PART(nm, b_hh[l][dir], 4 * H);
		}
	PART("w_k", w_k, (int64_t) A * 2 * H);
	PART("b_k", b_k, A);
	PART("w_q", w_q, (int64_t) A * 2 * H);
	PART("v", v, A);
	PART("w_o", w_o, (int64_t) C * 4 * H);
	PART("b_o", b_o, C);
#undef PART
	for (int i = 0; i < n_parts; i++)
		CHECK(gradcheck(parts[i].name, parts[i].p, parts[i].g, parts[i].n, model_loss, &c,
						1e-2, 40, 1e-3) < 2 * TOL,
			  "lstm model (%d layer%s%s) gradient of %s against finite differences", layers,
			  layers > 1 ? "s" : "", dropout > 0 ? ", dropout" : "", parts[i].name);
	ss_workspace_free(c.ws);
	ss_batch_free(c.batch);
}

void		run_lstm_tests(void);

void
run_lstm_tests(void)
{
	ss_rng_seed(&rng, 7);
	test_lstm_layer();
	test_lstm_steps();
	test_reverse_steps();
	test_lstm_interrupt();
	test_lstm_model(1, 0.0f);
	test_lstm_model(2, 0.0f);
	test_lstm_model(2, 0.3f);
}
