/*
 * model.c - GRU4Rec + attention forward and backward (see model.h).
 */
#include "model.h"

#include <math.h>
#include <string.h>

#include "layers.h"
#include "blas.h"
#include "interrupt.h"
#include "ss_alloc.h"

/* elements of an initialisation or a dropout mask between two polls (interrupt.h) */
#define POLL_ELEMENTS ((int64_t) 1 << 20)

/* in a loop over rows of n floats: 1 at every row ending some POLL_ELEMENTS floats, if interrupted */
static inline int
row_poll(int64_t i, int64_t n)
{
	int64_t		every = 1 + POLL_ELEMENTS / n;

	return i % every == every - 1 && ss_interrupted();
}

/*
 * dst = src (src NULL: zeros) over n floats, in slices of 16 MB with a poll
 * between them: activations of a large batch are hundreds of MB.
 */
static void
copy_floats(float *dst, const float *src, int64_t n)
{
	for (int64_t i = 0; i < n; i += 4 * POLL_ELEMENTS)
	{
		size_t		len = sizeof(float) * (n - i < 4 * POLL_ELEMENTS ? n - i : 4 * POLL_ELEMENTS);

		if (i > 0 && ss_interrupted())
			return;
		if (src == NULL)
			memset(dst + i, 0, len);
		else
			memcpy(dst + i, src + i, len);
	}
}

int
ss_embedding_dim(int n_values, double scale)
{
	double		base = 1.6 * pow((double) n_values, 0.56);
	int			dim;

	if (base > 50.0)
		base = 50.0;
	dim = (int) floor(scale * base + 0.5);
	return dim < 1 ? 1 : dim;
}

const char *
ss_dims_finish(ss_dims *d, double emb_scale)
{
	int			D;

	if (d->n_classes < 1 || d->n_classes > 1000000)
		return "number of categories out of range";
	if (d->n_features < 0 || d->n_features > SS_MAX_FEATURES)
		return "too many categorical features";
	if (d->n_numeric < 0 || d->n_numeric > SS_MAX_NUMERIC)
		return "too many numeric features";
	if (d->hidden < 1 || d->hidden > 4096)
		return "hidden size out of range";
	if (d->layers < 1 || d->layers > SS_MAX_LAYERS)
		return "number of layers out of range";
	if (d->attn < 1 || d->attn > 4096)
		return "attention size out of range";
	if (!(emb_scale > 0.0 && emb_scale <= 16.0))
		return "embedding scale out of range";
	d->emb_dim[0] = ss_embedding_dim(d->n_classes, emb_scale);
	D = d->emb_dim[0];
	for (int j = 0; j < d->n_features; j++)
	{
		if (d->feature_vocab[j] < 0 || d->feature_vocab[j] > 10000000)
			return "feature vocabulary size out of range";
		d->emb_dim[1 + j] = ss_embedding_dim(d->feature_vocab[j], emb_scale);
		D += d->emb_dim[1 + j];
	}
	d->input_dim = D + d->n_numeric;
	return NULL;
}

/* Walks the layout once; with base == NULL only counts. */
static int64_t
layout(const ss_dims *d, float *base, ss_params *p)
{
	int64_t		off = 0;
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;

#define TAKE(field, n) do { if (p) (field) = base + off; off += (int64_t) (n); } while (0)
	TAKE(p->cat_emb, (int64_t) (C + SS_N_RESERVED) * d->emb_dim[0]);
	for (int j = 0; j < d->n_features; j++)
		TAKE(p->feat_emb[j], (int64_t) (d->feature_vocab[j] + SS_N_RESERVED) * d->emb_dim[1 + j]);
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
#undef TAKE
	return off;
}

int64_t
ss_param_count(const ss_dims *d)
{
	return layout(d, NULL, NULL);
}

void
ss_params_bind(const ss_dims *d, float *base, ss_params *p)
{
	memset(p, 0, sizeof(*p));
	layout(d, base, p);
}

