/*
 * test_metrics.c - the quality figures (metrics.h): a tiny case checked by
 * hand, ties and NaNs, macro / weighted F1 against numbers from
 * scikit-learn, the top-k selection against a full sort, merged
 * accumulators against one, the memory bound of the confusion table,
 * adding without allocating after a reserve, and multi-target queries.
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "../../src/core/metrics.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"

static int
near(double a, double b)
{
	return fabs(a - b) <= 1e-12;
}

/* ---------------------------------------------------------------- by hand */

/*
 * C = 4 categories, 6 queries; category 3 is never a target and never in
 * a top-3.  rank = 1 + #{c != target : score_c >= score_target}; top-3 by
 * score, ties by lower index.
 *
 *  q  scores                    target rep  rank  top-3    top-1
 *  1  0.1  0.6  0.2  0.1          1     1    1    1 2 0    1 right
 *  2  0.3  0.3  0.2  0.2          1     1    2    0 1 2    0 (1 -> 0)
 *  3  0.2  0.5  0.2  0.1          2     1    3    1 0 2    1 (2 -> 1)
 *  4  0.5  0.2  0.2  0.1          2     0    3    0 1 2    0 (2 -> 0)
 *  5  0.1  0.4  0.3  0.05        -1     0    -    1 2 0    1 (<unseen> -> 1)
 *  6  0.25 0.25 0.25 0.25         0     1    4    0 1 2    0 right
 *
 * Query 6 is the tie case: its top-1 is right (lowest index first) but its
 * target ranks 4th (no tie favours it): Hit@1 1/6 < top-1 accuracy 2/6.
 *
 * Hit@1 = 1/6 (q1); Hit@3 = 4/6 (q1-q4); Hit@5 = Hit@10 = 5/6 (+ q6).
 * MRR@10 = (1 + 1/2 + 1/3 + 1/3 + 0 + 1/4) / 6 = (29/12) / 6 = 29/72.
 * NDCG@10 = (1 + 1/log2(3) + 1/2 + 1/2 + 0 + 1/log2(5)) / 6.
 * coverage: top-3s hold 0, 1, 2, never 3: 3/4.
 * repeat: q1, q2, q3, q6 (n 4), Hit@3 3/4; new: q4, q5 (n 2), Hit@3 1/2.
 *
 * Per class (true target):
 *   0: support 1, predicted 3 (q2 q4 q6), correct 1; P 1/3, R 1,
 *      F1 = 2 (1/3) / (4/3) = 1/2; Hit@3 0/1; confused -1 (share 0).
 *   1: support 2, predicted 3 (q1 q3 q5), correct 1; P 1/3, R 1/2,
 *      F1 = 2 (1/6) / (5/6) = 2/5; Hit@3 2/2; confused 0 (q2), share 1/2.
 *   2: support 2, predicted 0; P R F1 0; Hit@3 2/2; wrong top-1s 1 and 0
 *      once each: confused 0 (the lower), share 1/2.
 *   3: nothing: not one of F1's labels.
 *   <unseen>: support 1, F1 0, Hit@3 0, confused 1, share 1.
 * Labels {<unseen>, 0, 1, 2}: macro F1 = (0 + 1/2 + 2/5 + 0) / 4 = 0.225;
 * weighted F1 = (0 x 1 + 1/2 x 1 + 2/5 x 2 + 0 x 2) / 6 = 1.3 / 6.
 * scikit-learn 1.2.1 agrees: f1_score([1,1,2,2,-1,0], [1,0,1,0,1,0],
 * average="macro" / "weighted", zero_division=0) = 0.225 /
 * 0.21666666666666667.
 */
