/*
 * test_train.c - windows as the reference builds them, and the training
 * loop on a small learnable problem: determinism for a seed, learning, and
 * early stopping keeping the best epoch.
 */
#include <pthread.h>
#include <string.h>

#include "unit.h"
#include "../../src/core/metrics.h"
#include "../../src/core/layers.h"
#include "../../src/core/model.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/train.h"

static void
test_windows(void)
{
	ss_window	w[8];
	int64_t		n;

	/* 5 events, L = 50: one exact window, inputs 0..3, targets 1..4 */
	n = ss_client_windows(100, 5, 50, 25, w);
	CHECK(n == 1 && w[0].start == 100 && w[0].end == 104 && w[0].first_target == 101,
		  "a short client is one window owning every target");
	/* 12 events, L = 4 (h = 2): windows start 0, 2, 4, 6, 8 */
	n = ss_client_windows(0, 12, 4, 2, w);
	CHECK(n == 5 && w[4].start == 8 && w[4].end == 11,
		  "the reference's stride L / 2: windows start every two events");
	/* every stride: each target owned once, by a window of at most L inputs
	 * whose owned targets see at least L - stride + 1 events (or all before) */
	for (int stride = 1; stride <= 4; stride++)
	{
		int			owned[12] = {0};
		int			ok;

		n = ss_client_windows(0, 12, 4, stride, w);
		ok = n == ss_window_count(12, 4, stride) && n == (7 + stride - 1) / stride + 1;	/* until a start reaches n - 1 - L = 7 */
		for (int i = 0; i < n; i++)
		{
			int64_t		f = w[i].first_target > w[i].start + 1 ? w[i].first_target : w[i].start + 1;

			for (int64_t r = f; r <= w[i].end; r++)
			{
				owned[r]++;
				if (w[i].start > 0 && r - w[i].start < 4 - stride + 1)
					ok = 0;
			}
			if (w[i].end - w[i].start > 4)
				ok = 0;
		}
		for (int r = 1; r < 12; r++)
			if (owned[r] != 1)
				ok = 0;
		CHECK(ok && owned[0] == 0, "long client, stride %d: windows of at most L inputs own each target once",
			  stride);
	}
	CHECK(ss_window_count(1, 50, 25) == 0, "a single-event client has no window");
}

/* next category = (category + 1) mod C, plus noise features */
static ss_dataset *
make_cycle_data(int n_clients, int C, ss_rng *rng)
{
	ss_dataset *d = SS_NEW_ARRAY(ss_dataset, 1);
	int64_t		n = 0;

	d->n_clients = n_clients;
	d->n_features = 1;
	d->n_numeric = 1;
	d->offsets = SS_NEW_ARRAY(int64_t, n_clients + 1);
	for (int c = 0; c < n_clients; c++)
	{
		d->offsets[c] = n;
		n += 3 + (int) ss_rng_below(rng, 20);
	}
	d->offsets[n_clients] = n;
	d->n_events = n;
	d->cat_in = SS_NEW_ARRAY(int32_t, n);
	d->feat_in = SS_NEW_ARRAY(int32_t, n);
	d->num_in = SS_NEW_ARRAY(float, n);
	d->target = SS_NEW_ARRAY(int32_t, n);
	for (int c = 0; c < n_clients; c++)
	{
		int			k = (int) ss_rng_below(rng, C);

		for (int64_t i = d->offsets[c]; i < d->offsets[c + 1]; i++)
		{
			d->target[i] = k;
			d->cat_in[i] = k + SS_N_RESERVED;
			d->feat_in[i] = 2 + (int) ss_rng_below(rng, 3);
			d->num_in[i] = ss_rng_normal(rng);
			k = (k + 1) % C;
		}
	}
	return d;
}

/* allocations made off the thread that called the engine (workers must make none) */
static pthread_t main_thread;
static int	off_main_allocs;