/* both stop early when interrupted (the caller then starts again from its seed) */
static void
fill_uniform(float *x, int64_t n, float bound, ss_rng *rng)
{
	for (int64_t i = 0; i < n; i++)
	{
		if (i % POLL_ELEMENTS == 0 && ss_interrupted())
			return;
		x[i] = (float) ((2.0 * ss_rng_uniform(rng) - 1.0) * bound);
	}
}

static void
init_embedding(float *table, int rows, int dim, ss_rng *rng)
{
	for (int64_t i = 0; i < (int64_t) rows * dim; i++)
	{
		if (i % POLL_ELEMENTS == 0 && ss_interrupted())
			return;
		table[i] = ss_rng_normal(rng);
	}
	memset(table, 0, sizeof(float) * dim);	/* padding row */
}

void
ss_params_init(const ss_dims *d, float *base, ss_rng *rng)
{
	ss_params	p;
	const int	H = d->hidden,
				A = d->attn,
				C = d->n_classes;
	float		kh = 1.0f / sqrtf((float) H);

	ss_params_bind(d, base, &p);
	init_embedding(p.cat_emb, C + SS_N_RESERVED, d->emb_dim[0], rng);
	for (int j = 0; j < d->n_features; j++)
		init_embedding(p.feat_emb[j], d->feature_vocab[j] + SS_N_RESERVED,
					   d->emb_dim[1 + j], rng);
	for (int l = 0; l < d->layers; l++)
	{
		int			in = l == 0 ? d->input_dim : H;

		fill_uniform(p.w_ih[l], (int64_t) 3 * H * in, kh, rng);
		fill_uniform(p.w_hh[l], (int64_t) 3 * H * H, kh, rng);
		fill_uniform(p.b_ih[l], 3 * H, kh, rng);
		fill_uniform(p.b_hh[l], 3 * H, kh, rng);
	}
	fill_uniform(p.w_k, (int64_t) A * H, kh, rng);
	fill_uniform(p.b_k, A, kh, rng);
	fill_uniform(p.w_q, (int64_t) A * H, kh, rng);
	fill_uniform(p.v, A, 1.0f / sqrtf((float) A), rng);
	fill_uniform(p.w_o, (int64_t) C * 2 * H, 1.0f / sqrtf(2.0f * H), rng);
	fill_uniform(p.b_o, C, 1.0f / sqrtf(2.0f * H), rng);
}

/* ---------------------------------------------------------------- batch */

ss_batch *
ss_batch_new(const ss_dims *d, int max_B, int max_T)
{
	ss_batch   *b = SS_NEW_ARRAY(ss_batch, 1);
	int64_t		TB = (int64_t) max_B * max_T;

	b->lengths = SS_NEW_ARRAY(int32_t, max_B);
	b->origin = SS_NEW_ARRAY(int32_t, max_B);
	b->cat = SS_NEW_ARRAY(int32_t, TB);
	b->feat = SS_NEW_ARRAY(int32_t, TB * (d->n_features > 0 ? d->n_features : 1));
	b->num = SS_NEW_ARRAY(float, TB * (d->n_numeric > 0 ? d->n_numeric : 1));
	b->target = SS_NEW_ARRAY(int32_t, TB);
	return b;
}

void
ss_batch_free(ss_batch *b)
{
	if (b == NULL)
		return;
	ss_free(b->lengths);
	ss_free(b->origin);
	ss_free(b->cat);
	ss_free(b->feat);
	ss_free(b->num);
	ss_free(b->target);
	ss_free(b);
}

/* ---------------------------------------------------------------- workspace */

enum
{
	WS_X0, WS_X0_MASK, WS_GH_STEP, WS_KEYS, WS_QUERIES, WS_Z, WS_Z_MASK, WS_ZD,
	WS_CTX, WS_E, WS_ALPHA, WS_LOGITS, WS_DZ, WS_DQUERIES, WS_DKEYS, WS_DH,
	WS_DGI, WS_DGH, WS_DX, WS_DCTX, WS_FEATIDS, WS_ZEROS, WS_SINK,
	WS_LIN, WS_LIN_MASK = WS_LIN + SS_MAX_LAYERS,
	WS_GATES = WS_LIN_MASK + SS_MAX_LAYERS,
	WS_GHN = WS_GATES + SS_MAX_LAYERS,
	WS_H = WS_GHN + SS_MAX_LAYERS,
	WS_QT = WS_H + SS_MAX_LAYERS, WS_QB, WS_EOFF, WS_AOFF, WS_QROW, WS_PACK, WS_ROWS_AT, WS_ATTN_SCRATCH, WS_STEPS_SCRATCH,
	WS_N_BUFFERS
};

