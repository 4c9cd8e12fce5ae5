/*
 * train.c - windows, sampling, the training loop and batched prediction
 * (see train.h).
 */
#include "train.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "blas.h"
#include "interrupt.h"
#include "layers.h"
#include "optim.h"
#include "simd.h"
#include "ss_alloc.h"

#define VALIDATION_BATCH 64

const char	ss_train_cancelled[] = "training cancelled: an interrupt is pending that the tick did not serve";

void
ss_train_options_default(ss_train_options *o)
{
	o->hidden = 128;
	o->layers = 1;
	o->embedding_scale = 1.0;
	o->dropout = 0.2;
	o->learning_rate = 1e-3;
	o->batch_size = 256;
	o->epochs = 30;
	o->patience = 3;
	o->max_length = 50;
	o->window_stride = 0;
	o->focal_gamma = 2.0;
	o->class_weighting = 0;
	o->weighted_sampling = 0;
	o->validation_fraction = 0.1;
	o->seed = 1;
	o->threads = 1;
	o->clip = 5.0;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- windows */

/* the reference's stride: half a window */
static int
half_window(int max_len)
{
	return max_len / 2 > 0 ? max_len / 2 : 1;
}

int
ss_window_stride(const ss_train_options *o)
{
	return o->window_stride > 0 ? o->window_stride : half_window(o->max_length);
}

static int64_t
client_windows(int64_t o, int64_t n, int max_len, int stride, ss_window *out)
{
	int64_t		h = stride;
	int64_t		s = 0,
				count = 0;

	if (n < 2)
		return 0;
	for (;;)
	{
		int64_t		e = s + max_len < n - 1 ? s + max_len : n - 1;

		if (out != NULL)
		{
			out[count].start = o + s;
			out[count].end = o + e;
			out[count].first_target = o + (s == 0 ? s + 1 : s + max_len - h + 1);
		}
		count++;
		if (e >= n - 1)
			break;
		s += h;
	}
	return count;
}

int64_t
ss_window_count(int64_t n, int max_len, int stride)
{
	return client_windows(0, n, max_len, stride, NULL);
}

int64_t
ss_client_windows(int64_t o, int64_t n, int max_len, int stride, ss_window *out)
{
	return client_windows(o, n, max_len, stride, out);
}

static ss_window *
windows_of(const ss_dataset *data, const int32_t *clients, int n_clients,
		   int max_len, int stride, int64_t *n_out)
{
	int64_t		total = 0;
	ss_window  *w;

	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		total += ss_window_count(data->offsets[c + 1] - data->offsets[c], max_len, stride);
	}
	w = SS_NEW_ARRAY(ss_window, total > 0 ? total : 1);
	total = 0;
	for (int i = 0; i < n_clients; i++)
	{
		int			c = clients[i];

		total += ss_client_windows(data->offsets[c], data->offsets[c + 1] - data->offsets[c],
								   max_len, stride, w + total);
	}
	*n_out = total;
	return w;
}

static inline int64_t
first_owned(const ss_window *w)
{
	return w->first_target > w->start + 1 ? w->first_target : w->start + 1;
}

/* a window's share of a step's work: its positions plus its targets */
static inline int64_t
window_work(const ss_window *w)
{
	return (w->end - w->start) + (w->end - first_owned(w) + 1);
}

int64_t
ss_fill_batch(const ss_dataset *data, const ss_window *w, int n,
			  int with_targets, ss_batch *batch)
{
	const int	F = data->n_features,
				N = data->n_numeric;
	int			T = 0;
	int64_t		targets = 0;

	/* longest first, ties in the given order (insertion sort of origin) */
	for (int b = 0; b < n; b++)
	{
		int64_t		len = w[b].end - w[b].start;
		int			i = b;

		while (i > 0 && w[batch->origin[i - 1]].end - w[batch->origin[i - 1]].start < len)
		{
			batch->origin[i] = batch->origin[i - 1];
			i--;
		}
		batch->origin[i] = b;
		if (len > T)
			T = (int) len;
	}
	batch->B = n;
	batch->T = T;
	memset(batch->cat, 0, sizeof(int32_t) * T * n);
	memset(batch->num, 0, sizeof(float) * T * n * N);
	memset(batch->feat, 0, sizeof(int32_t) * T * n * F);
	for (int64_t i = 0; i < (int64_t) T * n; i++)
		batch->target[i] = -1;
	for (int b = 0; b < n; b++)
	{
		const ss_window *wb = &w[batch->origin[b]];
		int			len = (int) (wb->end - wb->start);
		int64_t		own = first_owned(wb);

		batch->lengths[b] = len;
		for (int t = 0; t < len; t++)
		{
			int64_t		row = wb->start + t;
			int64_t		p = (int64_t) t * n + b;

			batch->cat[p] = data->cat_in[row];
			memcpy(batch->feat + p * F, data->feat_in + row * F, sizeof(int32_t) * F);
			memcpy(batch->num + p * N, data->num_in + row * N, sizeof(float) * N);
			if (with_targets && row + 1 >= own && data->target[row + 1] >= 0)
			{
				batch->target[p] = data->target[row + 1];
				targets++;
			}
		}
	}
	return targets;
}

