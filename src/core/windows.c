/*
 * windows.c - windows, an epoch's draws and a step's plan (windows.h).
 */
#include "windows.h"

#include <stdlib.h>
#include <string.h>

#include "ss_alloc.h"

/* ---------------------------------------------------------------- windows */

static int64_t
client_windows(int64_t o, int64_t n, int max_len, int stride, ss_window *out)
{
	int64_t		h = stride;
	int64_t		s = 0,
				count = 0;

	if (n < 2)
		return 0;
	for (;;)
	{
		int64_t		e = s + max_len < n - 1 ? s + max_len : n - 1;

		if (out != NULL)
		{
			out[count].start = o + s;
			out[count].end = o + e;
			out[count].first_target = o + (s == 0 ? s + 1 : s + max_len - h + 1);
		}
		count++;
		if (e >= n - 1)
			break;
		s += h;
	}
	return count;
}

int64_t
ss_window_count(int64_t n, int max_len, int stride)
{
	return client_windows(0, n, max_len, stride, NULL);
}

int64_t
ss_client_windows(int64_t o, int64_t n, int max_len, int stride, ss_window *out)
{
	return client_windows(o, n, max_len, stride, out);
}

/* places the windows longest first and copies their input rows; no targets yet */
static void
fill_inputs(const ss_dataset *data, const ss_window *w, int n, ss_batch *batch)
{
	const int	F = data->n_features,
				N = data->n_numeric;
	int			T = 0;

	/* longest first, ties in the given order (insertion sort of origin) */
	for (int b = 0; b < n; b++)
	{
		int64_t		len = w[b].end - w[b].start;
		int			i = b;

		while (i > 0 && w[batch->origin[i - 1]].end - w[batch->origin[i - 1]].start < len)
		{
			batch->origin[i] = batch->origin[i - 1];
			i--;
		}
		batch->origin[i] = b;
		if (len > T)
			T = (int) len;
	}
	batch->B = n;
	batch->T = T;
	memset(batch->cat, 0, sizeof(int32_t) * T * n);
	memset(batch->num, 0, sizeof(float) * T * n * N);
	memset(batch->feat, 0, sizeof(int32_t) * T * n * F);
	for (int64_t i = 0; i < (int64_t) T * n; i++)
	{
		batch->target[i] = -1;
		batch->order_start[i] = 1;
		batch->target_ends[i] = 0;
	}
	for (int b = 0; b < n; b++)
	{
		const ss_window *wb = &w[batch->origin[b]];
		int			len = (int) (wb->end - wb->start);

		batch->lengths[b] = len;
		batch->client_key[b] = 0;
		if (data->client_key != NULL)
		{
			/* the client owning row start: the last offset <= it */
			int			lo = 0,
						hi = data->n_clients - 1;

			while (lo < hi)
			{
				int			mid = (lo + hi + 1) / 2;

				if (data->offsets[mid] <= wb->start)
					lo = mid;
				else
					hi = mid - 1;
			}
			batch->client_key[b] = data->client_key[lo];
		}
		for (int t = 0; t < len; t++)
		{
			int64_t		row = wb->start + t;
			int64_t		p = (int64_t) t * n + b;

			batch->cat[p] = data->cat_in[row];
			/* a dataset without features or numerics may leave their arrays NULL */
			if (F > 0)
				memcpy(batch->feat + p * F, data->feat_in + row * F, sizeof(int32_t) * F);
			if (N > 0)
				memcpy(batch->num + p * N, data->num_in + row * N, sizeof(float) * N);
			batch->order_start[p] = (uint8_t) ss_row_starts_order(data, row);
		}
	}
}