static void
test_by_hand(void)
{
	static const float s[6][4] = {
		{0.1f, 0.6f, 0.2f, 0.1f},
		{0.3f, 0.3f, 0.2f, 0.2f},
		{0.2f, 0.5f, 0.2f, 0.1f},
		{0.5f, 0.2f, 0.2f, 0.1f},
		{0.1f, 0.4f, 0.3f, 0.05f},
		{0.25f, 0.25f, 0.25f, 0.25f},
	};
	static const int target[6] = {1, 1, 2, 2, -1, 0};
	static const int repeat[6] = {1, 1, 1, 0, 0, 1};
	static const int rank[6] = {1, 2, 3, 3, 0, 4};
	ss_metrics *m = ss_metrics_new(4);
	ss_metric_summary sm;
	ss_class_stats c0,
				c1,
				c2,
				c3,
				cu;
	int			ranks_ok = 1;

	for (int q = 0; q < 6; q++)
	{
		ranks_ok &= ss_target_rank(s[q], 4, target[q]) == rank[q];
		ss_metrics_add(m, s[q], target[q], repeat[q]);
	}
	CHECK(ranks_ok, "metrics by hand: target ranks 1 2 3 3 unseen 4");
	ss_metrics_summary(m, &sm);
	CHECK(sm.n == 6 && sm.n_unseen == 1 && sm.n_repeat == 4 && sm.n_new == 2 &&
		  sm.n_labels == 4, "metrics by hand: 6 queries, 1 unseen, 4 repeat, 2 new, 4 labels");
	CHECK(near(sm.hit1, 1.0 / 6) && near(sm.hit3, 4.0 / 6) && near(sm.hit5, 5.0 / 6) &&
		  near(sm.hit10, 5.0 / 6), "metrics by hand: Hit@1,3,5,10 = 1/6, 4/6, 5/6, 5/6");
	CHECK(near(sm.mrr10, 29.0 / 72) &&
		  near(sm.ndcg10, (1 + 1 / log2(3.0) + 0.5 + 0.5 + 1 / log2(5.0)) / 6),
		  "metrics by hand: MRR@10 = 29/72 = %.6f, NDCG@10 = %.6f", sm.mrr10, sm.ndcg10);
	CHECK(near(sm.coverage, 0.75) && near(sm.hit3_repeat, 0.75) && near(sm.hit3_new, 0.5),
		  "metrics by hand: coverage 3/4, Hit@3 repeat 3/4, new 1/2");
	CHECK(near(sm.macro_f1, 0.225) && near(sm.weighted_f1, 0.21666666666666667),
		  "metrics by hand: macro F1 0.225, weighted F1 1.3/6 (= scikit-learn's)");

	ss_metrics_class(m, 0, &c0);
	ss_metrics_class(m, 1, &c1);
	ss_metrics_class(m, 2, &c2);
	ss_metrics_class(m, 3, &c3);
	ss_metrics_class(m, -1, &cu);
	CHECK(c0.support == 1 && c0.predicted == 3 && c0.correct == 1 && c0.hit3 == 0 &&
		  near(c0.precision, 1.0 / 3) && near(c0.recall, 1) && near(c0.f1, 0.5) &&
		  c0.hit3_rate == 0 && c0.confused_with == -1 && c0.confusion_share == 0,
		  "metrics by hand: class 0 support 1, predicted 3, P 1/3, R 1, F1 1/2, Hit@3 0, no confusion");
	CHECK(c1.support == 2 && c1.predicted == 3 && c1.correct == 1 && c1.hit3 == 2 &&
		  near(c1.precision, 1.0 / 3) && near(c1.recall, 0.5) && near(c1.f1, 0.4) &&
		  near(c1.hit3_rate, 1) && c1.confused_with == 0 && near(c1.confusion_share, 0.5),
		  "metrics by hand: class 1 P 1/3, R 1/2, F1 2/5, Hit@3 1, confused with 0 (1/2)");
	CHECK(c2.support == 2 && c2.predicted == 0 && c2.correct == 0 && c2.f1 == 0 &&
		  c2.precision == 0 && near(c2.hit3_rate, 1) && c2.confused_with == 0 &&
		  near(c2.confusion_share, 0.5),
		  "metrics by hand: class 2 F1 0, Hit@3 1, confused with 0 and 1 once each: 0 (1/2)");
	CHECK(c3.support == 0 && c3.predicted == 0 && c3.f1 == 0 && c3.hit3_rate == 0 &&
		  c3.confused_with == -1,
		  "metrics by hand: class 3 all zero, no confusion");
	CHECK(cu.support == 1 && cu.predicted == 0 && cu.f1 == 0 && cu.hit3 == 0 &&
		  cu.confused_with == 1 && near(cu.confusion_share, 1),
		  "metrics by hand: <unseen> support 1, F1 0, confused with 1 (share 1)");

	ss_metrics_reset(m);
	ss_metrics_summary(m, &sm);
	ss_metrics_class(m, 1, &c1);
	CHECK(sm.n == 0 && sm.hit1 == 0 && sm.macro_f1 == 0 && sm.coverage == 0 &&
		  c1.support == 0 && c1.confused_with == -1 && ss_metrics_n_classes(m) == 4,
		  "metrics: reset empties the accumulator, an empty summary is all 0");
	for (int q = 0; q < 6; q++)
		ss_metrics_add(m, s[q], target[q], repeat[q]);
	ss_metrics_summary(m, &sm);
	CHECK(near(sm.mrr10, 29.0 / 72) && near(sm.macro_f1, 0.225),
		  "metrics: the same queries after a reset give the same figures");
	ss_metrics_free(m);
}

