/*
 * gru4rec.c - GRU4Rec with additive attention (arch.h), causal:
 *
 *   x_t    = dropout([E_cat(cat_t), E_1(f1_t), .., E_F(fF_t), num_t])   D
 *   h^l_t  = GRU_l(dropout(h^{l-1}_t)), l = 1..L (h^0 = x)               H
 *   c_t    = sum_{s<=t} softmax_s(v . tanh(W_k h_s + b_k + W_q h_t)) h_s  H
 *   logits = W_o dropout([c_t; h_t]) + b_o                              C
 *
 * (h = the top layer).  The hybrid (architecture 'hybrid') adds two
 * inputs to x_t, the order structure (1 when event t continues event
 * t-1's order; log1p of its position in its order), and a history head:
 *
 *   logits += sum_f w_f x_f(history up to t)       (history.h)
 *
 * trained jointly, with the head's statistics counted on the fitting
 * clients before the first step.  Every position of a window can be a query, so a
 * window carries all its targets: one pass trains up to max_length of them.
 * Parameters in the order of ss_gru4rec_params (models/FORMAT.md).
 */
#include "gru4rec.h"

#include <math.h>
#include <string.h>

#include "arch_impl.h"
#include "blas.h"
#include "layers.h"
#include "ss_alloc.h"
#include "windows.h"

#define WSF(slot, n) SS_WSF(ws, (slot), (n))

enum
{
	WS_X0 = 1, WS_X0_MASK, WS_GH_STEP, WS_KEYS, WS_QUERIES, WS_Z, WS_Z_MASK, WS_ZD,
	WS_CTX, WS_E, WS_ALPHA, WS_LOGITS, WS_DZ, WS_DQUERIES, WS_DKEYS, WS_DH,
	WS_DGI, WS_DGH, WS_DX, WS_DCTX, WS_FEATIDS, WS_SINK,
	WS_LIN, WS_LIN_MASK = WS_LIN + SS_MAX_LAYERS,
	WS_GATES = WS_LIN_MASK + SS_MAX_LAYERS,
	WS_GHN = WS_GATES + SS_MAX_LAYERS,
	WS_H = WS_GHN + SS_MAX_LAYERS,
	WS_QT = WS_H + SS_MAX_LAYERS, WS_QB, WS_EOFF, WS_AOFF, WS_QROW, WS_PACK, WS_ROWS_AT, WS_ATTN_SCRATCH, WS_STEPS_SCRATCH,
	WS_HX, WS_HSCRATCH, WS_HNB, WS_HKEYS,
	WS_N_BUFFERS
};

/* Walks the layout once; with base == NULL only counts. */
static int64_t
layout(const ss_dims *d, float *base, ss_gru4rec_params *p)
{
	int64_t		off = 0;
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;

	ss_encoder_layout(d, p ? base : NULL, &off, p ? &p->enc : NULL);
#define TAKE(field, n) do { if (p) (field) = base + off; off += (int64_t) (n); } while (0)
	for (int l = 0; l < d->layers; l++)
	{
		int			in = l == 0 ? d->input_dim : H;

		TAKE(p->w_ih[l], (int64_t) 3 * H * in);
		TAKE(p->w_hh[l], (int64_t) 3 * H * H);
		TAKE(p->b_ih[l], 3 * H);
		TAKE(p->b_hh[l], 3 * H);
	}
	TAKE(p->w_k, (int64_t) A * H);
	TAKE(p->b_k, A);
	TAKE(p->w_q, (int64_t) A * H);
	TAKE(p->v, A);
	TAKE(p->w_o, (int64_t) C * 2 * H);
	TAKE(p->b_o, C);
	if (d->arch == SS_ARCH_HYBRID)
	{
		TAKE(p->head, SS_HIST_FEATURES);
		if (p)
			ss_hist_stats_bind(C, base + off, &p->stats);
		off += ss_hist_stats_floats(C);
	}
#undef TAKE
	return off;
}