int64_t
ss_fill_batch(const ss_dataset *data, const ss_window *w, int n,
			  int with_targets, ss_batch *batch)
{
	const int	B = n;
	int64_t		targets = 0;

	fill_inputs(data, w, n, batch);
	if (!with_targets)
		return 0;
	for (int b = 0; b < B; b++)
	{
		const ss_window *wb = &w[batch->origin[b]];
		int64_t		own = ss_first_owned(wb);

		for (int t = 0; t < batch->lengths[b]; t++)
		{
			int64_t		row = wb->start + t;
			int64_t		p = (int64_t) t * B + b;

			if (row + 1 >= own && data->target[row + 1] >= 0)
			{
				batch->target[p] = data->target[row + 1];
				/*
				 * the target ends its order or the history: the next row
				 * starts an order (a client's first event always does)
				 */
				batch->target_ends[p] = (uint8_t) (row + 2 >= data->n_events
												   || ss_row_starts_order(data, row + 2));
				targets++;
			}
		}
	}
	return targets;
}

int64_t
ss_fill_order_batch(const ss_dataset *data, const ss_window *w, int n,
					const int32_t *sets, ss_batch *batch)
{
	fill_inputs(data, w, n, batch);
	for (int b = 0; b < n; b++)
	{
		const ss_window *wb = &w[batch->origin[b]];
		int64_t		p = (int64_t) (batch->lengths[b] - 1) * n + b;

		batch->target[p] = sets[wb->set_begin];
		batch->target_ends[p] = 1;
	}
	return n;
}

/* one window per target t >= 1 of a client of n events at row o */
static int64_t
target_windows(int64_t o, int64_t n, int max_len, ss_window *out)
{
	if (n < 2)
		return 0;
	if (out != NULL)
		for (int64_t t = 1; t < n; t++)
		{
			out[t - 1].start = o + (t > max_len ? t - max_len : 0);
			out[t - 1].end = o + t;
			out[t - 1].first_target = o + t;
		}
	return n - 1;
}

ss_window *
ss_windows_of(const ss_dataset *data, const int32_t *clients, int n_clients,
			  int max_len, int stride, int per_target, int64_t *n_out)
{
	int64_t		total = 0;
	ss_window  *w;

	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		int64_t		n = data->offsets[c + 1] - data->offsets[c];

		total += per_target ? target_windows(0, n, max_len, NULL) : ss_window_count(n, max_len, stride);
	}
	w = SS_NEW_ARRAY(ss_window, total > 0 ? total : 1);
	total = 0;
	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		int64_t		n = data->offsets[c + 1] - data->offsets[c];

		total += per_target ? target_windows(data->offsets[c], n, max_len, w + total)
			: ss_client_windows(data->offsets[c], n, max_len, stride, w + total);
	}
	*n_out = total;
	return w;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * The order windows of a client of n events at row o (see windows.h);
 * with out == NULL only counts them and the rows of their orders
 * (*set_rows).  sets receives each window's distinct known classes from
 * *at on (sorted, then made unique, in place).
 */
static int64_t
order_windows(const ss_dataset *data, int64_t o, int64_t n, int max_len,
			  ss_window *out, int32_t *sets, int64_t *at, int64_t *set_rows)
{
	int64_t		count = 0;
	int64_t		s = o;			/* first row of the current order */

	while (s < o + n)
	{
		int64_t		e = s + 1;	/* one past its last row */
		int64_t		k = 0;

		while (e < o + n && !ss_row_starts_order(data, e))
			e++;
		if (s > o)
		{
			if (out == NULL)
			{
				int			any = 0;

				for (int64_t r = s; r < e; r++)
					any |= data->target[r] >= 0;
				count += any;
				*set_rows += any ? e - s : 0;
			}
			else
			{
				int32_t    *set = sets + *at;

				for (int64_t r = s; r < e; r++)
					if (data->target[r] >= 0)
						set[k++] = data->target[r];
				if (k > 0)
				{
					int64_t		u = 1;

					qsort(set, (size_t) k, sizeof(int32_t), cmp_int32);
					for (int64_t i = 1; i < k; i++)
						if (set[i] != set[u - 1])
							set[u++] = set[i];
					out[count].start = s - max_len > o ? s - max_len : o;
					out[count].end = s;
					out[count].first_target = s;
					out[count].set_begin = *at;
					out[count].set_size = (int32_t) u;
					*at += u;
					count++;
				}
			}
		}
		s = e;
	}
	return count;
}

