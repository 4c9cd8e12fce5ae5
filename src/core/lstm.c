/*
 * lstm.c - bidirectional LSTM with additive attention (arch.h), one target
 * per window:
 *
 *   x_t    = dropout([E_cat(cat_t), E_1(f1_t), .., E_F(fF_t), num_t])     D
 *   f^l_t  = LSTM_l,fwd(u^l)_t over t = 0 .. len-1                         H
 *   r^l_t  = LSTM_l,rev(u^l)_t over t = len-1 .. 0                         H
 *   h^l_t  = [f^l_t; r^l_t],  u^1 = x, u^l = dropout(h^{l-1}) (l > 1)     2H
 *   q      = [f_{len-1}; r_0] of the top layer (PyTorch's h_n[-2], h_n[-1]) 2H
 *   c      = sum_{s<len} softmax_s(v . tanh(W_k h_s + b_k + W_q q)) h_s    2H
 *   logits = W_o dropout([c; q]) + b_o                                    C
 *
 * The backward direction sees the window's future, so a window predicts
 * only the event after it: one query per window, at its last position, and
 * a window takes part in a training pass only if that position carries a
 * target (targets elsewhere in it are ignored); the training loop gives
 * such architectures a window of their own per target
 * (one_target_per_window).
 *
 * Each direction is the LSTM layer of lstm_layer.c; the backward one runs
 * on the window reversed in time (ss_reverse_steps), which keeps the
 * batch's longest-first order, so both skip finished windows.  The
 * backward direction's states are reversed back into the right half of the
 * layer's output, so the layers above and the attention read one
 * time-ordered [TB x 2H] matrix as the reference's pad_packed_sequence
 * gives it (zeros past each end).  Parameters in the order of
 * ss_lstm_params, which is PyTorch's nn.LSTM order (models/FORMAT.md).
 */
#include "lstm.h"

#include <math.h>
#include <string.h>

#include "arch_impl.h"
#include "blas.h"
#include "layers.h"
#include "simd.h"
#include "ss_alloc.h"

#define WSF(slot, n) SS_WSF(ws, (slot), (n))

/*
 * The workspace's buffers.  Per layer l: LIN (its input after dropout,
 * l > 0), XR (its input reversed in time), OUT ([forward; backward]
 * states, time order); per layer and direction (index 2 l + dir): GATES,
 * CELL, STATE (the backward direction's in reversed time).
 */
enum
{
	WS_X0 = 1, WS_X0_MASK, WS_FEATIDS, WS_KEYS, WS_QUERIES, WS_Z, WS_Z_MASK, WS_ZD,
	WS_CTX, WS_E, WS_ALPHA, WS_LOGITS, WS_DZ, WS_DQUERIES, WS_DKEYS, WS_DCTX, WS_DOUT,
	WS_DH, WS_DGATES, WS_DC, WS_DX, WS_DXR,
	WS_QT, WS_QB, WS_EOFF, WS_AOFF, WS_PACK, WS_ROWS_AT, WS_ATTN_SCRATCH, WS_STEPS_SCRATCH,
	WS_LIN, WS_LIN_MASK = WS_LIN + SS_MAX_LAYERS,
	WS_XR = WS_LIN_MASK + SS_MAX_LAYERS,
	WS_OUT = WS_XR + SS_MAX_LAYERS,
	WS_GATES = WS_OUT + SS_MAX_LAYERS,
	WS_CELL = WS_GATES + 2 * SS_MAX_LAYERS,
	WS_STATE = WS_CELL + 2 * SS_MAX_LAYERS,
	WS_N_BUFFERS = WS_STATE + 2 * SS_MAX_LAYERS
};

typedef char ss_lstm_slots_fit[WS_N_BUFFERS <= SS_WS_SLOTS ? 1 : -1];

