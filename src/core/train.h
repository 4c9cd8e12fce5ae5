/*
 * train.h - the training loop (focal loss, weighted sampling, Adam,
 * clipping, early stopping on validation Hit@3; counted architectures in
 * one pass) and its memory estimate.  Encoded histories and their windows
 * are in windows.h, batched prediction in predict.h.
 */
#ifndef SS_TRAIN_H
#define SS_TRAIN_H

#include <stdint.h>

#include "model.h"
#include "parallel.h"
#include "predict.h"
#include "windows.h"

/*
 * What a training target is (option "unit"): SS_UNIT_LINE, the protocol's
 * line level (every event after a client's first, from the events before
 * it); SS_UNIT_ORDER, its next-order variant (the set of categories of
 * every order after a client's first, from the events of the earlier
 * orders: windows.h, "Order windows").
 */
typedef enum ss_unit
{
	SS_UNIT_LINE = 0,
	SS_UNIT_ORDER = 1
} ss_unit;

typedef struct ss_train_options
{
	int			hidden;
	int			layers;
	double		embedding_scale;
	double		dropout;
	double		learning_rate;
	int			batch_size;		/* target positions per optimiser step */
	int			epochs;
	int			patience;
	int			max_length;
	int			window_stride;	/* training windows start every window_stride
								 * events; 0: max_length / 2 (the reference) */
	int			samples_per_epoch;	/* windows drawn per epoch; 0: every window,
									 * or for a one-target-per-window architecture
									 * min(targets, 8 x fitting clients) */
	double		focal_gamma;
	double		inner_target_weight;	/* loss weight of targets that do not end an order */
	int			class_weighting;	/* focal alpha ~ n_c^-1/2 */
	int			weighted_sampling;	/* draw windows by inverse target frequency */
	double		validation_fraction;
	int64_t		seed;
	int			threads;
	double		clip;
	int			unit;			/* ss_unit */
} ss_train_options;

void		ss_train_options_default(ss_train_options *o);

/*
 * The defaults for an architecture: targets that do not end an order
 * weigh 0.1 for the ranker, 0.3 for the hybrid (inner_target_weight,
 * chosen by 3-fold CV on the training clients of both shared data sets),
 * 1 for the others.
 */
void		ss_train_options_default_for(ss_train_options *o, int arch);

typedef struct ss_epoch_stats
{
	int			epoch;
	double		train_loss;
	double		validation_hit3;
	double		seconds;		/* training part of the epoch */
	double		validation_seconds;
	int64_t		targets;		/* target positions trained on */
	double		gemm_flops;		/* of the matrix products of the training part */
	int			improved;
} ss_epoch_stats;

typedef struct ss_train_callbacks
{
	void	   *arg;
	/*
	 * called on the calling thread, no worker running, between batches and
	 * whenever an interrupt cut watched work short (interrupt.h): may throw
	 * (longjmp) to cancel
	 */
	void		(*tick) (void *arg);
	/* after each epoch; returns nonzero to stop the training there (keeping the best epoch) */
	int			(*epoch_done) (void *arg, const ss_epoch_stats *stats);
} ss_train_callbacks;

typedef struct ss_train_result
{
	int			epochs_run;
	int			best_epoch;
	double		best_validation_hit3;
	double		seconds_total;	/* training, validation excluded */
	double		targets_per_second;
	int64_t		train_targets;	/* owned targets per epoch */
	int64_t		n_windows;
	int64_t		workspace_bytes;
	float	   *params;			/* best epoch's parameters (ss_param_count) */
	int64_t		n_params;
	double	   *class_counts;	/* n_classes: training target counts */
} ss_train_result;

/*
 * After a watched span was cut short (interrupt.h): the tick serves the
 * interrupt (it throws to cancel).  Returns 1 when the work may go on, the
 * tick having returned with every flag clear (an interrupt that turned out
 * benign: the cut work is then done again from the same state, so the
 * result is the one of an uninterrupted run), 0 when a flag is still set
 * (the host did not serve it: ss_train returns ss_train_cancelled).
 */
int			ss_train_interrupt_served(const ss_train_callbacks *cb);

/*
 * Trains on the clients listed in fit (early stopping on val; n_val may be
 * 0, then the last epoch is kept).  dims must be finished (ss_dims_finish).
 * Returns NULL on success or an error message.
 *
 * The work between two ticks is watched (interrupt.h): an interrupt flag
 * set during a step cuts it short within some 0.1 s at any size, on every
 * thread; the step is then not applied, the tick is called, and when it
 * returns with the flags clear the step is done again (the trained
 * parameters are those of an uninterrupted run).  When it returns with a
 * flag still set, ss_train returns ss_train_cancelled (compare the pointer)
 * having freed everything; no thread outlives the call either way.
 */
extern const char ss_train_cancelled[];

const char *ss_train(const ss_dims *dims, const ss_dataset *data,
					 const int32_t *fit, int n_fit,
					 const int32_t *val, int n_val,
					 const ss_train_options *opt,
					 const ss_train_callbacks *cb, ss_train_result *result);

void		ss_train_result_free(ss_train_result *r);

/*
 * Memory of a training, in bytes: an upper bound of what it allocates (the
 * README's "Memory" paragraph says the same):
 *
 *   held + max(transient, core + allocations x (4 KB + 64) + OpenBLAS)
 *
 *   held:        what the caller holds through the training (inside
 *                PostgreSQL: the loaded events, their dictionaries, the
 *                client ids, and the call's catalog caches)
 *   transient:   what the caller used and released before training (the
 *                executor's sort of the rows it read)
 *   core:        ss_train_core_memory(): what ss_train allocates, windows,
 *                sampling order, class counts, 5 parameter blocks (weights,
 *                gradients, the best epoch's, Adam's m and v), and per
 *                worker a padded batch of max_length events, its targets,
 *                its gradients (workers past the first) and its workspace,
 *                grown by every step the training will draw and, worker
 *                0's, by the validation batches: the estimate replays the
 *                draws (see train.c)
 *   allocations: each allocation's header and the rest of its last page
 *   OpenBLAS:    its data, 1 MB, and per worker the panels it packs a
 *                product's operands into (at most 1024 x 1024 floats of
 *                the left, 1024 x the columns of the right, or H x the
 *                longest window, within its 128 MB buffer)
 *
 * data, fit and val as for ss_train.
 */
int64_t		ss_train_memory_estimate(const ss_dims *d, const ss_dataset *data,
									 const int32_t *fit, int n_fit,
									 const int32_t *val, int n_val,
									 const ss_train_options *o,
									 int64_t held, int64_t transient);

/*
 * The core term: the bytes ss_train allocates through ss_alloc at its peak
 * when every epoch runs (early stopping allocates no more).
 */
int64_t		ss_train_core_memory(const ss_dims *d, const ss_dataset *data,
								 const int32_t *fit, int n_fit,
								 const int32_t *val, int n_val,
								 const ss_train_options *o);

/* The stride of the options: window_stride, or max_length / 2 when 0. */
int			ss_window_stride(const ss_train_options *o);

#endif