/* ---------------------------------------------------------------- sampling */

/* Window order of one epoch: weighted draws with replacement, or a permutation. */
static void
draw_epoch(int64_t n, const double *cdf, ss_rng *rng, int64_t *order)
{
	if (cdf != NULL)
	{
		double		total = cdf[n - 1];

		for (int64_t i = 0; i < n; i++)
		{
			double		u = ss_rng_uniform(rng) * total;
			int64_t		lo = 0,
						hi = n - 1;

			while (lo < hi)
			{
				int64_t		mid = (lo + hi) / 2;

				if (cdf[mid] > u)
					hi = mid;
				else
					lo = mid + 1;
			}
			order[i] = lo;
		}
	}
	else
	{
		for (int64_t i = 0; i < n; i++)
			order[i] = i;
		for (int64_t i = n - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) ss_rng_below(rng, (uint64_t) i + 1);
			int64_t		tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
	}
}

/* ---------------------------------------------------------------- interrupts */

/*
 * After a watched span was cut short (interrupt.h): the tick serves the
 * interrupt (it throws to cancel).  Returns 1 when the work may go on, the
 * tick having returned with every flag clear (an interrupt that turned out
 * benign: the cut work is then done again from the same state, so the
 * result is the one of an uninterrupted run), 0 when a flag is still set
 * (the host did not serve it: ss_train returns ss_train_cancelled).
 */
static int
interrupt_served(const ss_train_callbacks *cb)
{
	if (cb && cb->tick)
		cb->tick(cb->arg);
	return !ss_interrupt_pending();
}

/* dst = src, n parameters, in slices with a tick between (on the calling thread, no span open) */
static void
copy_params(float *dst, const float *src, int64_t n, const ss_train_callbacks *cb)
{
	const int64_t slice = (int64_t) 1 << 22;

	for (int64_t i = 0; i < n; i += slice)
	{
		if (i > 0 && cb && cb->tick)
			cb->tick(cb->arg);
		memcpy(dst + i, src + i, sizeof(float) * (n - i < slice ? n - i : slice));
	}
}

/* ---------------------------------------------------------------- evaluation */

/* hits@3 of one validation batch into *hits, *n; 0 when interrupted */
static int
validation_batch(const ss_dims *d, const float *params, ss_batch *batch,
				 ss_workspace *ws, int64_t *hits, int64_t *n)
{
	float	   *logits;
	const int32_t *qt,
			   *qb;
	int			n_q;
	int64_t		h = 0;
	const int	per_poll = 1 + (1 << 22) / d->n_classes;	/* ranks of C classes each */

	ss_interrupt_begin();
	n_q = ss_model_forward(d, params, batch, SS_QUERY_TARGETS, 0.0f, NULL, ws,
						   &logits, &qt, &qb);
	for (int q = 0; q < n_q; q++)
	{
		int			y = batch->target[(int64_t) qt[q] * batch->B + qb[q]];

		if (q % per_poll == per_poll - 1 && ss_interrupted())
			break;
		h += ss_rank_of(logits + (int64_t) q * d->n_classes, d->n_classes, y) <= 3;
	}
	if (ss_interrupt_end())
		return 0;
	*hits += h;
	*n += n_q;
	return 1;
}

/* Hit@3 over the validation windows into *hit3; 0 when cancelled (interrupt_served) */
static int
validation_hit3(const ss_dims *d, const float *params, const ss_dataset *data,
				const ss_window *w, int64_t n_w, ss_batch *batch,
				ss_workspace *ws, const ss_train_callbacks *cb, double *hit3)
{
	int64_t		hits = 0,
				n = 0;

	for (int64_t i = 0; i < n_w; i += VALIDATION_BATCH)
	{
		int			nb = (int) (n_w - i < VALIDATION_BATCH ? n_w - i : VALIDATION_BATCH);

		if (cb && cb->tick)
			cb->tick(cb->arg);
		if (ss_fill_batch(data, w + i, nb, 1, batch) == 0)
			continue;
		while (!validation_batch(d, params, batch, ws, &hits, &n))
			if (!interrupt_served(cb))
				return 0;
	}
	*hit3 = n > 0 ? (double) hits / n : 0.0;
	return 1;
}