/* Walks the layout once; with base == NULL only counts. */
static int64_t
layout(const ss_dims *d, float *base, ss_lstm_params *p)
{
	int64_t		off = 0;
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;

	ss_encoder_layout(d, p ? base : NULL, &off, p ? &p->enc : NULL);
#define TAKE(field, n) do { if (p) (field) = base + off; off += (int64_t) (n); } while (0)
	for (int l = 0; l < d->layers; l++)
	{
		int			in = l == 0 ? d->input_dim : 2 * H;

		for (int dir = 0; dir < 2; dir++)
		{
			TAKE(p->w_ih[l][dir], (int64_t) 4 * H * in);
			TAKE(p->w_hh[l][dir], (int64_t) 4 * H * H);
			TAKE(p->b_ih[l][dir], 4 * H);
			TAKE(p->b_hh[l][dir], 4 * H);
		}
	}
	TAKE(p->w_k, (int64_t) A * 2 * H);
	TAKE(p->b_k, A);
	TAKE(p->w_q, (int64_t) A * 2 * H);
	TAKE(p->v, A);
	TAKE(p->w_o, (int64_t) C * 4 * H);
	TAKE(p->b_o, C);
#undef TAKE
	return off;
}

/* PyTorch's defaults: nn.LSTM U(-1/sqrt(H), 1/sqrt(H)), nn.Linear U(-1/sqrt(in), 1/sqrt(in)) */
static void
lstm_init(const ss_dims *d, float *base, ss_rng *rng)
{
	ss_lstm_params p;
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;
	const float kh = 1.0f / sqrtf((float) H),
				k2h = 1.0f / sqrtf(2.0f * H);

	ss_lstm_bind(d, base, &p);
	ss_encoder_init(d, &p.enc, rng);
	for (int l = 0; l < d->layers; l++)
	{
		int			in = l == 0 ? d->input_dim : 2 * H;

		for (int dir = 0; dir < 2; dir++)
		{
			ss_fill_uniform(p.w_ih[l][dir], (int64_t) 4 * H * in, kh, rng);
			ss_fill_uniform(p.w_hh[l][dir], (int64_t) 4 * H * H, kh, rng);
			ss_fill_uniform(p.b_ih[l][dir], 4 * H, kh, rng);
			ss_fill_uniform(p.b_hh[l][dir], 4 * H, kh, rng);
		}
	}
	ss_fill_uniform(p.w_k, (int64_t) A * 2 * H, k2h, rng);
	ss_fill_uniform(p.b_k, A, k2h, rng);
	ss_fill_uniform(p.w_q, (int64_t) A * 2 * H, k2h, rng);
	ss_fill_uniform(p.v, A, 1.0f / sqrtf((float) A), rng);
	ss_fill_uniform(p.w_o, (int64_t) C * 4 * H, 1.0f / sqrtf(4.0f * H), rng);
	ss_fill_uniform(p.b_o, C, 1.0f / sqrtf(4.0f * H), rng);
}

/* floats of packed-weight scratch: the largest weight matrix, packed either way */
static int64_t
lstm_pack_floats(const ss_dims *d)
{
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;
	size_t		n = ss_pack_scratch_floats(H, 4 * H);

#define SS_AT_LEAST(x) do { size_t x_ = (x); if (x_ > n) n = x_; } while (0)
	SS_AT_LEAST(ss_pack_scratch_floats(d->input_dim, 4 * H));
	if (d->layers > 1)
		SS_AT_LEAST(ss_pack_scratch_floats(2 * H, 4 * H));
	SS_AT_LEAST(ss_pack_scratch_floats(2 * H, A));
	SS_AT_LEAST(ss_pack_scratch_floats(4 * H, C));
#undef SS_AT_LEAST
	return (int64_t) n;
}

#define WS_PACKF(ws, d) WSF(WS_PACK, lstm_pack_floats(d))

/* the widest layer input: D, or 2H above the first layer */
static int
widest_input(const ss_dims *d)
{
	return d->layers > 1 && 2 * d->hidden > d->input_dim ? 2 * d->hidden : d->input_dim;
}

