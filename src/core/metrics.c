/*
 * metrics.c - ranking and classification figures of the predictions (see
 * metrics.h for the definitions and the memory bound).
 *
 * A query is reduced in one pass over its scores to the rank of its target
 * and its top-3 list; the accumulator keeps only integer counts (queries
 * per rank 1..10, per-category support, top-1 counts, hits, a flag per
 * category seen in a top-3 list) and a hash table of the (target, wrong
 * top-1) pairs met, so that merging is exact and every figure is computed
 * at the end from counts.
 *
 * The pass works in blocks of BLOCK scores: over each block it counts the
 * scores >= the target's and tests whether any score beats the worst of
 * the current top list, both branch-free loops the compiler vectorises;
 * only a block that holds a better score is walked again to insert it.
 * On random scores that is a handful of blocks per query, so the cost is
 * one streaming read of the C floats.
 */
#include "metrics.h"

#include <math.h>
#include <string.h>

#include "ss_alloc.h"

#define BLOCK 32
#define TOP 3					/* the list of coverage; its first is the top-1 */
#define MIN_SLOTS 64
#define EMPTY UINT64_MAX		/* a free slot of the confusion table */
#define SET_SCRATCH 64			/* distinct targets of a set query held
								 * without allocating */

/* Hit@k figures of the set queries are kept for these k */
static const int set_depths[4] = {1, 3, 5, 10};

struct ss_metrics
{
	int			C;

	/* single-target queries */
	int64_t		n;
	int64_t		n_repeat;
	int64_t		n_new;
	int64_t		hit3_repeat;
	int64_t		hit3_new;
	int64_t		at_rank[SS_METRICS_DEPTH + 1];	/* [r]: target at rank r;
												 * [0]: deeper or unseen */
	int64_t    *support;		/* [C + 1]; [C] is <unseen> */
	int64_t    *hit3;			/* [C + 1] */
	int64_t    *predicted;		/* [C] */
	int64_t    *correct;		/* [C] */
	uint8_t    *flags;			/* [C]: bit 0 in some top-3 list; bit 1
								 * marks a set query's targets meanwhile */
	int32_t    *conf_pred;		/* [C + 1]: most frequent wrong top-1, -1 */
	int64_t    *conf_count;		/* [C + 1]: its count */

	/* confusion table: key (true label << 32 | wrong top-1) -> count */
	int64_t		n_pairs;
	int64_t		cap;			/* slots, a power of two */
	int			shift;			/* 64 - log2(cap) */
	uint64_t   *keys;
	int64_t    *counts;

	/* multi-target queries */
	int64_t		set_n;
	int64_t		set_targets;
	int64_t		set_hit[4];		/* queries with a target within set_depths[i] */
	double		set_recall[4];	/* sum of their Recall@set_depths[i] */
	int64_t		set_first_at[SS_METRICS_DEPTH + 1];	/* first target's position */
	int32_t    *scratch;		/* distinct known targets of a set query */
	int			scratch_cap;
};

/* ---------------------------------------------------------------- scores */

/* a ranks strictly above b: greater, and a NaN is below every number */
static inline int
above(float a, float b)
{
	return a > b || (isnan(b) && !isnan(a));
}

/* #{c : x[c] >= s}, the rank of a score s (not NaN) that is among x */
static int
count_at_least(const float *restrict x, int C, float s)
{
	int			n = 0;

	for (int c = 0; c < C; c++)
		n += x[c] >= s;
	return n;
}

/*
 * One pass over x[0..C): the best k (>= 1) entries into top[0..*m) (*m =
 * min(k, C)), best first, ties by lower index; returns #{c : x[c] >= s}.
 */
static int
scan(const float *restrict x, int C, int k, int32_t *restrict top, int *m_out, float s)
{
	int			m = 0,
				ge = 0;
	float		worst = 0.0f;	/* x[top[m - 1]] once m == k */

	for (int b = 0; b < C; b += BLOCK)
	{
		int			e = C - b < BLOCK ? C : b + BLOCK;
		int			any = 0;

		if (m == k && !isnan(worst))
		{
			for (int c = b; c < e; c++)
			{
				ge += x[c] >= s;
				any |= x[c] > worst;
			}
			if (!any)
				continue;
		}
		else
			for (int c = b; c < e; c++)
				ge += x[c] >= s;

		for (int c = b; c < e; c++)
		{
			float		v = x[c];
			int			i;

			if (m == k && !above(v, worst))
				continue;
			/* the last entry drops out when the list is full */
			i = m < k ? m++ : k - 1;
			while (i > 0 && above(v, x[top[i - 1]]))
			{
				top[i] = top[i - 1];
				i--;
			}
			top[i] = c;
			worst = x[top[m - 1]];
		}
	}
	*m_out = m;
	return ge;
}