static void
gru4rec_init(const ss_dims *d, float *base, ss_rng *rng)
{
	ss_gru4rec_params	p;
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;
	float		kh = 1.0f / sqrtf((float) H);

	ss_gru4rec_bind(d, base, &p);
	ss_encoder_init(d, &p.enc, rng);
	for (int l = 0; l < d->layers; l++)
	{
		int			in = l == 0 ? d->input_dim : H;

		ss_fill_uniform(p.w_ih[l], (int64_t) 3 * H * in, kh, rng);
		ss_fill_uniform(p.w_hh[l], (int64_t) 3 * H * H, kh, rng);
		ss_fill_uniform(p.b_ih[l], 3 * H, kh, rng);
		ss_fill_uniform(p.b_hh[l], 3 * H, kh, rng);
	}
	ss_fill_uniform(p.w_k, (int64_t) A * H, kh, rng);
	ss_fill_uniform(p.b_k, A, kh, rng);
	ss_fill_uniform(p.w_q, (int64_t) A * H, kh, rng);
	ss_fill_uniform(p.v, A, 1.0f / sqrtf((float) A), rng);
	ss_fill_uniform(p.w_o, (int64_t) C * 2 * H, 1.0f / sqrtf(2.0f * H), rng);
	ss_fill_uniform(p.b_o, C, 1.0f / sqrtf(2.0f * H), rng);
	if (p.head)
	{
		/* the head starts as a popularity prior; the statistics come from prepare */
		memset(p.head, 0, sizeof(float) * (SS_HIST_FEATURES + ss_hist_stats_floats(C)));
		p.head[0] = 1.0f / SS_HEAD_SCALE;
		/* the network's share of the logits starts small: the head's counting first */
		for (int64_t i = 0; i < (int64_t) C * 2 * H; i++)
			p.w_o[i] *= 0.1f;
		memset(p.b_o, 0, sizeof(float) * C);
	}
}

static void
hybrid_prepare(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
			   float *params)
{
	ss_gru4rec_params p;

	ss_gru4rec_bind(d, params, &p);
	ss_hist_fit(d->n_classes, data, fit, n_fit, p.stats.log_pop);
}

/*
 * The order inputs, the last SS_ORDER_INPUTS columns of each row of x0
 * (the encoder fills the others).
 */
static void
order_inputs(const ss_batch *batch, int D, float *x0)
{
	const int	B = batch->B;

	for (int b = 0; b < B; b++)
	{
		int			pos = 0;

		for (int t = 0; t < batch->T; t++)
		{
			int64_t		i = (int64_t) t * B + b;
			float	   *x = x0 + i * D + D - SS_ORDER_INPUTS;

			if (t >= batch->lengths[b])
			{
				x[0] = x[1] = 0.0f;
				continue;
			}
			pos = batch->order_start[i] ? 0 : pos + 1;
			x[0] = batch->order_start[i] ? 0.0f : 1.0f;
			x[1] = log1pf((float) pos);
		}
	}
}

/* floats of packed-weight scratch: the largest weight matrix, packed either way */
static int64_t
gru4rec_pack_floats(const ss_dims *d)
{
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;
	size_t		n = ss_pack_scratch_floats(H, 3 * H);

#define SS_AT_LEAST(x) do { size_t x_ = (x); if (x_ > n) n = x_; } while (0)
	SS_AT_LEAST(ss_pack_scratch_floats(d->input_dim, 3 * H));
	SS_AT_LEAST(ss_pack_scratch_floats(H, A));
	SS_AT_LEAST(ss_pack_scratch_floats(2 * H, C));
#undef SS_AT_LEAST
	return (int64_t) n;
}

#define WS_PACKF(ws, d) WSF(WS_PACK, gru4rec_pack_floats(d))

/* floats of scratch for weight gradients over the rows in use (layers.h) */
static int64_t
steps_floats(const ss_dims *d, int64_t B, int64_t T)
{
	const int	H = d->hidden,
				G = 3 * H;
	const int	wide = G > d->attn ? G : d->attn,
				narrow = d->input_dim > H ? d->input_dim : H;

	return (int64_t) ss_steps_scratch_floats((int) T, (int) B, wide, narrow);
}

#define WS_STEPSF(ws, d, batch) WSF(WS_STEPS_SCRATCH, steps_floats(d, (batch)->B, (batch)->T))

/*
 * The bytes every buffer of the workspace needs for a pass of this shape:
 * with_backward, at least as much as any request of a training pass's
 * forward and backward over such a batch (reserve() takes them before the
 * pass); without, exactly the requests of a forward pass in eval mode.
 * The one list of the buffers' sizes.
 */
