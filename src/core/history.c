/*
 * history.c - per-category history features and their statistics
 * (history.h).
 */
#include "history.h"

#include <math.h>
#include <string.h>

#include "arch_impl.h"
#include "ss_alloc.h"
#include "windows.h"

/* pseudo-counts of the smoothed transition and co-occurrence estimates (towards popularity) */
#define TRANS_PRIOR 2.0
#define COOC_PRIOR 2.0
#define DECAY 0.7f

const char *const ss_hist_feature_names[SS_HIST_FEATURES] = {
	"log_popularity", "log1p_count", "share", "decayed_count", "recency",
	"transition_last", "transition_second_last", "transition_third_last",
	"in_current_order", "cooccurrence_mean", "cooccurrence_max", "order_share",
	"in_previous_order", "in_current_order_x_log1p_size", "next_order_transition",
	"neighbours"
};

uint32_t
ss_client_key(const char *id)
{
	uint32_t	h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *) id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h ? h : 1;
}

int64_t
ss_hist_stats_floats(int C)
{
	return (int64_t) C + 3 * (int64_t) C * C + (int64_t) SS_HIST_NEIGHBOURS * (C + 2);
}

void
ss_hist_stats_bind(int C, float *base, ss_hist_stats *s)
{
	s->log_pop = base;
	s->trans = base + C;
	s->cooc = base + C + (int64_t) C * C;
	s->onext = base + C + 2 * (int64_t) C * C;
	s->nb = base + C + 3 * (int64_t) C * C;
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
	double	   *follow = SS_NEW_ARRAY(double, (int64_t) C * C);	/* a in an order, c in the next */
	double	   *followed = SS_NEW_ARRAY(double, C);	/* orders with a that have a next one */
	int32_t    *prev_members = SS_NEW_ARRAY(int32_t, C);
	int32_t    *members = SS_NEW_ARRAY(int32_t, C);
	uint8_t    *in_order = SS_NEW_ARRAY(uint8_t, C);
	double		n_events = 0.0,
				n_orders = 0.0;

	ss_hist_stats_bind(C, base, &s);
	for (int i = 0; i < n_fit; i++)
	{
		int64_t		lo = data->offsets[fit[i]],
					hi = data->offsets[fit[i] + 1];
		int			m_prev = 0;

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
			for (int a = 0; a < m_prev; a++)
			{
				followed[prev_members[a]] += 1.0;
				for (int b = 0; b < m; b++)
					follow[(int64_t) prev_members[a] * C + members[b]] += 1.0;
			}
			for (int a = 0; a < m; a++)
			{
				in_order[members[a]] = 0;
				prev_members[a] = members[a];
			}
			m_prev = m;
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
			s.onext[ac] = (float) log((follow[ac] + COOC_PRIOR * q) / (followed[a] + COOC_PRIOR));
		}
	ss_free(pop);
	ss_free(from);
	ss_free(in_orders);
	ss_free(pair);
	/* the neighbours: a deterministic sample of the fitting clients, unit vectors of counts */
	memset(s.nb, 0, sizeof(float) * (size_t) SS_HIST_NEIGHBOURS * (C + 2));
	for (int j = 0; j < SS_HIST_NEIGHBOURS && j < n_fit; j++)
	{
		int			i = n_fit <= SS_HIST_NEIGHBOURS ? j : (int) ((int64_t) j * n_fit / SS_HIST_NEIGHBOURS);
		float	   *row = s.nb + (int64_t) j * (C + 2);
		uint32_t	key = data->client_key ? data->client_key[fit[i]] : 0;
		double		norm = 0.0;

		/* halves: exact and finite as floats (the parameters are checked for finiteness) */
		row[0] = (float) (key >> 16);
		row[1] = (float) (key & 0xffffu);
		for (int64_t r = data->offsets[fit[i]]; r < data->offsets[fit[i] + 1]; r++)
			if (data->target[r] >= 0)
				row[2 + data->target[r]] += 1.0f;
		for (int c = 0; c < C; c++)
			norm += (double) row[2 + c] * row[2 + c];
		if (norm > 0.0)
			for (int c = 0; c < C; c++)
				row[2 + c] = (float) (row[2 + c] / sqrt(norm));
	}
	ss_free(next);
	ss_free(follow);
	ss_free(followed);
	ss_free(prev_members);
	ss_free(members);
	ss_free(in_order);
}

