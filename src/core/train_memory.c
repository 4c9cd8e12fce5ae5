/*
 * train_memory.c - the memory estimate of a training (train.h).
 */
#include "train_impl.h"

#include <string.h>

#include "arch.h"
#include "interrupt.h"
#include "ss_alloc.h"

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
 * one, allocating nothing), then the validation batches (SS_VALIDATION_BATCH
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
		if (w[i].set_size > 0)
		{
			/* an order window: one query, at its last position */
			q[i].n_q = 1;
			q[i].n_alpha = w[i].end - w[i].start;
		}
		else
			for (int64_t r = ss_first_owned(&w[i]); r <= w[i].end; r++)
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
sampling_cdf(const ss_dims *d, const ss_dataset *data, const ss_window *w, int64_t n_w,
			 const int32_t *sets)
{
	double	   *counts = SS_NEW_ARRAY(double, d->n_classes),
			   *cdf;

	for (int64_t i = 0; i < n_w; i++)
		if (sets != NULL)
			for (int32_t j = 0; j < w[i].set_size; j++)
				counts[sets[w[i].set_begin + j]] += 1.0;
		else
			for (int64_t r = ss_first_owned(&w[i]); r <= w[i].end; r++)
				if (data->target[r] >= 0)
					counts[data->target[r]] += 1.0;
	cdf = ss_window_cdf(data, w, n_w, counts, sets);
	ss_free(counts);
	return cdf;
}

/* every epoch's steps and validation through the workers' sizing workspaces (see above) */
static void
replay_training(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
				const int32_t *val, int n_val, const ss_train_options *o,
				int n_workers, ss_workspace **ws, int64_t *n_w_out, int64_t *n_vw_out,
				int64_t *n_sets_out, int64_t *longest)
{
	const int	per_target = ss_arch_of(d)->one_target_per_window;
	int64_t		n_w,
				n_vw,
				n_draw,
				n_sets = 0,
				n_vsets = 0;
	int32_t    *sets = NULL,
			   *vsets = NULL;
	ss_window  *w,
			   *vw;
	window_queries *q,
			   *vq;
	double	   *cdf;
	int64_t    *order;
	ss_rng		rng;

	if (o->unit == SS_UNIT_ORDER)
	{
		w = ss_order_windows_of(data, fit, n_fit, o->max_length, &sets, &n_sets, &n_w);
		vw = ss_order_windows_of(data, val, n_val, o->max_length, &vsets, &n_vsets, &n_vw);
	}
	else
	{
		w = ss_windows_of(data, fit, n_fit, o->max_length, ss_window_stride(o), per_target, &n_w);
		vw = ss_windows_of(data, val, n_val, o->max_length, ss_half_window(o->max_length),
						   per_target, &n_vw);
	}
	q = queries_of(data, w, n_w);
	vq = queries_of(data, vw, n_vw);
	cdf = o->weighted_sampling ? sampling_cdf(d, data, w, n_w, sets) : NULL;

	n_draw = ss_epoch_draws(d, o, n_w, n_fit);
	order = SS_NEW_ARRAY(int64_t, n_w > n_draw ? n_w : (n_draw > 0 ? n_draw : 1));

	ss_rng_seed(&rng, (uint64_t) o->seed ^ SS_SAMPLE_SEED_MIX);	/* ss_train's sample stream */
	/* a counted architecture runs no step and validates once (train.c, fit_counted) */
	for (int epoch = 1; epoch <= (ss_arch_of(d)->fit != NULL ? 1 : o->epochs) && n_w > 0 && !ss_interrupted(); epoch++)
	{
		int64_t		next = 0;

		ss_draw_epoch(n_w, n_draw, cdf, &rng, order);
		while (ss_arch_of(d)->fit == NULL && next < n_draw && !ss_interrupted())
		{
			int64_t		split[SS_MAX_THREADS + 1];

			ss_plan_step(w, order, n_draw, &next, o->batch_size, n_workers, split);
			for (int k = 0; k < n_workers; k++)
				replay_pass(ws[k], d, w, q, order + split[k], split[k + 1] - split[k], 1);
		}
		for (int64_t i = 0; i < n_vw; i += SS_VALIDATION_BATCH)
			replay_pass(ws[0], d, vw + i, vq + i, NULL,
						n_vw - i < SS_VALIDATION_BATCH ? n_vw - i : SS_VALIDATION_BATCH, 0);
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
	ss_free(sets);
	ss_free(vsets);
	*n_w_out = n_w;
	*n_vw_out = n_vw;
	*n_sets_out = n_sets + n_vsets;
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
				n_sets,
				bytes,
				allocs;
	/* unit 'order': the training and validation windows' target sets, two arrays */
	const int	set_allocs = o->unit == SS_UNIT_ORDER ? 2 : 0;

	for (int k = 0; k < n_workers; k++)
		ws[k] = ss_workspace_new_sizing();
	replay_training(d, data, fit, n_fit, val, n_val, o, n_workers, ws, &n_w, &n_vw, &n_sets, longest);

	/* windows, the epoch's order (and sampling cdf), class counts (and alpha) */
	bytes = (int64_t) sizeof(ss_window) * (max64(n_w, 1) + max64(n_vw, 1))
		+ 8 * max64(n_w, ss_epoch_draws(d, o, n_w, n_fit)) + (o->weighted_sampling ? 8 * n_w : 0)
		+ 8 * C + (o->class_weighting ? 4 * C : 0);
	if (ss_arch_of(d)->fit != NULL)
	{
		/*
		 * counted: windows, class counts, one parameter block, the fit's
		 * O(C) scratch, a validation batch and its workspace
		 */
		int64_t		held;

		bytes = (int64_t) sizeof(ss_window) * (max64(n_w, 1) + max64(n_vw, 1)) + 8 * C + 4 * P + 16 * C
			+ (int64_t) sizeof(ss_batch) + 12 * SS_VALIDATION_BATCH
			+ (int64_t) SS_VALIDATION_BATCH * L * (4 * (2 + F + N) + 2) + 4 * n_sets;
		allocs = 15 + set_allocs + ss_workspace_allocations(ws[0], &held);
		bytes += held;
		for (int k = 0; k < n_workers; k++)
			ss_workspace_free(ws[k]);
		*n_allocs = allocs;
		return bytes;
	}
	/* parameters, gradients, the best epoch's, Adam's m and v and itself; a step's windows */
	bytes += 5 * 4 * P + (int64_t) sizeof(ss_adam) + (int64_t) sizeof(ss_window) * bs + 4 * n_sets;
	allocs = 13 + set_allocs;	/* windows 2, counts, alpha, cdf, parameters 3, Adam 3, order, a step's */
	for (int k = 0; k < n_workers; k++)
	{
		/*
		 * batch: lengths, origin, client keys; cat, target, F features, N numerics, and
		 * the bytes of order_start and target_ends per position
		 */
		int64_t		B = k == 0 && bs < SS_VALIDATION_BATCH ? SS_VALIDATION_BATCH : bs,
					held;

		bytes += (int64_t) sizeof(ss_batch) + 12 * B + B * L * (4 * (2 + F + N) + 2);
		bytes += 4 * (bs * L + 1);	/* the step's target classes */
		allocs += 10 + 1 + ss_workspace_allocations(ws[k], &held);
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

/*
 * The hybrid at line level first trains its ranker (train.c) and frees it
 * before its own training: the peak is the larger of the two.
 */
static int64_t
staged_bytes(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
			 const int32_t *val, int n_val, const ss_train_options *o,
			 int64_t *n_allocs, int64_t *longest)
{
	int64_t		bytes = core_bytes(d, data, fit, n_fit, val, n_val, o, n_allocs, longest);

	if (d->arch == SS_ARCH_HYBRID && o->unit == SS_UNIT_LINE)
	{
		ss_dims		rd = *d;
		int64_t		r_allocs,
					r_longest,
					r;

		rd.arch = SS_ARCH_RANKER;
		r = core_bytes(&rd, data, fit, n_fit, val, n_val, o, &r_allocs, &r_longest);
		if (r + r_allocs * SS_ALLOC_OVERHEAD > bytes + *n_allocs * SS_ALLOC_OVERHEAD)
		{
			bytes = r;
			*n_allocs = r_allocs;
		}
	}
	return bytes;
}

int64_t
ss_train_core_memory(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
					 const int32_t *val, int n_val, const ss_train_options *o)
{
	int64_t		n_allocs,
				longest;

	return staged_bytes(d, data, fit, n_fit, val, n_val, o, &n_allocs, &longest);
}

int64_t
ss_train_memory_estimate(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
						 const int32_t *val, int n_val, const ss_train_options *o,
						 int64_t held, int64_t transient)
{
	const int	n_workers = o->threads < 1 ? 1 : (o->threads > SS_MAX_THREADS ? SS_MAX_THREADS : o->threads);
	int64_t		n_allocs,
				longest,
				core = staged_bytes(d, data, fit, n_fit, val, n_val, o, &n_allocs, &longest),
				training = core + n_allocs * SS_ALLOC_OVERHEAD
		+ SS_BLAS_LIBRARY + n_workers * blas_bytes(d, longest);

	return held + (training > transient ? training : transient);
}