/* ---------------------------------------------------------------- ties, NaN */

static void
test_ties_and_nan(void)
{
	const float s[6] = {0.5f, NAN, 0.5f, 0.9f, -INFINITY, 0.5f};
	const float flat[3] = {1, 1, 1};
	int32_t		top[8];
	int			sorted,
				prefix;

	CHECK(ss_target_rank(flat, 3, 0) == 3 && ss_target_rank(flat, 3, 2) == 3 &&
		  ss_target_rank(flat, 3, -1) == 0,
		  "rank: a tie never favours the target (all equal: last), unseen 0");
	CHECK(ss_target_rank(s, 6, 2) == 4 && ss_target_rank(s, 6, 3) == 1 &&
		  ss_target_rank(s, 6, 4) == 5 && ss_target_rank(s, 6, 1) == 6,
		  "rank: ties with 0.5s, -inf above NaN only, a NaN target last");
	{
		const float sc[4] = {0.1f, 0.5f, 0.5f, 0.9f},
					sn[3] = {NAN, 0.2f, 0.7f};
		const int32_t pair[2] = {1, 2},
					first[1] = {0},
					nan_first[2] = {0, 1},
					nan_only[1] = {0};

		CHECK(ss_set_rank(sc, 4, pair, 2) == 2 && ss_set_rank(sc, 4, first, 1) == 4 &&
			  ss_set_rank(sc, 4, pair, 0) == 0 && ss_set_rank(sn, 3, nan_first, 2) == 2 &&
			  ss_set_rank(sn, 3, nan_only, 1) == 3,
			  "set rank: the best member against the non-members at least as high; NaN last; empty 0");
	}
	ss_top_k(s, 6, 8, top);
	sorted = top[0] == 3 && top[1] == 0 && top[2] == 2 && top[3] == 5 && top[4] == 4 &&
		top[5] == 1 && top[6] == -1 && top[7] == -1;
	ss_top_k(s, 6, 2, top);
	prefix = top[0] == 3 && top[1] == 0;
	CHECK(sorted && prefix,
		  "top_k: by score, ties by lower index, NaN last, -1 beyond C; k = 2 is the prefix");
}

/* ---------------------------------------------------------------- scikit-learn */

/*
 * 30 top-1 predictions over C = 6 (class 5 never a target, -1 = unseen),
 * drawn by a seeded Python script; the expected figures are
 * scikit-learn 1.2.1's (python3-sklearn on Debian 12):
 *   f1_score(yt, yp, average="macro" / "weighted", zero_division=0)
 *   precision_recall_fscore_support(yt, yp, labels=sorted(set(yt) | set(yp)),
 *                                   zero_division=0)
 */
