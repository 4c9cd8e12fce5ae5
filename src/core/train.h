/*
 * train.h - encoded event histories, training windows, the training loop
 * (focal loss, weighted sampling, Adam, clipping, early stopping on
 * validation Hit@3) and batched prediction.
 */
#ifndef SS_TRAIN_H
#define SS_TRAIN_H

#include <stdint.h>

#include "model.h"

#define SS_MAX_THREADS 64

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
} ss_dataset;

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
	double		focal_gamma;
	int			class_weighting;	/* focal alpha ~ n_c^-1/2 */
	int			weighted_sampling;	/* draw windows by inverse target frequency */
	double		validation_fraction;
	int64_t		seed;
	int			threads;
	double		clip;
} ss_train_options;

void		ss_train_options_default(ss_train_options *o);

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
	void		(*epoch_done) (void *arg, const ss_epoch_stats *stats);
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

/*
 * Windows of a client of n events (rows o .. o+n-1): windows start at
 * k * stride (1 <= stride <= L) and hold at most L input events; window 0
 * owns targets 1..L, later windows their last `stride` targets, so each
 * target is owned once.  stride = L / 2 (rounded down) is the reference's
 * design (every owned target sees at least L - stride + 1 events); stride =
 * L gives windows that do not overlap, half the recurrent work per target.
 * Returns the number of windows written (at most ss_window_count()).
 */
typedef struct ss_window
{
	int64_t		start;			/* first input row */
	int64_t		end;			/* one past the last input row = last target row */
	int64_t		first_target;	/* targets at rows < first_target carry no loss */
} ss_window;

int64_t		ss_window_count(int64_t n, int max_len, int stride);
int64_t		ss_client_windows(int64_t o, int64_t n, int max_len, int stride, ss_window *out);

/* The stride of the options: window_stride, or max_length / 2 when 0. */
int			ss_window_stride(const ss_train_options *o);

/*
 * Prediction for a set of histories: probabilities[i x C] of the event
 * after the last one of each sequence in batch (eval mode, softmax).
 * Watched (interrupt.h): returns 1, or 0 when an interrupt cut it short
 * (the probabilities are then undefined: serve the interrupt, call again).
 */
int			ss_predict_batch(const ss_dims *d, const float *params,
							 const ss_batch *batch, ss_workspace *ws,
							 float *probabilities);

/*
 * ss_predict_batch on n batches at once, batch k on thread k (the calling
 * thread runs batch 0); each batch has its own workspace, grown here before
 * the threads start.  A batch with B = 0 is skipped.  Returns 1, or 0 when
 * interrupted, as ss_predict_batch.
 */
int			ss_predict_batches(const ss_dims *d, const float *params, ss_batch *const *batches,
							   ss_workspace *const *ws, float *const *probabilities, int n);

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

#endif