static void
gru4rec_pass_bytes(const ss_dims *d, const ss_pass_shape *s, int with_backward,
				   int64_t bytes[SS_WS_SLOTS])
{
	const int64_t B = s->B,
				T = s->T,
				TB = s->TB,
				H = d->hidden,
				A = d->attn,
				C = d->n_classes,
				D = d->input_dim,
				n_q = s->n_q,
				n_alpha = s->n_alpha;
	const int64_t f = sizeof(float);

	memset(bytes, 0, sizeof(int64_t) * SS_WS_SLOTS);
	bytes[WS_X0] = f * TB * D;
	if (d->n_features > 0 || with_backward)
		bytes[WS_FEATIDS] = sizeof(int32_t) * TB;
	for (int l = 0; l < d->layers; l++)
	{
		bytes[WS_H + l] = f * TB * H;
		bytes[WS_GATES + l] = f * TB * 3 * H;
		bytes[WS_GHN + l] = f * TB * H;
	}
	bytes[WS_GH_STEP] = f * B * 3 * H;
	bytes[WS_PACK] = f * gru4rec_pack_floats(d);
	bytes[WS_ROWS_AT] = sizeof(int32_t) * (T + 1);
	bytes[WS_ATTN_SCRATCH] = f * (int64_t) ss_attention_scratch_floats((int) T);
	bytes[SS_WS_ZEROS] = f * H;
	bytes[WS_QT] = sizeof(int32_t) * (TB + 1);
	bytes[WS_QB] = sizeof(int32_t) * (TB + 1);
	bytes[WS_QROW] = sizeof(int32_t) * (n_q + 1);
	bytes[WS_EOFF] = sizeof(int64_t) * (n_q + 1);
	bytes[WS_AOFF] = sizeof(int64_t) * (n_q + 1);
	bytes[WS_KEYS] = f * TB * A;
	bytes[WS_Z] = f * n_q * 2 * H;
	bytes[WS_QUERIES] = f * n_q * A;
	bytes[WS_CTX] = f * n_q * H;
	bytes[WS_E] = f * n_alpha * A;
	bytes[WS_ALPHA] = f * n_alpha;
	bytes[WS_LOGITS] = f * n_q * C;
	if (d->arch == SS_ARCH_HYBRID)
	{
		bytes[WS_HX] = f * n_q * SS_HIST_FEATURES * C;
		bytes[WS_HSCRATCH] = f * ss_hist_scratch_floats((int) C);
		bytes[WS_HNB] = f * ss_hist_neighbours_floats(n_q);
		bytes[WS_HKEYS] = sizeof(uint32_t) * (n_q + 1);
	}
	if (!with_backward)
		return;
	/* training: dropout masks and inputs, then the gradients */
	bytes[WS_SINK] = f * H;
	bytes[WS_X0_MASK] = f * TB * D;
	for (int l = 0; l < d->layers; l++)
	{
		bytes[WS_LIN + l] = f * TB * H;
		bytes[WS_LIN_MASK + l] = f * TB * H;
	}
	bytes[WS_STEPS_SCRATCH] = f * steps_floats(d, 1, TB);	/* T B rows */
	bytes[WS_Z_MASK] = f * n_q * 2 * H;
	bytes[WS_ZD] = f * n_q * 2 * H;
	bytes[WS_DZ] = f * n_q * 2 * H;
	bytes[WS_DH] = f * TB * H;
	bytes[WS_DCTX] = f * n_q * H;
	bytes[WS_DKEYS] = f * TB * A;
	bytes[WS_DQUERIES] = f * n_q * A;
	bytes[WS_DX] = f * TB * (D > H ? D : H);
	bytes[WS_DGI] = f * TB * 3 * H;
	bytes[WS_DGH] = f * TB * 3 * H;
}

/* ---------------------------------------------------------------- forward */

