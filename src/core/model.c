/*
 * model.c - what every architecture shares: dimensions, batches, the
 * workspace, the input encoder, and the dispatch of model.h's passes to
 * the architecture of the dimensions (arch.h).
 */
#include "model.h"

#include <math.h>
#include <string.h>

#include "arch_impl.h"
#include "layers.h"
#include "ss_alloc.h"

/* ---------------------------------------------------------------- dimensions */

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
	const char *err;
	int			D;

	if (d->arch < 0 || d->arch >= SS_N_ARCHS || ss_arch_of(d) == NULL)
		return "unknown architecture";
	if (d->n_classes < 1 || d->n_classes > 1000000)
		return "number of categories out of range";
	if (ss_arch_of(d)->check != NULL && (err = ss_arch_of(d)->check(d)) != NULL)
		return err;
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
	d->input_dim = D + d->n_numeric + ss_extra_inputs(d->arch);
	return NULL;
}

/* ---------------------------------------------------------------- dispatch */

int64_t
ss_param_count(const ss_dims *d)
{
	return ss_arch_of(d)->param_count(d);
}

void
ss_params_init(const ss_dims *d, float *base, ss_rng *rng)
{
	ss_arch_of(d)->init(d, base, rng);
}

int64_t
ss_pack_floats(const ss_dims *d)
{
	return ss_arch_of(d)->pack_floats(d);
}

int
ss_model_forward(const ss_dims *d, const float *params, const ss_batch *batch,
				 ss_query_mode mode, float dropout, ss_rng *rng, ss_workspace *ws,
				 float **logits, const int32_t **qt, const int32_t **qb)
{
	return ss_arch_of(d)->forward(d, params, batch, mode, dropout, rng, ws, logits, qt, qb);
}

void
ss_model_backward(const ss_dims *d, const float *params, const ss_batch *batch,
				  const float *dlogits, ss_workspace *ws, float *grads)
{
	ss_arch_of(d)->backward(d, params, batch, dlogits, ws, grads);
}

int
ss_model_trained_by_gradient(const ss_dims *d)
{
	return ss_arch_of(d)->backward != NULL;
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
	b->order_start = SS_NEW_ARRAY(uint8_t, TB);
	b->target_ends = SS_NEW_ARRAY(uint8_t, TB);
	b->client_key = SS_NEW_ARRAY(uint32_t, max_B > 0 ? max_B : 1);
	for (int64_t i = 0; i < TB; i++)
		b->order_start[i] = 1;
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
	ss_free(b->order_start);
	ss_free(b->target_ends);
	ss_free(b->client_key);
	ss_free(b);
}

/* ---------------------------------------------------------------- workspace */

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
	for (int i = 0; i < SS_WS_SLOTS; i++)
		ss_free(ws->buf[i]);
	ss_free(ws);
}

int64_t
ss_workspace_bytes(const ss_workspace *ws)
{
	int64_t		total = 0;

	for (int i = 0; i < SS_WS_SLOTS; i++)
		total += ws->cap[i];
	return total;
}

int
ss_workspace_allocations(const ss_workspace *ws, int64_t *bytes)
{
	int			n = 1;

	*bytes = (int64_t) sizeof(ss_workspace);
	for (int i = 0; i < SS_WS_SLOTS; i++)
	{
		n += ws->cap[i] > 0;
		*bytes += ws->cap[i];
	}
	return n;
}

void *
ss_ws_get(ss_workspace *ws, int slot, int64_t bytes)
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

const float *
ss_ws_zeros(ss_workspace *ws, int n)
{
	int64_t		had = ws->cap[SS_WS_ZEROS];
	float	   *z = SS_WSF(ws, SS_WS_ZEROS, n);

	if (ws->cap[SS_WS_ZEROS] != had && !ws->sizing)
		memset(z, 0, ws->cap[SS_WS_ZEROS]);
	return z;
}

void
ss_workspace_reserve_shape(ss_workspace *ws, const ss_dims *d, const ss_pass_shape *s,
						   int with_backward)
{
	int64_t		bytes[SS_WS_SLOTS];

	memset(bytes, 0, sizeof(bytes));
	ss_arch_of(d)->pass_bytes(d, s, with_backward, bytes);
	for (int slot = 1; slot < SS_WS_SLOTS; slot++)
		if (bytes[slot] > 0)
			ss_ws_get(ws, slot, bytes[slot]);
	if (bytes[SS_WS_ZEROS] > 0)
		ss_ws_zeros(ws, (int) (bytes[SS_WS_ZEROS] / sizeof(float)));
}