/*
 * floats of scratch for weight gradients over the rows in use (layers.h):
 * the keys' and the LSTM layers' (these do not depend on T)
 */
static int64_t
steps_floats(const ss_dims *d, int64_t B, int64_t T)
{
	size_t		keys = ss_steps_scratch_floats((int) T, (int) B, d->attn, 2 * d->hidden),
				layers = ss_lstm_scratch_floats((int) B, widest_input(d), d->hidden);

	return (int64_t) (keys > layers ? keys : layers);
}

#define WS_STEPSF(ws, d, batch) WSF(WS_STEPS_SCRATCH, steps_floats(d, (batch)->B, (batch)->T))

/*
 * The bytes every buffer of the workspace needs for a pass of this shape:
 * with_backward, at least as much as any request of a training pass's
 * forward and backward over such a batch; without, exactly the requests of
 * a forward pass in eval mode.  The one list of the buffers' sizes.
 */
static void
lstm_pass_bytes(const ss_dims *d, const ss_pass_shape *s, int with_backward,
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
				n_alpha = s->n_alpha,
				in_max = widest_input(d);
	const int64_t f = sizeof(float);

	memset(bytes, 0, sizeof(int64_t) * SS_WS_SLOTS);
	bytes[WS_X0] = f * TB * D;
	if (d->n_features > 0 || with_backward)
		bytes[WS_FEATIDS] = sizeof(int32_t) * TB;
	for (int l = 0; l < d->layers; l++)
	{
		bytes[WS_XR + l] = f * TB * (l == 0 ? D : 2 * H);
		bytes[WS_OUT + l] = f * TB * 2 * H;
		for (int dir = 0; dir < 2; dir++)
		{
			bytes[WS_GATES + 2 * l + dir] = f * TB * 4 * H;
			bytes[WS_CELL + 2 * l + dir] = f * TB * H;
			bytes[WS_STATE + 2 * l + dir] = f * TB * H;
		}
	}
	bytes[WS_PACK] = f * lstm_pack_floats(d);
	bytes[WS_ROWS_AT] = sizeof(int32_t) * (T + 1);
	bytes[WS_ATTN_SCRATCH] = f * (int64_t) ss_attention_scratch_floats((int) T);
	bytes[SS_WS_ZEROS] = f * H;
	bytes[WS_QT] = sizeof(int32_t) * (B + 1);
	bytes[WS_QB] = sizeof(int32_t) * (B + 1);
	bytes[WS_EOFF] = sizeof(int64_t) * (n_q + 1);
	bytes[WS_AOFF] = sizeof(int64_t) * (n_q + 1);
	bytes[WS_KEYS] = f * TB * A;
	bytes[WS_Z] = f * n_q * 4 * H;
	bytes[WS_QUERIES] = f * n_q * A;
	bytes[WS_CTX] = f * n_q * 2 * H;
	bytes[WS_E] = f * n_alpha * A;
	bytes[WS_ALPHA] = f * n_alpha;
	bytes[WS_LOGITS] = f * n_q * C;
	if (!with_backward)
		return;
	/* training: dropout masks and inputs, then the gradients */
	bytes[WS_X0_MASK] = f * TB * D;
	for (int l = 1; l < d->layers; l++)
	{
		bytes[WS_LIN + l] = f * TB * 2 * H;
		bytes[WS_LIN_MASK + l] = f * TB * 2 * H;
	}
	bytes[WS_STEPS_SCRATCH] = f * steps_floats(d, B, T);
	bytes[WS_Z_MASK] = f * n_q * 4 * H;
	bytes[WS_ZD] = f * n_q * 4 * H;
	bytes[WS_DZ] = f * n_q * 4 * H;
	bytes[WS_DCTX] = f * n_q * 2 * H;
	bytes[WS_DQUERIES] = f * n_q * A;
	bytes[WS_DKEYS] = f * TB * A;
	bytes[WS_DOUT] = f * TB * 2 * H;
	bytes[WS_DH] = f * TB * H;
	bytes[WS_DGATES] = f * TB * 4 * H;
	bytes[WS_DC] = f * B * H;
	bytes[WS_DX] = f * TB * in_max;
	bytes[WS_DXR] = f * TB * in_max;
}

