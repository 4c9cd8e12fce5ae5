/*
 * cancel_bench.c - how soon the engine stops once an interrupt flag is set
 * (interrupt.h), with no server: a training (or a batch prediction) of the
 * given size runs, another thread sets the flag at a random moment inside
 * an optimiser step (inside the prediction), and the time until ss_train
 * (ss_predict_batches) returns is the latency.  The tick leaves the flag
 * set, so ss_train returns ss_train_cancelled: the latency covers the cut
 * step, the joins and freeing everything, as a cancelled backend does
 * before PostgreSQL's own error clean-up; "served" is the part until the
 * tick is called (where PostgreSQL throws), the rest is freeing memory.
 *
 *   make bench/cancel_bench
 *   bench/cancel_bench [key=value ...]
 *     hidden=2048 layers=1 batch=256 max_length=50 threads=1 clients=300
 *     events=60 (a client has 2 + uniform(0, events) events) trials=5
 *     mode=train|validation|predict  step_guess=2.0 (seconds: the flag is
 *     set uniformly within that long after the step starts)
 *
 * Prints one JSON line: the configuration, the latencies in seconds, their
 * median and maximum.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/core/blas.h"
#include "../src/core/interrupt.h"
#include "../src/core/model.h"
#include "../src/core/rng.h"
#include "../src/core/ss_alloc.h"
#include "../src/core/train.h"
#include "bench_clock.h"

static volatile sig_atomic_t flag;
static volatile int ticks;		/* ticks seen in this trial */
static volatile double set_at;	/* when the flag was set */
static double served_at;		/* the first tick that saw it */

static void
on_tick(void *arg)
{
	(void) arg;
	if (flag && served_at == 0.0)
		served_at = now();
	__atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST);
}

typedef struct
{
	int			wait_ticks;		/* set the flag once this many ticks were seen */
	double		delay;			/* then after this many seconds */
} setter_args;