static void
test_sklearn(void)
{
	static const int yt[30] = {0, -1, -1, -1, 0, 3, 1, 3, 0, -1, 0, 1, 0, 3, 4, 0, -1, 2, 0,
	2, 0, 2, 4, -1, 4, -1, 4, 2, 0, -1};
	static const int32_t yp[30] = {0, 5, 5, 5, 0, 3, 5, 3, 0, 0, 0, 1, 5, 2, 4, 0, 1, 1, 0,
	2, 0, 2, 2, 0, 0, 1, 4, 2, 2, 1};
	/* labels -1, 0 .. 5: precision, recall, F1, support */
	static const double ref[7][4] = {
		{0, 0, 0, 8},
		{0.69999999999999996, 0.77777777777777779, 0.73684210526315774, 9},
		{0.20000000000000001, 0.5, 0.28571428571428575, 2},
		{0.5, 0.75, 0.59999999999999998, 4},
		{1, 0.66666666666666663, 0.80000000000000004, 3},
		{1, 0.5, 0.66666666666666663, 4},
		{0, 0, 0, 0},
	};
	ss_metrics *m = ss_metrics_new(6);
	ss_metric_summary sm;
	int			same = 1;

	for (int q = 0; q < 30; q++)
		ss_metrics_add_topk(m, &yp[q], 1, yt[q], 0);
	ss_metrics_summary(m, &sm);
	CHECK(sm.n_labels == 7 && near(sm.macro_f1, 0.44131757966344426) &&
		  near(sm.weighted_f1, 0.48898913951545525),
		  "F1: macro %.15f, weighted %.15f over 7 labels = scikit-learn's", sm.macro_f1,
		  sm.weighted_f1);
	for (int l = 0; l < 7; l++)
	{
		ss_class_stats cs;

		ss_metrics_class(m, l - 1, &cs);
		same &= near(cs.precision, ref[l][0]) && near(cs.recall, ref[l][1]) &&
			near(cs.f1, ref[l][2]) && cs.support == (int64_t) ref[l][3];
	}
	CHECK(same, "F1: per-class precision, recall, F1, support = scikit-learn's");
	ss_metrics_free(m);
}

/* ---------------------------------------------------------------- top-k vs sort */

static const float *sort_scores;

/* the order of ss_top_k: score descending, NaN last, ties by lower index */
static int
by_score(const void *a, const void *b)
{
	int32_t		i = *(const int32_t *) a,
				j = *(const int32_t *) b;
	float		x = sort_scores[i],
				y = sort_scores[j];

	if (x > y || (isnan(y) && !isnan(x)))
		return -1;
	if (y > x || (isnan(x) && !isnan(y)))
		return 1;
	return i < j ? -1 : 1;
}

static void
test_top_k_random(void)
{
	const int	C = 3001,
				Q = 60,
				K = 10;
	float	   *s = ss_alloc(sizeof(float) * C);
	int32_t    *order = ss_alloc(sizeof(int32_t) * C);
	int32_t		top[10],
				big[200];
	int			topk_ok = 1,
				big_ok = 1,
				rank_ok = 1,
				edge_ok = 1;
	ss_rng		rng;

	ss_rng_seed(&rng, 11);
	for (int q = 0; q < Q; q++)
	{
		int			y = (int) ss_rng_below(&rng, C);
		int			naive = 1;

		/* 40 score levels (many ties), 1% NaN; the last queries ascend */
		for (int c = 0; c < C; c++)
		{
			s[c] = (float) ss_rng_below(&rng, 40) / 40.0f;
			if (ss_rng_below(&rng, 100) == 0)
				s[c] = NAN;
			if (q >= Q - 2)
				s[c] = q == Q - 1 ? (float) c : (float) (c / 7);
		}
		sort_scores = s;
		for (int c = 0; c < C; c++)
			order[c] = c;
		qsort(order, C, sizeof(int32_t), by_score);
		ss_top_k(s, C, K, top);
		ss_top_k(s, C, 200, big);
		for (int i = 0; i < K; i++)
			topk_ok &= top[i] == order[i];
		for (int i = 0; i < 200; i++)
			big_ok &= big[i] == order[i];
		/* the rank: the target's place in the sort if it lost every tie */
		for (int c = 0; c < C; c++)
			if (c != y && (isnan(s[y]) ? 1 : s[c] >= s[y]))
				naive++;
		rank_ok &= ss_target_rank(s, C, y) == naive;
	}
	CHECK(topk_ok && big_ok,
		  "top_k: %d queries of %d scores (ties, NaN, ascending): top 10 and top 200 = a full sort",
		  Q, C);
	CHECK(rank_ok, "rank: = 1 + #{c != target : score_c >= score_target} on the same queries");
	/* C smaller than the list, one category */
	ss_top_k(s, 1, 3, top);
	edge_ok &= top[0] == 0 && top[1] == -1 && top[2] == -1 && ss_target_rank(s, 1, 0) == 1;
	CHECK(edge_ok, "top_k: C = 1, k = 3 gives 0 -1 -1; the only target ranks 1");
	ss_free(s);
	ss_free(order);
}

