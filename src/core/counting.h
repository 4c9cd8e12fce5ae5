/*
 * counting.h - the three counting baselines of the evaluation protocol
 * (/work/shared/PROTOCOL.md "Baselines", anchors/torch_ref/baselines.py) as
 * models: "trained" by counting on the fitting clients, kept as a block of
 * floats like a neural model's parameters, and scored by writing one score
 * vector per history that the prediction path ranks like any other.
 *
 *   popularity        global category counts; ties by class index
 *   client_frequency  counts in the history (the input window); ties by
 *                     recency (most recent last occurrence first); the
 *                     categories absent from it by popularity
 *   markov            first-order transitions a -> b, a = the last event of
 *                     the history; ties and the categories never reached
 *                     from a by popularity; popularity alone when a is
 *                     unknown (-1) or has no outgoing transition
 *   markov, unit      the next-order variant (PROTOCOL.md): transitions
 *   'order'           from each distinct category of an order to each
 *                     distinct category of the client's next order; the
 *                     score of b is the sum over the distinct known
 *                     categories a of the history's last order of
 *                     trans[a][b], then as markov (ties and the rest by
 *                     popularity; popularity alone when none of them has
 *                     an outgoing transition)
 *
 * "By popularity" is the popularity order: count descending, then class
 * index.  Counts come from every event of the fitting clients; an unknown
 * event (target -1) counts for nothing, and a transition is counted only
 * between two consecutive known events of one client (a -> unknown -> b
 * counts neither a -> b nor anything else).  The reference never meets
 * unknown events in fitting clients; there it is the same.
 *
 * Parameter block (floats, C = number of classes):
 *
 *   [0, C)          count[b]: events of class b in the fitting clients
 *   [C, 2C)         rank[b]: position of b in the popularity order (0 =
 *                   most popular), computed from the exact integer counts
 *   [2C, 2C + C^2)  markov only: trans[a * C + b], transitions a -> b
 *
 * Counts are exact integers up to 2^24 (16.8 million) and rounded to the
 * nearest float above; transitions are counted exactly up to 2^32 - 1 (then
 * saturate) before that rounding.  Markov's table takes 4 C^2 bytes: 400 MB
 * at C = 10000, 1.02 GB at the limit SS_COUNTING_MARKOV_MAX_CLASSES.
 *
 * Scores.  The prediction path (predict.c) turns each score vector into
 * shares of its sum, probability = score / sum (in double, stored as
 * float), and ranks those descending, equal ones by lower class index.
 * The scores below are non-negative, reproduce the reference's order
 * exactly under that ranking (within the float32 limits stated), and make
 * score / sum the baseline's own estimate of the next category's
 * probability:
 *
 *   popularity        as markov's below, over the class counts (the
 *                     total N): score[b] = count[b] + lambda * (C -
 *                     rank[b]), mu * (C - rank[b]) for a class never seen;
 *                     probability = count[b] / N, the category's share of
 *                     the fitting events, off by the tie-break term.  So
 *                     equal counts do not tie either (within the limits
 *                     below; past them they tie and go by index, the same
 *                     order): the metrics' ranks (metrics.h, ties against
 *                     the target) are the reference's positions.
 *
 *   client_frequency  for b in the history (n' known events, d distinct
 *                     categories, c[b] occurrences, the largest c_max):
 *                       score[b] = c[b] + u * r[b]
 *                     r[b] = 1 .. d, d for the most recent last occurrence,
 *                     u a power of two with u * d < 1; for b absent:
 *                       score[b] = mu * (C - rank[b]),  mu = 2^-(2K + 20)
 *                     (K = ceil(log2(C + 1))), all of them together below
 *                     2^-21.  Probability: c[b] / n', the category's share
 *                     of the client's window, off by the recency term (a
 *                     relative u * d / c[b] at most: below 1e-3 for
 *                     windows of 50 events, 2e-2 for 250), and practically
 *                     0 for the absent ones.  A history with no known event
 *                     is scored as popularity (its order in the reference).
 *
 *   markov            for b with trans[a][b] = t[b] > 0 (row total T, the
 *                     largest t_max; C - rank[b] = 1 .. C):
 *                       score[b] = t[b] + lambda * (C - rank[b])
 *                     lambda a power of two with lambda * C < 1; for
 *                     t[b] = 0: mu * (C - rank[b]) as above.  Probability:
 *                     t[b] / T, the empirical P(b | a), off by the
 *                     tie-break term (a relative lambda * C / t[b] at most:
 *                     below 4e-3 for C = 1000 and t_max < 16), practically
 *                     0 for the categories never seen after a.  When a is
 *                     unknown, out of range or has no outgoing transition,
 *                     scored as popularity.
 *
 * The step u (lambda).  Two scores that differ must differ by a relative
 * 2^-22 at least: then their shares of any common sum, rounded to float,
 * still differ in the same direction (two floats one ulp apart need not).
 * The step is the smallest that does so: 2^(E - 22) for the exponent E
 * with 2^(E-1) <= c_max < 2^E (t_max), so that every c + u * r is a
 * multiple of 2^(E - 22) below 2^E, an exact float, 2^-22 of 2^E from its
 * neighbours.  It serves while u * d < 1 (lambda * C < 1), which holds
 * whenever c_max * (d + 1) <= 2^21 (t_max * (C + 1) <= 2^21: t_max up to
 * some 2000 for C = 1000, 130 for C = 16000); every window of up to 2894
 * known events qualifies.  Past that the step is 2^-(K' + 1) (K' =
 * ceil(log2(d + 1)), or K): the counts are never reordered (the tie term
 * stays below 1/2), the small counts keep their tie-break, but two
 * categories with the same count above about 2^22 u may tie and be ranked
 * by class index instead of recency (popularity).  The absent categories'
 * terms mu * (C - rank) are exact and a relative 1 / C >= 2^-20 apart.
 *
 * As architectures (arch.h) "popularity", "client_frequency" and "markov"
 * (blob ids 3, 4, 5; markov trained with unit 'order' is the architecture
 * markov_order, SQL name "markov" too, blob id 261, so that a stored
 * model scores as it was fitted): fit instead of gradient steps, forward writes the
 * scores of the query rows (output SS_OUTPUT_SCORES), each query seeing
 * the events of its sequence up to and including its position, as the
 * causal models do; dimensions other than C are not used.  Markov is
 * limited to C <= SS_COUNTING_MARKOV_MAX_CLASSES: its table must fit one
 * PostgreSQL value (at most 1 GB); ss_counting_check says so, and the
 * architectures' check makes ss_dims_finish refuse it.  All kinds accept
 * C <= SS_COUNTING_MAX_CLASSES, the neural models' limit (ranks and rank
 * terms need C < 2^20 to stay exact and apart).
 */
