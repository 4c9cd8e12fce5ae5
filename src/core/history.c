/*
 * history.c - per-category history features and their statistics
 * (history.h).
 */
#include "history.h"

#include <math.h>
#include <string.h>

#include "ss_alloc.h"
#include "windows.h"

/* pseudo-counts of the smoothed transition and co-occurrence estimates (towards popularity) */
#define TRANS_PRIOR 2.0
#define COOC_PRIOR 2.0
#define DECAY 0.7f

int64_t
ss_hist_stats_floats(int C)
{
	return (int64_t) C + 2 * (int64_t) C * C;
}

void
ss_hist_stats_bind(int C, float *base, ss_hist_stats *s)
{
	s->log_pop = base;
	s->trans = base + C;
	s->cooc = base + C + (int64_t) C * C;
}

void
ss_hist_fit(int C, const ss_dataset *data, const int32_t *fit, int n_fit, float *base)
{
	ss_hist_stats s;
	double	   *pop = SS_NEW_ARRAY(double, C);
	double	   *from = SS_NEW_ARRAY(double, C);
	double	   *in_orders = SS_NEW_ARRAY(double, C);
	double	   *pair = SS_NEW_ARRAY(double, (int64_t) C * C);
	double	   *next = SS_NEW_ARRAY(double, (int64_t) C * C);
	int32_t    *members = SS_NEW_ARRAY(int32_t, C);
	uint8_t    *in_order = SS_NEW_ARRAY(uint8_t, C);
	double		n_events = 0.0,
				n_orders = 0.0;

	ss_hist_stats_bind(C, base, &s);
	for (int i = 0; i < n_fit; i++)
	{
		int64_t		lo = data->offsets[fit[i]],
					hi = data->offsets[fit[i] + 1];

		for (int64_t r = lo; r < hi;)
		{
			/* one order: rows r .. e - 1 */
			int64_t		e = r + 1;
			int			m = 0;

			while (e < hi && !ss_row_starts_order(data, e))
				e++;
			for (int64_t q = r; q < e; q++)
			{
				int			c = data->target[q];

				if (c < 0)
					continue;
				pop[c] += 1.0;
				n_events += 1.0;
				if (q > lo && data->target[q - 1] >= 0)
				{
					from[data->target[q - 1]] += 1.0;
					next[(int64_t) data->target[q - 1] * C + c] += 1.0;
				}
				if (!in_order[c])
				{
					in_order[c] = 1;
					members[m++] = c;
				}
			}
			if (m > 0)
				n_orders += 1.0;
			for (int a = 0; a < m; a++)
			{
				in_orders[members[a]] += 1.0;
				for (int b = 0; b < m; b++)
					if (b != a)
						pair[(int64_t) members[a] * C + members[b]] += 1.0;
			}
			for (int a = 0; a < m; a++)
				in_order[members[a]] = 0;
			r = e;
		}
	}
	for (int c = 0; c < C; c++)
		s.log_pop[c] = (float) log((pop[c] + 1.0) / (n_events + C));
	for (int a = 0; a < C; a++)
		for (int c = 0; c < C; c++)
		{
			double		p = (pop[c] + 1.0) / (n_events + C),
						q = (in_orders[c] + 1.0) / (n_orders + C);
			int64_t		ac = (int64_t) a * C + c;

			s.trans[ac] = (float) log((next[ac] + TRANS_PRIOR * p) / (from[a] + TRANS_PRIOR));
			s.cooc[ac] = (float) log((pair[ac] + COOC_PRIOR * q) / (in_orders[a] + COOC_PRIOR));
		}
	ss_free(pop);
	ss_free(from);
	ss_free(in_orders);
	ss_free(pair);
	ss_free(next);
	ss_free(members);
	ss_free(in_order);
}

int64_t
ss_hist_scratch_floats(int C)
{
	return 7 * (int64_t) C;
}

