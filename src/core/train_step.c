/*
 * train_step.c - one optimiser step, data-parallel over the calling thread
 * and threads created for the step (train_impl.h).
 */
#include "train_impl.h"

#include <string.h>

#include "interrupt.h"
#include "layers.h"
#include "parallel.h"
#include "simd.h"

/*
 * Parameters per slice of the O(parameters) loops of a step, polling for
 * an interrupt between slices (interrupt.h): some 16 MB of memory traffic
 * each, a few ms.  The Adam step moves 28 bytes per parameter, the others
 * 4 to 8.
 */
#define SLICE ((int64_t) 1 << 22)
#define ADAM_SLICE ((int64_t) 1 << 19)

static void
worker_step(step_worker *w)
{
	float	   *logits;
	const int32_t *qt,
			   *qb;
	int			C = w->d->n_classes;
	float		share;

	w->n_q = 0;
	w->loss = 0.0;
	for (int64_t i = 0; i < w->n_params; i += SLICE)
	{
		if (ss_interrupted())
			return;
		memset(w->grads + i, 0,
			   sizeof(float) * (w->n_params - i < SLICE ? w->n_params - i : SLICE));
	}
	if (w->targets == 0)
		return;
	w->n_q = ss_model_forward(w->d, w->params, w->batch, SS_QUERY_TARGETS, w->dropout, &w->rng,
							  w->ws, &logits, &qt, &qb);
	if (ss_interrupted())
		return;					/* the step is done again, or abandoned */
	if (w->sets != NULL)
	{
		/* the next-order loss: one query per window, its whole set (focal gamma and alpha unused) */
		const float scale = 1.0f / (float) w->total_targets;
		const int	per_poll = 1 + (1 << 20) / C;
		double		sum = 0.0;

		for (int q = 0; q < w->n_q; q++)
		{
			const ss_window *win = &w->windows[w->batch->origin[qb[q]]];

			if (q % per_poll == per_poll - 1 && ss_interrupted())
				return;
			sum += ss_set_loss_row(C, logits + (int64_t) q * C, w->sets + win->set_begin,
								   win->set_size, scale, logits + (int64_t) q * C);
		}
		w->loss = w->n_q > 0 ? sum / w->n_q : 0.0;
	}
	else
	{
		for (int q = 0; q < w->n_q; q++)
			w->y[q] = w->batch->target[(int64_t) qt[q] * w->batch->B + qb[q]];
		w->loss = ss_focal_loss(w->n_q, C, logits, w->y, w->alpha, w->gamma, logits, NULL);
		if (w->inner_weight != 1.0f)
		{
			/* targets unlike the scored ones (which end an order) weigh less */
			for (int q = 0; q < w->n_q; q++)
				if (!w->batch->target_ends[(int64_t) qt[q] * w->batch->B + qb[q]])
					for (int c = 0; c < C; c++)
						logits[(int64_t) q * C + c] *= w->inner_weight;
		}
		share = (float) w->n_q / (float) w->total_targets;
		if (share != 1.0f)
			for (int64_t i = 0; i < (int64_t) w->n_q * C; i++)
				logits[i] *= share;
	}
	ss_model_backward(w->d, w->params, w->batch, logits, w->ws, w->grads);
}


static void
worker_run(void *arg)
{
	worker_step((step_worker *) arg);
}

/* Runs one step on n workers; returns the sum over workers of loss x targets. */
static double
parallel_step(step_worker *workers, int n)
{
	double		loss = 0.0;

	ss_run_parallel(worker_run, workers, sizeof(step_worker), n);
	for (int k = 0; k < n; k++)
		loss += workers[k].loss * workers[k].n_q;
	return loss;
}

/*
 * The update after a step, split by parameter ranges between the same
 * threads: sum the workers' gradients into worker 0's and the squares of
 * the sum (for clipping); then scale and take the Adam step.  Both go in
 * slices (a part of at most SLICE parameters, as at the usual sizes, has
 * its squares summed in one go: the same sums as without slices).  When
 * interrupted, the sum is done again from the step's start; the Adam step,
 * which changes the parameters and Adam's moments, is resumed at the slice
 * where it stopped (next): it is elementwise, so the result is the same.
 */
