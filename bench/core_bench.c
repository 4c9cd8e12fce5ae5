/*
 * core_bench.c - training and inference speed of the learning engine alone
 * (no server): synthetic histories shaped like the demo data, GRU4Rec +
 * attention (or another architecture by name) with the given hidden size,
 * batch size and threads.
 *
 *   make bench-core && bench/core_bench [clients] [hidden] [epochs] [threads] [architecture]
 *
 * Prints one JSON line: training target positions per second (steady-state
 * epochs), seconds per epoch, single-history inference latency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/arch.h"
#include "../src/core/blas.h"
#include "../src/core/model.h"
#include "../src/core/rng.h"
#include "../src/core/ss_alloc.h"
#include "../src/core/train.h"
#include "bench_clock.h"

typedef struct
{
	double		secs[1000];
	int64_t		targets[1000];
	int			n;
} epochs_seen;

static int
on_epoch(void *arg, const ss_epoch_stats *st)
{
	epochs_seen *e = arg;

	if (e->n < 1000)
	{
		e->secs[e->n] = st->seconds;
		e->targets[e->n] = st->targets;
		e->n++;
	}
	fprintf(stderr, "epoch %d: loss %.4f val Hit@3 %.4f %.2fs %.0f positions/s\n", st->epoch,
			st->train_loss, st->validation_hit3, st->seconds, st->targets / st->seconds);
	return 0;
}

int
main(int argc, char **argv)
{
	int			n_clients = argc > 1 ? atoi(argv[1]) : 2000;
	int			hidden = argc > 2 ? atoi(argv[2]) : 128;
	int			epochs = argc > 3 ? atoi(argv[3]) : 3;
	int			threads = argc > 4 ? atoi(argv[4]) : 1;
	const char *arch = argc > 5 ? argv[5] : "gru4rec";
	const int	C = 40,
				F = 3,
				N = 3;
	ss_rng		rng;
	ss_dataset	d;
	ss_dims		dims;
	ss_train_options o;
	ss_train_result r;
	int32_t    *fit,
			   *val;
	int			n_fit = 0,
				n_val = 0;
	int64_t		n = 0;
	epochs_seen seen = {0};
	ss_train_callbacks cb = {&seen, NULL, on_epoch};
	const char *err;
	double		train_t0,
				train_seconds,
				flops0,
				train_flops;

	if ((err = ss_blas_load()) != NULL)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	ss_rng_seed(&rng, 1);
	memset(&d, 0, sizeof(d));
	d.n_clients = n_clients;
	d.n_features = F;
	d.n_numeric = N;
	d.offsets = SS_NEW_ARRAY(int64_t, n_clients + 1);
	for (int c = 0; c < n_clients; c++)
	{
		d.offsets[c] = n;
		n += 2 + (int64_t) ss_rng_below(&rng, 60);
	}
	d.offsets[n_clients] = n;
	d.n_events = n;
	d.cat_in = SS_NEW_ARRAY(int32_t, n);
	d.target = SS_NEW_ARRAY(int32_t, n);
	d.feat_in = SS_NEW_ARRAY(int32_t, n * F);
	d.num_in = SS_NEW_ARRAY(float, n * N);
	for (int c = 0; c < n_clients; c++)
	{
		int			k = (int) ss_rng_below(&rng, C);

		for (int64_t i = d.offsets[c]; i < d.offsets[c + 1]; i++)
		{
			/* a noisy Markov chain: mostly k -> k + 1 or k + 3 */
			uint64_t	u = ss_rng_below(&rng, 10);

			k = u < 5 ? (k + 1) % C : u < 8 ? (k + 3) % C : (int) ss_rng_below(&rng, C);
			d.target[i] = k;
			d.cat_in[i] = k + SS_N_RESERVED;
			for (int j = 0; j < F; j++)
				d.feat_in[i * F + j] = 2 + (int) ss_rng_below(&rng, 5);
			for (int j = 0; j < N; j++)
				d.num_in[i * N + j] = ss_rng_normal(&rng);
		}
	}
	fit = SS_NEW_ARRAY(int32_t, n_clients);
	val = SS_NEW_ARRAY(int32_t, n_clients);
	for (int c = 0; c < n_clients; c++)
	{
		if (c % 10 == 0)
			val[n_val++] = c;
		else
			fit[n_fit++] = c;
	}
	memset(&dims, 0, sizeof(dims));
	if (ss_arch_by_name(arch, &dims.arch) == NULL)
	{
		fprintf(stderr, "unknown architecture %s (%s)\n", arch, ss_arch_names());
		return 1;
	}
	dims.n_classes = C;
	dims.n_features = F;
	for (int j = 0; j < F; j++)
		dims.feature_vocab[j] = 5;
	dims.n_numeric = N;
	dims.hidden = hidden;
	dims.layers = 1;
	dims.attn = hidden;
	ss_dims_finish(&dims, 1.0);
	ss_train_options_default(&o);
	o.hidden = hidden;
	o.epochs = epochs;
	o.patience = epochs;
	o.threads = threads;
	train_t0 = now();
	flops0 = ss_blas_flops();
	err = ss_train(&dims, &d, fit, n_fit, val, n_val, &o, &cb, &r);
	train_seconds = now() - train_t0;
	train_flops = ss_blas_flops() - flops0;
	if (err)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	{
		/* steady state: epochs after the first */
		double		s = 0;
		int64_t		t = 0;
		int			first = seen.n > 1 ? 1 : 0;
		ss_window	w;
		ss_batch   *b = ss_batch_new(&dims, 1, 50);
		ss_workspace *ws = ss_workspace_new();
		float	   *probs = SS_NEW_ARRAY(float, C);
		double		t0,
					lat,
					batch_cps;
		int			calls = 200;

		for (int i = first; i < seen.n; i++)
		{
			s += seen.secs[i];
			t += seen.targets[i];
		}
		/* single-history inference, 50 events */
		w.start = d.offsets[0];
		w.end = w.start + 50 < d.n_events ? w.start + 50 : d.n_events - 1;
		w.first_target = w.end;
		ss_fill_batch(&d, &w, 1, 0, b);
		ss_predict_batch(&dims, r.params, b, ws, probs);
		t0 = now();
		for (int i = 0; i < calls; i++)
			ss_predict_batch(&dims, r.params, b, ws, probs);
		lat = (now() - t0) / calls * 1000.0;
		{
			/* batch inference: 256 clients' last <= 50 events, as seqsales_predict_all */
			ss_window	wb[256];
			ss_batch   *bb = ss_batch_new(&dims, 256, 50);
			float	   *pb = SS_NEW_ARRAY(float, 256 * C);
			int			nb = n_clients < 256 ? n_clients : 256,
						rounds = 40;

			for (int c = 0; c < nb; c++)
			{
				wb[c].end = d.offsets[c + 1] - 1;
				wb[c].start = wb[c].end - 50 > d.offsets[c] ? wb[c].end - 50 : d.offsets[c];
				wb[c].first_target = wb[c].end;
			}
			ss_fill_batch(&d, wb, nb, 0, bb);
			ss_predict_batch(&dims, r.params, bb, ws, pb);
			t0 = now();
			for (int i = 0; i < rounds; i++)
				ss_predict_batch(&dims, r.params, bb, ws, pb);
			batch_cps = nb * rounds / (now() - t0);
		}
		printf("{\"architecture\": \"%s\", \"clients\": %d, \"events\": %ld, \"hidden\": %d, \"threads\": %d, \"epochs\": %d, "
			   "\"train_positions_per_second\": %.0f, \"seconds_per_epoch\": %.3f, "
			   "\"gemm_gflops_per_second_of_training\": %.2f, "
			   "\"predict_forward_ms\": %.4f, \"predict_batch256_clients_per_second\": %.0f, "
			   "\"activation_bytes\": %ld, \"blas\": \"%s\"}\n",
			   arch, n_clients, (long) n, hidden, threads, seen.n, t / s, s / (seen.n - first),
			   train_flops / train_seconds / 1e9, lat, batch_cps, (long) r.workspace_bytes, ss_blas_info());
	}
	return 0;
}