static int
gru4rec_forward(const ss_dims *d, const float *params,
				const ss_batch *batch, ss_query_mode mode,
				float dropout, ss_rng *rng, ss_workspace *ws,
				float **logits_out, const int32_t **qt_out,
				const int32_t **qb_out)
{
	ss_gru4rec_params	p;
	const int	B = batch->B,
				T = batch->T,
				H = d->hidden,
				A = d->attn,
				C = d->n_classes,
				D = d->input_dim;
	const int64_t TB = (int64_t) T * B;
	const int	train = dropout > 0.0f && rng != NULL;
	float	   *x0,
			   *input,
			   *top,
			   *z,
			   *zd,
			   *ctx,
			   *keys,
			   *queries,
			   *logits;
	int32_t    *qt,
			   *qb,
			   *qrow;
	const int32_t *rows_at;
	int64_t    *e_off,
			   *a_off,
				n_e;
	int			n_q;

	ss_gru4rec_bind(d, (float *) params, &p);
	ws->train = train;
	ws->dropout = dropout;

	/* encoder: embeddings and numerics side by side in each row of x0 */
	x0 = WSF(WS_X0, TB * D);
	ss_encoder_forward(d, &p.enc, batch, ws, WS_FEATIDS, x0);
	if (p.head)
		order_inputs(batch, D, x0);
	if (train)
	{
		float	   *m = WSF(WS_X0_MASK, TB * D);

		ss_draw_mask(m, TB * D, dropout, rng);
		ss_dropout_apply(x0, m, TB * D);
	}

	/* GRU stack */
	rows_at = ss_ws_rows_at(ws, WS_ROWS_AT, batch);
	input = x0;
	for (int l = 0; l < d->layers; l++)
	{
		int			in = l == 0 ? D : H;
		float	   *h = WSF(WS_H + l, TB * H);

		if (ss_interrupted())
			goto cut;
		if (l > 0 && train)
		{
			float	   *lin = WSF(WS_LIN + l, TB * H);
			float	   *m = WSF(WS_LIN_MASK + l, TB * H);

			ss_copy_floats(lin, input, TB * H);
			ss_draw_mask(m, TB * H, dropout, rng);
			ss_dropout_apply(lin, m, TB * H);
			input = lin;
		}
		ss_gru_forward(T, B, in, H, input, p.w_ih[l], p.w_hh[l], p.b_ih[l], p.b_hh[l],
					   WSF(WS_GATES + l, TB * 3 * H), WSF(WS_GHN + l, TB * H), h,
					   WSF(WS_GH_STEP, (int64_t) B * 3 * H), ss_ws_zeros(ws, H), WS_PACKF(ws, d),
					   rows_at);
		input = h;
	}
	top = input;

	/* query positions */
	qt = (int32_t *) ss_ws_get(ws, WS_QT, sizeof(int32_t) * (TB + 1));
	qb = (int32_t *) ss_ws_get(ws, WS_QB, sizeof(int32_t) * (TB + 1));
	n_q = ss_queries_of(batch, mode, qt, qb);
	ws->n_q = n_q;

	/* attention: keys of every position, queries of the query rows */
	if (ss_interrupted())
		goto cut;
	keys = WSF(WS_KEYS, TB * A);
	ss_dense_forward_steps(T, B, rows_at, H, A, top, p.w_k, p.b_k, keys, WS_PACKF(ws, d));
	z = WSF(WS_Z, (int64_t) n_q * 2 * H);
	for (int i = 0; i < n_q; i++)
	{
		if (ss_row_poll(i, H))
			goto cut;
		memcpy(z + (int64_t) i * 2 * H + H, top + ((int64_t) qt[i] * B + qb[i]) * H,
			   sizeof(float) * H);
	}
	queries = WSF(WS_QUERIES, (int64_t) n_q * A);
	ss_matmul_wt(n_q, H, A, z + H, 2 * H, p.w_q, NULL, 0.0f, queries, A, WS_PACKF(ws, d));

	e_off = (int64_t *) ss_ws_get(ws, WS_EOFF, sizeof(int64_t) * (n_q + 1));
	a_off = (int64_t *) ss_ws_get(ws, WS_AOFF, sizeof(int64_t) * (n_q + 1));
	n_e = ss_attention_offsets(n_q, qt, A, e_off, a_off);
	ctx = WSF(WS_CTX, (int64_t) n_q * H);
	ss_attention_forward(B, H, A, n_q, qt, qb, top, keys, queries, p.v, e_off, a_off,
						 WSF(WS_E, n_e), WSF(WS_ALPHA, a_off[n_q]), ctx,
						 WSF(WS_ATTN_SCRATCH, ss_attention_scratch_floats(T)));
	for (int i = 0; i < n_q; i++)
	{
		if (ss_row_poll(i, H))
			goto cut;
		memcpy(z + (int64_t) i * 2 * H, ctx + (int64_t) i * H, sizeof(float) * H);
	}

	/* output layer */
	if (ss_interrupted())
		goto cut;
	zd = z;
	if (train)
	{
		float	   *m = WSF(WS_Z_MASK, (int64_t) n_q * 2 * H);

		zd = WSF(WS_ZD, (int64_t) n_q * 2 * H);
		ss_copy_floats(zd, z, (int64_t) n_q * 2 * H);
		ss_draw_mask(m, (int64_t) n_q * 2 * H, dropout, rng);
		ss_dropout_apply(zd, m, (int64_t) n_q * 2 * H);
	}
	logits = WSF(WS_LOGITS, (int64_t) n_q * C);
	ss_dense_forward(n_q, 2 * H, C, zd, p.w_o, p.b_o, logits, WS_PACKF(ws, d));
	if (p.head &&
		!ss_hist_head_forward(C, &p.stats, p.head, batch, n_q, qt, qb,
							  WSF(WS_HX, (int64_t) n_q * SS_HIST_FEATURES * C),
							  WSF(WS_HSCRATCH, ss_hist_scratch_floats(C)),
							  WSF(WS_HNB, ss_hist_neighbours_floats(n_q)),
							  (uint32_t *) ss_ws_get(ws, WS_HKEYS, sizeof(uint32_t) * (n_q + 1)),
							  logits))
		goto cut;				/* the history head */

	/* remember which rows the queries came from, for the backward pass */
	qrow = (int32_t *) ss_ws_get(ws, WS_QROW, sizeof(int32_t) * (n_q + 1));
	for (int i = 0; i < n_q; i++)
		qrow[i] = qt[i] * B + qb[i];

	*logits_out = logits;
	if (qt_out)
		*qt_out = qt;
	if (qb_out)
		*qb_out = qb;
	return n_q;

cut:
	/* interrupted (interrupt.h): no query rows, nothing for the caller to read */
	ws->n_q = 0;
	*logits_out = (float *) ws->buf[WS_LOGITS];
	if (qt_out)
		*qt_out = (const int32_t *) ws->buf[WS_QT];
	if (qb_out)
		*qb_out = (const int32_t *) ws->buf[WS_QB];
	return 0;
}