static void *
watched_alloc(size_t size)
{
	if (!pthread_equal(pthread_self(), main_thread))
		__atomic_add_fetch(&off_main_allocs, 1, __ATOMIC_RELAXED);
	return malloc(size ? size : 1);
}

typedef struct
{
	int			epochs_seen;
	double		last_hit3;
} cb_state;

static int
on_epoch(void *arg, const ss_epoch_stats *st)
{
	cb_state   *s = arg;

	s->epochs_seen++;
	s->last_hit3 = st->validation_hit3;
	return 0;
}

static void
test_training(void)
{
	ss_rng		rng;
	ss_dataset *data;
	ss_dims		d;
	ss_train_options o;
	ss_train_result r1,
				r2;
	int32_t		fit[160],
				val[40];
	cb_state	st = {0};
	ss_train_callbacks cb = {&st, NULL, on_epoch};
	const char *err;

	ss_rng_seed(&rng, 3);
	data = make_cycle_data(200, 8, &rng);
	for (int i = 0; i < 160; i++)
		fit[i] = i;
	for (int i = 0; i < 40; i++)
		val[i] = 160 + i;
	memset(&d, 0, sizeof(d));
	d.n_classes = 8;
	d.n_features = 1;
	d.feature_vocab[0] = 3;
	d.n_numeric = 1;
	d.hidden = 16;
	d.layers = 1;
	d.attn = 16;
	ss_dims_finish(&d, 1.0);
	ss_train_options_default(&o);
	o.hidden = 16;
	o.epochs = 8;
	o.batch_size = 64;
	o.learning_rate = 1e-2;
	o.max_length = 8;

	err = ss_train(&d, data, fit, 160, val, 40, &o, &cb, &r1);
	CHECK(err == NULL, "training runs (%s)", err ? err : "ok");
	if (err != NULL)
		return;
	CHECK(r1.best_validation_hit3 > 0.9, "a learnable sequence is learnt: validation Hit@3 %.3f",
		  r1.best_validation_hit3);
	CHECK(st.epochs_seen == r1.epochs_run && r1.best_epoch >= 1 && r1.best_epoch <= r1.epochs_run,
		  "one epoch callback per epoch, best epoch within the run");
	err = ss_train(&d, data, fit, 160, val, 40, &o, NULL, &r2);
	CHECK(err == NULL && r2.n_params == r1.n_params &&
		  memcmp(r1.params, r2.params, sizeof(float) * r1.n_params) == 0,
		  "training is deterministic for a seed");
	ss_train_result_free(&r2);
	o.seed = 2;
	o.weighted_sampling = 1;
	o.layers = 2;
	d.layers = 2;
	ss_dims_finish(&d, 1.0);
	err = ss_train(&d, data, fit, 160, val, 40, &o, NULL, &r2);
	CHECK(err == NULL && r2.best_validation_hit3 > 0.8,
		  "two layers with weighted sampling learn too: Hit@3 %.3f", r2.best_validation_hit3);
	CHECK(err == NULL && memcmp(r1.params, r2.params, sizeof(float) * 16) != 0,
		  "another seed gives other weights");
	ss_train_result_free(&r1);
	ss_train_result_free(&r2);
	{
		/*
		 * data-parallel steps: without dropout, two workers compute the same
		 * gradients as one (up to summation order), so the weights agree
		 */
		ss_train_result p1,
					p2,
					p3;
		double		diff = 0.0,
					scale = 0.0;

		o.layers = 1;
		d.layers = 1;
		ss_dims_finish(&d, 1.0);
		o.dropout = 0.0;
		o.epochs = 2;
		o.seed = 4;
		o.weighted_sampling = 0;
		o.threads = 1;
		ss_train(&d, data, fit, 160, val, 40, &o, NULL, &p1);
		o.threads = 2;
		err = ss_train(&d, data, fit, 160, val, 40, &o, NULL, &p2);
		ss_train(&d, data, fit, 160, val, 40, &o, NULL, &p3);
		for (int64_t i = 0; i < p1.n_params; i++)
		{
			diff = fmax(diff, fabs(p1.params[i] - p2.params[i]));
			scale = fmax(scale, fabs(p1.params[i]));
		}
		CHECK(err == NULL && diff < 1e-3 * scale,
			  "two worker threads train the same model as one (max weight difference %.2e of %.2e)",
			  diff, scale);
		CHECK(memcmp(p2.params, p3.params, sizeof(float) * p2.n_params) == 0,
			  "two worker threads are deterministic for a seed");
		ss_train_result_free(&p1);
		ss_train_result_free(&p2);
		ss_train_result_free(&p3);
		o.threads = 3;
		o.dropout = 0.2;
		o.epochs = 8;
		err = ss_train(&d, data, fit, 160, val, 40, &o, NULL, &p1);
		CHECK(err == NULL && p1.best_validation_hit3 > 0.9,
			  "three worker threads with dropout learn: Hit@3 %.3f", p1.best_validation_hit3);
		ss_train_result_free(&p1);
		o.threads = 1;
	}
	{
		/* prediction: batch of the last window of two validation clients */
		ss_window	w[2];
		ss_batch   *b = ss_batch_new(&d, 2, 50);
		ss_workspace *ws = ss_workspace_new();
		float		probs[16];
		double		s0 = 0,
					s1 = 0;

		o.layers = 1;
		d.layers = 1;
		ss_dims_finish(&d, 1.0);
		ss_train(&d, data, fit, 160, val, 40, &o, NULL, &r1);
		for (int i = 0; i < 2; i++)
		{
			int			c = val[i];

			w[i].start = data->offsets[c];
			w[i].end = data->offsets[c + 1] - 1;
			w[i].first_target = w[i].end;
		}
		ss_fill_batch(data, w, 2, 0, b);
		ss_predict_batch(&d, r1.params, b, ws, probs);
		for (int j = 0; j < 8; j++)
		{
			s0 += probs[j];
			s1 += probs[8 + j];
		}
		CHECK(fabs(s0 - 1) < 1e-5 && fabs(s1 - 1) < 1e-5, "predicted probabilities sum to 1");
		/* rows of the batch are longest first: origin says which window each is */
		CHECK(ss_target_rank(probs, 8, data->target[w[b->origin[0]].end]) == 1 &&
			  ss_target_rank(probs + 8, 8, data->target[w[b->origin[1]].end]) == 1,
			  "the next category of a held-out client is ranked first");
		{
			/* the same two clients as two batches on two threads */
			ss_batch   *bk[2] = {ss_batch_new(&d, 1, 50), ss_batch_new(&d, 1, 50)};
			ss_workspace *wk[2] = {ss_workspace_new(), ss_workspace_new()};
			float		pk[2][8];
			float	   *pp[2] = {pk[0], pk[1]};
			double		diff = 0;

			ss_fill_batch(data, &w[0], 1, 0, bk[0]);
			ss_fill_batch(data, &w[1], 1, 0, bk[1]);
			main_thread = pthread_self();
			off_main_allocs = 0;
			ss_set_allocator(watched_alloc, NULL);
			ss_predict_batches(&d, r1.params, bk, wk, pp, 2);
			ss_set_allocator(NULL, NULL);
			for (int r = 0; r < 2; r++)
				for (int j = 0; j < 8; j++)
					diff = fmax(diff, fabs(probs[r * 8 + j] - pk[b->origin[r]][j]));
			CHECK(diff < 1e-6 && off_main_allocs == 0,
				  "two batches on two threads: the probabilities of one batch (max diff %.1g), "
				  "no allocation off the calling thread (%d)", diff, off_main_allocs);
			for (int k = 0; k < 2; k++)
			{
				ss_batch_free(bk[k]);
				ss_workspace_free(wk[k]);
			}
		}
		ss_batch_free(b);
		ss_workspace_free(ws);
		ss_train_result_free(&r1);
	}
}

void		run_train_tests(void);

void
run_train_tests(void)
{
	test_windows();
	test_training();
}
