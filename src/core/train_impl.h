/*
 * train_impl.h - what the training's files share (train.c: the loop,
 * train_step.c: one data-parallel optimiser step, train_memory.c: the
 * memory estimate that replays the loop).  Not for other users.
 */
#ifndef SS_TRAIN_IMPL_H
#define SS_TRAIN_IMPL_H

#include "optim.h"
#include "train.h"

/* windows per validation pass */
#define SS_VALIDATION_BATCH 64

/* the window draws' sampling stream: seed ^ this */
#define SS_SAMPLE_SEED_MIX 0x5eed5a3b1e5ULL

/*
 * With threads > 1 a batch's windows are split between workers, each with
 * its own batch, workspace, gradient block and dropout stream; worker 0 is
 * the calling thread, the others are threads created for the step and
 * joined before it ends (so no thread outlives a step, even when the caller
 * is interrupted between steps).  Workers run only the forward and backward
 * passes: their workspaces are grown beforehand on the calling thread
 * (ss_workspace_reserve), so they allocate nothing, and they block every
 * signal.  Gradients are the mean over all targets of the batch: each
 * worker's loss gradient is scaled by its share of the targets, and the
 * blocks are summed.
 */
typedef struct step_worker
{
	ss_batch   *batch;
	ss_workspace *ws;
	float	   *grads;
	int32_t    *y;
	ss_rng		rng;
	int64_t		targets;		/* of this worker's part */
	double		loss;			/* mean over its part */
	int			n_q;
	/* shared, read-only during the step */
	const ss_dims *d;
	const float *params;
	const float *alpha;
	float		gamma;
	float		inner_weight;	/* loss weight of a target that does not end its order */
	float		dropout;
	int64_t		total_targets;
	int64_t		n_params;
	/*
	 * unit 'order': the target sets (windows.h, order windows), and the
	 * windows of this worker's batch (sequence b is windows[origin[b]]);
	 * sets NULL: unit 'line', the focal loss
	 */
	const int32_t *sets;
	const ss_window *windows;
} step_worker;


/*
 * One optimiser step on n workers, watched (interrupt.h): *loss is the sum
 * over workers of loss x targets, *n_q the targets.  Returns 0 when
 * cancelled (ss_train_interrupt_served).
 */
int			ss_train_step(step_worker *workers, int n, int64_t n_params, float *params,
						  ss_adam *adam, double clip, const ss_train_callbacks *cb,
						  double *loss, int *n_q);

/* how many windows an epoch draws: samples_per_epoch, or the architecture's default */
int64_t		ss_epoch_draws(const ss_dims *d, const ss_train_options *o, int64_t n_windows, int n_fit);

#endif