/* ---------------------------------------------------------------- backward */

static void
gru4rec_backward(const ss_dims *d, const float *params,
				 const ss_batch *batch, const float *dlogits,
				 ss_workspace *ws, float *grads)
{
	ss_gru4rec_params	p,
				g;
	const int	B = batch->B,
				T = batch->T,
				H = d->hidden,
				A = d->attn,
				C = d->n_classes,
				D = d->input_dim;
	const int64_t TB = (int64_t) T * B;
	const int	n_q = ws->n_q;
	const int	train = ws->train;
	const int32_t *qt = (int32_t *) ws->buf[WS_QT];
	const int32_t *qb = (int32_t *) ws->buf[WS_QB];
	const int32_t *qrow = (int32_t *) ws->buf[WS_QROW];
	const float *z = (float *) ws->buf[WS_Z];
	const float *zd = train ? (float *) ws->buf[WS_ZD] : z;
	const float *top = (float *) ws->buf[WS_H + d->layers - 1];
	float	   *dz,
			   *dctx,
			   *dh,
			   *dkeys,
			   *dqueries;

	ss_gru4rec_bind(d, (float *) params, &p);
	ss_gru4rec_bind(d, grads, &g);
	if (ss_interrupted())
		return;					/* interrupt.h: the gradients are to be discarded */

	/* output layer; dz = dLoss/d[ctx; h_t] */
	dz = WSF(WS_DZ, (int64_t) n_q * 2 * H);
	ss_dense_backward(n_q, 2 * H, C, zd, p.w_o, dlogits, dz, 0, g.w_o, g.b_o, WS_PACKF(ws, d));
	if (p.head && !ss_hist_head_backward(C, n_q, (const float *) ws->buf[WS_HX], dlogits, g.head))
		return;
	if (train)
		ss_dropout_apply(dz, (float *) ws->buf[WS_Z_MASK], (int64_t) n_q * 2 * H);

	dh = WSF(WS_DH, TB * H);
	ss_copy_floats(dh, NULL, TB * H);
	dctx = WSF(WS_DCTX, (int64_t) n_q * H);
	for (int i = 0; i < n_q; i++)
	{
		const float *src = dz + (int64_t) i * 2 * H;
		float	   *dst = dh + (int64_t) qrow[i] * H;

		if (ss_row_poll(i, 2 * H))
			return;
		memcpy(dctx + (int64_t) i * H, src, sizeof(float) * H);
		for (int j = 0; j < H; j++)
			dst[j] += src[H + j];
	}

	/* attention */
	if (ss_interrupted())
		return;
	dkeys = WSF(WS_DKEYS, TB * A);
	ss_copy_floats(dkeys, NULL, TB * A);
	dqueries = WSF(WS_DQUERIES, (int64_t) n_q * A);
	ss_attention_backward(B, H, A, n_q, qt, qb, top, p.v,
						  (int64_t *) ws->buf[WS_EOFF], (int64_t *) ws->buf[WS_AOFF],
						  (float *) ws->buf[WS_E], (float *) ws->buf[WS_ALPHA],
						  dctx, dh, dkeys, dqueries, g.v,
						  WSF(WS_ATTN_SCRATCH, ss_attention_scratch_floats(T)));
	/* queries = h_q W_q^T: dW_q += dq^T h_q, dh_q += dq W_q (via dz's h half) */
	ss_sgemm(1, 0, A, H, n_q, 1.0f, dqueries, A, z + H, 2 * H, 1.0f, g.w_q, H);
	ss_matmul_w(n_q, A, H, dqueries, A, p.w_q, 0.0f, dctx, H, WS_PACKF(ws, d));
	for (int i = 0; i < n_q; i++)
	{
		float	   *dst = dh + (int64_t) qrow[i] * H;
		const float *src = dctx + (int64_t) i * H;

		if (ss_row_poll(i, H))
			return;
		for (int j = 0; j < H; j++)
			dst[j] += src[j];
	}
	/* keys = h W_k^T + b_k */
	ss_dense_backward_steps(T, B, (const int32_t *) ws->buf[WS_ROWS_AT], H, A, top, p.w_k, dkeys,
							dh, 1, g.w_k, g.b_k, WS_PACKF(ws, d), WS_STEPSF(ws, d, batch));

	/* GRU stack, top down; dx of layer l is dh of layer l-1 */
	for (int l = d->layers - 1; l >= 0; l--)
	{
		int			in = l == 0 ? D : H;
		const float *x = l == 0 ? (float *) ws->buf[WS_X0]
			: (train ? (float *) ws->buf[WS_LIN + l] : (float *) ws->buf[WS_H + l - 1]);
		float	   *dx = WSF(WS_DX, TB * in);

		if (ss_interrupted())
			return;
		ss_gru_backward(T, B, in, H, x, p.w_ih[l], p.w_hh[l],
						(float *) ws->buf[WS_GATES + l], (float *) ws->buf[WS_GHN + l],
						(float *) ws->buf[WS_H + l], dh,
						WSF(WS_DGI, TB * 3 * H), WSF(WS_DGH, TB * 3 * H), dx,
						g.w_ih[l], g.w_hh[l], g.b_ih[l], g.b_hh[l],
						ss_ws_zeros(ws, H), WSF(WS_SINK, H), WS_PACKF(ws, d),
						(const int32_t *) ws->buf[WS_ROWS_AT], WS_STEPSF(ws, d, batch));
		if (l > 0)
		{
			if (train)
				ss_dropout_apply(dx, (float *) ws->buf[WS_LIN_MASK + l], TB * H);
			ss_copy_floats(dh, dx, TB * H);
		}
	}

	/* encoder */
	if (ss_interrupted())
		return;
	{
		float	   *dx = (float *) ws->buf[WS_DX];

		if (train)
			ss_dropout_apply(dx, (float *) ws->buf[WS_X0_MASK], TB * D);
		ss_encoder_backward(d, &g.enc, batch, ws, WS_FEATIDS, dx);
	}
}