int
ss_target_rank(const float *scores, int C, int target)
{
	if (target < 0 || target >= C)
		return 0;
	/* a NaN target is below everything: the last rank */
	if (isnan(scores[target]))
		return C;
	/* the count includes the target itself: it is the rank */
	return count_at_least(scores, C, scores[target]);
}

int
ss_set_rank(const float *scores, int C, const int32_t *set, int n_set)
{
	float		best = 0.0f;
	int			members_at_least = 0,
				any = 0;

	if (n_set <= 0)
		return 0;
	for (int i = 0; i < n_set; i++)
	{
		float		s = scores[set[i]];

		if (!isnan(s) && (!any || s > best))
		{
			best = s;
			any = 1;
		}
	}
	if (!any)
		return C;				/* NaN is below everything, as ss_target_rank */
	for (int i = 0; i < n_set; i++)
		members_at_least += scores[set[i]] >= best;
	return 1 + count_at_least(scores, C, best) - members_at_least;
}

void
ss_top_k(const float *scores, int C, int k, int32_t *top)
{
	int			m = 0;

	if (k <= 0)
		return;
	if (C > 0)
		scan(scores, C, k, top, &m, INFINITY);
	for (int i = m; i < k; i++)
		top[i] = -1;
}

/* ---------------------------------------------------------------- confusions */

static inline int64_t
slot_of(const ss_metrics *m, uint64_t key)
{
	/* Fibonacci hashing: the high bits of key x 2^64 / phi */
	return (int64_t) ((key * 0x9e3779b97f4a7c15u) >> m->shift);
}

/* a table of at least 2 x pairs slots (a power of two), the entries moved */
static void
table_fit(ss_metrics *m, int64_t pairs)
{
	int64_t		cap = MIN_SLOTS;
	int			shift = 64 - 6;
	uint64_t   *old_keys = m->keys;
	int64_t    *old_counts = m->counts;
	int64_t		old_cap = m->cap;

	while (cap / 2 < pairs)
	{
		cap *= 2;
		shift--;
	}
	if (cap <= m->cap)
		return;
	m->keys = ss_alloc(sizeof(uint64_t) * (size_t) cap);
	m->counts = ss_alloc(sizeof(int64_t) * (size_t) cap);
	memset(m->keys, 0xff, sizeof(uint64_t) * (size_t) cap);	/* all EMPTY */
	m->cap = cap;
	m->shift = shift;
	for (int64_t i = 0; i < old_cap; i++)
	{
		int64_t		j;

		if (old_keys[i] == EMPTY)
			continue;
		for (j = slot_of(m, old_keys[i]); m->keys[j] != EMPTY; j = (j + 1) & (cap - 1))
			;
		m->keys[j] = old_keys[i];
		m->counts[j] = old_counts[i];
	}
	ss_free(old_keys);
	ss_free(old_counts);
}

/* the most pairs there can be: C - 1 wrong top-1s per category, C for <unseen> */
static int64_t
max_pairs(const ss_metrics *m)
{
	return (int64_t) m->C * m->C;
}

void
ss_metrics_reserve(ss_metrics *m, int64_t n_queries)
{
	int64_t		room = max_pairs(m) - m->n_pairs;

	if (n_queries > room)
		n_queries = room;
	if (n_queries > 0)
		table_fit(m, m->n_pairs + n_queries);
}

/*
 * w more queries of true label u (C = <unseen>) whose top-1 was p != u.
 * The most frequent wrong top-1 of u is kept as counts grow: only (u, p)
 * went up, so the new leader is the old one or p.
 */
static void
confuse(ss_metrics *m, int u, int p, int64_t w)
{
	uint64_t	key = (uint64_t) u << 32 | (uint32_t) p;
	int64_t		j,
				v;

	for (j = slot_of(m, key); m->keys[j] != key; j = (j + 1) & (m->cap - 1))
		if (m->keys[j] == EMPTY)
		{
			/* a new pair: grow first if it would fill more than half */
			if (2 * (m->n_pairs + 1) > m->cap)
			{
				table_fit(m, m->n_pairs + 1);
				for (j = slot_of(m, key); m->keys[j] != EMPTY; j = (j + 1) & (m->cap - 1))
					;
			}
			m->keys[j] = key;
			m->counts[j] = 0;
			m->n_pairs++;
			break;
		}
	v = m->counts[j] += w;
	if (v > m->conf_count[u] || (v == m->conf_count[u] && p < m->conf_pred[u]))
	{
		m->conf_count[u] = v;
		m->conf_pred[u] = p;
	}
}