/* n_q query rows with n_alpha attention weights in all */
static void
reserve(ss_workspace *ws, const ss_dims *d, const ss_batch *batch,
		int64_t n_q, int64_t n_alpha, int with_backward)
{
	ss_pass_shape s = {batch->B, batch->T, (int64_t) batch->B * batch->T, n_q, n_alpha};

	ss_workspace_reserve_shape(ws, d, &s, with_backward);
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

int
ss_queries_of(const ss_batch *batch, ss_query_mode mode, int32_t *qt, int32_t *qb)
{
	int			n_q = 0;

	for (int b = 0; b < batch->B; b++)
	{
		if (mode == SS_QUERY_LAST)
		{
			qt[n_q] = batch->lengths[b] - 1;
			qb[n_q++] = b;
			continue;
		}
		for (int t = 0; t < batch->lengths[b]; t++)
			if (batch->target[(int64_t) t * batch->B + b] >= 0)
			{
				qt[n_q] = t;
				qb[n_q++] = b;
			}
	}
	return n_q;
}

const int32_t *
ss_ws_rows_at(ss_workspace *ws, int slot, const ss_batch *batch)
{
	const int	B = batch->B,
				T = batch->T;
	int32_t    *rows = (int32_t *) ss_ws_get(ws, slot, sizeof(int32_t) * (T + 1));
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

/* ---------------------------------------------------------------- helpers */

/*
 * In slices of 16 MB with a poll between them: activations of a large
 * batch are hundreds of MB.
 */
void
ss_copy_floats(float *dst, const float *src, int64_t n)
{
	for (int64_t i = 0; i < n; i += 4 * SS_POLL_ELEMENTS)
	{
		size_t		len = sizeof(float) * (n - i < 4 * SS_POLL_ELEMENTS ? n - i : 4 * SS_POLL_ELEMENTS);

		if (i > 0 && ss_interrupted())
			return;
		if (src == NULL)
			memset(dst + i, 0, len);
		else
			memcpy(dst + i, src + i, len);
	}
}

/* in slices of an even length (one random number makes two elements): the same stream */
void
ss_draw_mask(float *mask, int64_t n, float p, ss_rng *rng)
{
	for (int64_t i = 0; i < n; i += SS_POLL_ELEMENTS)
	{
		if (i > 0 && ss_interrupted())
			return;
		ss_rng_dropout_mask(rng, mask + i, n - i < SS_POLL_ELEMENTS ? n - i : SS_POLL_ELEMENTS, p,
							1.0f / (1.0f - p));
	}
}

/* both stop early when interrupted (the caller then starts again from its seed) */
void
ss_fill_uniform(float *x, int64_t n, float bound, ss_rng *rng)
{
	for (int64_t i = 0; i < n; i++)
	{
		if (i % SS_POLL_ELEMENTS == 0 && ss_interrupted())
			return;
		x[i] = (float) ((2.0 * ss_rng_uniform(rng) - 1.0) * bound);
	}
}

void
ss_init_embedding(float *table, int rows, int dim, ss_rng *rng)
{
	for (int64_t i = 0; i < (int64_t) rows * dim; i++)
	{
		if (i % SS_POLL_ELEMENTS == 0 && ss_interrupted())
			return;
		table[i] = ss_rng_normal(rng);
	}
	memset(table, 0, sizeof(float) * dim);	/* padding row */
}

/* ---------------------------------------------------------------- input encoder */

void
ss_encoder_layout(const ss_dims *d, float *base, int64_t *off, ss_encoder_params *p)
{
	int64_t		n = (int64_t) (d->n_classes + SS_N_RESERVED) * d->emb_dim[0];

	if (base)
		p->cat_emb = base + *off;
	*off += n;
	for (int j = 0; j < d->n_features; j++)
	{
		n = (int64_t) (d->feature_vocab[j] + SS_N_RESERVED) * d->emb_dim[1 + j];
		if (base)
			p->feat_emb[j] = base + *off;
		*off += n;
	}
}

void
ss_encoder_init(const ss_dims *d, const ss_encoder_params *p, ss_rng *rng)
{
	ss_init_embedding(p->cat_emb, d->n_classes + SS_N_RESERVED, d->emb_dim[0], rng);
	for (int j = 0; j < d->n_features; j++)
		ss_init_embedding(p->feat_emb[j], d->feature_vocab[j] + SS_N_RESERVED,
						  d->emb_dim[1 + j], rng);
}

void
ss_encoder_forward(const ss_dims *d, const ss_encoder_params *p, const ss_batch *batch,
				   ss_workspace *ws, int ids_slot, float *x0)
{
	const int64_t TB = (int64_t) batch->T * batch->B;
	const int	D = d->input_dim,
				F = d->n_features,
				N = d->n_numeric;
	int			col = d->emb_dim[0];

	ss_embedding_forward(p->cat_emb, d->emb_dim[0], batch->cat, (int) TB, x0, D);
	for (int j = 0; j < F; j++)
	{
		int32_t    *ids = (int32_t *) ss_ws_get(ws, ids_slot, sizeof(int32_t) * TB);

		for (int64_t i = 0; i < TB; i++)
			ids[i] = batch->feat[i * F + j];
		ss_embedding_forward(p->feat_emb[j], d->emb_dim[1 + j], ids, (int) TB, x0 + col, D);
		col += d->emb_dim[1 + j];
	}
	for (int64_t i = 0; i < TB; i++)
		memcpy(x0 + i * D + col, batch->num + i * N, sizeof(float) * N);
}

void
ss_encoder_backward(const ss_dims *d, const ss_encoder_params *g, const ss_batch *batch,
					ss_workspace *ws, int ids_slot, const float *dx0)
{
	const int64_t TB = (int64_t) batch->T * batch->B;
	const int	D = d->input_dim,
				F = d->n_features;
	int			col = d->emb_dim[0];

	ss_embedding_backward(g->cat_emb, d->emb_dim[0], batch->cat, (int) TB, dx0, D);
	for (int j = 0; j < F; j++)
	{
		int32_t    *ids = (int32_t *) ss_ws_get(ws, ids_slot, sizeof(int32_t) * TB);

		for (int64_t i = 0; i < TB; i++)
			ids[i] = batch->feat[i * F + j];
		ss_embedding_backward(g->feat_emb[j], d->emb_dim[1 + j], ids, (int) TB, dx0 + col, D);
		col += d->emb_dim[1 + j];
	}
}