/* ---------------------------------------------------------------- merging */

static int
same_summary(const ss_metric_summary *a, const ss_metric_summary *b)
{
	return a->n == b->n && a->n_unseen == b->n_unseen && a->n_repeat == b->n_repeat &&
		a->n_new == b->n_new && a->n_labels == b->n_labels && a->hit1 == b->hit1 &&
		a->hit3 == b->hit3 && a->hit5 == b->hit5 && a->hit10 == b->hit10 &&
		a->mrr10 == b->mrr10 && a->ndcg10 == b->ndcg10 && a->coverage == b->coverage &&
		a->macro_f1 == b->macro_f1 && a->weighted_f1 == b->weighted_f1 &&
		a->hit3_repeat == b->hit3_repeat && a->hit3_new == b->hit3_new;
}

static int
same_classes(const ss_metrics *a, const ss_metrics *b, int C)
{
	int			same = 1;

	for (int c = -1; c < C; c++)
	{
		ss_class_stats x,
					y;

		ss_metrics_class(a, c, &x);
		ss_metrics_class(b, c, &y);
		same &= x.support == y.support && x.predicted == y.predicted &&
			x.correct == y.correct && x.hit3 == y.hit3 && x.precision == y.precision &&
			x.recall == y.recall && x.f1 == y.f1 && x.hit3_rate == y.hit3_rate &&
			x.confused_with == y.confused_with && x.confusion_share == y.confusion_share;
	}
	return same;
}

/* random queries: C scores at 64 levels, 5% unseen targets */
static void
random_query(ss_rng *rng, float *s, int C, int *target, int *repeat)
{
	for (int c = 0; c < C; c++)
		s[c] = (float) ss_rng_below(rng, 64);
	*target = ss_rng_below(rng, 20) == 0 ? -1 : (int) ss_rng_below(rng, C);
	*repeat = (int) ss_rng_below(rng, 2);
}

static void
test_merge(void)
{
	const int	C = 300,
				Q = 3000;
	float	   *s = ss_alloc(sizeof(float) * C);
	ss_metrics *one = ss_metrics_new(C),
			   *part[3],
			   *empty = ss_metrics_new(C);
	ss_metric_summary a,
				b;
	ss_set_summary sa,
				sb;
	ss_rng		rng;

	for (int i = 0; i < 3; i++)
		part[i] = ss_metrics_new(C);
	ss_rng_seed(&rng, 5);
	for (int q = 0; q < Q; q++)
	{
		int			y,
					rep;
		int32_t		set[3];

		random_query(&rng, s, C, &y, &rep);
		ss_metrics_add(one, s, y, rep);
		ss_metrics_add(part[q % 3], s, y, rep);
		if (q % 7 == 0)
		{
			set[0] = y;
			set[1] = (y + 5) % C;
			set[2] = q % 2 ? -1 : y;
			ss_metrics_add_set(one, s, set, 3);
			ss_metrics_add_set(part[q % 3], s, set, 3);
		}
	}
	/* into the empty one, in another order, the empty one too */
	ss_metrics_merge(empty, part[2]);
	ss_metrics_merge(empty, part[0]);
	ss_metrics_merge(part[1], empty);
	ss_metrics_summary(one, &a);
	ss_metrics_summary(part[1], &b);
	CHECK(same_summary(&a, &b) && same_classes(one, part[1], C),
		  "merge: three accumulators merged = one fed every query (%lld queries, %d classes: "
		  "every figure and class bit for bit)", (long long) a.n, C);
	ss_metrics_set_summary(one, &sa);
	ss_metrics_set_summary(part[1], &sb);
	CHECK(sa.n == sb.n && sa.n_targets == sb.n_targets && sa.hit1 == sb.hit1 &&
		  sa.hit10 == sb.hit10 && sa.mrr10 == sb.mrr10 && near(sa.recall3, sb.recall3) &&
		  near(sa.recall10, sb.recall10),
		  "merge: set figures equal (Recall@k to rounding)");
	for (int i = 0; i < 3; i++)
		ss_metrics_free(part[i]);
	ss_metrics_free(empty);
	ss_metrics_free(one);
	ss_free(s);
}