int64_t
ss_hist_scratch_floats(int C)
{
	return 7 * (int64_t) C;
}

/* a history's distinct categories past which the similarities are dense dot products */
#define SS_HIST_NZ_MAX 256

/* a dot product in eight fixed lanes, then their fixed sum: vectorisable, and reproducible */
static float
dot_fixed(const float *a, const float *b, int n)
{
	float		acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	float		sum;
	int			c = 0;

	for (; c + 8 <= n; c += 8)
		for (int k = 0; k < 8; k++)
			acc[k] += a[c + k] * b[c + k];
	for (; c < n; c++)
		acc[c & 7] += a[c] * b[c];
	sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
	return sum;
}

int64_t
ss_hist_neighbours_floats(int64_t n_q)
{
	return n_q * SS_HIST_NEIGHBOURS + 2 * SS_HIST_TOP;
}

void
ss_hist_neighbours(int C, const ss_hist_stats *s, int n_q, const uint32_t *keys,
				   float *x, float *scratch)
{
	const int64_t FC = (int64_t) SS_HIST_FEATURES * C;
	const int	K = SS_HIST_NEIGHBOURS;
	float	   *sims = scratch,
			   *best_sim = scratch + (int64_t) n_q * K,
			   *best = best_sim + SS_HIST_TOP;	/* row numbers, exact in a float */

	if (n_q == 0)
		return;
	/*
	 * sims = counts x vectors^T: the cosines up to each query's norm (which
	 * cancels below).  A history of max_length events has few categories:
	 * each similarity sums over them only, in increasing category order
	 * (a dense fixed-order dot product past SS_HIST_NZ_MAX of them),
	 * whatever the batch, so that a client's prediction is the same alone,
	 * in a batch of any size and on any thread (a BLAS product's rounding
	 * depends on the shape, and near-ties between neighbours would follow).
	 */
	for (int i = 0; i < n_q; i++)
	{
		const float *q = x + i * FC + 15 * C;
		float	   *si = sims + (int64_t) i * K;
		int32_t		nz[SS_HIST_NZ_MAX];
		int			n_nz = 0,
					dense = 0;

		/* up to K C multiply-adds a query: 0.8 ms at C = 4000, seconds for a validation batch */
		if (ss_row_poll(i, (int64_t) K * C))
			return;				/* interrupt.h: the caller discards the features */
		for (int c = 0; c < C && !dense; c++)
			if (q[c] != 0.0f)
			{
				if (n_nz == SS_HIST_NZ_MAX)
					dense = 1;
				else
					nz[n_nz++] = c;
			}
		for (int j = 0; j < K; j++)
		{
			const float *row = s->nb + (int64_t) j * (C + 2) + 2;
			float		sim = 0.0f;

			if (dense)
				sim = dot_fixed(q, row, C);
			else
				for (int k = 0; k < n_nz; k++)
					sim += q[nz[k]] * row[nz[k]];
			si[j] = sim;
		}
	}
	for (int i = 0; i < n_q; i++)
	{
		const float *si = sims + (int64_t) i * K;
		float	   *out = x + i * FC + 15 * C;
		int			n_best = 0;
		double		total = 0.0;

		if (ss_row_poll(i, (int64_t) K + (int64_t) SS_HIST_TOP * C))
			return;
		for (int j = 0; j < K; j++)
		{
			const float *row = s->nb + (int64_t) j * (C + 2);
			float		sim = si[j];
			int			at;

			if (sim <= 0.0f || (n_best == SS_HIST_TOP && sim <= best_sim[n_best - 1]))
				continue;		/* an empty slot's similarity is 0 */
			if (keys[i] != 0 && (((uint32_t) row[0] << 16) | (uint32_t) row[1]) == keys[i])
				continue;		/* the client itself */
			at = n_best < SS_HIST_TOP ? n_best++ : SS_HIST_TOP - 1;
			while (at > 0 && best_sim[at - 1] < sim)
			{
				best_sim[at] = best_sim[at - 1];
				best[at] = best[at - 1];
				at--;
			}
			best_sim[at] = sim;
			best[at] = (float) j;
		}
		for (int c = 0; c < C; c++)
			out[c] = 0.0f;
		for (int k = 0; k < n_best; k++)
		{
			const float *row = s->nb + (int64_t) best[k] * (C + 2) + 2;

			total += best_sim[k];
			for (int c = 0; c < C; c++)
				out[c] += best_sim[k] * row[c];
		}
		if (total > 0.0)
			for (int c = 0; c < C; c++)
				out[c] = (float) (out[c] / total);
	}
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
		x[14 * C + c] = 0.0f;
	}
	memcpy(x + 15 * C, count, sizeof(float) * C);	/* for ss_hist_neighbours */
	/* co-occurrence with the current order's categories */
	{
		int			m = 0;

		for (int a = 0; a < C; a++)
		{
			const float *row = s->cooc + (int64_t) a * C,
					   *follows = s->onext + (int64_t) a * C;

			if (cur[a] == 0.0f)
				continue;
			m++;
			for (int c = 0; c < C; c++)
			{
				x[9 * C + c] += row[c];
				x[14 * C + c] += follows[c];
				if (row[c] > x[10 * C + c])
					x[10 * C + c] = row[c];
			}
		}
		for (int c = 0; c < C; c++)
		{
			if (m > 0)
			{
				x[9 * C + c] /= (float) m;
				x[14 * C + c] /= (float) m;
			}
			else
				x[9 * C + c] = x[10 * C + c] = x[14 * C + c] = s->log_pop[c];
		}
	}
}