/* ---------------------------------------------------------------- accumulator */

ss_metrics *
ss_metrics_new(int n_classes)
{
	ss_metrics *m = ss_zalloc(sizeof(ss_metrics));
	int			C = n_classes > 0 ? n_classes : 1;

	m->C = C;
	m->support = SS_NEW_ARRAY(int64_t, C + 1);
	m->hit3 = SS_NEW_ARRAY(int64_t, C + 1);
	m->predicted = SS_NEW_ARRAY(int64_t, C);
	m->correct = SS_NEW_ARRAY(int64_t, C);
	m->flags = SS_NEW_ARRAY(uint8_t, C);
	m->conf_pred = ss_alloc(sizeof(int32_t) * ((size_t) C + 1));
	m->conf_count = SS_NEW_ARRAY(int64_t, C + 1);
	for (int c = 0; c <= C; c++)
		m->conf_pred[c] = -1;
	table_fit(m, 0);
	m->scratch_cap = SET_SCRATCH;
	m->scratch = ss_alloc(sizeof(int32_t) * SET_SCRATCH);
	return m;
}

void
ss_metrics_free(ss_metrics *m)
{
	if (m == NULL)
		return;
	ss_free(m->support);
	ss_free(m->hit3);
	ss_free(m->predicted);
	ss_free(m->correct);
	ss_free(m->flags);
	ss_free(m->conf_pred);
	ss_free(m->conf_count);
	ss_free(m->keys);
	ss_free(m->counts);
	ss_free(m->scratch);
	ss_free(m);
}

void
ss_metrics_reset(ss_metrics *m)
{
	int			C = m->C;

	m->n = m->n_repeat = m->n_new = m->hit3_repeat = m->hit3_new = 0;
	memset(m->at_rank, 0, sizeof(m->at_rank));
	memset(m->support, 0, sizeof(int64_t) * ((size_t) C + 1));
	memset(m->hit3, 0, sizeof(int64_t) * ((size_t) C + 1));
	memset(m->predicted, 0, sizeof(int64_t) * (size_t) C);
	memset(m->correct, 0, sizeof(int64_t) * (size_t) C);
	memset(m->flags, 0, (size_t) C);
	memset(m->conf_count, 0, sizeof(int64_t) * ((size_t) C + 1));
	for (int c = 0; c <= C; c++)
		m->conf_pred[c] = -1;
	m->n_pairs = 0;
	memset(m->keys, 0xff, sizeof(uint64_t) * (size_t) m->cap);
	m->set_n = m->set_targets = 0;
	memset(m->set_hit, 0, sizeof(m->set_hit));
	memset(m->set_recall, 0, sizeof(m->set_recall));
	memset(m->set_first_at, 0, sizeof(m->set_first_at));
}

int
ss_metrics_n_classes(const ss_metrics *m)
{
	return m->C;
}

/* ---------------------------------------------------------------- adding */

/* one query: target rank (0: beyond every list, or unseen), its top list */
static void
record(ss_metrics *m, int rank, const int32_t *top, int ntop, int target, int repeat)
{
	int			u = target >= 0 && target < m->C ? target : m->C;
	int			hit3 = rank >= 1 && rank <= 3;

	m->n++;
	m->at_rank[rank >= 1 && rank <= SS_METRICS_DEPTH ? rank : 0]++;
	if (repeat)
	{
		m->n_repeat++;
		m->hit3_repeat += hit3;
	}
	else
	{
		m->n_new++;
		m->hit3_new += hit3;
	}
	m->support[u]++;
	m->hit3[u] += hit3;
	for (int i = 0; i < ntop; i++)
		m->flags[top[i]] |= 1;
	m->predicted[top[0]]++;
	if (top[0] == u)
		m->correct[u]++;
	else
		confuse(m, u, top[0], 1);
}

void
ss_metrics_add(ss_metrics *m, const float *scores, int target, int repeat)
{
	int32_t		top[TOP];
	int			ntop,
				ge,
				rank = 0;
	int			seen = target >= 0 && target < m->C;
	float		s = seen ? scores[target] : INFINITY;

	ge = scan(scores, m->C, TOP, top, &ntop, s);
	if (seen)
		rank = isnan(s) ? m->C : ge;
	record(m, rank, top, ntop, target, repeat);
}