#ifndef SS_COUNTING_H
#define SS_COUNTING_H

#include <stdint.h>

#define SS_COUNTING_MAX_CLASSES 1000000
#define SS_COUNTING_MARKOV_MAX_CLASSES 16000

typedef enum ss_counting_kind
{
	SS_COUNT_POPULARITY,
	SS_COUNT_CLIENT_FREQUENCY,
	SS_COUNT_MARKOV,
	SS_COUNT_MARKOV_ORDER		/* markov, unit 'order' */
} ss_counting_kind;

/* NULL when a model of kind k can have C classes; else why not (a static message) */
const char *ss_counting_check(ss_counting_kind k, int C);

/* Floats of the parameter block: 2 C, markov 2 C + C^2 (C accepted by ss_counting_check). */
int64_t		ss_counting_param_count(ss_counting_kind k, int C);

/*
 * Counts over the events of the listed clients: client c owns rows
 * offsets[c] .. offsets[c+1]-1 in time order, target[r] = class of row r
 * (0 .. C-1; -1 or any other value = unknown).  Writes the whole parameter
 * block (ss_counting_param_count floats; their previous content does not
 * matter).  Allocates 24 C bytes while it runs (on the calling thread).
 *
 * Polls ss_interrupted() (interrupt.h, in the caller's watched span) after
 * about a million events counted or 4 million floats written (not inside
 * the sort of the C counts, 0.1 s at a million classes); returns 1, or 0
 * when an interrupt cut it short (params then undefined: serve the
 * interrupt, call again).  1 M events take some 10 ms, plus for markov
 * 1 to 3 ns per float of its table (0.3 to 0.7 s at C = 16000).
 */
int			ss_counting_fit(ss_counting_kind k, int C, const int32_t *target,
							const int64_t *offsets, const int32_t *clients, int n_clients,
							float *params);

/*
 * The same, with the orders of the clients: order_start as in ss_dataset
 * (NULL: every event starts an order); for SS_COUNT_MARKOV_ORDER the
 * transitions are counted between consecutive orders (above), for the other
 * kinds it is ss_counting_fit.  Allocates 8 C bytes more.
 */
int			ss_counting_fit_orders(ss_counting_kind k, int C, const int32_t *target,
								   const uint8_t *order_start, const int64_t *offsets,
								   const int32_t *clients, int n_clients, float *params);

/*
 * Scores scores[0 .. C-1] of the event after history[0 .. n-1] (classes,
 * oldest first, -1 or any value outside 0 .. C-1 = unknown; n >= 0), with
 * the parameters of a fitting (see above).  The caller passes the input
 * window the models see (a client's last max_length events); for
 * SS_COUNT_MARKOV_ORDER, the events of the history's last order only.
 * O(n + C) (markov_order: O(n^2 + n C))
 * (some 25 us at C = 16000), no allocation, safe on any thread.
 */
void		ss_counting_score(ss_counting_kind k, int C, const float *params,
							  const int32_t *history, int n, float *scores);

#endif