/* ---------------------------------------------------------------- helpers */

/* dst[i, 0:W] = src[i, 0:W] for n rows of strides ld_src, ld_dst (polls; stops when interrupted) */
static void
copy_columns(int64_t n, int W, const float *src, int ld_src, float *dst, int ld_dst)
{
	for (int64_t i = 0; i < n; i++)
	{
		if (ss_row_poll(i, W))
			return;
		memcpy(dst + i * ld_dst, src + i * ld_src, sizeof(float) * W);
	}
}

/*
 * Window i's query q = [forward state at its last event; backward state
 * at its first] is row qt B + qb of out's left half and row qb of its
 * right half; dst[0:H] += the first half of dq, dst of the other row
 * += the second half (the query's gradient into the top layer's output).
 */
static void
add_query_grad(int n_q, const int32_t *qt, const int32_t *qb, int B, int H,
			   const float *dq, int ld_dq, float *dout)
{
	for (int i = 0; i < n_q; i++)
	{
		const float *src = dq + (int64_t) i * ld_dq;

		if (ss_row_poll(i, 2 * H))
			return;
		ss_vec_axpy(1.0f, src, dout + ((int64_t) qt[i] * B + qb[i]) * 2 * H, H);
		ss_vec_axpy(1.0f, src + H, dout + (int64_t) qb[i] * 2 * H + H, H);
	}
}

/*
 * Layer l forward: both directions over its input x[TB x in] (the
 * backward one over x reversed), their states side by side into the
 * layer's output, which it returns.
 */
static float *
bilstm_forward(const ss_dims *d, const ss_lstm_params *p, int l, const ss_batch *batch,
			   const int32_t *rows_at, const float *x, int in, ss_workspace *ws)
{
	const int	B = batch->B,
				T = batch->T,
				H = d->hidden;
	const int64_t TB = (int64_t) T * B;
	float	   *xr = WSF(WS_XR + l, TB * in);
	float	   *out = WSF(WS_OUT + l, TB * 2 * H);

	ss_reverse_steps(T, B, batch->lengths, in, x, in, xr, in, 0);
	for (int dir = 0; dir < 2; dir++)
	{
		if (ss_interrupted())
			return out;
		ss_lstm_forward(T, B, in, H, dir == 0 ? x : xr,
						p->w_ih[l][dir], p->w_hh[l][dir], p->b_ih[l][dir], p->b_hh[l][dir],
						WSF(WS_GATES + 2 * l + dir, TB * 4 * H), WSF(WS_CELL + 2 * l + dir, TB * H),
						WSF(WS_STATE + 2 * l + dir, TB * H), ss_ws_zeros(ws, H),
						WS_PACKF(ws, d), rows_at);
	}
	copy_columns(TB, H, WSF(WS_STATE + 2 * l, TB * H), H, out, 2 * H);
	ss_reverse_steps(T, B, batch->lengths, H, WSF(WS_STATE + 2 * l + 1, TB * H), H,
					 out + H, 2 * H, 0);
	return out;
}

/*
 * Layer l backward: dout[TB x 2H] = dLoss/d(its output) on entry; its
 * parameters' gradients into g; returns dLoss/d(its input) [TB x in].
 */