/* softmax probabilities of the batch's last events; 0 when interrupted */
static int
predict_batch(const ss_dims *d, const float *params, const ss_batch *batch,
			  ss_workspace *ws, float *probabilities)
{
	float	   *logits;
	int			n_q = ss_model_forward(d, params, batch, SS_QUERY_LAST, 0.0f, NULL, ws,
									   &logits, NULL, NULL);

	if (ss_interrupted())
		return 0;
	memcpy(probabilities, logits, sizeof(float) * n_q * d->n_classes);
	ss_softmax_rows(n_q, d->n_classes, probabilities);
	return !ss_interrupted();
}

int
ss_predict_batch(const ss_dims *d, const float *params, const ss_batch *batch,
				 ss_workspace *ws, float *probabilities)
{
	ss_interrupt_begin();
	predict_batch(d, params, batch, ws, probabilities);
	return !ss_interrupt_end();
}

/* ---------------------------------------------------------------- data-parallel steps */

/*
 * Parameters per slice of the O(parameters) loops of a step, polling for
 * an interrupt between slices (interrupt.h): some 16 MB of memory traffic
 * each, a few ms.  The Adam step moves 28 bytes per parameter, the others
 * 4 to 8.
 */
#define SLICE ((int64_t) 1 << 22)
#define ADAM_SLICE ((int64_t) 1 << 19)

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
	float		dropout;
	int64_t		total_targets;
	int64_t		n_params;
} step_worker;

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
	for (int q = 0; q < w->n_q; q++)
		w->y[q] = w->batch->target[(int64_t) qt[q] * w->batch->B + qb[q]];
	w->loss = ss_focal_loss(w->n_q, C, logits, w->y, w->alpha, w->gamma, logits, NULL);
	share = (float) w->n_q / (float) w->total_targets;
	if (share != 1.0f)
		for (int64_t i = 0; i < (int64_t) w->n_q * C; i++)
			logits[i] *= share;
	ss_model_backward(w->d, w->params, w->batch, logits, w->ws, w->grads);
}

/* ---------------------------------------------------------------- threads */

typedef struct thread_job
{
	void		(*fn) (void *);
	void	   *arg;
} thread_job;

static void *
thread_main(void *arg)
{
	thread_job *job = arg;

	job->fn(job->arg);
	return NULL;
}

/*
 * Runs fn(base + k * stride) for k = 0 .. n - 1: k = 0 on the calling
 * thread, the others on threads created here (every signal blocked) and
 * joined before returning; where no thread can be had, on the caller.
 */