const char *
ss_hist_check(const ss_dims *d)
{
	if (d->n_classes > SS_HIST_MAX_CLASSES)
		return "the ranker and hybrid architectures serve at most 4000 categories";
	return NULL;
}

int
ss_hist_head_forward(int C, const ss_hist_stats *s, const float *head,
					 const ss_batch *batch, int n_q, const int32_t *qt,
					 const int32_t *qb, float *x, float *scratch, float *nb,
					 uint32_t *keys, float *logits)
{
	const int64_t FC = (int64_t) SS_HIST_FEATURES * C;
	float		w[SS_HIST_FEATURES];

	for (int f = 0; f < SS_HIST_FEATURES; f++)
		w[f] = SS_HEAD_SCALE * head[f];
	for (int i = 0; i < n_q; i++)
	{
		if (ss_row_poll(i, FC))
			return 0;
		ss_hist_features(C, s, batch, qt[i], qb[i], x + i * FC, scratch);
		keys[i] = batch->client_key[qb[i]];
	}
	ss_hist_neighbours(C, s, n_q, keys, x, nb);
	if (ss_interrupted())
		return 0;
	for (int i = 0; i < n_q; i++)
	{
		const float *xi = x + i * FC;
		float	   *li = logits + (int64_t) i * C;

		for (int f = 0; f < SS_HIST_FEATURES; f++)
		{
			const float wf = w[f];
			const float *xf = xi + (int64_t) f * C;

			for (int c = 0; c < C; c++)
				li[c] += wf * xf[c];
		}
	}
	return 1;
}

int
ss_hist_head_backward(int C, int n_q, const float *x, const float *dlogits, float *grad_head)
{
	const int64_t FC = (int64_t) SS_HIST_FEATURES * C;
	float		dw[SS_HIST_FEATURES] = {0};

	for (int i = 0; i < n_q; i++)
	{
		const float *dl = dlogits + (int64_t) i * C;

		if (ss_row_poll(i, FC))
			return 0;
		for (int f = 0; f < SS_HIST_FEATURES; f++)
		{
			const float *xf = x + i * FC + (int64_t) f * C;
			double		acc = 0.0;

			for (int c = 0; c < C; c++)
				acc += (double) dl[c] * xf[c];
			dw[f] += (float) acc;
		}
	}
	for (int f = 0; f < SS_HIST_FEATURES; f++)
		grad_head[f] += SS_HEAD_SCALE * dw[f];
	return 1;
}