/* ---------------------------------------------------------------- lists */

static void
test_add_topk(void)
{
	const int	C = 200,
				Q = 500;
	float	   *s = ss_alloc(sizeof(float) * C);
	ss_metrics *by_scores = ss_metrics_new(C),
			   *by_list = ss_metrics_new(C);
	ss_metric_summary a,
				b;
	ss_rng		rng;

	ss_rng_seed(&rng, 9);
	for (int q = 0; q < Q; q++)
	{
		int32_t		top[10];
		int			y = (int) ss_rng_below(&rng, C + 10) - 10;

		/* distinct scores: a random permutation of 0 .. C-1 */
		for (int c = 0; c < C; c++)
		{
			int			j = (int) ss_rng_below(&rng, c + 1);

			s[c] = s[j];
			s[j] = (float) c;
		}
		ss_top_k(s, C, 10, top);
		ss_metrics_add(by_scores, s, y < 0 ? -1 : y, q % 3 == 0);
		ss_metrics_add_topk(by_list, top, 10, y < 0 ? -1 : y, q % 3 == 0);
	}
	ss_metrics_summary(by_scores, &a);
	ss_metrics_summary(by_list, &b);
	CHECK(same_summary(&a, &b) && same_classes(by_scores, by_list, C) && a.n_unseen > 0,
		  "add_topk: ranked lists of 10 = the scores, when no scores tie (Hit@10 %.3f)",
		  a.hit10);
	ss_metrics_free(by_scores);
	ss_metrics_free(by_list);
	ss_free(s);
}

/* ---------------------------------------------------------------- memory */

static int64_t live_bytes,
			n_allocs;

static void *
counting_alloc(size_t size)
{
	char	   *p = malloc(size + 16);

	if (p == NULL)
		abort();
	*(size_t *) p = size;
	live_bytes += (int64_t) size;
	n_allocs++;
	return p + 16;
}

static void
counting_free(void *ptr)
{
	char	   *p = (char *) ptr - 16;

	live_bytes -= (int64_t) *(size_t *) p;
	free(p);
}

static void
test_memory(void)
{
	const int	C = 100000,
				Q = 5000;
	int64_t		base,
				grown,
				allocs;
	ss_metrics *m;
	ss_class_stats cs;
	ss_rng		rng;
	float		s[50];
	int32_t		set[4] = {1, 2, 3, 4};

	/* every query a new (target, wrong top-1) pair: the worst case */
	ss_set_allocator(counting_alloc, counting_free);
	live_bytes = 0;
	m = ss_metrics_new(C);
	base = live_bytes;
	for (int q = 0; q < Q; q++)
	{
		int32_t		p = (q * 7 + 1) % C;

		ss_metrics_add_topk(m, &p, 1, q % C, 0);
	}
	grown = live_bytes - base;
	ss_metrics_class(m, 0, &cs);
	CHECK(base <= 45 * (int64_t) C + 4096 && grown <= 64 * (int64_t) Q && cs.confused_with == 1,
		  "memory: %d classes take %.1f bytes each; %d distinct confusions %lld bytes more "
		  "(bound: 64 a wrong query; a C x C matrix: %.0f GB)", C, (double) base / C, Q,
		  (long long) grown, 8.0 * C * C / 1e9);
	ss_metrics_free(m);
	CHECK(live_bytes == 0, "memory: free returns everything");

	/* after a reserve, adding allocates nothing (worker threads may add) */
	ss_rng_seed(&rng, 3);
	m = ss_metrics_new(50);
	ss_metrics_reserve(m, 4000);
	ss_metrics_reserve_set(m, 4);
	allocs = n_allocs;
	for (int q = 0; q < 4000; q++)
	{
		for (int c = 0; c < 50; c++)
			s[c] = ss_rng_uniform(&rng);
		ss_metrics_add(m, s, (int) ss_rng_below(&rng, 50), 0);
		if (q % 10 == 0)
			ss_metrics_add_set(m, s, set, 4);
	}
	CHECK(n_allocs == allocs, "memory: 4000 queries after ss_metrics_reserve(4000) allocate nothing");
	ss_metrics_free(m);
	ss_set_allocator(NULL, NULL);
}

/* ---------------------------------------------------------------- sets */