static void
run_parallel(void (*fn) (void *), void *base, size_t stride, int n)
{
	pthread_t	threads[SS_MAX_THREADS];
	thread_job	jobs[SS_MAX_THREADS];
	int			started[SS_MAX_THREADS] = {0};
	sigset_t	all,
				saved;

	if (n > 1)
	{
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &saved);	/* inherited by the new threads */
		for (int k = 1; k < n; k++)
		{
			jobs[k].fn = fn;
			jobs[k].arg = (char *) base + k * stride;
			started[k] = pthread_create(&threads[k], NULL, thread_main, &jobs[k]) == 0;
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	fn(base);
	for (int k = 1; k < n; k++)
	{
		if (started[k])
			pthread_join(threads[k], NULL);
		else
			fn((char *) base + k * stride);	/* no thread to be had: do it here */
	}
}

static void
worker_run(void *arg)
{
	worker_step((step_worker *) arg);
}

typedef struct predict_job
{
	const ss_dims *d;
	const float *params;
	const ss_batch *batch;
	ss_workspace *ws;
	float	   *probabilities;
} predict_job;

static void
predict_run(void *arg)
{
	predict_job *j = (predict_job *) arg;

	if (j->batch->B > 0)
		predict_batch(j->d, j->params, j->batch, j->ws, j->probabilities);
}

int
ss_predict_batches(const ss_dims *d, const float *params, ss_batch *const *batches,
				   ss_workspace *const *ws, float *const *probabilities, int n)
{
	predict_job jobs[SS_MAX_THREADS];

	if (n < 1)
		return 1;
	if (n > SS_MAX_THREADS)
		n = SS_MAX_THREADS;
	for (int k = 0; k < n; k++)
	{
		jobs[k].d = d;
		jobs[k].params = params;
		jobs[k].batch = batches[k];
		jobs[k].ws = ws[k];
		jobs[k].probabilities = probabilities[k];
		if (n > 1 && batches[k]->B > 0)
			ss_workspace_reserve_predict(ws[k], d, batches[k]);	/* here, not on a worker */
	}
	ss_interrupt_begin();
	run_parallel(predict_run, jobs, sizeof(predict_job), n);
	return !ss_interrupt_end();
}

/* Runs one step on n workers; returns the sum over workers of loss x targets. */
static double
parallel_step(step_worker *workers, int n)
{
	double		loss = 0.0;

	run_parallel(worker_run, workers, sizeof(step_worker), n);
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
static int
train_step(step_worker *workers, int n, int64_t n_params, float *params,
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
			run_parallel(update_sum, parts, sizeof(update_part), n);
		if (!ss_interrupt_end())
			break;
		if (!interrupt_served(cb))
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
		run_parallel(update_apply, parts, sizeof(update_part), n);
		if (!ss_interrupt_end())
			return 1;
		if (!interrupt_served(cb))
			return 0;
	}
}

/* ---------------------------------------------------------------- training */

void
ss_train_result_free(ss_train_result *r)
{
	ss_free(r->params);
	ss_free(r->class_counts);
	r->params = NULL;
	r->class_counts = NULL;
}

/* the window draws' sampling stream: seed ^ this */
#define SAMPLE_SEED_MIX 0x5eed5a3b1e5ULL

/*
 * Weighted sampling's cumulative weights: window i weighs the mean over its
 * owned targets of 1 / (their class's count).
 */
static double *
window_cdf(const ss_dataset *data, const ss_window *w, int64_t n_w, const double *counts)
{
	double	   *cdf = SS_NEW_ARRAY(double, n_w > 0 ? n_w : 1),
				acc = 0.0;

	for (int64_t i = 0; i < n_w; i++)
	{
		double		sum = 0.0;
		int64_t		k = 0;

		for (int64_t r = first_owned(&w[i]); r <= w[i].end; r++)
			if (data->target[r] >= 0)
			{
				sum += 1.0 / counts[data->target[r]];
				k++;
			}
		acc += k > 0 ? sum / k : 0.0;
		cdf[i] = acc;
	}
	return cdf;
}

const char *
ss_train(const ss_dims *d, const ss_dataset *data,
		 const int32_t *fit, int n_fit, const int32_t *val, int n_val,
		 const ss_train_options *opt, const ss_train_callbacks *cb,
		 ss_train_result *res)
{
	const int	C = d->n_classes;
	const int64_t n_params = ss_param_count(d);
	const char *err;
	ss_rng		init_rng,
				sample_rng,
				dropout_rng;
	float	   *params,
			   *grads,
			   *alpha = NULL;
	double	   *counts,
			   *cdf = NULL;
	int64_t		n_w,
				n_vw,
				*order;
	int32_t    *y;
	ss_window  *w,
			   *vw,
			   *picked;
	ss_batch   *batch;
	ss_workspace *ws;
	ss_adam    *adam;
	int			since_best = 0;
	step_worker workers[SS_MAX_THREADS];
	int			n_workers;

	memset(res, 0, sizeof(*res));
	if ((err = ss_blas_load()) != NULL)
		return err;
	/* parallelism comes from our own workers: OpenBLAS stays single-threaded */
	ss_blas_set_threads(1);

	/*
	 * Validation keeps the reference's windows whatever the training stride:
	 * early stopping then measures the same thing as the test (contexts of
	 * more than L / 2 events).
	 */
	w = windows_of(data, fit, n_fit, opt->max_length, ss_window_stride(opt), &n_w);
	vw = windows_of(data, val, n_val, opt->max_length, half_window(opt->max_length), &n_vw);
	if (n_w == 0)
		return "no training targets: every training client has a single event";

	/* class counts over the owned training targets; focal alpha */
	counts = SS_NEW_ARRAY(double, C);
	for (int64_t i = 0; i < n_w; i++)
		for (int64_t r = first_owned(&w[i]); r <= w[i].end; r++)
			if (data->target[r] >= 0)
			{
				counts[data->target[r]] += 1.0;
				res->train_targets++;
			}
	if (res->train_targets == 0)
		return "no training targets with a known category";
	if (opt->class_weighting)
	{
		double		mean = 0.0;
		int			seen = 0;

		alpha = SS_NEW_ARRAY(float, C);
		for (int c = 0; c < C; c++)
			if (counts[c] > 0)
			{
				mean += 1.0 / sqrt(counts[c]);
				seen++;
			}
		mean /= seen;
		for (int c = 0; c < C; c++)
			alpha[c] = counts[c] > 0 ? (float) (1.0 / sqrt(counts[c]) / mean) : 0.0f;
	}
	if (opt->weighted_sampling)
		cdf = window_cdf(data, w, n_w, counts);

	ss_rng_seed(&init_rng, (uint64_t) opt->seed);
	ss_rng_seed(&sample_rng, (uint64_t) opt->seed ^ SAMPLE_SEED_MIX);
	ss_rng_seed(&dropout_rng, (uint64_t) opt->seed ^ 0xd509u);
	/* not zeroed: each is written whole before it is read (gigabytes at hidden 4096) */
	params = (float *) ss_alloc(sizeof(float) * n_params);
	grads = (float *) ss_alloc(sizeof(float) * n_params);
	res->params = (float *) ss_alloc(sizeof(float) * n_params);
	res->n_params = n_params;
	for (;;)
	{
		/* watched: about a second at hidden 4096 with 4 layers; from the seed again when cut */
		ss_rng		rng = init_rng;

		ss_interrupt_begin();
		ss_params_init(d, params, &rng);
		if (!ss_interrupt_end())
			break;
		if (!interrupt_served(cb))
		{
			ss_free(params);
			ss_free(grads);
			ss_free(alpha);
			ss_free(cdf);
			ss_free(counts);
			ss_free(w);
			ss_free(vw);
			ss_train_result_free(res);
			return ss_train_cancelled;
		}
	}
	copy_params(res->params, params, n_params, cb);
	adam = ss_adam_new(n_params, (float) opt->learning_rate);
	order = SS_NEW_ARRAY(int64_t, n_w);
	picked = SS_NEW_ARRAY(ss_window, opt->batch_size);
	y = SS_NEW_ARRAY(int32_t, (int64_t) opt->batch_size * opt->max_length + 1);
	batch = ss_batch_new(d, opt->batch_size > VALIDATION_BATCH ? opt->batch_size : VALIDATION_BATCH,
						 opt->max_length);
	ws = ss_workspace_new();
	n_workers = opt->threads < 1 ? 1 : (opt->threads > SS_MAX_THREADS ? SS_MAX_THREADS : opt->threads);
	for (int k = 0; k < n_workers; k++)
	{
		step_worker *wk = &workers[k];

		memset(wk, 0, sizeof(*wk));
		wk->batch = k == 0 ? batch : ss_batch_new(d, opt->batch_size, opt->max_length);
		wk->ws = k == 0 ? ws : ss_workspace_new();
		wk->grads = k == 0 ? grads : (float *) ss_alloc(sizeof(float) * n_params);
		wk->y = k == 0 ? y : SS_NEW_ARRAY(int32_t, (int64_t) opt->batch_size * opt->max_length + 1);
		wk->rng = dropout_rng;
		if (k > 0)
			ss_rng_seed(&wk->rng, (uint64_t) opt->seed ^ 0xd509u ^ (0x9e3779b97f4a7c15ULL * (uint64_t) k));
		wk->d = d;
		wk->alpha = alpha;
		wk->gamma = (float) opt->focal_gamma;
		wk->dropout = (float) opt->dropout;
		wk->n_params = n_params;
	}
	res->best_validation_hit3 = -1.0;
	res->n_windows = n_w;

	for (int epoch = 1; epoch <= opt->epochs; epoch++)
	{
		ss_epoch_stats st;
		double		t0 = now_seconds(),
					flops0 = ss_blas_flops(),
					loss_sum = 0.0;
		int64_t		n_targets = 0;
		int64_t		next = 0;

		memset(&st, 0, sizeof(st));
		draw_epoch(n_w, cdf, &sample_rng, order);
		while (next < n_w)
		{
			int			nb = 0;
			int64_t		budget = 0,
						nt;
			int			n_q = 0;
			double		loss;

			if (cb && cb->tick)
				cb->tick(cb->arg);
			while (next < n_w && budget < opt->batch_size)
			{
				const ss_window *pw = &w[order[next++]];

				picked[nb++] = *pw;
				budget += pw->end - first_owned(pw) + 1;
			}
			/*
			 * split the windows between the workers by work: positions
			 * (the recurrent layers) plus targets (attention and output)
			 */
			{
				int			first = 0;
				int64_t		done = 0,
							work = 0;

				for (int i = 0; i < nb; i++)
					work += window_work(&picked[i]);
				nt = 0;
				for (int k = 0; k < n_workers; k++)
				{
					int			last = first;
					int64_t		goal = work * (k + 1) / n_workers;

					while (last < nb && (k == n_workers - 1 || done < goal))
					{
						done += window_work(&picked[last]);
						last++;
					}
					workers[k].targets = last > first
						? ss_fill_batch(data, picked + first, last - first, 1, workers[k].batch) : 0;
					if (workers[k].targets > 0)
						ss_workspace_reserve(workers[k].ws, d, workers[k].batch, 1);
					nt += workers[k].targets;
					first = last;
				}
			}
			if (nt == 0)
				continue;
			for (int k = 0; k < n_workers; k++)
			{
				workers[k].params = params;
				workers[k].total_targets = nt;
			}
			if (!train_step(workers, n_workers, n_params, params, adam, opt->clip, cb,
							&loss, &n_q))
			{
				err = ss_train_cancelled;
				break;
			}
			loss_sum += loss;
			n_targets += n_q;
		}
		if (err != NULL)
			break;
		st.epoch = epoch;
		st.seconds = now_seconds() - t0;
		st.gemm_flops = ss_blas_flops() - flops0;
		st.targets = n_targets;
		st.train_loss = n_targets > 0 ? loss_sum / n_targets : 0.0;
		res->seconds_total += st.seconds;
		res->epochs_run = epoch;
		t0 = now_seconds();
		if (n_vw > 0 &&
			!validation_hit3(d, params, data, vw, n_vw, batch, ws, cb, &st.validation_hit3))
		{
			err = ss_train_cancelled;
			break;
		}
		st.validation_seconds = now_seconds() - t0;
		res->targets_per_second += n_targets;	/* summed, divided below */
		if (n_vw == 0 || st.validation_hit3 > res->best_validation_hit3)
		{
			st.improved = 1;
			res->best_validation_hit3 = st.validation_hit3;
			res->best_epoch = epoch;
			copy_params(res->params, params, n_params, cb);
			since_best = 0;
		}
		else
			since_best++;
		if (cb && cb->epoch_done)
			cb->epoch_done(cb->arg, &st);
		if (since_best >= opt->patience)
			break;
	}
	res->targets_per_second = res->seconds_total > 0
		? res->targets_per_second / res->seconds_total : 0.0;
	res->workspace_bytes = ss_workspace_bytes(ws);
	res->class_counts = counts;
	if (err != NULL)
		ss_train_result_free(res);	/* cancelled: nothing to keep */

	for (int k = 1; k < n_workers; k++)
	{
		ss_workspace_free(workers[k].ws);
		ss_batch_free(workers[k].batch);
		ss_free(workers[k].grads);
		ss_free(workers[k].y);
	}
	ss_workspace_free(ws);
	ss_batch_free(batch);
	ss_free(y);
	ss_free(picked);
	ss_free(order);
	ss_adam_free(adam);
	ss_free(grads);
	ss_free(params);
	ss_free(cdf);
	ss_free(alpha);
	ss_free(w);
	ss_free(vw);
	return err;
}

/* ---------------------------------------------------------------- memory */

/*
 * The memory estimate (train.h) is what ss_train allocates, from the
 * allocations above and the workspaces' (model.c), for the data at hand.
 * The workspaces are the hard part: each grows to the largest pass it has
 * run, and a step's size depends on which windows the draws put together
 * (windows are drawn until they own batch_size targets, then padded to the
 * longest: a step of many short windows and a long one is as large as
 * batch_size long ones).  No bound from the windows' sizes alone comes near
 * what training uses, so the estimate replays the steps: the same windows,
 * sampling weights and sample stream as ss_train, every epoch the options
 * allow (early stopping runs fewer), each step split between the workers as
 * ss_train splits it and run through a sizing workspace (it grows as a real
 * one, allocating nothing), then the validation batches (VALIDATION_BATCH
 * consecutive windows).  That repeats the few lines of ss_train that pick
 * and split a step's windows, and its sampling weights;
 * tests/unit/test_memory.c checks that the two agree to the byte.  The
 * replay costs about 60 ns per window and epoch (250 ns with weighted
 * draws: the same binary searches as the training's), a small share of an
 * epoch's training (bench/estimate_time.c).
 */

/* OpenBLAS (x86-64): a buffer per thread in a product (BUFFER_SIZE, common_x86_64.h) */
#define SS_BLAS_BUFFER ((int64_t) 32 << 22)
/* its blocking: GEMM_P, GEMM_Q are at most 1024 on x86-64 (param.h) */
#define SS_BLAS_BLOCK 1024
/* its writable data once loaded (measured: 0.2 MB) */
#define SS_BLAS_LIBRARY ((int64_t) 1 << 20)
/* an allocator's chunk header and the rest of a chunk's last page */
#define SS_ALLOC_OVERHEAD (4096 + 64)

static inline int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* queries and attention weights of a window, as ss_fill_batch marks them */
typedef struct window_queries
{
	int64_t		n_q,
				n_alpha;
} window_queries;

static window_queries *
queries_of(const ss_dataset *data, const ss_window *w, int64_t n_w)
{
	window_queries *q = SS_NEW_ARRAY(window_queries, n_w > 0 ? n_w : 1);

	for (int64_t i = 0; i < n_w; i++)
		for (int64_t r = first_owned(&w[i]); r <= w[i].end; r++)
			if (data->target[r] >= 0)
			{
				q[i].n_q++;
				q[i].n_alpha += r - w[i].start;	/* position r - 1 - start, plus 1 */
			}
	return q;
}

/* the pass over windows w[idx[0..n)] (idx NULL: w[0..n)) through ws, as ss_train runs it */
static void
replay_pass(ss_workspace *ws, const ss_dims *d, const ss_window *w, const window_queries *q,
			const int64_t *idx, int64_t n, int with_backward)
{
	ss_pass_shape s;

	memset(&s, 0, sizeof(s));
	for (int64_t j = 0; j < n; j++)
	{
		int64_t		i = idx ? idx[j] : j;

		s.B++;
		s.T = max64(s.T, w[i].end - w[i].start);
		s.n_q += q[i].n_q;
		s.n_alpha += q[i].n_alpha;
	}
	s.TB = s.B * s.T;
	if (s.n_q > 0)				/* ss_train skips a part without targets */
		ss_workspace_reserve_shape(ws, d, &s, with_backward);
}

/* ss_train's sampling weights (the same sums in the same order) */
static double *
sampling_cdf(const ss_dims *d, const ss_dataset *data, const ss_window *w, int64_t n_w)
{
	double	   *counts = SS_NEW_ARRAY(double, d->n_classes),
			   *cdf;

	for (int64_t i = 0; i < n_w; i++)
		for (int64_t r = first_owned(&w[i]); r <= w[i].end; r++)
			if (data->target[r] >= 0)
				counts[data->target[r]] += 1.0;
	cdf = window_cdf(data, w, n_w, counts);
	ss_free(counts);
	return cdf;
}

/* every epoch's steps and validation through the workers' sizing workspaces (see above) */
static void
replay_training(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
				const int32_t *val, int n_val, const ss_train_options *o,
				int n_workers, ss_workspace **ws, int64_t *n_w_out, int64_t *n_vw_out,
				int64_t *longest)
{
	int64_t		n_w,
				n_vw;
	ss_window  *w = windows_of(data, fit, n_fit, o->max_length, ss_window_stride(o), &n_w),
			   *vw = windows_of(data, val, n_val, o->max_length, half_window(o->max_length), &n_vw);
	window_queries *q = queries_of(data, w, n_w),
			   *vq = queries_of(data, vw, n_vw);
	double	   *cdf = o->weighted_sampling ? sampling_cdf(d, data, w, n_w) : NULL;
	int64_t    *order = SS_NEW_ARRAY(int64_t, n_w > 0 ? n_w : 1);
	ss_rng		rng;

	ss_rng_seed(&rng, (uint64_t) o->seed ^ SAMPLE_SEED_MIX);	/* ss_train's sample stream */
	for (int epoch = 1; epoch <= o->epochs && n_w > 0 && !ss_interrupted(); epoch++)
	{
		int64_t		next = 0;

		draw_epoch(n_w, cdf, &rng, order);
		while (next < n_w && !ss_interrupted())
		{
			int64_t		first = next,
						budget = 0,
						work = 0,
						done = 0;

			while (next < n_w && budget < o->batch_size)
			{
				const ss_window *pw = &w[order[next++]];

				budget += pw->end - first_owned(pw) + 1;
				work += window_work(pw);
			}
			for (int k = 0; k < n_workers; k++)
			{
				int64_t		last = first,
							goal = work * (k + 1) / n_workers;

				while (last < next && (k == n_workers - 1 || done < goal))
					done += window_work(&w[order[last++]]);
				replay_pass(ws[k], d, w, q, order + first, last - first, 1);
				first = last;
			}
		}
		for (int64_t i = 0; i < n_vw; i += VALIDATION_BATCH)
			replay_pass(ws[0], d, vw + i, vq + i, NULL,
						n_vw - i < VALIDATION_BATCH ? n_vw - i : VALIDATION_BATCH, 0);
	}
	*longest = 0;
	for (int64_t i = 0; i < n_w; i++)
		*longest = max64(*longest, w[i].end - w[i].start);
	for (int64_t i = 0; i < n_vw; i++)
		*longest = max64(*longest, vw[i].end - vw[i].start);
	ss_free(order);
	ss_free(cdf);
	ss_free(q);
	ss_free(vq);
	ss_free(w);
	ss_free(vw);
	*n_w_out = n_w;
	*n_vw_out = n_vw;
}

/*
 * What ss_train allocates, at most (exactly when every epoch runs); the
 * number of its allocations and the longest window go to *n_allocs and
 * *longest.
 */
static int64_t
core_bytes(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
		   const int32_t *val, int n_val, const ss_train_options *o,
		   int64_t *n_allocs, int64_t *longest)
{
	const int64_t P = ss_param_count(d),
				C = d->n_classes,
				bs = o->batch_size,
				L = o->max_length,
				F = d->n_features > 0 ? d->n_features : 1,
				N = d->n_numeric > 0 ? d->n_numeric : 1;
	const int	n_workers = o->threads < 1 ? 1 : (o->threads > SS_MAX_THREADS ? SS_MAX_THREADS : o->threads);
	ss_workspace *ws[SS_MAX_THREADS];
	int64_t		n_w,
				n_vw,
				bytes,
				allocs;

	for (int k = 0; k < n_workers; k++)
		ws[k] = ss_workspace_new_sizing();
	replay_training(d, data, fit, n_fit, val, n_val, o, n_workers, ws, &n_w, &n_vw, longest);

	/* windows, the epoch's order (and sampling cdf), class counts (and alpha) */
	bytes = (int64_t) sizeof(ss_window) * (max64(n_w, 1) + max64(n_vw, 1))
		+ 8 * n_w * (o->weighted_sampling ? 2 : 1)
		+ 8 * C + (o->class_weighting ? 4 * C : 0);
	/* parameters, gradients, the best epoch's, Adam's m and v and itself; a step's windows */
	bytes += 5 * 4 * P + (int64_t) sizeof(ss_adam) + (int64_t) sizeof(ss_window) * bs;
	allocs = 13;				/* windows 2, counts, alpha, cdf, parameters 3, Adam 3, order, a step's */
	for (int k = 0; k < n_workers; k++)
	{
		/* batch: lengths, origin; cat, target, F features, N numerics per position */
		int64_t		B = k == 0 && bs < VALIDATION_BATCH ? VALIDATION_BATCH : bs,
					held;

		bytes += (int64_t) sizeof(ss_batch) + 8 * B + 4 * B * L * (2 + F + N);
		bytes += 4 * (bs * L + 1);	/* the step's target classes */
		allocs += 7 + 1 + ss_workspace_allocations(ws[k], &held);
		bytes += held;
		if (k > 0)
		{
			bytes += 4 * P;		/* its own gradients */
			allocs++;
		}
		ss_workspace_free(ws[k]);
	}
	*n_allocs = allocs;
	return bytes;
}

/* OpenBLAS's packed panels of one product, at most, and its buffer */
static int64_t
blas_bytes(const ss_dims *d, int64_t longest)
{
	const int64_t H = d->hidden,
				Q = SS_BLAS_BLOCK,
				rows = max64(max64(3 * H, d->attn), max64(d->n_classes, longest)),
				cols = max64(d->input_dim, 2 * H);
	/* A: rows of the left operand x Q; B: Q x columns, or H x longest (dalpha = dctx h^T) */
	int64_t		a = (rows < Q ? rows : Q) * Q,
				b = max64(Q * (cols + 16), (H < Q ? H : Q) * (longest + 16)),
				bytes = 4 * (a + b) + 2 * 4096;

	return bytes < SS_BLAS_BUFFER ? bytes : SS_BLAS_BUFFER;
}

int64_t
ss_train_core_memory(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
					 const int32_t *val, int n_val, const ss_train_options *o)
{
	int64_t		n_allocs,
				longest;

	return core_bytes(d, data, fit, n_fit, val, n_val, o, &n_allocs, &longest);
}

int64_t
ss_train_memory_estimate(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
						 const int32_t *val, int n_val, const ss_train_options *o,
						 int64_t held, int64_t transient)
{
	const int	n_workers = o->threads < 1 ? 1 : (o->threads > SS_MAX_THREADS ? SS_MAX_THREADS : o->threads);
	int64_t		n_allocs,
				longest,
				core = core_bytes(d, data, fit, n_fit, val, n_val, o, &n_allocs, &longest),
				training = core + n_allocs * SS_ALLOC_OVERHEAD
		+ SS_BLAS_LIBRARY + n_workers * blas_bytes(d, longest);

	return held + (training > transient ? training : transient);
}