void
ss_metrics_add_topk(ss_metrics *m, const int32_t *top, int k, int target, int repeat)
{
	int			rank = 0,
				n = 0;

	/* the valid prefix of the list */
	while (n < k && top[n] >= 0 && top[n] < m->C)
		n++;
	if (n == 0)
		return;					/* no top-1: not a query (contract: k >= 1) */
	for (int i = 0; i < n && rank == 0; i++)
		if (top[i] == target)
			rank = i + 1;
	record(m, rank, top, n < TOP ? n : TOP, target, repeat);
}

void
ss_metrics_reserve_set(ss_metrics *m, int max_targets)
{
	if (max_targets <= m->scratch_cap)
		return;
	ss_free(m->scratch);
	m->scratch = ss_alloc(sizeof(int32_t) * (size_t) max_targets);
	m->scratch_cap = max_targets;
}

void
ss_metrics_add_set(ss_metrics *m, const float *scores, const int32_t *targets,
				   int n_targets)
{
	int32_t    *t = m->scratch;
	int			n_known = 0,
				n_all,
				first = 0;		/* position of the first target, 0: none */
	int			within[4] = {0};

	/* the distinct known targets, marked in bit 1 of flags meanwhile */
	ss_metrics_reserve_set(m, n_targets);
	n_all = 0;
	for (int i = 0; i < n_targets; i++)
	{
		int			c = targets[i];

		if (c < 0 || c >= m->C)
			n_all++;			/* a distinct unseen category: a miss */
		else if (!(m->flags[c] & 2))
		{
			m->flags[c] |= 2;
			t[n_known++] = c;
			n_all++;
		}
	}
	for (int i = 0; i < n_known; i++)
		m->flags[t[i]] &= 1;
	if (n_all == 0)
		return;

	/*
	 * The position of target a in the order where targets lose ties to
	 * non-targets: the non-targets at least as high, the targets above it
	 * (ties by index), and itself.
	 */
	for (int i = 0; i < n_known; i++)
	{
		float		sa = scores[t[i]];
		int			pos = isnan(sa) ? m->C : count_at_least(scores, m->C, sa);

		for (int j = 0; j < n_known; j++)
		{
			float		sb = scores[t[j]];

			if (!above(sa, sb))
				pos--;			/* counted by count_at_least: a target */
			if (j != i && (above(sb, sa) || (!above(sa, sb) && t[j] < t[i])))
				pos++;
		}
		pos++;
		if (first == 0 || pos < first)
			first = pos;
		for (int d = 0; d < 4; d++)
			within[d] += pos <= set_depths[d];
	}
	m->set_n++;
	m->set_targets += n_all;
	m->set_first_at[first <= SS_METRICS_DEPTH ? first : 0]++;
	for (int d = 0; d < 4; d++)
	{
		m->set_hit[d] += within[d] > 0;
		m->set_recall[d] += (double) within[d] / n_all;
	}
}

/* ---------------------------------------------------------------- merging */

void
ss_metrics_merge(ss_metrics *dst, const ss_metrics *src)
{
	int			C = dst->C;

	if (src->C != C)
		return;					/* contract: same categories */
	dst->n += src->n;
	dst->n_repeat += src->n_repeat;
	dst->n_new += src->n_new;
	dst->hit3_repeat += src->hit3_repeat;
	dst->hit3_new += src->hit3_new;
	for (int r = 0; r <= SS_METRICS_DEPTH; r++)
	{
		dst->at_rank[r] += src->at_rank[r];
		dst->set_first_at[r] += src->set_first_at[r];
	}
	for (int c = 0; c <= C; c++)
	{
		dst->support[c] += src->support[c];
		dst->hit3[c] += src->hit3[c];
	}
	for (int c = 0; c < C; c++)
	{
		dst->predicted[c] += src->predicted[c];
		dst->correct[c] += src->correct[c];
		dst->flags[c] |= src->flags[c];
	}
	ss_metrics_reserve(dst, src->n_pairs);
	for (int64_t i = 0; i < src->cap; i++)
		if (src->keys[i] != EMPTY)
			confuse(dst, (int) (src->keys[i] >> 32), (int) (uint32_t) src->keys[i],
					src->counts[i]);
	dst->set_n += src->set_n;
	dst->set_targets += src->set_targets;
	for (int d = 0; d < 4; d++)
	{
		dst->set_hit[d] += src->set_hit[d];
		dst->set_recall[d] += src->set_recall[d];
	}
}

