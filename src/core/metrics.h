/*
 * metrics.h - the quality figures of a next-purchase model, computed one
 * way for every user: validation, seqsales_evaluate, seqsales_class_report,
 * cross-validation, the tuner and the bench (definitions: PROTOCOL.md
 * "Metrics" and the test section of anchors/torch_ref/README.md).
 *
 * A query is the scores of the C categories for one client (float
 * probabilities or logits: only their order matters) and its target, the
 * category it bought next, or -1 for a category unseen in training.
 *
 * Two orders of the categories, on purpose:
 * - the rank of the target never gains from a tie: rank = 1 + #{c != target
 *   : score_c >= score_target}.  Hit@k, MRR@10, NDCG@10 and the per-class
 *   Hit@3 come from it.  A target of -1 is a miss everywhere (rank
 *   infinite).
 * - the top-k list (the predictions shown to a user) is by score
 *   descending, ties by lower class index.  The top-1 prediction of F1,
 *   precision, recall and confusions is its first entry, and coverage
 *   counts the categories of the top-3 lists.
 * So on a tie a query can have a correct top-1 and still miss Hit@1: Hit@1
 * is at most the top-1 accuracy, equal to it when scores do not tie.
 * A NaN score ranks below every number (-inf included); NaNs tie.
 *
 * Cost: one pass over the C scores per query, vectorised, with a partial
 * selection of the top 3 (no sort); ss_top_k selects k in O(C) for small k.
 *
 * Memory of an accumulator: 45 bytes per category (the counts of
 * metrics.c), plus the confusion table: one entry per distinct (target,
 * wrong top-1) pair met, so at most one per query whose top-1 missed, and
 * never more than C x C (C - 1 wrong top-1s per category, C for
 * <unseen>).  The table is open addressing kept at most half full, 16
 * bytes a slot, a power of two of slots: under 64 bytes per wrong query in
 * the worst case (all pairs distinct), far less when confusions repeat.
 * No C x C matrix is ever allocated.
 *
 * Threads: accumulators are independent; each thread may fill its own and
 * ss_metrics_merge sums them.  The result is exactly that of one
 * accumulator fed every query, in any order: the figures are kept as
 * integer counts (per rank, per category) and computed at the end; only
 * the set queries' Recall@k is a floating sum, equal to rounding.  An
 * accumulator allocates (with ss_alloc) only when its confusion table
 * grows or a set query is larger than any before; ss_metrics_reserve and
 * ss_metrics_reserve_set make room beforehand, after which adding
 * allocates nothing and may run on a worker thread (ss_alloc must not:
 * inside PostgreSQL it is palloc).  Merging, summaries and per-class
 * reports run on the calling thread.  Nothing here polls for interrupts:
 * a query costs O(C), the caller polls between queries (as
 * validation_batch in train.c does).
 *
 * Multi-target queries (next-order: several categories bought together)
 * go through ss_metrics_add_set and have a summary of their own
 * (ss_set_summary); they leave the single-target figures untouched.
 */
#ifndef SS_METRICS_H
#define SS_METRICS_H

#include <stdint.h>

/* the deepest rank the ranking figures look at (Hit@10, MRR@10, NDCG@10) */
#define SS_METRICS_DEPTH 10

typedef struct ss_metrics ss_metrics;

/* An empty accumulator for n_classes >= 1 categories. */
ss_metrics *ss_metrics_new(int n_classes);
void		ss_metrics_free(ss_metrics *m);	/* NULL is fine */

/* Back to empty, keeping its memory. */
void		ss_metrics_reset(ss_metrics *m);

int			ss_metrics_n_classes(const ss_metrics *m);

/*
 * Room for n_queries more queries (single-target) without allocating: the
 * confusion table grows now, once, if it must.
 */
void		ss_metrics_reserve(ss_metrics *m, int64_t n_queries);

/*
 * One query: scores[C], target in -1 .. C-1 (-1 = unseen in training; any
 * other value outside 0 .. C-1 is taken as -1),
 * repeat = 1 if the target category occurs in the client's input history
 * (the caller's judgement, taken as given; for a target of -1 it is
 * normally 0).
 */
void		ss_metrics_add(ss_metrics *m, const float *scores, int target, int repeat);

/*
 * One query known only by its ranked list (a baseline, a stored
 * prediction): top[0..k) distinct categories, best first, k >= 1, top[0]
 * >= 0; a negative entry ends the list early.  The target's rank is its
 * position in the list (a miss if absent); the top-1 is top[0].
 */