static void *
setter(void *arg)
{
	setter_args *a = arg;
	struct timespec ts = {0, 1000000};

	while (__atomic_load_n(&ticks, __ATOMIC_SEQ_CST) < a->wait_ticks)
		nanosleep(&ts, NULL);
	ts.tv_sec = (time_t) a->delay;
	ts.tv_nsec = (long) ((a->delay - (double) ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	set_at = now();
	flag = 1;
	return NULL;
}

static int
arg_int(int argc, char **argv, const char *key, int dflt)
{
	size_t		n = strlen(key);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
			return atoi(argv[i] + n + 1);
	return dflt;
}

static const char *
arg_str(int argc, char **argv, const char *key, const char *dflt)
{
	size_t		n = strlen(key);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	return dflt;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const int	hidden = arg_int(argc, argv, "hidden", 2048),
				layers = arg_int(argc, argv, "layers", 1),
				batch_size = arg_int(argc, argv, "batch", 256),
				max_length = arg_int(argc, argv, "max_length", 50),
				threads = arg_int(argc, argv, "threads", 1),
				n_clients = arg_int(argc, argv, "clients", 300),
				events = arg_int(argc, argv, "events", 60),
				trials = arg_int(argc, argv, "trials", 5);
	const char *mode = arg_str(argc, argv, "mode", "train");
	const double step_guess = atof(arg_str(argc, argv, "step_guess", "2.0"));
	const int	C = 40,
				F = 3,
				N = 3;
	const volatile sig_atomic_t *flags[1] = {&flag};
	double		lat[1000],
				served[1000];
	ss_rng		rng;
	ss_dataset	d;
	ss_dims		dims;
	ss_train_options o;
	int32_t    *fit,
			   *val;
	int			n_fit = 0,
				n_val = 0;
	int64_t		n = 0;
	const char *err;

	if ((err = ss_blas_load()) != NULL)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	ss_interrupt_watch(flags, 1);
	ss_rng_seed(&rng, 1);
	memset(&d, 0, sizeof(d));
	d.n_clients = n_clients;
	d.n_features = F;
	d.n_numeric = N;
	d.offsets = SS_NEW_ARRAY(int64_t, n_clients + 1);
	for (int c = 0; c < n_clients; c++)
	{
		d.offsets[c] = n;
		n += 2 + (int64_t) ss_rng_below(&rng, events + 1);
	}
	d.offsets[n_clients] = n;
	d.n_events = n;
	d.cat_in = SS_NEW_ARRAY(int32_t, n);
	d.target = SS_NEW_ARRAY(int32_t, n);
	d.feat_in = SS_NEW_ARRAY(int32_t, n * F);
	d.num_in = SS_NEW_ARRAY(float, n * N);
	for (int64_t i = 0; i < n; i++)
	{
		int			k = (int) ss_rng_below(&rng, C);

		d.target[i] = k;
		d.cat_in[i] = k + SS_N_RESERVED;
		for (int j = 0; j < F; j++)
			d.feat_in[i * F + j] = 2 + (int) ss_rng_below(&rng, 5);
		for (int j = 0; j < N; j++)
			d.num_in[i * N + j] = ss_rng_normal(&rng);
	}
	fit = SS_NEW_ARRAY(int32_t, n_clients);
	val = SS_NEW_ARRAY(int32_t, n_clients);
	for (int c = 0; c < n_clients; c++)
	{
		/* validation mode: few fitting clients (a short epoch), the rest validate */
		if (strcmp(mode, "validation") == 0 ? c >= 4 : c % 10 == 0)
			val[n_val++] = c;
		else
			fit[n_fit++] = c;
	}
	memset(&dims, 0, sizeof(dims));
	dims.n_classes = C;
	dims.n_features = F;
	for (int j = 0; j < F; j++)
		dims.feature_vocab[j] = 5;
	dims.n_numeric = N;
	dims.hidden = hidden;
	dims.layers = layers;
	dims.attn = hidden;
	ss_dims_finish(&dims, 1.0);
	ss_train_options_default(&o);
	o.hidden = hidden;
	o.layers = layers;
	o.batch_size = batch_size;
	o.max_length = max_length;
	o.threads = threads;
	o.epochs = 1000;
	o.patience = 1000;

	for (int t = 0; t < trials && t < 1000; t++)
	{
		ss_rng		r;
		setter_args sa;
		pthread_t	th;
		double		done;

		ss_rng_seed(&r, 100 + t);
		flag = 0;
		ticks = 0;
		served_at = 0.0;
		/*
		 * ticks before the first step: one per 16 MB slice but the first of
		 * the copy of the initial weights (ss_train); then train: inside
		 * step 1 (after its tick) or later; validation: inside epoch 1's
		 * validation (one step, then the first validation batch's tick)
		 */
		sa.wait_ticks = (int) ((ss_param_count(&dims) - 1) / (1 << 22)) +
			(strcmp(mode, "validation") == 0 ? 2 : 1);
		sa.delay = ss_rng_uniform(&r) * step_guess;
		if (strcmp(mode, "predict") == 0)
		{
			/* 64 x threads clients' last max_length events, one batch per thread */
			ss_batch   *bt[SS_MAX_THREADS];
			ss_workspace *ws[SS_MAX_THREADS];
			float	   *pr[SS_MAX_THREADS];
			float	   *params = SS_NEW_ARRAY(float, ss_param_count(&dims));
			int			ok;

			ss_params_init(&dims, params, &r);
			for (int k = 0; k < threads; k++)
			{
				ss_window	w[64];

				for (int c = 0; c < 64; c++)
				{
					int			cl = (k * 64 + c) % n_clients;

					w[c].end = d.offsets[cl + 1] - 1;
					w[c].start = w[c].end - max_length > d.offsets[cl] ? w[c].end - max_length : d.offsets[cl];
					w[c].first_target = w[c].end;
				}
				bt[k] = ss_batch_new(&dims, 64, max_length);
				ws[k] = ss_workspace_new();
				pr[k] = SS_NEW_ARRAY(float, 64 * C);
				ss_fill_batch(&d, w, 64, 0, bt[k]);
			}
			ticks = 1;
			pthread_create(&th, NULL, setter, &sa);
			ok = ss_predict_batches(&dims, params, bt, ws, pr, threads);
			done = now();
			pthread_join(th, NULL);
			if (ok)
				fprintf(stderr, "prediction ended before the flag: raise step_guess's floor\n");
			for (int k = 0; k < threads; k++)
			{
				ss_batch_free(bt[k]);
				ss_workspace_free(ws[k]);
				ss_free(pr[k]);
			}
			ss_free(params);
		}
		else
		{
			ss_train_callbacks cb = {NULL, on_tick, NULL};
			ss_train_result res;

			pthread_create(&th, NULL, setter, &sa);
			err = ss_train(&dims, &d, fit, n_fit, val, n_val, &o, &cb, &res);
			done = now();
			pthread_join(th, NULL);
			if (err != ss_train_cancelled)
				fprintf(stderr, "ss_train: %s\n", err ? err : "finished before the flag");
		}
		lat[t] = done - set_at;
		served[t] = served_at > 0.0 ? served_at - set_at : lat[t];
		fprintf(stderr, "trial %d: flag after %.3f s, served %.3f s later, returned %.3f s later\n",
				t, sa.delay, served[t], lat[t]);
	}
	qsort(lat, trials, sizeof(double), cmp_double);
	qsort(served, trials, sizeof(double), cmp_double);
	printf("{\"mode\": \"%s\", \"hidden\": %d, \"layers\": %d, \"batch\": %d, \"max_length\": %d, "
		   "\"threads\": %d, \"clients\": %d, \"events\": %ld, \"params\": %ld, \"latencies\": [",
		   mode, hidden, layers, batch_size, max_length, threads, n_clients, (long) n,
		   (long) ss_param_count(&dims));
	for (int t = 0; t < trials; t++)
		printf("%s%.3f", t ? ", " : "", lat[t]);
	printf("], \"median\": %.3f, \"max\": %.3f, \"served_median\": %.3f, \"served_max\": %.3f}\n",
		   lat[trials / 2], lat[trials - 1], served[trials / 2], served[trials - 1]);
	return 0;
}