struct ss_workspace
{
	void	   *buf[WS_N_BUFFERS];
	int64_t		cap[WS_N_BUFFERS];	/* bytes */
	int			sizing;			/* capacities only, nothing allocated */
	/* shapes of the last forward pass */
	int			n_q;
	int			train;
	float		dropout;
};

ss_workspace *
ss_workspace_new(void)
{
	return SS_NEW_ARRAY(ss_workspace, 1);
}

ss_workspace *
ss_workspace_new_sizing(void)
{
	ss_workspace *ws = SS_NEW_ARRAY(ss_workspace, 1);

	ws->sizing = 1;
	return ws;
}

void
ss_workspace_free(ss_workspace *ws)
{
	if (ws == NULL)
		return;
	for (int i = 0; i < WS_N_BUFFERS; i++)
		ss_free(ws->buf[i]);
	ss_free(ws);
}

int64_t
ss_workspace_bytes(const ss_workspace *ws)
{
	int64_t		total = 0;

	for (int i = 0; i < WS_N_BUFFERS; i++)
		total += ws->cap[i];
	return total;
}

int
ss_workspace_allocations(const ss_workspace *ws, int64_t *bytes)
{
	int			n = 1;

	*bytes = (int64_t) sizeof(ss_workspace);
	for (int i = 0; i < WS_N_BUFFERS; i++)
	{
		n += ws->cap[i] > 0;
		*bytes += ws->cap[i];
	}
	return n;
}

static void *
ws_get(ss_workspace *ws, int slot, int64_t bytes)
{
	if (bytes <= 0)
		bytes = 1;
	if (ws->cap[slot] < bytes)
	{
		int64_t		cap = ws->cap[slot] * 3 / 2;

		if (cap < bytes)
			cap = bytes;
		if (ws->sizing)
		{
			ws->cap[slot] = cap;
			return NULL;
		}
		/* empty while allocating: an allocation that throws leaves no dangling buffer */
		ss_free(ws->buf[slot]);
		ws->buf[slot] = NULL;
		ws->cap[slot] = 0;
		ws->buf[slot] = ss_alloc((size_t) cap);
		ws->cap[slot] = cap;
	}
	return ws->buf[slot];
}

#define WSF(slot, n) ((float *) ws_get(ws, (slot), (int64_t) sizeof(float) * (n)))

/* H zeros (the GRU state before the first step) */
static const float *
zeros_of(ss_workspace *ws, int H)
{
	int64_t		had = ws->cap[WS_ZEROS];
	float	   *z = WSF(WS_ZEROS, H);

	if (ws->cap[WS_ZEROS] != had)
		memset(z, 0, ws->cap[WS_ZEROS]);
	return z;
}

/* floats of packed-weight scratch: the largest weight matrix, packed either way */
int64_t
ss_pack_floats(const ss_dims *d)
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

#define WS_PACKF(ws, d) WSF(WS_PACK, ss_pack_floats(d))

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
pass_bytes(const ss_dims *d, const ss_pass_shape *s, int with_backward,
		   int64_t bytes[WS_N_BUFFERS])
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

	memset(bytes, 0, sizeof(int64_t) * WS_N_BUFFERS);
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
	bytes[WS_PACK] = f * ss_pack_floats(d);
	bytes[WS_ROWS_AT] = sizeof(int32_t) * (T + 1);
	bytes[WS_ATTN_SCRATCH] = f * (int64_t) ss_attention_scratch_floats((int) T);
	bytes[WS_ZEROS] = f * H;
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