typedef struct update_part
{
	int64_t		lo,
				hi;
	int64_t		next;			/* first parameter the Adam step has not updated */
	const step_worker *workers;
	int			n_workers;
	float	   *params;
	float	   *grads;			/* worker 0's: receives the sum */
	const ss_adam *adam;
	float		coef;			/* clipping factor (1 = none) */
	double		sum_squares;	/* out */
} update_part;

static void
update_sum(void *arg)
{
	update_part *u = arg;

	u->sum_squares = 0.0;
	for (int64_t i = u->lo; i < u->hi; i += SLICE)
	{
		int			len = (int) (u->hi - i < SLICE ? u->hi - i : SLICE);

		if (ss_interrupted())
			return;
		for (int k = 1; k < u->n_workers; k++)
			ss_vec_axpy(1.0f, u->workers[k].grads + i, u->grads + i, len);
		u->sum_squares += ss_sum_squares(u->grads + i, len);
	}
}

static void
update_apply(void *arg)
{
	update_part *u = arg;

	while (u->next < u->hi)
	{
		int64_t		len = u->hi - u->next < ADAM_SLICE ? u->hi - u->next : ADAM_SLICE;

		if (ss_interrupted())
			return;
		if (u->coef < 1.0f)
			ss_scale(u->grads + u->next, len, u->coef);
		ss_adam_apply(u->adam, u->params, u->grads, u->next, u->next + len);
		u->next += len;
	}
}

/*
 * One optimiser step on n workers, watched (interrupt.h): *loss is the sum
 * over workers of loss x targets, *n_q the targets.  The passes and the
 * gradient sum are done again from the start when cut short (parameters
 * and Adam's state are untouched until the update; the dropout streams are
 * rewound to where they were), the update is resumed.  Returns 0 when
 * cancelled (interrupt_served): the step is then not applied, or not
 * wholly, and the training is to be abandoned.
 */
int
ss_train_step(step_worker *workers, int n, int64_t n_params, float *params,
		   ss_adam *adam, double clip, const ss_train_callbacks *cb,
		   double *loss, int *n_q)
{
	update_part parts[SS_MAX_THREADS];
	ss_rng		rngs[SS_MAX_THREADS];
	double		sum = 0.0;
	float		coef;

	for (int k = 0; k < n; k++)
	{
		rngs[k] = workers[k].rng;
		parts[k].lo = n_params * k / n;
		parts[k].hi = n_params * (k + 1) / n;
		parts[k].next = parts[k].lo;
		parts[k].workers = workers;
		parts[k].n_workers = n;
		parts[k].params = params;
		parts[k].grads = workers[0].grads;
		parts[k].adam = adam;
	}
	for (;;)
	{
		ss_interrupt_begin();
		*loss = parallel_step(workers, n);
		if (!ss_interrupted())
			ss_run_parallel(update_sum, parts, sizeof(update_part), n);
		if (!ss_interrupt_end())
			break;
		if (!ss_train_interrupt_served(cb))
			return 0;
		for (int k = 0; k < n; k++)
			workers[k].rng = rngs[k];
	}
	*n_q = 0;
	for (int k = 0; k < n; k++)
	{
		*n_q += workers[k].n_q;
		sum += parts[k].sum_squares;
	}
	coef = ss_clip_coef(sum, clip);
	ss_adam_begin(adam);
	for (int k = 0; k < n; k++)
		parts[k].coef = coef;
	for (;;)
	{
		ss_interrupt_begin();
		ss_run_parallel(update_apply, parts, sizeof(update_part), n);
		if (!ss_interrupt_end())
			return 1;
		if (!ss_train_interrupt_served(cb))
			return 0;
	}
}


/*
 * After a watched span was cut short (interrupt.h): the tick serves the
 * interrupt (it throws to cancel).  Returns 1 when the work may go on, the
 * tick having returned with every flag clear (an interrupt that turned out
 * benign: the cut work is then done again from the same state, so the
 * result is the one of an uninterrupted run), 0 when a flag is still set
 * (the host did not serve it: ss_train returns ss_train_cancelled).
 */
int
ss_train_interrupt_served(const ss_train_callbacks *cb)
{
	if (cb && cb->tick)
		cb->tick(cb->arg);
	return !ss_interrupt_pending();
}