/* ---------------------------------------------------------------- figures */

/* 2 p r / (p + r) from the counts, 0 when undefined (zero_division = 0) */
static double
f1_of(int64_t correct, int64_t predicted, int64_t support)
{
	double		p = predicted > 0 ? (double) correct / predicted : 0.0,
				r = support > 0 ? (double) correct / support : 0.0;

	return p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
}

void
ss_metrics_summary(const ss_metrics *m, ss_metric_summary *out)
{
	double		n = (double) m->n,
				hits = 0.0,
				mrr = 0.0,
				ndcg = 0.0,
				f1_sum = 0.0,
				f1_weighted = 0.0;
	int64_t		covered = 0;

	memset(out, 0, sizeof(*out));
	out->n = m->n;
	out->n_unseen = m->support[m->C];
	out->n_repeat = m->n_repeat;
	out->n_new = m->n_new;
	if (m->n == 0)
		return;
	for (int r = 1; r <= SS_METRICS_DEPTH; r++)
	{
		hits += (double) m->at_rank[r];
		mrr += (double) m->at_rank[r] / r;
		ndcg += (double) m->at_rank[r] / log2(r + 1.0);
		if (r == 1)
			out->hit1 = hits / n;
		else if (r == 3)
			out->hit3 = hits / n;
		else if (r == 5)
			out->hit5 = hits / n;
	}
	out->hit10 = hits / n;
	out->mrr10 = mrr / n;
	out->ndcg10 = ndcg / n;

	/* the labels of sklearn: present among the targets or the top-1s */
	for (int c = 0; c < m->C; c++)
	{
		covered += m->flags[c] & 1;
		if (m->support[c] > 0 || m->predicted[c] > 0)
		{
			double		f1 = f1_of(m->correct[c], m->predicted[c], m->support[c]);

			out->n_labels++;
			f1_sum += f1;
			f1_weighted += f1 * (double) m->support[c];
		}
	}
	if (m->support[m->C] > 0)
		out->n_labels++;		/* <unseen>: never predicted, F1 0 */
	out->coverage = (double) covered / m->C;
	out->macro_f1 = f1_sum / out->n_labels;
	out->weighted_f1 = f1_weighted / n;
	out->hit3_repeat = m->n_repeat > 0 ? (double) m->hit3_repeat / m->n_repeat : 0.0;
	out->hit3_new = m->n_new > 0 ? (double) m->hit3_new / m->n_new : 0.0;
}

void
ss_metrics_class(const ss_metrics *m, int c, ss_class_stats *out)
{
	int			u = c >= 0 && c < m->C ? c : m->C;
	int64_t		support = m->support[u];

	memset(out, 0, sizeof(*out));
	out->support = support;
	out->predicted = u < m->C ? m->predicted[u] : 0;
	out->correct = u < m->C ? m->correct[u] : 0;
	out->hit3 = m->hit3[u];
	out->precision = out->predicted > 0 ? (double) out->correct / out->predicted : 0.0;
	out->recall = support > 0 ? (double) out->correct / support : 0.0;
	out->f1 = f1_of(out->correct, out->predicted, support);
	out->hit3_rate = support > 0 ? (double) out->hit3 / support : 0.0;
	out->confused_with = m->conf_pred[u];
	out->confusion_share = support > 0 ? (double) m->conf_count[u] / support : 0.0;
}

void
ss_metrics_set_summary(const ss_metrics *m, ss_set_summary *out)
{
	double		n = (double) m->set_n,
				mrr = 0.0;

	memset(out, 0, sizeof(*out));
	out->n = m->set_n;
	out->n_targets = m->set_targets;
	if (m->set_n == 0)
		return;
	for (int r = 1; r <= SS_METRICS_DEPTH; r++)
		mrr += (double) m->set_first_at[r] / r;
	out->mrr10 = mrr / n;
	out->hit1 = m->set_hit[0] / n;
	out->hit3 = m->set_hit[1] / n;
	out->hit5 = m->set_hit[2] / n;
	out->hit10 = m->set_hit[3] / n;
	out->recall1 = m->set_recall[0] / n;
	out->recall3 = m->set_recall[1] / n;
	out->recall5 = m->set_recall[2] / n;
	out->recall10 = m->set_recall[3] / n;
}
