/*
 * windows.h - encoded event histories, the windows a training cuts them
 * into, the order an epoch draws them in, and how a step's windows are
 * picked and shared between workers.  The training (train.c) and its
 * memory estimate (train_memory.c) both walk an epoch through these, so
 * the estimate replays exactly what the training runs.
 */
#ifndef SS_WINDOWS_H
#define SS_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "rng.h"

/*
 * Events of many clients, encoded for the model and grouped by client in
 * time order: client c owns events offsets[c] .. offsets[c+1]-1.
 */
typedef struct ss_dataset
{
	int			n_clients;
	int64_t		n_events;
	int			n_features;
	int			n_numeric;
	int64_t    *offsets;		/* n_clients + 1 */
	int32_t    *cat_in;			/* embedding id of the category: class + 2, UNK = 1 */
	int32_t    *feat_in;		/* n_events x F embedding ids, UNK = 1 */
	float	   *num_in;			/* n_events x N z-scores, missing = 0 */
	int32_t    *target;			/* class of the event, -1 if unknown */
	/* 1: the event starts an order (ss_batch.order_start); NULL: every event does */
	const uint8_t *order_start;
	/* per client: its key (history.h, ss_client_key); NULL: none */
	const uint32_t *client_key;
} ss_dataset;

/* whether row r starts an order; row r + 1 (of the same client) then ends the previous one */
static inline int
ss_row_starts_order(const ss_dataset *data, int64_t r)
{
	return data->order_start == NULL || data->order_start[r];
}

/*
 * Windows of a client of n events (rows o .. o+n-1): windows start at
 * k * stride (1 <= stride <= L) and hold at most L input events; window 0
 * owns targets 1..L, later windows their last `stride` targets, so each
 * target is owned once.  stride = L / 2 (rounded down) is the reference's
 * design (every owned target sees at least L - stride + 1 events); stride =
 * L gives windows that do not overlap, half the recurrent work per target.
 * Returns the number of windows written (at most ss_window_count()).
 *
 * Per target (an architecture that sees a window's future, arch.h): one
 * window per target t >= 1, input rows [max(0, t - L), t), owning t only:
 * the exact input of the protocol.
 */
typedef struct ss_window
{
	int64_t		start;			/* first input row */
	int64_t		end;			/* one past the last input row = last target row */
	int64_t		first_target;	/* targets at rows < first_target carry no loss */
	/* order windows (below): its target set, sets[set_begin .. + set_size); 0 otherwise */
	int64_t		set_begin;
	int32_t		set_size;
} ss_window;

int64_t		ss_window_count(int64_t n, int max_len, int stride);
int64_t		ss_client_windows(int64_t o, int64_t n, int max_len, int stride, ss_window *out);

/* the reference's stride: half a window */
static inline int
ss_half_window(int max_len)
{
	return max_len / 2 > 0 ? max_len / 2 : 1;
}

/*
 * The windows of the listed clients, in that order (per_target: one per
 * target, see above); ss_alloc'd, *n_out of them.
 */
ss_window  *ss_windows_of(const ss_dataset *data, const int32_t *clients, int n_clients,
						  int max_len, int stride, int per_target, int64_t *n_out);

/*
 * Order windows (unit 'order', the protocol's next-order variant; an order
 * is a client's run of events with the same time, ss_row_starts_order):
 * one window per order k >= 1 of a client (the first order has no history)
 * that holds at least one known category.  Its input is the events of the
 * earlier orders, the last max_len of them, ending just before the order's
 * first row s: rows [max(client's first row, s - max_len), s), so end = s
 * and first_target = s (the window owns one query, at its last position);
 * its targets are the set of distinct known classes of the order's rows,
 * ascending, at sets[set_begin .. set_begin + set_size) (set_size >= 1).
 * No line of the order itself is ever input.  Returns the windows of the
 * listed clients in that order (ss_alloc'd, *n_out of them) and the set
 * array in *sets (ss_alloc'd, *n_sets entries allocated: the rows of the
 * orders, an upper bound of what the sets use).
 */
ss_window  *ss_order_windows_of(const ss_dataset *data, const int32_t *clients, int n_clients,
								int max_len, int32_t **sets, int64_t *n_sets, int64_t *n_out);

/* the first row whose target a window owns */
static inline int64_t
ss_first_owned(const ss_window *w)
{
	return w->first_target > w->start + 1 ? w->first_target : w->start + 1;
}

/* a window's share of a step's work: its positions plus its targets */
static inline int64_t
ss_window_work(const ss_window *w)
{
	return (w->end - w->start) + (w->end - ss_first_owned(w) + 1);
}

/*
 * Fills batch (time-major) with the given windows of data: input rows
 * [start, end), targets of rows >= max(first_target, start + 1) (or none
 * when with_targets is 0).  Sequences are placed longest first (ties in
 * the given order), so that the model skips the padding of finished ones
 * (see ss_batch); batch->origin[b] is the index in w of sequence b.
 * Returns the number of targets.
 */
int64_t		ss_fill_batch(const ss_dataset *data, const ss_window *w, int n,
						  int with_targets, ss_batch *batch);

/*
 * ss_fill_batch for order windows: the same input rows, and one query per
 * sequence, at its last position (target = the first class of its set,
 * target_ends = 1), so that a forward pass in SS_QUERY_TARGETS mode makes
 * exactly one query row per window; the loss then reads the whole set of
 * sequence b as the set of window w[batch->origin[b]] in sets.  Returns
 * the number of sequences (queries).
 */
int64_t		ss_fill_order_batch(const ss_dataset *data, const ss_window *w, int n,
								const int32_t *sets, ss_batch *batch);

/*
 * Weighted sampling's cumulative weights: window i weighs the mean over its
 * owned targets of 1 / (their class's count); an order window (sets, NULL
 * for line windows), the mean over its set.  ss_alloc'd.
 */
double	   *ss_window_cdf(const ss_dataset *data, const ss_window *w, int64_t n_w,
						  const double *counts, const int32_t *sets);

/*
 * The windows of one epoch, n_draw indices into the n windows: weighted
 * draws with replacement (cdf), or a permutation's first n_draw (without
 * replacement; with replacement, uniform, when n_draw > n).  order holds
 * max(n, n_draw).
 */
void		ss_draw_epoch(int64_t n, int64_t n_draw, const double *cdf, ss_rng *rng, int64_t *order);

/*
 * One step of an epoch: from order[*next], windows are taken until they
 * own batch_size targets (or the draws run out); they are shared between
 * n_workers by work (positions plus targets): worker k gets
 * order[split[k] .. split[k+1]).  Advances *next; returns the windows
 * taken.
 */
int			ss_plan_step(const ss_window *w, const int64_t *order, int64_t n_draw, int64_t *next,
						 int batch_size, int n_workers, int64_t split[]);

#endif