/*
 * C = 5.  Targets lose ties to non-targets; tied targets by index.
 *  a: scores 0.5 0.3 0.3 0.1 NaN, targets {2, 1, 2, -1}: 3 targets (2 once,
 *     -1 a miss); order 0, then 1 and 2 (tied targets): positions 2, 3.
 *     Within 1: 0; 3: 2; 5: 2; 10: 2.  First at 2.
 *  b: scores 0.1 0.2 0.2 0.9 0.0, targets {2, 4}: 2 ties non-target 1,
 *     which goes first: order 3 1 2 0 4, positions 3 and 5.
 *     Within 1: 0; 3: 1; 5: 2; 10: 2.  First at 3.
 *  c: scores 1 NaN 2 3 NaN, target {4}: NaN ties non-target 1 (NaN):
 *     order 3 2 0 1 4, position 5.  First at 5.
 * Hit@1 0, Hit@3 2/3, Hit@5 1, Hit@10 1; Recall@1 0,
 * Recall@3 (2/3 + 1/2 + 0) / 3 = 7/18, Recall@5 = Recall@10 =
 * (2/3 + 1 + 1) / 3 = 8/9; MRR@10 (1/2 + 1/3 + 1/5) / 3 = 31/90.
 */
static void
test_sets(void)
{
	const float sa[5] = {0.5f, 0.3f, 0.3f, 0.1f, NAN};
	const float sb[5] = {0.1f, 0.2f, 0.2f, 0.9f, 0.0f};
	const float sc[5] = {1, NAN, 2, 3, NAN};
	const int32_t ta[4] = {2, 1, 2, -1},
				tb[2] = {2, 4},
				tc[1] = {4};
	ss_metrics *m = ss_metrics_new(5),
			   *single = ss_metrics_new(300),
			   *as_set = ss_metrics_new(300);
	ss_set_summary ss;
	ss_metric_summary sm,
				ref;
	float		s[300];
	ss_rng		rng;

	ss_metrics_add_set(m, sa, ta, 4);
	ss_metrics_add_set(m, sb, tb, 2);
	ss_metrics_add_set(m, sc, tc, 1);
	ss_metrics_set_summary(m, &ss);
	ss_metrics_summary(m, &sm);
	CHECK(ss.n == 3 && ss.n_targets == 6 && ss.hit1 == 0 && near(ss.hit3, 2.0 / 3) &&
		  near(ss.hit5, 1) && near(ss.hit10, 1),
		  "sets by hand: 3 queries, 6 targets, Hit@1,3,5,10 = 0, 2/3, 1, 1");
	CHECK(ss.recall1 == 0 && near(ss.recall3, 7.0 / 18) && near(ss.recall5, 8.0 / 9) &&
		  near(ss.recall10, 8.0 / 9) && near(ss.mrr10, 31.0 / 90) && sm.n == 0,
		  "sets by hand: Recall@1,3,5,10 = 0, 7/18, 8/9, 8/9, MRR@10 31/90; single figures untouched");

	/* a set of one target is a single-target query */
	ss_rng_seed(&rng, 13);
	for (int q = 0; q < 400; q++)
	{
		int			y,
					rep;
		int32_t		t;

		random_query(&rng, s, 300, &y, &rep);
		t = y;
		ss_metrics_add(single, s, y, rep);
		ss_metrics_add_set(as_set, s, &t, 1);
	}
	ss_metrics_summary(single, &ref);
	ss_metrics_set_summary(as_set, &ss);
	CHECK(ss.n == 400 && ss.hit1 == ref.hit1 && ss.hit3 == ref.hit3 && ss.hit5 == ref.hit5 &&
		  ss.hit10 == ref.hit10 && near(ss.mrr10, ref.mrr10) && near(ss.recall3, ref.hit3),
		  "sets: one-target sets = single queries (Hit@k, MRR@10; Recall@k = Hit@k)");
	ss_metrics_free(m);
	ss_metrics_free(single);
	ss_metrics_free(as_set);
}

void		run_metrics_tests(void);

void
run_metrics_tests(void)
{
	test_by_hand();
	test_ties_and_nan();
	test_sklearn();
	test_top_k_random();
	test_merge();
	test_add_topk();
	test_memory();
	test_sets();
}
