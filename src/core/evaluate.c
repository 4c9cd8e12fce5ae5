/*
 * evaluate.c - figures on held-out clients (evaluate.h).
 *
 * Clients go in batches of up to EVAL_BATCH histories (fewer when there
 * are many categories: a batch's probabilities are B x C floats, kept
 * under 64 MB), one batch per thread, through the prediction path every
 * user gets (predict.h); the queries are added on the calling thread.
 */
#include "evaluate.h"

#include <stdlib.h>

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

/* the first row of the last order of client c (its first row when it has one order) */
static int64_t
last_order_start(const ss_dataset *data, int c)
{
	int64_t		r = data->offsets[c + 1] - 1;

	while (r > data->offsets[c] && !ss_row_starts_order(data, r))
		r--;
	return r;
}

/* the history of client c's last order: the last max_len events before it; 0 with one order */
static int
order_window(const ss_dataset *data, int c, int max_len, ss_window *w)
{
	int64_t		o = data->offsets[c],
				s = last_order_start(data, c);

	if (s <= o)
		return 0;
	w->start = s - max_len > o ? s - max_len : o;
	w->end = s;
	w->first_target = s;
	return 1;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * The targets of client c's last order into set (room for its rows):
 * distinct known classes, then one -1 per distinct unknown category
 * (by category_id; NULL: per unknown row).  Returns how many.
 */
static int
order_targets(const ss_dataset *data, const int32_t *category_id, int c, int32_t *set)
{
	int64_t		s = last_order_start(data, c),
				e = data->offsets[c + 1];
	int			n = 0,
				known = 0,
				unknown = 0;

	for (int64_t r = s; r < e; r++)
		if (data->target[r] >= 0)
			set[n++] = data->target[r];
	qsort(set, (size_t) n, sizeof(int32_t), cmp_int32);
	for (int i = 0; i < n; i++)
		if (known == 0 || set[i] != set[known - 1])
			set[known++] = set[i];
	/* the unknown rows' categories, distinct, after the known ones */
	n = known;
	for (int64_t r = s; r < e; r++)
		if (data->target[r] < 0)
			set[n++] = category_id != NULL ? category_id[r] : unknown++;
	qsort(set + known, (size_t) (n - known), sizeof(int32_t), cmp_int32);
	unknown = 0;
	for (int i = known; i < n; i++)
		if (unknown == 0 || set[i] != set[known + unknown - 1])
			set[known + unknown++] = set[i];
	for (int i = known; i < known + unknown; i++)
		set[i] = -1;
	return known + unknown;
}

static int64_t
evaluate(const ss_dims *d, const float *params, const ss_dataset *data,
		 int orders, const int32_t *category_id,
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
	int32_t    *set = NULL;

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
	if (orders)
	{
		int64_t		longest = 1;

		/* room for the longest last order's targets */
		for (int i = 0; i < n_clients; i++)
		{
			int			c = clients[i];
			int64_t		len = data->offsets[c + 1] - last_order_start(data, c);

			if (len > longest)
				longest = len;
		}
		set = SS_NEW_ARRAY(int32_t, longest);
		ss_metrics_reserve_set(m, (int) longest);
	}
	else
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

				if (orders ? order_window(data, c, max_len, &w[k][n_w[k]])
					: client_window(data, c, max_len, &w[k][n_w[k]]))
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

				if (orders)
					ss_metrics_add_set(m, probs[k] + (int64_t) b * C, set,
									   order_targets(data, category_id, who[k][i], set));
				else
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
	ss_free(set);
	return cancelled ? -1 : done;
}

int64_t
ss_evaluate_clients(const ss_dims *d, const float *params, const ss_dataset *data,
					const int32_t *clients, int n_clients, int max_len, int threads,
					const ss_train_callbacks *cb, ss_metrics *m)
{
	return evaluate(d, params, data, 0, NULL, clients, n_clients, max_len, threads, cb, m);
}

int64_t
ss_evaluate_orders(const ss_dims *d, const float *params, const ss_dataset *data,
				   const int32_t *category_id, const int32_t *clients, int n_clients,
				   int max_len, int threads, const ss_train_callbacks *cb, ss_metrics *m)
{
	return evaluate(d, params, data, 1, category_id, clients, n_clients, max_len, threads, cb, m);
}
