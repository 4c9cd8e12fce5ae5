/*
 * test_interrupt.c - cutting the engine short (interrupt.h): tiled products
 * equal untiled ones, a flag set by another thread stops a large training
 * step promptly with ss_train_cancelled and no thread left, and a benign
 * interrupt (served by the tick, flags clear again) anywhere in a training
 * or a prediction leaves the results bit for bit those of an uninterrupted
 * run.
 */
#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "../../src/core/blas.h"
#include "../../src/core/interrupt.h"
#include "../../src/core/model.h"
#include "../../src/core/packed.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/train.h"

static volatile sig_atomic_t flag;

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t) s;
	ts.tv_nsec = (long) ((s - (double) ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* threads of this process */
static int
thread_count(void)
{
	DIR		   *d = opendir("/proc/self/task");
	struct dirent *e;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static float *
random_floats(ss_rng *rng, int64_t n)
{
	float	   *x = SS_NEW_ARRAY(float, n);

	for (int64_t i = 0; i < n; i++)
		x[i] = ss_rng_normal(rng);
	return x;
}

/* largest |x - y| relative to the largest |y| */
static double
rel_diff(const float *x, const float *y, int64_t n)
{
	double		d = 0.0,
				s = 1e-30;

	for (int64_t i = 0; i < n; i++)
	{
		d = fmax(d, fabs((double) x[i] - y[i]));
		s = fmax(s, fabs((double) y[i]));
	}
	return d / s;
}

/* ---------------------------------------------------------------- tiles */

/*
 * Products above SS_POLL_FLOPS are tiled (and, past k = 2048, cut in k):
 * every transposition against the plain loops, odd shapes, padded strides,
 * beta 0 and 1; the packed kernel's cut spans too (one row against large
 * weights, many rows).
 */
static void
test_tiles(void)
{
	static const int shapes[][3] = {{701, 397, 503}, {61, 67, 40000}};
	ss_rng		rng;
	double		worst = 0.0;

	ss_rng_seed(&rng, 11);
	for (int s = 0; s < 2; s++)
		for (int ta = 0; ta <= 1; ta++)
			for (int tb = 0; tb <= 1; tb++)
			{
				const int	M = shapes[s][0],
							N = shapes[s][1],
							K = shapes[s][2],
							beta = (ta + tb + s) % 2,
							lda = (ta ? M : K) + 1,
							ldb = (tb ? K : N) + 2,
							ldc = N + 3;
				float	   *a = random_floats(&rng, (int64_t) (ta ? K : M) * lda),
						   *b = random_floats(&rng, (int64_t) (tb ? N : K) * ldb),
						   *c1 = random_floats(&rng, (int64_t) M * ldc),
						   *c2 = SS_NEW_ARRAY(float, (int64_t) M * ldc);

				memcpy(c2, c1, sizeof(float) * M * ldc);
				ss_sgemm(ta, tb, M, N, K, 0.5f, a, lda, b, ldb, (float) beta, c1, ldc);
				ss_sgemm_plain(ta, tb, M, N, K, 0.5f, a, lda, b, ldb, (float) beta, c2, ldc);
				worst = fmax(worst, rel_diff(c1, c2, (int64_t) M * ldc));
				ss_free(a);
				ss_free(b);
				ss_free(c1);
				ss_free(c2);
			}
	CHECK(worst < 1e-5, "tiled products (2^28 flops a tile, k cut past 2048) equal the plain loops "
		  "for every transposition (max relative diff %.1e)", worst);

	worst = 0.0;
	{
		static const int pshapes[][3] = {{1, 4096, 1500}, {14, 3000, 1000}};

		for (int s = 0; s < 2; s++)
		{
			const int	M = pshapes[s][0],
						N = pshapes[s][1],
						K = pshapes[s][2];
			float	   *a = random_floats(&rng, (int64_t) M * K),
					   *w = random_floats(&rng, (int64_t) N * K),
					   *packed = SS_NEW_ARRAY(float, ss_packed_floats(K, N)),
					   *c1 = SS_NEW_ARRAY(float, (int64_t) M * N),
					   *c2 = SS_NEW_ARRAY(float, (int64_t) M * N);

			ss_pack(1, K, N, w, K, NULL, packed);
			ss_packed_gemm(M, N, K, a, K, packed, 0.0f, c1, N);
			ss_sgemm_plain(0, 1, M, N, K, 1.0f, a, K, w, K, 0.0f, c2, N);
			worst = fmax(worst, rel_diff(c1, c2, (int64_t) M * N));
			ss_free(a);
			ss_free(w);
			ss_free(packed);
			ss_free(c1);
			ss_free(c2);
		}
	}
	CHECK(worst < 1e-5, "packed products cut in spans of panels equal the plain loops "
		  "(one row against 24 MB of weights, 14 rows against 12 MB; max relative diff %.1e)", worst);
}

/* ---------------------------------------------------------------- training */

/* next category = (category + 1) mod C, clients of 3 .. 3 + spread events */
static ss_dataset *
cycle_data(int n_clients, int C, int spread, ss_rng *rng)
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
		n += 3 + (int) ss_rng_below(rng, spread);
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

static void
free_data(ss_dataset *d)
{
	ss_free(d->offsets);
	ss_free(d->cat_in);
	ss_free(d->feat_in);
	ss_free(d->num_in);
	ss_free(d->target);
	ss_free(d);
}

typedef struct
{
	int			ticks;
	int			clear;			/* the tick clears the flag (a benign interrupt) */
	int			served;			/* ticks that found the flag set */
} tick_state;

static void
on_tick(void *arg)
{
	tick_state *t = arg;

	t->ticks++;
	if (flag)
	{
		t->served++;
		if (t->clear)
			flag = 0;
	}
}

typedef struct
{
	const tick_state *ticks;
	double		delay;			/* after the first tick */
	double		period;			/* > 0: set the flag again every period until stop */
	volatile int stop;
	double		set_at;
} setter_state;

static void *
setter_main(void *arg)
{
	setter_state *s = arg;

	while (__atomic_load_n(&s->ticks->ticks, __ATOMIC_RELAXED) < 1 && !s->stop)
		sleep_s(0.001);
	sleep_s(s->delay);
	s->set_at = seconds();
	flag = 1;
	/* at most 200 times: a training on a machine too busy to step within a period still ends */
	for (int i = 0; s->period > 0 && !s->stop && i < 200; i++)
	{
		sleep_s(s->period);
		flag = 1;
	}
	return NULL;
}

static void
setup_dims(ss_dims *d, int hidden)
{
	memset(d, 0, sizeof(*d));
	d->n_classes = 8;
	d->n_features = 1;
	d->feature_vocab[0] = 3;
	d->n_numeric = 1;
	d->hidden = hidden;
	d->layers = 1;
	d->attn = hidden;
	ss_dims_finish(d, 1.0);
}

/*
 * A step of over a second (hidden 512, 4096 targets, two threads): the
 * flag set 0.2 s into it by another thread; the tick leaves it set.
 */
static void
test_cancel_big_step(void)
{
	const volatile sig_atomic_t *flags[1] = {&flag};
	ss_rng		rng;
	ss_dataset *data;
	ss_dims		d;
	ss_train_options o;
	ss_train_result r;
	int32_t		fit[400];
	tick_state	ts = {0, 0, 0};
	ss_train_callbacks cb = {&ts, on_tick, NULL};
	setter_state ss = {&ts, 0.2, 0.0, 0, 0.0};
	pthread_t	th;
	const char *err;
	double		stopped;
	int			threads_before,
				threads_after;

	ss_rng_seed(&rng, 5);
	data = cycle_data(400, 8, 60, &rng);
	for (int i = 0; i < 400; i++)
		fit[i] = i;
	setup_dims(&d, 512);
	ss_train_options_default(&o);
	o.hidden = 512;
	o.batch_size = 4096;
	o.threads = 2;
	o.epochs = 1;
	ss_interrupt_watch(flags, 1);
	flag = 0;
	threads_before = thread_count();
	pthread_create(&th, NULL, setter_main, &ss);
	err = ss_train(&d, data, fit, 400, NULL, 0, &o, &cb, &r);
	stopped = seconds();
	pthread_join(th, NULL);
	threads_after = thread_count();
	CHECK(err == ss_train_cancelled && r.params == NULL && ts.served >= 1,
		  "a flag set during a large step (hidden 512, 4096 targets, 2 threads) cancels the training "
		  "(%s), nothing kept", err ? err : "finished");
	CHECK(stopped - ss.set_at < 0.5, "ss_train returned %.3f s after the flag (limit 0.5 s; the "
		  "step takes over 1 s)", stopped - ss.set_at);
	CHECK(threads_after == threads_before, "no thread left running (%d threads before, %d after)",
		  threads_before, threads_after);
	flag = 0;
	ss_interrupt_watch(NULL, 0);
	free_data(data);
}

/*
 * The small training of a few hundred ms the benign tests repeat: two
 * threads with dropout (streams to rewind), validation, two epochs.
 */
static const char *
small_training(const ss_dataset *data, const ss_dims *d, tick_state *ts, ss_train_result *r)
{
	ss_train_options o;
	int32_t		fit[160],
				val[40];
	ss_train_callbacks cb = {ts, on_tick, NULL};

	for (int i = 0; i < 160; i++)
		fit[i] = i;
	for (int i = 0; i < 40; i++)
		val[i] = 160 + i;
	ss_train_options_default(&o);
	o.hidden = d->hidden;
	o.epochs = 2;
	o.batch_size = 64;
	o.max_length = 8;
	o.threads = 2;
	o.dropout = 0.3;
	return ss_train(d, data, fit, 160, val, 40, &o, &cb, r);
}

/*
 * Benign interrupts: the n-th poll of a training acts as a set flag
 * (ss_interrupt_inject), for n spread over every poll of an uninterrupted
 * run (initialisation, forward and backward passes on both threads, the
 * gradient sum, the Adam step, validation); then a real flag set every few
 * ms by another thread and cleared by the tick.  Each time the weights are
 * those of the uninterrupted run, bit for bit.
 */
static void
test_benign(void)
{
	const volatile sig_atomic_t *flags[1] = {&flag};
	ss_rng		rng;
	ss_dataset *data;
	ss_dims		d;
	ss_train_result ref,
				r;
	tick_state	ts = {0, 1, 0};
	int64_t		polls;
	int			same = 1,
				cut = 1,
				runs = 0;
	const char *err;

	ss_rng_seed(&rng, 3);
	data = cycle_data(200, 8, 20, &rng);
	setup_dims(&d, 16);
	ss_interrupt_watch(flags, 1);
	flag = 0;
	ss_interrupt_inject(0);
	err = small_training(data, &d, &ts, &ref);
	polls = ss_interrupt_polls();
	CHECK(err == NULL && polls > 100, "an uninterrupted training polls %ld times", (long) polls);
	for (int i = 0; i < 24 && err == NULL; i++)
	{
		/* the first polls (initialisation, the first step) one by one, then spread out */
		int64_t		n = i < 8 ? i + 1 : 8 + (polls - 8) * (i - 7) / 17;
		int			ticks_ref = ts.ticks;

		ts.ticks = 0;
		ss_interrupt_inject(n);
		err = small_training(data, &d, &ts, &r);
		runs++;
		if (err != NULL || memcmp(r.params, ref.params, sizeof(float) * ref.n_params) != 0)
			same = 0;
		if (ts.ticks != ticks_ref + 1)	/* one more tick: the interrupt served */
			cut = 0;
		ts.ticks = ticks_ref;
		if (err == NULL)
			ss_train_result_free(&r);
	}
	ss_interrupt_inject(0);
	CHECK(same && cut, "an interrupt served at any of %d polls spread over a training "
		  "(each one more tick) leaves the weights bit for bit those of an uninterrupted run", runs);
	{
		setter_state ss = {&ts, 0.0, 0.002, 0, 0.0};
		pthread_t	th;

		ts.ticks = 0;
		ts.served = 0;
		pthread_create(&th, NULL, setter_main, &ss);
		err = small_training(data, &d, &ts, &r);
		ss.stop = 1;
		pthread_join(th, NULL);
		flag = 0;
		CHECK(err == NULL && ts.served >= 2 &&
			  memcmp(r.params, ref.params, sizeof(float) * ref.n_params) == 0,
			  "a flag set every 2 ms by another thread, cleared by the tick (%d interrupts "
			  "served): the weights of the uninterrupted run", ts.served);
		if (err == NULL)
			ss_train_result_free(&r);
	}
	{
		/* a flag the tick does not clear: ss_train_cancelled, nothing kept */
		tick_state	keep = {0, 0, 0};

		flag = 1;
		err = small_training(data, &d, &keep, &r);
		CHECK(err == ss_train_cancelled && r.params == NULL && keep.served == 1,
			  "a flag still set after the tick: ss_train returns ss_train_cancelled");
		flag = 0;
	}
	{
		/* predictions: cut, then the same probabilities when called again */
		ss_window	w[2];
		ss_batch   *b = ss_batch_new(&d, 2, 50);
		ss_batch   *bk[2] = {ss_batch_new(&d, 1, 50), ss_batch_new(&d, 1, 50)};
		ss_workspace *ws = ss_workspace_new();
		ss_workspace *wk[2] = {ss_workspace_new(), ss_workspace_new()};
		float		p1[16],
					p2[16],
					pk[2][8],
					pk2[2][8];
		float	   *pp[2] = {pk[0], pk[1]},
				   *pp2[2] = {pk2[0], pk2[1]};
		int			ok1,
					ok2,
					okb1,
					okb2;

		for (int i = 0; i < 2; i++)
		{
			w[i].start = data->offsets[160 + i];
			w[i].end = data->offsets[161 + i] - 1;
			w[i].first_target = w[i].end;
		}
		ss_fill_batch(data, w, 2, 0, b);
		ss_fill_batch(data, &w[0], 1, 0, bk[0]);
		ss_fill_batch(data, &w[1], 1, 0, bk[1]);
		ss_predict_batch(&d, ref.params, b, ws, p1);
		ss_predict_batches(&d, ref.params, bk, wk, pp2, 2);
		ss_interrupt_inject(3);
		ok1 = ss_predict_batch(&d, ref.params, b, ws, p2);
		ok2 = ss_predict_batch(&d, ref.params, b, ws, p2);
		ss_interrupt_inject(2);
		okb1 = ss_predict_batches(&d, ref.params, bk, wk, pp, 2);
		okb2 = ss_predict_batches(&d, ref.params, bk, wk, pp, 2);
		ss_interrupt_inject(0);
		CHECK(!ok1 && ok2 && !okb1 && okb2 && memcmp(p1, p2, sizeof(p1)) == 0 &&
			  memcmp(pk, pk2, sizeof(pk)) == 0,
			  "a cut prediction says so (ss_predict_batch, ss_predict_batches); called again it "
			  "gives the probabilities of an uninterrupted call");
		ss_batch_free(b);
		ss_batch_free(bk[0]);
		ss_batch_free(bk[1]);
		ss_workspace_free(ws);
		ss_workspace_free(wk[0]);
		ss_workspace_free(wk[1]);
	}
	ss_train_result_free(&ref);
	ss_interrupt_watch(NULL, 0);
	free_data(data);
}

void		run_interrupt_tests(void);

void
run_interrupt_tests(void)
{
	test_tiles();
	test_benign();
	test_cancel_big_step();
}