/* every buffer at least as large as any request of the pass */
static void
reserve_shape(ss_workspace *ws, const ss_dims *d, const ss_pass_shape *s, int with_backward)
{
	int64_t		bytes[WS_N_BUFFERS];

	pass_bytes(d, s, with_backward, bytes);
	for (int slot = 0; slot < WS_N_BUFFERS; slot++)
		if (bytes[slot] > 0 && slot != WS_ZEROS)
			ws_get(ws, slot, bytes[slot]);
	if (ws->sizing)
		ws_get(ws, WS_ZEROS, bytes[WS_ZEROS]);
	else
		zeros_of(ws, d->hidden);
}

/* n_q query rows with n_alpha attention weights in all */
static void
reserve(ss_workspace *ws, const ss_dims *d, const ss_batch *batch,
		int64_t n_q, int64_t n_alpha, int with_backward)
{
	ss_pass_shape s = {batch->B, batch->T, (int64_t) batch->B * batch->T, n_q, n_alpha};

	reserve_shape(ws, d, &s, with_backward);
}

void
ss_workspace_reserve_shape(ss_workspace *ws, const ss_dims *d, const ss_pass_shape *s,
						   int with_backward)
{
	reserve_shape(ws, d, s, with_backward);
}

void
ss_workspace_reserve(ss_workspace *ws, const ss_dims *d, const ss_batch *batch,
					 int with_backward)
{
	int64_t		n_q = 0,
				n_alpha = 0;

	for (int b = 0; b < batch->B; b++)
		for (int t = 0; t < batch->lengths[b]; t++)
			if (batch->target[(int64_t) t * batch->B + b] >= 0)
			{
				n_q++;
				n_alpha += t + 1;
			}
	reserve(ws, d, batch, n_q, n_alpha, with_backward);
}

void
ss_workspace_reserve_predict(ss_workspace *ws, const ss_dims *d, const ss_batch *batch)
{
	int64_t		n_alpha = 0;

	for (int b = 0; b < batch->B; b++)
		n_alpha += batch->lengths[b];
	reserve(ws, d, batch, batch->B, n_alpha, 0);
}

/*
 * rows_at[t] = sequences still going at step t when the batch is longest
 * first (see ss_batch), else B; in the workspace, for forward and backward.
 */
static const int32_t *
rows_at_of(ss_workspace *ws, const ss_batch *batch)
{
	const int	B = batch->B,
				T = batch->T;
	int32_t    *rows = (int32_t *) ws_get(ws, WS_ROWS_AT, sizeof(int32_t) * (T + 1));
	int			sorted = 1,
				b = B;

	for (int i = 1; i < B && sorted; i++)
		sorted = batch->lengths[i] <= batch->lengths[i - 1];
	for (int t = 0; t < T; t++)
	{
		if (sorted)
			while (b > 0 && batch->lengths[b - 1] <= t)
				b--;
		rows[t] = b;
	}
	return rows;
}

/* in slices of an even length (one random number makes two elements): the same stream */
static void
draw_mask(float *mask, int64_t n, float p, ss_rng *rng)
{
	for (int64_t i = 0; i < n; i += POLL_ELEMENTS)
	{
		if (i > 0 && ss_interrupted())
			return;
		ss_rng_dropout_mask(rng, mask + i, n - i < POLL_ELEMENTS ? n - i : POLL_ELEMENTS, p,
							1.0f / (1.0f - p));
	}
}

/* ---------------------------------------------------------------- forward */