ss_window *
ss_order_windows_of(const ss_dataset *data, const int32_t *clients, int n_clients,
					int max_len, int32_t **sets, int64_t *n_sets, int64_t *n_out)
{
	int64_t		total = 0,
				rows = 0,
				at = 0;
	ss_window  *w;

	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		total += order_windows(data, data->offsets[c], data->offsets[c + 1] - data->offsets[c],
							   max_len, NULL, NULL, NULL, &rows);
	}
	w = SS_NEW_ARRAY(ss_window, total > 0 ? total : 1);
	*sets = SS_NEW_ARRAY(int32_t, rows > 0 ? rows : 1);
	*n_sets = rows > 0 ? rows : 1;
	total = 0;
	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		total += order_windows(data, data->offsets[c], data->offsets[c + 1] - data->offsets[c],
							   max_len, w + total, *sets, &at, NULL);
	}
	*n_out = total;
	return w;
}

/* ---------------------------------------------------------------- sampling */


void
ss_draw_epoch(int64_t n, int64_t n_draw, const double *cdf, ss_rng *rng, int64_t *order)
{
	if (cdf != NULL)
	{
		double		total = cdf[n - 1];

		for (int64_t i = 0; i < n_draw; i++)
		{
			double		u = ss_rng_uniform(rng) * total;
			int64_t		lo = 0,
						hi = n - 1;

			while (lo < hi)
			{
				int64_t		mid = (lo + hi) / 2;

				if (cdf[mid] > u)
					hi = mid;
				else
					lo = mid + 1;
			}
			order[i] = lo;
		}
	}
	else if (n_draw > n)
	{
		for (int64_t i = 0; i < n_draw; i++)
			order[i] = (int64_t) ss_rng_below(rng, (uint64_t) n);
	}
	else
	{
		for (int64_t i = 0; i < n; i++)
			order[i] = i;
		for (int64_t i = n - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) ss_rng_below(rng, (uint64_t) i + 1);
			int64_t		tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
	}
}

double *
ss_window_cdf(const ss_dataset *data, const ss_window *w, int64_t n_w, const double *counts,
			  const int32_t *sets)
{
	double	   *cdf = SS_NEW_ARRAY(double, n_w > 0 ? n_w : 1),
				acc = 0.0;

	for (int64_t i = 0; i < n_w; i++)
	{
		double		sum = 0.0;
		int64_t		k = 0;

		if (sets != NULL)
			for (int32_t j = 0; j < w[i].set_size; j++)
			{
				sum += 1.0 / counts[sets[w[i].set_begin + j]];
				k++;
			}
		else
			for (int64_t r = ss_first_owned(&w[i]); r <= w[i].end; r++)
				if (data->target[r] >= 0)
				{
					sum += 1.0 / counts[data->target[r]];
					k++;
				}
		acc += k > 0 ? sum / k : 0.0;
		cdf[i] = acc;
	}
	return cdf;
}


int
ss_plan_step(const ss_window *w, const int64_t *order, int64_t n_draw, int64_t *next,
			 int batch_size, int n_workers, int64_t split[])
{
	int64_t		first = *next,
				budget = 0,
				work = 0,
				done = 0;

	while (*next < n_draw && budget < batch_size)
	{
		const ss_window *pw = &w[order[(*next)++]];

		budget += pw->end - ss_first_owned(pw) + 1;
		work += ss_window_work(pw);
	}
	split[0] = first;
	for (int k = 0; k < n_workers; k++)
	{
		int64_t		last = split[k],
					goal = work * (k + 1) / n_workers;

		while (last < *next && (k == n_workers - 1 || done < goal))
			done += ss_window_work(&w[order[last++]]);
		split[k + 1] = last;
	}
	return (int) (*next - first);
}