static float *
bilstm_backward(const ss_dims *d, const ss_lstm_params *p, const ss_lstm_params *g, int l,
				const ss_batch *batch, const float *x, int in, const float *dout,
				ss_workspace *ws)
{
	const int	B = batch->B,
				T = batch->T,
				H = d->hidden;
	const int64_t TB = (int64_t) T * B;
	const int32_t *rows_at = (const int32_t *) ws->buf[WS_ROWS_AT];
	const float *xr = (const float *) ws->buf[WS_XR + l];
	float	   *dh = WSF(WS_DH, TB * H),
			   *dx = WSF(WS_DX, TB * in),
			   *dxr = WSF(WS_DXR, TB * in);

	for (int dir = 0; dir < 2; dir++)
	{
		if (ss_interrupted())
			return dx;
		/* this direction's share of dout, in its own time order */
		if (dir == 0)
			copy_columns(TB, H, dout, 2 * H, dh, H);
		else
			ss_reverse_steps(T, B, batch->lengths, H, dout + H, 2 * H, dh, H, 0);
		ss_lstm_backward(T, B, in, H, dir == 0 ? x : xr, p->w_ih[l][dir], p->w_hh[l][dir],
						 (const float *) ws->buf[WS_GATES + 2 * l + dir],
						 (const float *) ws->buf[WS_CELL + 2 * l + dir],
						 (const float *) ws->buf[WS_STATE + 2 * l + dir],
						 dh, WSF(WS_DGATES, TB * 4 * H), WSF(WS_DC, (int64_t) B * H),
						 dir == 0 ? dx : dxr,
						 g->w_ih[l][dir], g->w_hh[l][dir], g->b_ih[l][dir], g->b_hh[l][dir],
						 ss_ws_zeros(ws, H), WS_PACKF(ws, d), rows_at, WS_STEPSF(ws, d, batch));
	}
	/* the backward direction's input gradient, back in time order, added */
	ss_reverse_steps(T, B, batch->lengths, in, dxr, in, dx, in, 1);
	return dx;
}

/* ---------------------------------------------------------------- forward */

