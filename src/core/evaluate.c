/*
 * evaluate.c - figures on held-out clients (evaluate.h).
 *
 * Clients go in batches of up to EVAL_BATCH histories (fewer when there
 * are many categories: a batch's probabilities are B x C floats, kept
 * under 64 MB), one batch per thread, through the prediction path every
 * user gets (predict.h); the queries are added on the calling thread.
 */
#include "evaluate.h"

#include "interrupt.h"
#include "ss_alloc.h"

#define EVAL_BATCH 256
#define EVAL_PROBS_FLOATS ((int64_t) 1 << 24)

/* the history window of client c: its last max_len events before the last one */
static int
client_window(const ss_dataset *data, int c, int max_len, ss_window *w)
{
	int64_t		o = data->offsets[c],
				last = data->offsets[c + 1] - 1;

	if (last - o < 1)
		return 0;
	w->start = last - max_len > o ? last - max_len : o;
	w->end = last;
	w->first_target = last;
	return 1;
}

/* whether the target of window w occurs among the client's earlier events */
static int
is_repeat(const ss_dataset *data, int c, const ss_window *w)
{
	int32_t		y = data->target[w->end];

	if (y < 0)
		return 0;
	for (int64_t r = data->offsets[c]; r < w->end; r++)
		if (data->target[r] == y)
			return 1;
	return 0;
}

int64_t
ss_evaluate_clients(const ss_dims *d, const float *params, const ss_dataset *data,
					const int32_t *clients, int n_clients, int max_len, int threads,
					const ss_train_callbacks *cb, ss_metrics *m)
{
	const int	C = d->n_classes;
	int			per = EVAL_BATCH,
				n_thr = threads < 1 ? 1 : (threads > SS_MAX_THREADS ? SS_MAX_THREADS : threads);
	ss_batch   *batches[SS_MAX_THREADS];
	ss_workspace *ws[SS_MAX_THREADS];
	float	   *probs[SS_MAX_THREADS];
	ss_window  *w[SS_MAX_THREADS];
	int32_t    *who[SS_MAX_THREADS];
	int64_t		done = 0;
	int			next = 0,
				cancelled = 0;

	if ((int64_t) per * C > EVAL_PROBS_FLOATS)
		per = (int) (EVAL_PROBS_FLOATS / C) > 0 ? (int) (EVAL_PROBS_FLOATS / C) : 1;
	for (int k = 0; k < n_thr; k++)
	{
		batches[k] = ss_batch_new(d, per, max_len);
		ws[k] = ss_workspace_new();
		probs[k] = SS_NEW_ARRAY(float, (int64_t) per * C);
		w[k] = SS_NEW_ARRAY(ss_window, per);
		who[k] = SS_NEW_ARRAY(int32_t, per);
	}
	ss_metrics_reserve(m, n_clients);
	while (next < n_clients && !cancelled)
	{
		int			n_w[SS_MAX_THREADS];

		if (cb && cb->tick)
			cb->tick(cb->arg);
		for (int k = 0; k < n_thr; k++)
		{
			n_w[k] = 0;
			while (next < n_clients && n_w[k] < per)
			{
				int			c = clients[next++];

				if (client_window(data, c, max_len, &w[k][n_w[k]]))
					who[k][n_w[k]++] = c;
			}
			if (n_w[k] > 0)
				ss_fill_batch(data, w[k], n_w[k], 0, batches[k]);
			else
				batches[k]->B = 0;
		}
		while (!ss_predict_batches(d, params, batches, ws, probs, n_thr))
			if (!ss_train_interrupt_served(cb))
			{
				cancelled = 1;
				break;
			}
		if (cancelled)
			break;
		for (int k = 0; k < n_thr; k++)
			for (int b = 0; b < batches[k]->B; b++)
			{
				int			i = batches[k]->origin[b];
				const ss_window *wi = &w[k][i];

				ss_metrics_add(m, probs[k] + (int64_t) b * C, data->target[wi->end],
							   is_repeat(data, who[k][i], wi));
				done++;
			}
	}
	for (int k = 0; k < n_thr; k++)
	{
		ss_batch_free(batches[k]);
		ss_workspace_free(ws[k]);
		ss_free(probs[k]);
		ss_free(w[k]);
		ss_free(who[k]);
	}
	return cancelled ? -1 : done;
}