void		ss_metrics_add_topk(ss_metrics *m, const int32_t *top, int k,
								int target, int repeat);

/*
 * One multi-target query: targets[0..n_targets) (n_targets >= 1).  A known
 * category that occurs twice counts once; each -1 counts as one target (a
 * distinct category unseen in training), always missed.  The targets are
 * placed in one order of all categories in which they never gain from a
 * tie: a non-target with a score >= a target's is above it, tied targets
 * by lower index (which changes no count).  Hit@k = at least one target in
 * the top k; Recall@k = the share of the query's targets in the top k;
 * MRR@10 = 1 / the position of its first target (0 beyond 10).  Costs
 * O(C x n_targets).  Feeds only ss_metrics_set_summary.  Allocates only
 * for n_targets above 64 or above ss_metrics_reserve_set's.
 */
void		ss_metrics_add_set(ss_metrics *m, const float *scores,
							   const int32_t *targets, int n_targets);

/* Room for set queries of up to max_targets entries without allocating. */
void		ss_metrics_reserve_set(ss_metrics *m, int max_targets);

/* dst += src (same number of categories); may allocate (dst's table) */
void		ss_metrics_merge(ss_metrics *dst, const ss_metrics *src);

/* The single-target figures; all 0 when there were no queries. */
typedef struct ss_metric_summary
{
	int64_t		n;				/* queries */
	int64_t		n_unseen;		/* of them with target -1 */
	int64_t		n_repeat;		/* with repeat = 1 */
	int64_t		n_new;			/* with repeat = 0 */
	int			n_labels;		/* labels of F1: present in targets or
								 * top-1s, <unseen> counted once */
	double		hit1,
				hit3,
				hit5,
				hit10,
				mrr10,			/* mean of 1/rank, 0 beyond rank 10 */
				ndcg10,			/* mean of 1/log2(rank + 1), 0 beyond 10 */
				coverage,		/* share of the C categories in some top-3 */
				macro_f1,		/* sklearn f1_score(average="macro"), */
				weighted_f1,	/* ... "weighted", both zero_division=0 */
				hit3_repeat,	/* Hit@3 over the n_repeat queries */
				hit3_new;		/* Hit@3 over the n_new queries */
} ss_metric_summary;

void		ss_metrics_summary(const ss_metrics *m, ss_metric_summary *out);

/*
 * One category c as true target, c in 0 .. C-1, or -1 for <unseen>
 * (its predicted, correct and hit3 are 0).  Ratios are 0 when their
 * denominator is.
 */
typedef struct ss_class_stats
{
	int64_t		support;		/* queries with target c */
	int64_t		predicted;		/* queries with top-1 c */
	int64_t		correct;		/* both */
	int64_t		hit3;			/* target c ranked <= 3 */
	double		precision,		/* correct / predicted */
				recall,			/* correct / support */
				f1,
				hit3_rate;		/* hit3 / support */
	int			confused_with;	/* most frequent wrong top-1 for targets of
								 * c (ties: lower index), -1 when none */
	double		confusion_share;	/* its count / support */
} ss_class_stats;

void		ss_metrics_class(const ss_metrics *m, int c, ss_class_stats *out);

/* The multi-target figures (ss_metrics_add_set); all 0 without such queries. */
typedef struct ss_set_summary
{
	int64_t		n;				/* set queries */
	int64_t		n_targets;		/* distinct targets over them */
	double		hit1,
				hit3,
				hit5,
				hit10,
				recall1,		/* mean over queries of Recall@k */
				recall3,
				recall5,
				recall10,
				mrr10;
} ss_set_summary;

void		ss_metrics_set_summary(const ss_metrics *m, ss_set_summary *out);

/*
 * The rank of scores[target] in scores[0..C) (1 = best; ties do not favour
 * the target); 0 for target -1 (unseen: never ranked).
 */
int			ss_target_rank(const float *scores, int C, int target);

/*
 * The rank of the best of a set of distinct known targets (1 = best; ties
 * with a non-target do not favour it, as ss_metrics_add_set's Hit@k):
 * 1 + the non-targets scored at least as high; 0 for an empty set.
 */
int			ss_set_rank(const float *scores, int C, const int32_t *set, int n_set);

/*
 * The k best categories into top[0..k), best first, ties by lower index;
 * top[C..k) = -1 when k > C.  O(C + k x insertions): for the small k of
 * predictions, a single pass.
 */
void		ss_top_k(const float *scores, int C, int k, int32_t *top);

#endif