int
ss_model_forward(const ss_dims *d, const float *params,
				 const ss_batch *batch, ss_query_mode mode,
				 float dropout, ss_rng *rng, ss_workspace *ws,
				 float **logits_out, const int32_t **qt_out,
				 const int32_t **qb_out)
{
	ss_params	p;
	const int	B = batch->B,
				T = batch->T,
				H = d->hidden,
				A = d->attn,
				C = d->n_classes,
				D = d->input_dim,
				F = d->n_features,
				N = d->n_numeric;
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
	int			n_q = 0;

	ss_params_bind(d, (float *) params, &p);
	ws->train = train;
	ws->dropout = dropout;

	/* encoder: embeddings and numerics side by side in each row of x0 */
	x0 = WSF(WS_X0, TB * D);
	{
		int			col = d->emb_dim[0];

		ss_embedding_forward(p.cat_emb, d->emb_dim[0], batch->cat, (int) TB, x0, D);
		for (int j = 0; j < F; j++)
		{
			int32_t    *ids = (int32_t *) ws_get(ws, WS_FEATIDS, sizeof(int32_t) * TB);

			for (int64_t i = 0; i < TB; i++)
				ids[i] = batch->feat[i * F + j];
			ss_embedding_forward(p.feat_emb[j], d->emb_dim[1 + j], ids, (int) TB, x0 + col, D);
			col += d->emb_dim[1 + j];
		}
		for (int64_t i = 0; i < TB; i++)
			memcpy(x0 + i * D + col, batch->num + i * N, sizeof(float) * N);
	}
	if (train)
	{
		float	   *m = WSF(WS_X0_MASK, TB * D);

		draw_mask(m, TB * D, dropout, rng);
		ss_dropout_apply(x0, m, TB * D);
	}

	/* GRU stack */
	rows_at = rows_at_of(ws, batch);
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

			copy_floats(lin, input, TB * H);
			draw_mask(m, TB * H, dropout, rng);
			ss_dropout_apply(lin, m, TB * H);
			input = lin;
		}
		ss_gru_forward(T, B, in, H, input, p.w_ih[l], p.w_hh[l], p.b_ih[l], p.b_hh[l],
					   WSF(WS_GATES + l, TB * 3 * H), WSF(WS_GHN + l, TB * H), h,
					   WSF(WS_GH_STEP, (int64_t) B * 3 * H), zeros_of(ws, H), WS_PACKF(ws, d),
					   rows_at);
		input = h;
	}
	top = input;

	/* query positions */
	qt = (int32_t *) ws_get(ws, WS_QT, sizeof(int32_t) * (TB + 1));
	qb = (int32_t *) ws_get(ws, WS_QB, sizeof(int32_t) * (TB + 1));
	if (mode == SS_QUERY_TARGETS)
	{
		for (int b = 0; b < B; b++)
			for (int t = 0; t < batch->lengths[b]; t++)
				if (batch->target[(int64_t) t * B + b] >= 0)
				{
					qt[n_q] = t;
					qb[n_q] = b;
					n_q++;
				}
	}
	else
	{
		for (int b = 0; b < B; b++)
		{
			qt[n_q] = batch->lengths[b] - 1;
			qb[n_q] = b;
			n_q++;
		}
	}
	ws->n_q = n_q;

	/* attention: keys of every position, queries of the query rows */
	if (ss_interrupted())
		goto cut;
	keys = WSF(WS_KEYS, TB * A);
	ss_dense_forward_steps(T, B, rows_at, H, A, top, p.w_k, p.b_k, keys, WS_PACKF(ws, d));
	z = WSF(WS_Z, (int64_t) n_q * 2 * H);
	for (int i = 0; i < n_q; i++)
	{
		if (row_poll(i, H))
			goto cut;
		memcpy(z + (int64_t) i * 2 * H + H, top + ((int64_t) qt[i] * B + qb[i]) * H,
			   sizeof(float) * H);
	}
	queries = WSF(WS_QUERIES, (int64_t) n_q * A);
	ss_matmul_wt(n_q, H, A, z + H, 2 * H, p.w_q, NULL, 0.0f, queries, A, WS_PACKF(ws, d));

	e_off = (int64_t *) ws_get(ws, WS_EOFF, sizeof(int64_t) * (n_q + 1));
	a_off = (int64_t *) ws_get(ws, WS_AOFF, sizeof(int64_t) * (n_q + 1));
	n_e = ss_attention_offsets(n_q, qt, A, e_off, a_off);
	ctx = WSF(WS_CTX, (int64_t) n_q * H);
	ss_attention_forward(B, H, A, n_q, qt, qb, top, keys, queries, p.v, e_off, a_off,
						 WSF(WS_E, n_e), WSF(WS_ALPHA, a_off[n_q]), ctx,
						 WSF(WS_ATTN_SCRATCH, ss_attention_scratch_floats(T)));
	for (int i = 0; i < n_q; i++)
	{
		if (row_poll(i, H))
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
		copy_floats(zd, z, (int64_t) n_q * 2 * H);
		draw_mask(m, (int64_t) n_q * 2 * H, dropout, rng);
		ss_dropout_apply(zd, m, (int64_t) n_q * 2 * H);
	}
	logits = WSF(WS_LOGITS, (int64_t) n_q * C);
	ss_dense_forward(n_q, 2 * H, C, zd, p.w_o, p.b_o, logits, WS_PACKF(ws, d));

	/* remember which rows the queries came from, for the backward pass */
	qrow = (int32_t *) ws_get(ws, WS_QROW, sizeof(int32_t) * (n_q + 1));
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