static int
lstm_forward(const ss_dims *d, const float *params,
			 const ss_batch *batch, ss_query_mode mode,
			 float dropout, ss_rng *rng, ss_workspace *ws,
			 float **logits_out, const int32_t **qt_out,
			 const int32_t **qb_out)
{
	ss_lstm_params p;
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
			   *qb;
	const int32_t *rows_at;
	int64_t    *e_off,
			   *a_off,
				n_e;
	int			n_q = 0;

	ss_lstm_bind(d, (float *) params, &p);
	ws->train = train;
	ws->dropout = dropout;

	/* encoder: embeddings and numerics side by side in each row of x0 */
	x0 = WSF(WS_X0, TB * D);
	ss_encoder_forward(d, &p.enc, batch, ws, WS_FEATIDS, x0);
	if (train)
	{
		float	   *m = WSF(WS_X0_MASK, TB * D);

		ss_draw_mask(m, TB * D, dropout, rng);
		ss_dropout_apply(x0, m, TB * D);
	}

	/* bidirectional LSTM stack */
	rows_at = ss_ws_rows_at(ws, WS_ROWS_AT, batch);
	input = x0;
	for (int l = 0; l < d->layers; l++)
	{
		if (ss_interrupted())
			goto cut;
		if (l > 0 && train)
		{
			float	   *lin = WSF(WS_LIN + l, TB * 2 * H);
			float	   *m = WSF(WS_LIN_MASK + l, TB * 2 * H);

			ss_copy_floats(lin, input, TB * 2 * H);
			ss_draw_mask(m, TB * 2 * H, dropout, rng);
			ss_dropout_apply(lin, m, TB * 2 * H);
			input = lin;
		}
		input = bilstm_forward(d, &p, l, batch, rows_at, input, l == 0 ? D : 2 * H, ws);
	}
	top = input;

	/* one query per window, at its last event (training: if that carries a target) */
	qt = (int32_t *) ss_ws_get(ws, WS_QT, sizeof(int32_t) * (B + 1));
	qb = (int32_t *) ss_ws_get(ws, WS_QB, sizeof(int32_t) * (B + 1));
	for (int b = 0; b < B; b++)
	{
		const int	last = batch->lengths[b] - 1;

		if (last < 0 || (mode == SS_QUERY_TARGETS && batch->target[(int64_t) last * B + b] < 0))
			continue;
		qt[n_q] = last;
		qb[n_q] = b;
		n_q++;
	}
	ws->n_q = n_q;

	/* z = [context; query]: the query half first, then the attention */
	if (ss_interrupted())
		goto cut;
	z = WSF(WS_Z, (int64_t) n_q * 4 * H);
	for (int i = 0; i < n_q; i++)
	{
		float	   *q = z + (int64_t) i * 4 * H + 2 * H;

		if (ss_row_poll(i, 2 * H))
			goto cut;
		memcpy(q, top + ((int64_t) qt[i] * B + qb[i]) * 2 * H, sizeof(float) * H);
		memcpy(q + H, top + (int64_t) qb[i] * 2 * H + H, sizeof(float) * H);
	}
	keys = WSF(WS_KEYS, TB * A);
	ss_dense_forward_steps(T, B, rows_at, 2 * H, A, top, p.w_k, p.b_k, keys, WS_PACKF(ws, d));
	queries = WSF(WS_QUERIES, (int64_t) n_q * A);
	ss_matmul_wt(n_q, 2 * H, A, z + 2 * H, 4 * H, p.w_q, NULL, 0.0f, queries, A, WS_PACKF(ws, d));

	e_off = (int64_t *) ss_ws_get(ws, WS_EOFF, sizeof(int64_t) * (n_q + 1));
	a_off = (int64_t *) ss_ws_get(ws, WS_AOFF, sizeof(int64_t) * (n_q + 1));
	n_e = ss_attention_offsets(n_q, qt, A, e_off, a_off);
	ctx = WSF(WS_CTX, (int64_t) n_q * 2 * H);
	ss_attention_forward(B, 2 * H, A, n_q, qt, qb, top, keys, queries, p.v, e_off, a_off,
						 WSF(WS_E, n_e), WSF(WS_ALPHA, a_off[n_q]), ctx,
						 WSF(WS_ATTN_SCRATCH, ss_attention_scratch_floats(T)));
	copy_columns(n_q, 2 * H, ctx, 2 * H, z, 4 * H);

	/* output layer */
	if (ss_interrupted())
		goto cut;
	zd = z;
	if (train)
	{
		float	   *m = WSF(WS_Z_MASK, (int64_t) n_q * 4 * H);

		zd = WSF(WS_ZD, (int64_t) n_q * 4 * H);
		ss_copy_floats(zd, z, (int64_t) n_q * 4 * H);
		ss_draw_mask(m, (int64_t) n_q * 4 * H, dropout, rng);
		ss_dropout_apply(zd, m, (int64_t) n_q * 4 * H);
	}
	logits = WSF(WS_LOGITS, (int64_t) n_q * C);
	ss_dense_forward(n_q, 4 * H, C, zd, p.w_o, p.b_o, logits, WS_PACKF(ws, d));

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
lstm_backward(const ss_dims *d, const float *params,
			  const ss_batch *batch, const float *dlogits,
			  ss_workspace *ws, float *grads)
{
	ss_lstm_params p,
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
	const float *z = (float *) ws->buf[WS_Z];
	const float *zd = train ? (float *) ws->buf[WS_ZD] : z;
	const float *top = (float *) ws->buf[WS_OUT + d->layers - 1];
	float	   *dz,
			   *dctx,
			   *dout,
			   *dkeys,
			   *dqueries,
			   *dx = NULL;

	ss_lstm_bind(d, (float *) params, &p);
	ss_lstm_bind(d, grads, &g);
	if (ss_interrupted())
		return;					/* interrupt.h: the gradients are to be discarded */

	/* output layer; dz = dLoss/d[ctx; q] */
	dz = WSF(WS_DZ, (int64_t) n_q * 4 * H);
	ss_dense_backward(n_q, 4 * H, C, zd, p.w_o, dlogits, dz, 0, g.w_o, g.b_o, WS_PACKF(ws, d));
	if (train)
		ss_dropout_apply(dz, (float *) ws->buf[WS_Z_MASK], (int64_t) n_q * 4 * H);

	/* dout = dLoss/d(top layer's output): the query's direct part first */
	dout = WSF(WS_DOUT, TB * 2 * H);
	ss_copy_floats(dout, NULL, TB * 2 * H);
	add_query_grad(n_q, qt, qb, B, H, dz + 2 * H, 4 * H, dout);
	dctx = WSF(WS_DCTX, (int64_t) n_q * 2 * H);
	copy_columns(n_q, 2 * H, dz, 4 * H, dctx, 2 * H);

	/* attention */
	if (ss_interrupted())
		return;
	dkeys = WSF(WS_DKEYS, TB * A);
	ss_copy_floats(dkeys, NULL, TB * A);
	dqueries = WSF(WS_DQUERIES, (int64_t) n_q * A);
	ss_attention_backward(B, 2 * H, A, n_q, qt, qb, top, p.v,
						  (int64_t *) ws->buf[WS_EOFF], (int64_t *) ws->buf[WS_AOFF],
						  (float *) ws->buf[WS_E], (float *) ws->buf[WS_ALPHA],
						  dctx, dout, dkeys, dqueries, g.v,
						  WSF(WS_ATTN_SCRATCH, ss_attention_scratch_floats(T)));
	/* queries = q W_q^T: dW_q += dqueries^T q; dq = dqueries W_q (into dctx), to the query rows */
	ss_sgemm(1, 0, A, 2 * H, n_q, 1.0f, dqueries, A, z + 2 * H, 4 * H, 1.0f, g.w_q, 2 * H);
	ss_matmul_w(n_q, A, 2 * H, dqueries, A, p.w_q, 0.0f, dctx, 2 * H, WS_PACKF(ws, d));
	add_query_grad(n_q, qt, qb, B, H, dctx, 2 * H, dout);
	/* keys = out W_k^T + b_k */
	ss_dense_backward_steps(T, B, (const int32_t *) ws->buf[WS_ROWS_AT], 2 * H, A, top, p.w_k,
							dkeys, dout, 1, g.w_k, g.b_k, WS_PACKF(ws, d), WS_STEPSF(ws, d, batch));

	/* LSTM stack, top down; the input gradient of layer l is dout of layer l-1 */
	for (int l = d->layers - 1; l >= 0; l--)
	{
		int			in = l == 0 ? D : 2 * H;
		const float *x = l == 0 ? (float *) ws->buf[WS_X0]
			: (train ? (float *) ws->buf[WS_LIN + l] : (float *) ws->buf[WS_OUT + l - 1]);

		if (ss_interrupted())
			return;
		dx = bilstm_backward(d, &p, &g, l, batch, x, in, dout, ws);
		if (l > 0)
		{
			if (train)
				ss_dropout_apply(dx, (float *) ws->buf[WS_LIN_MASK + l], TB * 2 * H);
			ss_copy_floats(dout, dx, TB * 2 * H);
		}
	}

	/* encoder */
	if (ss_interrupted())
		return;
	if (train)
		ss_dropout_apply(dx, (float *) ws->buf[WS_X0_MASK], TB * D);
	ss_encoder_backward(d, &g.enc, batch, ws, WS_FEATIDS, dx);
}

/* ---------------------------------------------------------------- the table */

static int64_t
lstm_param_count(const ss_dims *d)
{
	return layout(d, NULL, NULL);
}

void
ss_lstm_bind(const ss_dims *d, float *base, ss_lstm_params *p)
{
	memset(p, 0, sizeof(*p));
	layout(d, base, p);
}

const ss_arch ss_arch_lstm = {
	.name = "lstm",
	.description = "bidirectional LSTM with additive attention",
	.blob_id = 2,
	.output = SS_OUTPUT_LOGITS,
	.one_target_per_window = 1,
	.param_count = lstm_param_count,
	.init = lstm_init,
	.pack_floats = lstm_pack_floats,
	.pass_bytes = lstm_pass_bytes,
	.forward = lstm_forward,
	.backward = lstm_backward,
	.fit = NULL,
};