static inline int
class_at(const ss_batch *batch, int t, int b)
{
	return batch->cat[(int64_t) t * batch->B + b] - SS_N_RESERVED;	/* < 0: unknown or padding */
}

void
ss_hist_features(int C, const ss_hist_stats *s, const ss_batch *batch, int t, int b,
				 float *x, float *scratch)
{
	const int	B = batch->B;
	float	   *count = scratch,
			   *decayed = scratch + C,
			   *recency = scratch + 2 * C,
			   *cur = scratch + 3 * C,
			   *prev = scratch + 4 * C,
			   *orders_with = scratch + 5 * C,
			   *seen_in = scratch + 6 * C;
	float		dec = 1.0f,
				n = (float) (t + 1);
	int			order = 0,		/* orders passed, going back from t */
				cur_size = 0;
	const float *lag[3];

	memset(scratch, 0, sizeof(float) * ss_hist_scratch_floats(C));
	for (int p = t; p >= 0; p--, dec *= DECAY)
	{
		int			k = class_at(batch, p, b);

		if (order == 0)
			cur_size++;
		if (k >= 0)
		{
			count[k] += 1.0f;
			decayed[k] += dec;
			if (recency[k] == 0.0f)
				recency[k] = 1.0f / (1.0f + (float) (t - p));
			if (order == 0)
				cur[k] = 1.0f;
			else if (order == 1)
				prev[k] = 1.0f;
			if (seen_in[k] != (float) (order + 1))
			{
				seen_in[k] = (float) (order + 1);
				orders_with[k] += 1.0f;
			}
		}
		if (p == 0 || batch->order_start[(int64_t) p * B + b])
			order++;
	}
	for (int j = 0; j < 3; j++)
	{
		int			k = t - j >= 0 ? class_at(batch, t - j, b) : -1;

		lag[j] = k >= 0 ? s->trans + (int64_t) k * C : s->log_pop;
	}
	for (int c = 0; c < C; c++)
	{
		x[c] = s->log_pop[c];
		x[C + c] = log1pf(count[c]);
		x[2 * C + c] = count[c] / n;
		x[3 * C + c] = decayed[c];
		x[4 * C + c] = recency[c];
		x[5 * C + c] = lag[0][c];
		x[6 * C + c] = lag[1][c];
		x[7 * C + c] = lag[2][c];
		x[8 * C + c] = cur[c];
		x[9 * C + c] = 0.0f;
		x[10 * C + c] = -INFINITY;
		x[11 * C + c] = orders_with[c] / (float) order;
		x[12 * C + c] = prev[c];
		x[13 * C + c] = cur[c] * log1pf((float) cur_size);
	}
	/* co-occurrence with the current order's categories */
	{
		int			m = 0;

		for (int a = 0; a < C; a++)
		{
			const float *row = s->cooc + (int64_t) a * C;

			if (cur[a] == 0.0f)
				continue;
			m++;
			for (int c = 0; c < C; c++)
			{
				x[9 * C + c] += row[c];
				if (row[c] > x[10 * C + c])
					x[10 * C + c] = row[c];
			}
		}
		for (int c = 0; c < C; c++)
		{
			if (m > 0)
				x[9 * C + c] /= (float) m;
			else
				x[9 * C + c] = x[10 * C + c] = s->log_pop[c];
		}
	}
}

void
ss_hist_head_forward(int C, const float *w, const float *x, float *logits)
{
	for (int f = 0; f < SS_HIST_FEATURES; f++)
	{
		const float wf = w[f];
		const float *xf = x + (int64_t) f * C;

		for (int c = 0; c < C; c++)
			logits[c] += wf * xf[c];
	}
}

void
ss_hist_head_backward(int C, const float *x, const float *dlogits, float *dw)
{
	for (int f = 0; f < SS_HIST_FEATURES; f++)
	{
		const float *xf = x + (int64_t) f * C;
		double		acc = 0.0;

		for (int c = 0; c < C; c++)
			acc += (double) dlogits[c] * xf[c];
		dw[f] += (float) acc;
	}
}