void
ss_model_backward(const ss_dims *d, const float *params,
				  const ss_batch *batch, const float *dlogits,
				  ss_workspace *ws, float *grads)
{
	ss_params	p,
				g;
	const int	B = batch->B,
				T = batch->T,
				H = d->hidden,
				A = d->attn,
				C = d->n_classes,
				D = d->input_dim,
				F = d->n_features;
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

	ss_params_bind(d, (float *) params, &p);
	ss_params_bind(d, grads, &g);
	if (ss_interrupted())
		return;					/* interrupt.h: the gradients are to be discarded */

	/* output layer; dz = dLoss/d[ctx; h_t] */
	dz = WSF(WS_DZ, (int64_t) n_q * 2 * H);
	ss_dense_backward(n_q, 2 * H, C, zd, p.w_o, dlogits, dz, 0, g.w_o, g.b_o, WS_PACKF(ws, d));
	if (train)
		ss_dropout_apply(dz, (float *) ws->buf[WS_Z_MASK], (int64_t) n_q * 2 * H);

	dh = WSF(WS_DH, TB * H);
	copy_floats(dh, NULL, TB * H);
	dctx = WSF(WS_DCTX, (int64_t) n_q * H);
	for (int i = 0; i < n_q; i++)
	{
		const float *src = dz + (int64_t) i * 2 * H;
		float	   *dst = dh + (int64_t) qrow[i] * H;

		if (row_poll(i, 2 * H))
			return;
		memcpy(dctx + (int64_t) i * H, src, sizeof(float) * H);
		for (int j = 0; j < H; j++)
			dst[j] += src[H + j];
	}

	/* attention */
	if (ss_interrupted())
		return;
	dkeys = WSF(WS_DKEYS, TB * A);
	copy_floats(dkeys, NULL, TB * A);
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

		if (row_poll(i, H))
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
						zeros_of(ws, H), WSF(WS_SINK, H), WS_PACKF(ws, d),
						(const int32_t *) ws->buf[WS_ROWS_AT], WS_STEPSF(ws, d, batch));
		if (l > 0)
		{
			if (train)
				ss_dropout_apply(dx, (float *) ws->buf[WS_LIN_MASK + l], TB * H);
			copy_floats(dh, dx, TB * H);
		}
	}

	/* encoder */
	if (ss_interrupted())
		return;
	{
		float	   *dx = (float *) ws->buf[WS_DX];
		int			col = d->emb_dim[0];

		if (train)
			ss_dropout_apply(dx, (float *) ws->buf[WS_X0_MASK], TB * D);
		ss_embedding_backward(g.cat_emb, d->emb_dim[0], batch->cat, (int) TB, dx, D);
		for (int j = 0; j < F; j++)
		{
			int32_t    *ids = (int32_t *) ws_get(ws, WS_FEATIDS, sizeof(int32_t) * TB);

			for (int64_t i = 0; i < TB; i++)
				ids[i] = batch->feat[i * F + j];
			ss_embedding_backward(g.feat_emb[j], d->emb_dim[1 + j], ids, (int) TB, dx + col, D);
			col += d->emb_dim[1 + j];
		}
	}
}