/* ---------------------------------------------------------------- the table */

static int64_t
gru4rec_param_count(const ss_dims *d)
{
	return layout(d, NULL, NULL);
}

void
ss_gru4rec_bind(const ss_dims *d, float *base, ss_gru4rec_params *p)
{
	memset(p, 0, sizeof(*p));
	layout(d, base, p);
}

const ss_arch ss_arch_gru4rec = {
	.name = "gru4rec",
	.description = "GRU4Rec with additive attention",
	.blob_id = 1,
	.output = SS_OUTPUT_LOGITS,
	.one_target_per_window = 0,
	.param_count = gru4rec_param_count,
	.init = gru4rec_init,
	.pack_floats = gru4rec_pack_floats,
	.pass_bytes = gru4rec_pass_bytes,
	.forward = gru4rec_forward,
	.backward = gru4rec_backward,
	.fit = NULL,
};

const ss_arch ss_arch_hybrid = {
	.name = "hybrid",
	.description = "GRU4Rec with additive attention, order inputs and a history head",
	.blob_id = 7,
	.output = SS_OUTPUT_LOGITS,
	.one_target_per_window = 0,
	.check = ss_hist_check,
	.param_count = gru4rec_param_count,
	.init = gru4rec_init,
	.prepare = hybrid_prepare,
	.pack_floats = gru4rec_pack_floats,
	.pass_bytes = gru4rec_pass_bytes,
	.forward = gru4rec_forward,
	.backward = gru4rec_backward,
	.fit = NULL,
};
