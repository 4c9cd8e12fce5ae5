/*
 * ranker.c - the feature ranker (arch.h): a multinomial logit over the
 * per-category history features of history.h,
 *
 *   logits_c = b_c + sum_f w_f x_{f,c}(history),
 *
 * (w and b stored divided by SS_HEAD_SCALE, gru4rec.h, so that Adam's
 * steps are in log-odds units), with the statistics of the features counted on the fitting clients
 * (prepare, before the first step) and w, b trained by the engine's loop
 * (Adam, early stopping on validation).  Each target gets its own window,
 * its protocol input (the last max_length events before it), so the
 * features read exactly what a prediction reads.  SS_HIST_FEATURES + C
 * trained floats; w is readable in SQL (seqsales_history_weights).
 *
 * Parameters: w [SS_HIST_FEATURES], b [C], then the statistics block
 * (history.h), frozen.
 */
#include "ranker.h"

#include <string.h>

#include "arch_impl.h"
#include "gru4rec.h"
#include "history.h"
#include "windows.h"

enum
{
	WS_QT = 1, WS_QB, WS_X, WS_LOGITS, WS_SCRATCH, WS_NB, WS_KEYS, WS_N_BUFFERS
};

void
ss_ranker_bind(const ss_dims *d, float *base, ss_ranker_params *p)
{
	const int	C = d->n_classes;

	p->w = base;
	p->b = base + SS_HIST_FEATURES;
	ss_hist_stats_bind(C, base + SS_HIST_FEATURES + C, &p->stats);
}

static int64_t
ranker_param_count(const ss_dims *d)
{
	return SS_HIST_FEATURES + d->n_classes + ss_hist_stats_floats(d->n_classes);
}

static void
ranker_init(const ss_dims *d, float *params, ss_rng *rng)
{
	(void) rng;
	/* a logit of popularity to start from; the statistics come from prepare */
	memset(params, 0, sizeof(float) * ranker_param_count(d));
	params[0] = 1.0f / SS_HEAD_SCALE;
}

static void
ranker_prepare(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
			   float *params)
{
	ss_hist_fit(d->n_classes, data, fit, n_fit, params + SS_HIST_FEATURES + d->n_classes);
}

static int64_t
ranker_pack_floats(const ss_dims *d)
{
	(void) d;
	return 0;
}

static void
ranker_pass_bytes(const ss_dims *d, const ss_pass_shape *s, int with_backward,
				  int64_t bytes[SS_WS_SLOTS])
{
	const int64_t C = d->n_classes;

	(void) with_backward;
	memset(bytes, 0, sizeof(int64_t) * SS_WS_SLOTS);
	bytes[WS_QT] = sizeof(int32_t) * (s->TB + 1);
	bytes[WS_QB] = sizeof(int32_t) * (s->TB + 1);
	bytes[WS_X] = sizeof(float) * s->n_q * SS_HIST_FEATURES * C;
	bytes[WS_LOGITS] = sizeof(float) * s->n_q * C;
	bytes[WS_SCRATCH] = sizeof(float) * ss_hist_scratch_floats((int) C);
	bytes[WS_NB] = sizeof(float) * ss_hist_neighbours_floats(s->n_q);
	bytes[WS_KEYS] = sizeof(uint32_t) * (s->n_q + 1);
}

static int
ranker_forward(const ss_dims *d, const float *params, const ss_batch *batch,
			   ss_query_mode mode, float dropout, ss_rng *rng, ss_workspace *ws,
			   float **logits_out, const int32_t **qt_out, const int32_t **qb_out)
{
	ss_ranker_params p;
	const int	C = d->n_classes;
	const int64_t TB = (int64_t) batch->T * batch->B;
	int32_t    *qt = (int32_t *) ss_ws_get(ws, WS_QT, sizeof(int32_t) * (TB + 1));
	int32_t    *qb = (int32_t *) ss_ws_get(ws, WS_QB, sizeof(int32_t) * (TB + 1));
	float	   *logits;
	int			n_q;

	(void) dropout;
	(void) rng;
	ss_ranker_bind(d, (float *) params, &p);
	ws->train = 0;
	ws->dropout = 0.0f;
	n_q = ss_queries_of(batch, mode, qt, qb);
	logits = SS_WSF(ws, WS_LOGITS, (int64_t) n_q * C);
	for (int i = 0; i < n_q; i++)
		for (int c = 0; c < C; c++)
			logits[(int64_t) i * C + c] = SS_HEAD_SCALE * p.b[c];
	if (!ss_hist_head_forward(C, &p.stats, p.w, batch, n_q, qt, qb,
							  SS_WSF(ws, WS_X, (int64_t) n_q * SS_HIST_FEATURES * C),
							  SS_WSF(ws, WS_SCRATCH, ss_hist_scratch_floats(C)),
							  SS_WSF(ws, WS_NB, ss_hist_neighbours_floats(n_q)),
							  (uint32_t *) ss_ws_get(ws, WS_KEYS, sizeof(uint32_t) * (n_q + 1)),
							  logits))
		n_q = 0;				/* interrupt.h: nothing for the caller to read */
	ws->n_q = n_q;
	*logits_out = logits;
	if (qt_out)
		*qt_out = qt;
	if (qb_out)
		*qb_out = qb;
	return n_q;
}

static void
ranker_backward(const ss_dims *d, const float *params, const ss_batch *batch,
				const float *dlogits, ss_workspace *ws, float *grads)
{
	ss_ranker_params g;
	const int	C = d->n_classes;

	(void) params;
	(void) batch;
	ss_ranker_bind(d, grads, &g);
	if (!ss_hist_head_backward(C, ws->n_q, (const float *) ws->buf[WS_X], dlogits, g.w))
		return;
	for (int i = 0; i < ws->n_q; i++)
	{
		const float *dl = dlogits + (int64_t) i * C;

		if (ss_row_poll(i, C))
			return;
		for (int c = 0; c < C; c++)
			g.b[c] += SS_HEAD_SCALE * dl[c];
	}
}

int
ss_history_weights(const ss_dims *d, const float *params, float w[SS_HIST_FEATURES])
{
	const float *head;

	if (d->arch == SS_ARCH_RANKER)
	{
		ss_ranker_params p;

		ss_ranker_bind(d, (float *) params, &p);
		head = p.w;
	}
	else if (d->arch == SS_ARCH_HYBRID)
	{
		ss_gru4rec_params p;

		ss_gru4rec_bind(d, (float *) params, &p);
		head = p.head;
	}
	else
		return 0;
	for (int f = 0; f < SS_HIST_FEATURES; f++)
		w[f] = SS_HEAD_SCALE * head[f];
	return 1;
}

const ss_arch ss_arch_ranker = {
	.name = "ranker",
	.description = "multinomial logit over per-category history features",
	.blob_id = 6,
	.output = SS_OUTPUT_LOGITS,
	.one_target_per_window = 1,
	.check = ss_hist_check,
	.param_count = ranker_param_count,
	.init = ranker_init,
	.prepare = ranker_prepare,
	.pack_floats = ranker_pack_floats,
	.pass_bytes = ranker_pass_bytes,
	.forward = ranker_forward,
	.backward = ranker_backward,
	.fit = NULL,
};
