/*
 * train.c - the training loop (train.h): windows drawn per epoch, one
 * data-parallel step per batch of targets (train_step.c), validation
 * Hit@3 after every epoch and early stopping; a counted architecture is
 * fitted in one pass instead (arch.h).  The memory estimate that replays
 * this loop is train_memory.c.
 */
#include "train_impl.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "arch.h"
#include "blas.h"
#include "interrupt.h"
#include "layers.h"
#include "gru4rec.h"
#include "metrics.h"
#include "ranker.h"
#include "simd.h"
#include "ss_alloc.h"

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
	o->samples_per_epoch = 0;
	o->focal_gamma = 2.0;
	o->inner_target_weight = 1.0;
	o->class_weighting = 0;
	o->weighted_sampling = 0;
	o->validation_fraction = 0.1;
	o->seed = 1;
	o->threads = 1;
	o->clip = 5.0;
	o->unit = SS_UNIT_LINE;
}

void
ss_train_options_default_for(ss_train_options *o, int arch)
{
	ss_train_options_default(o);
	if (arch == SS_ARCH_RANKER)
		o->inner_target_weight = 0.1;
	else if (arch == SS_ARCH_HYBRID)
		o->inner_target_weight = 0.3;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
ss_window_stride(const ss_train_options *o)
{
	return o->window_stride > 0 ? o->window_stride : ss_half_window(o->max_length);
}

int64_t
ss_epoch_draws(const ss_dims *d, const ss_train_options *o, int64_t n_windows, int n_fit)
{
	int64_t		n;

	if (o->samples_per_epoch > 0)
		return o->samples_per_epoch;
	if (!ss_arch_of(d)->one_target_per_window)
		return n_windows;
	/* the reference's default for its BiLSTM: min(#targets, 8 x #fitting clients) */
	n = (int64_t) 8 * n_fit;
	return n < n_windows ? n : n_windows;
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


/* ---------------------------------------------------------------- validation */

/*
 * hits@3 of one validation batch into *hits, *n; 0 when interrupted.  With
 * sets (order windows w of the batch), a hit is a member of the window's
 * set in the top 3: next-order Hit@3.
 */
static int
validation_batch(const ss_dims *d, const float *params, ss_batch *batch,
				 const ss_window *w, const int32_t *sets, double inner_weight,
				 ss_workspace *ws, double *hits, double *n)
{
	float	   *logits;
	const int32_t *qt,
			   *qb;
	int			n_q;
	double		h = 0.0,
				total = 0.0;
	const int	per_poll = 1 + (1 << 22) / d->n_classes;	/* ranks of C classes each */

	ss_interrupt_begin();
	n_q = ss_model_forward(d, params, batch, SS_QUERY_TARGETS, 0.0f, NULL, ws,
						   &logits, &qt, &qb);
	for (int q = 0; q < n_q; q++)
	{
		int			y = batch->target[(int64_t) qt[q] * batch->B + qb[q]];

		if (q % per_poll == per_poll - 1 && ss_interrupted())
			break;
		if (sets != NULL)
		{
			const ss_window *wq = &w[batch->origin[qb[q]]];

			h += ss_set_rank(logits + (int64_t) q * d->n_classes, d->n_classes,
							 sets + wq->set_begin, wq->set_size) <= 3;
			total += 1.0;
		}
		else
		{
			/* weighted as in the training: targets that do not end an order by inner_weight */
			double		wt = batch->target_ends[(int64_t) qt[q] * batch->B + qb[q]] ? 1.0 : inner_weight;

			h += wt * (ss_target_rank(logits + (int64_t) q * d->n_classes, d->n_classes, y) <= 3);
			total += wt;
		}
	}
	if (ss_interrupt_end())
		return 0;
	*hits += h;
	*n += total;
	return 1;
}

/*
 * Hit@3 over the validation windows into *hit3 (order windows with their
 * sets: next-order Hit@3); 0 when cancelled (interrupt_served)
 */
static int
validation_hit3(const ss_dims *d, const float *params, const ss_dataset *data,
				const ss_window *w, int64_t n_w, const int32_t *sets, ss_batch *batch,
				double inner_weight, ss_workspace *ws, const ss_train_callbacks *cb, double *hit3)
{
	double		hits = 0.0,
				n = 0.0;

	for (int64_t i = 0; i < n_w; i += SS_VALIDATION_BATCH)
	{
		int			nb = (int) (n_w - i < SS_VALIDATION_BATCH ? n_w - i : SS_VALIDATION_BATCH);

		if (cb && cb->tick)
			cb->tick(cb->arg);
		if ((sets != NULL ? ss_fill_order_batch(data, w + i, nb, sets, batch)
			 : ss_fill_batch(data, w + i, nb, 1, batch)) == 0)
			continue;
		while (!validation_batch(d, params, batch, w + i, sets, inner_weight, ws, &hits, &n))
			if (!ss_train_interrupt_served(cb))
				return 0;
	}
	*hit3 = n > 0 ? hits / n : 0.0;
	return 1;
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


/*
 * A counted architecture (arch.h): its parameters from the fitting
 * clients' events in one pass, then the validation Hit@3 as for a trained
 * model (one "epoch").
 */
static const char *
fit_counted(const ss_dims *d, const ss_dataset *data, const int32_t *fit, int n_fit,
			const ss_window *vw, int64_t n_vw, const int32_t *vsets, const ss_train_options *opt,
			const ss_train_callbacks *cb, ss_train_result *res)
{
	const int64_t n_params = ss_param_count(d);
	double		t0 = now_seconds();
	const char *err;
	ss_epoch_stats st;
	ss_batch   *batch;
	ss_workspace *ws;

	res->n_params = n_params;
	res->params = (float *) ss_alloc(sizeof(float) * (n_params > 0 ? n_params : 1));
	for (;;)
	{
		ss_interrupt_begin();
		err = ss_arch_of(d)->fit(d, data, fit, n_fit, res->params);
		if (!ss_interrupt_end())
			break;
		if (!ss_train_interrupt_served(cb))
			return ss_train_cancelled;
	}
	if (err != NULL)
		return err;
	memset(&st, 0, sizeof(st));
	st.epoch = 1;
	st.seconds = now_seconds() - t0;
	st.targets = res->train_targets;
	res->seconds_total = st.seconds;
	res->targets_per_second = st.seconds > 0 ? res->train_targets / st.seconds : 0.0;
	res->epochs_run = 1;
	res->best_epoch = 1;
	res->best_validation_hit3 = 0.0;
	t0 = now_seconds();
	if (n_vw > 0)
	{
		batch = ss_batch_new(d, SS_VALIDATION_BATCH, opt->max_length);
		ws = ss_workspace_new();
		if (!validation_hit3(d, res->params, data, vw, n_vw, vsets, batch, opt->inner_target_weight, ws, cb, &st.validation_hit3))
			err = ss_train_cancelled;
		res->workspace_bytes = ss_workspace_bytes(ws);
		ss_workspace_free(ws);
		ss_batch_free(batch);
		if (err != NULL)
			return err;
		res->best_validation_hit3 = st.validation_hit3;
	}
	st.validation_seconds = now_seconds() - t0;
	st.improved = 1;
	if (cb && cb->epoch_done)
		(void) cb->epoch_done(cb->arg, &st);
	return NULL;
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
	int32_t    *y,
			   *sets = NULL,
			   *vsets = NULL;
	int64_t		n_sets,
				n_vsets;
	ss_window  *w,
			   *vw,
			   *picked;
	ss_batch   *batch;
	ss_workspace *ws;
	ss_adam    *adam;
	int			since_best = 0;
	step_worker workers[SS_MAX_THREADS];
	int			n_workers;
	const int	per_target = ss_arch_of(d)->one_target_per_window;
	int64_t		n_draw;
	float	   *start = NULL;	/* the hybrid's: the ranker it starts from */

	memset(res, 0, sizeof(*res));
	if ((err = ss_blas_load()) != NULL)
		return err;
	/* parallelism comes from our own workers: OpenBLAS stays single-threaded */
	ss_blas_set_threads(1);

	if (d->arch == SS_ARCH_HYBRID && opt->unit == SS_UNIT_LINE)
	{
		/*
		 * The hybrid (line level) starts from the feature ranker trained on the same
		 * clients (its head's weights and biases; the statistics are the
		 * same counts), and from a validation of that start: the network
		 * then only adds what it finds on top of counting, and early
		 * stopping keeps the start when it finds nothing.  The ranker's
		 * training is done and freed before the hybrid's begins (its peak
		 * is below the hybrid's: train_memory.c).
		 */
		ss_dims		rd = *d;
		ss_train_result rr;
		ss_train_callbacks rcb = {0};

		rd.arch = SS_ARCH_RANKER;
		if (cb)
		{
			rcb.arg = cb->arg;
			rcb.tick = cb->tick;	/* no epoch reports: the training log is the hybrid's */
		}
		if ((err = ss_train(&rd, data, fit, n_fit, val, n_val, opt, &rcb, &rr)) != NULL)
			return err;
		start = rr.params;
		rr.params = NULL;
		ss_train_result_free(&rr);
	}

	/*
	 * Validation keeps the reference's windows whatever the training stride:
	 * early stopping then measures the same thing as the test (contexts of
	 * more than L / 2 events).
	 */
	if (opt->unit == SS_UNIT_ORDER)
	{
		/* one window per order after a client's first (windows.h): validation the same */
		w = ss_order_windows_of(data, fit, n_fit, opt->max_length, &sets, &n_sets, &n_w);
		vw = ss_order_windows_of(data, val, n_val, opt->max_length, &vsets, &n_vsets, &n_vw);
		if (n_w == 0)
		{
			ss_free(w);
			ss_free(vw);
			ss_free(sets);
			ss_free(vsets);
			return "no training targets: no training client has a second order with a known category";
		}
	}
	else
	{
		w = ss_windows_of(data, fit, n_fit, opt->max_length, ss_window_stride(opt), per_target, &n_w);
		vw = ss_windows_of(data, val, n_val, opt->max_length, ss_half_window(opt->max_length), per_target,
						   &n_vw);
	}
	if (n_w == 0)
		return "no training targets: every training client has a single event";

	/*
	 * class counts over the owned training targets (the members of the
	 * order windows' sets; train_targets then counts the orders); focal
	 * alpha
	 */
	counts = SS_NEW_ARRAY(double, C);
	for (int64_t i = 0; i < n_w; i++)
		if (sets != NULL)
		{
			for (int32_t j = 0; j < w[i].set_size; j++)
				counts[sets[w[i].set_begin + j]] += 1.0;
			res->train_targets++;
		}
		else
			for (int64_t r = ss_first_owned(&w[i]); r <= w[i].end; r++)
				if (data->target[r] >= 0)
				{
					counts[data->target[r]] += 1.0;
					res->train_targets++;
				}
	if (res->train_targets == 0)
		return "no training targets with a known category";
	if (ss_arch_of(d)->fit != NULL)
	{
		err = fit_counted(d, data, fit, n_fit, vw, n_vw, vsets, opt, cb, res);
		res->class_counts = counts;
		res->n_windows = n_w;
		if (err != NULL)
			ss_train_result_free(res);
		ss_free(w);
		ss_free(vw);
		ss_free(sets);
		ss_free(vsets);
		return err;
	}
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
		cdf = ss_window_cdf(data, w, n_w, counts, sets);

	ss_rng_seed(&init_rng, (uint64_t) opt->seed);
	ss_rng_seed(&sample_rng, (uint64_t) opt->seed ^ SS_SAMPLE_SEED_MIX);
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
		if (!ss_train_interrupt_served(cb))
		{
			ss_free(params);
			ss_free(grads);
			ss_free(alpha);
			ss_free(cdf);
			ss_free(counts);
			ss_free(w);
			ss_free(vw);
			ss_free(sets);
			ss_free(vsets);
			ss_train_result_free(res);
			return ss_train_cancelled;
		}
	}
	if (start != NULL)
	{
		/* the ranker's statistics are the hybrid's (the same counts): copied, not counted again */
		ss_ranker_params r;
		ss_gru4rec_params h;

		ss_ranker_bind(d, start, &r);
		ss_gru4rec_bind(d, params, &h);
		memcpy(h.stats.log_pop, r.stats.log_pop, sizeof(float) * (size_t) ss_hist_stats_floats(C));
		memcpy(h.head, r.w, sizeof(float) * SS_HIST_FEATURES);
		for (int c = 0; c < C; c++)
			h.b_o[c] = SS_HEAD_SCALE * r.b[c];
		/* and a network's share of the logits that starts at 0 */
		memset(h.w_o, 0, sizeof(float) * (size_t) C * 2 * d->hidden);
		ss_free(start);
	}
	else if (ss_arch_of(d)->prepare != NULL)
		ss_arch_of(d)->prepare(d, data, fit, n_fit, params);
	copy_params(res->params, params, n_params, cb);
	n_draw = ss_epoch_draws(d, opt, n_w, n_fit);
	adam = ss_adam_new(n_params, (float) opt->learning_rate);
	order = SS_NEW_ARRAY(int64_t, n_w > n_draw ? n_w : n_draw);
	picked = SS_NEW_ARRAY(ss_window, opt->batch_size);
	y = SS_NEW_ARRAY(int32_t, (int64_t) opt->batch_size * opt->max_length + 1);
	batch = ss_batch_new(d, opt->batch_size > SS_VALIDATION_BATCH ? opt->batch_size : SS_VALIDATION_BATCH,
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
		wk->inner_weight = (float) opt->inner_target_weight;
		wk->dropout = (float) opt->dropout;
		wk->n_params = n_params;
		wk->sets = sets;
	}
	res->best_validation_hit3 = -1.0;
	res->n_windows = n_w;
	if (d->arch == SS_ARCH_HYBRID && opt->unit == SS_UNIT_LINE && n_vw > 0)
	{
		/* epoch 0: the start (the ranker's), kept unless an epoch validates better */
		if (!validation_hit3(d, params, data, vw, n_vw, vsets, batch, opt->inner_target_weight, ws, cb, &res->best_validation_hit3))
			err = ss_train_cancelled;
	}

	for (int epoch = 1; err == NULL && epoch <= opt->epochs; epoch++)
	{
		ss_epoch_stats st;
		double		t0 = now_seconds(),
					flops0 = ss_blas_flops(),
					loss_sum = 0.0;
		int64_t		n_targets = 0;
		int64_t		next = 0;

		memset(&st, 0, sizeof(st));
		ss_draw_epoch(n_w, n_draw, cdf, &sample_rng, order);
		while (next < n_draw)
		{
			int64_t		nt = 0,
						split[SS_MAX_THREADS + 1];
			int			n_q = 0;
			double		loss;

			if (cb && cb->tick)
				cb->tick(cb->arg);
			ss_plan_step(w, order, n_draw, &next, opt->batch_size, n_workers, split);
			for (int k = 0; k < n_workers; k++)
			{
				int			nb = (int) (split[k + 1] - split[k]);

				ss_window  *mine = picked + (split[k] - split[0]);

				for (int i = 0; i < nb; i++)
					mine[i] = w[order[split[k] + i]];
				workers[k].windows = mine;
				workers[k].targets = nb == 0 ? 0 : sets != NULL
					? ss_fill_order_batch(data, mine, nb, sets, workers[k].batch)
					: ss_fill_batch(data, mine, nb, 1, workers[k].batch);
				if (workers[k].targets > 0)
					ss_workspace_reserve(workers[k].ws, d, workers[k].batch, 1);
				nt += workers[k].targets;
			}
			if (nt == 0)
				continue;
			for (int k = 0; k < n_workers; k++)
			{
				workers[k].params = params;
				workers[k].total_targets = nt;
			}
			if (!ss_train_step(workers, n_workers, n_params, params, adam, opt->clip, cb,
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
			!validation_hit3(d, params, data, vw, n_vw, vsets, batch, opt->inner_target_weight, ws, cb, &st.validation_hit3))
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
		if (cb && cb->epoch_done && cb->epoch_done(cb->arg, &st))
			break;				/* the caller stops it (a pruned trial): the best epoch is kept */
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
	ss_free(sets);
	ss_free(vsets);
	return err;
}

