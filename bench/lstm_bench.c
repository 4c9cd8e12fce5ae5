/*
 * lstm_bench.c - speed of one training pass (forward, focal loss,
 * backward) of the bidirectional LSTM + attention against GRU4Rec +
 * attention on the same batch shape, engine alone, on the calling thread:
 * B windows of at most T events, hidden H, C classes, input width D about
 * 60 (the category's embedding, two features, three numerics).
 *
 *   make bench/lstm_bench && bench/lstm_bench [B] [T] [hidden] [classes] [full] [reps]
 *
 * full = 1: every window T events long; 0 (default): lengths uniform in
 * 1 .. T, longest first, as a sampled batch of training windows is.  The
 * LSTM carries one target per window (at its last event), the GRU one at
 * every event: the figure to compare is the time per target position.
 * Also times the LSTM layer's parts on layer 0's shape (one direction).
 * Prints one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/blas.h"
#include "../src/core/layers.h"
#include "../src/core/model.h"
#include "../src/core/rng.h"
#include "../src/core/ss_alloc.h"
#include "bench_clock.h"

typedef struct
{
	double		seconds;		/* per pass, best of the repetitions */
	double		gflops;			/* matrix-product GFLOP/s over the pass */
	int			targets;		/* per pass */
	int64_t		workspace_bytes;
} pass_time;

/* forward + focal loss + backward over batch, reps times; the best */
static pass_time
time_pass(const ss_dims *d, const ss_batch *batch, int reps)
{
	int64_t		n = ss_param_count(d);
	float	   *params = SS_NEW_ARRAY(float, n),
			   *grads = SS_NEW_ARRAY(float, n),
			   *alpha = SS_NEW_ARRAY(float, d->n_classes);
	int32_t    *y = SS_NEW_ARRAY(int32_t, (int64_t) batch->B * batch->T);
	ss_workspace *ws = ss_workspace_new();
	ss_rng		rng;
	pass_time	r = {1e30, 0, 0, 0};

	ss_rng_seed(&rng, 3);
	ss_params_init(d, params, &rng);
	for (int c = 0; c < d->n_classes; c++)
		alpha[c] = 1.0f;
	ss_workspace_reserve(ws, d, batch, 1);
	for (int rep = 0; rep <= reps; rep++)
	{
		float	   *logits;
		const int32_t *qt,
				   *qb;
		double		t0 = now(),
					f0 = ss_blas_flops(),
					s;
		int			n_q = ss_model_forward(d, params, batch, SS_QUERY_TARGETS, 0.2f, &rng, ws,
										   &logits, &qt, &qb);

		for (int i = 0; i < n_q; i++)
			y[i] = batch->target[qt[i] * batch->B + qb[i]];
		ss_focal_loss(n_q, d->n_classes, logits, y, alpha, 2.0f, logits, NULL);
		ss_model_backward(d, params, batch, logits, ws, grads);
		s = now() - t0;
		/* rep 0 warms up */
		if (rep > 0 && s < r.seconds)
		{
			r.seconds = s;
			r.gflops = (ss_blas_flops() - f0) / s * 1e-9;
			r.targets = n_q;
		}
	}
	r.workspace_bytes = ss_workspace_bytes(ws);
	ss_workspace_free(ws);
	ss_free(params);
	ss_free(grads);
	ss_free(alpha);
	ss_free(y);
	return r;
}

/*
 * The parts of one LSTM direction on layer 0's shape, seconds each (best
 * of reps): the input projection, the recurrence forward, the recurrence
 * backward with dW_hh (ss_lstm_steps_backward), the whole backward
 * (ss_lstm_backward: the same and dW_ih, dx).
 */
static void
time_layer(int B, int T, int D, int H, const int32_t *rows, int reps, double part[4])
{
	const int	G = 4 * H;
	const int64_t TB = (int64_t) T * B;
	ss_rng		rng;
	float	   *x = SS_NEW_ARRAY(float, TB * D),
			   *w_ih = SS_NEW_ARRAY(float, (int64_t) G * D),
			   *w_hh = SS_NEW_ARRAY(float, (int64_t) G * H),
			   *b_ih = SS_NEW_ARRAY(float, G),
			   *b_hh = SS_NEW_ARRAY(float, G),
			   *gates = SS_NEW_ARRAY(float, TB * G),
			   *c = SS_NEW_ARRAY(float, TB * H),
			   *h = SS_NEW_ARRAY(float, TB * H),
			   *dh = SS_NEW_ARRAY(float, TB * H),
			   *dg = SS_NEW_ARRAY(float, TB * G),
			   *dc = SS_NEW_ARRAY(float, (int64_t) B * H),
			   *dx = SS_NEW_ARRAY(float, TB * D),
			   *dw_ih = SS_NEW_ARRAY(float, (int64_t) G * D),
			   *dw_hh = SS_NEW_ARRAY(float, (int64_t) G * H),
			   *db_ih = SS_NEW_ARRAY(float, G),
			   *db_hh = SS_NEW_ARRAY(float, G),
			   *zeros = SS_NEW_ARRAY(float, H),
			   *pack = SS_NEW_ARRAY(float, ss_pack_scratch_floats(D > H ? D : H, G)),
			   *scratch = SS_NEW_ARRAY(float, ss_lstm_scratch_floats(B, D, H));

	ss_rng_seed(&rng, 5);
	for (int64_t i = 0; i < TB * D; i++)
		x[i] = ss_rng_normal(&rng);
	for (int64_t i = 0; i < (int64_t) G * D; i++)
		w_ih[i] = 0.1f * ss_rng_normal(&rng);
	for (int64_t i = 0; i < (int64_t) G * H; i++)
		w_hh[i] = 0.1f * ss_rng_normal(&rng);
	for (int i = 0; i < 4; i++)
		part[i] = 1e30;
	for (int rep = 0; rep <= reps; rep++)
	{
		double		t[5],
					reset;

		for (int64_t i = 0; i < TB * H; i++)
			dh[i] = 0.01f;
		t[0] = now();
		ss_dense_forward_steps(T, B, rows, D, G, x, w_ih, b_ih, gates, pack);
		t[1] = now();
		ss_lstm_steps_forward(T, B, H, w_hh, b_hh, gates, c, h, zeros, pack, rows);
		t[2] = now();
		ss_lstm_steps_backward(T, B, H, w_hh, gates, c, h, dh, dg, dc, dw_hh, db_hh, zeros,
							   pack, rows, scratch);
		t[3] = now();
		for (int64_t i = 0; i < TB * H; i++)
			dh[i] = 0.01f;
		reset = now() - t[3];
		ss_lstm_backward(T, B, D, H, x, w_ih, w_hh, gates, c, h, dh, dg, dc, dx, dw_ih, dw_hh,
						 db_ih, db_hh, zeros, pack, rows, scratch);
		t[4] = now() - reset;
		for (int i = 0; rep > 0 && i < 4; i++)
			if (t[i + 1] - t[i] < part[i])
				part[i] = t[i + 1] - t[i];
	}
}

int
main(int argc, char **argv)
{
	const int	B = argc > 1 ? atoi(argv[1]) : 256,
				T = argc > 2 ? atoi(argv[2]) : 50,
				H = argc > 3 ? atoi(argv[3]) : 128,
				C = argc > 4 ? atoi(argv[4]) : 500,
				full = argc > 5 ? atoi(argv[5]) : 0,
				reps = argc > 6 ? atoi(argv[6]) : 3;
	const int	F = 2,
				N = 3;
	const char *err;
	ss_dims		d;
	ss_batch   *lstm_batch,
			   *gru_batch;
	ss_rng		rng;
	pass_time	lstm,
				gru;
	double		part[4];
	int64_t		events = 0;
	int32_t    *rows;

	if ((err = ss_blas_load()) != NULL)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	memset(&d, 0, sizeof(d));
	d.n_classes = C;
	d.n_features = F;
	d.feature_vocab[0] = d.feature_vocab[1] = 5;
	d.n_numeric = N;
	d.hidden = H;
	d.layers = 1;
	d.attn = H;
	d.arch = SS_ARCH_LSTM;
	if ((err = ss_dims_finish(&d, 1.0)) != NULL)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	/* one batch of windows, longest first; the LSTM's targets at the last event, the GRU's everywhere */
	ss_rng_seed(&rng, 1);
	lstm_batch = ss_batch_new(&d, B, T);
	gru_batch = ss_batch_new(&d, B, T);
	lstm_batch->B = gru_batch->B = B;
	lstm_batch->T = gru_batch->T = T;
	for (int b = 0; b < B; b++)
		lstm_batch->lengths[b] = full ? T : 1 + (int) ss_rng_below(&rng, T);
	for (int i = 1; i < B; i++)
		for (int j = i; j > 0 && lstm_batch->lengths[j] > lstm_batch->lengths[j - 1]; j--)
		{
			int32_t		l = lstm_batch->lengths[j];

			lstm_batch->lengths[j] = lstm_batch->lengths[j - 1];
			lstm_batch->lengths[j - 1] = l;
		}
	for (int b = 0; b < B; b++)
	{
		int			len = lstm_batch->lengths[b];

		gru_batch->lengths[b] = len;
		events += len;
		for (int t = 0; t < T; t++)
		{
			int64_t		p = (int64_t) t * B + b;
			int			valid = t < len;

			lstm_batch->cat[p] = valid ? 2 + (int) ss_rng_below(&rng, C) : 0;
			for (int j = 0; j < F; j++)
				lstm_batch->feat[p * F + j] = valid ? 2 + (int) ss_rng_below(&rng, 5) : 0;
			for (int j = 0; j < N; j++)
				lstm_batch->num[p * N + j] = valid ? ss_rng_normal(&rng) : 0.0f;
			lstm_batch->target[p] = valid && t == len - 1 ? (int) ss_rng_below(&rng, C) : -1;
			gru_batch->target[p] = valid ? (int) ss_rng_below(&rng, C) : -1;
		}
	}
	memcpy(gru_batch->cat, lstm_batch->cat, sizeof(int32_t) * B * T);
	memcpy(gru_batch->feat, lstm_batch->feat, sizeof(int32_t) * B * T * F);
	memcpy(gru_batch->num, lstm_batch->num, sizeof(float) * B * T * N);

	lstm = time_pass(&d, lstm_batch, reps);
	d.arch = SS_ARCH_GRU4REC;
	gru = time_pass(&d, gru_batch, reps);

	rows = SS_NEW_ARRAY(int32_t, T);
	for (int t = 0; t < T; t++)
		for (int b = 0; b < B; b++)
			rows[t] += lstm_batch->lengths[b] > t;
	time_layer(B, T, d.input_dim, H, rows, reps, part);

	printf("{\"B\": %d, \"T\": %d, \"events\": %ld, \"hidden\": %d, \"classes\": %d, \"input_dim\": %d, "
		   "\"threads\": 1, "
		   "\"lstm_pass_seconds\": %.4f, \"lstm_targets\": %d, \"lstm_ms_per_target\": %.4f, "
		   "\"lstm_gflops\": %.1f, \"lstm_workspace_mb\": %.1f, "
		   "\"lstm_direction_parts_ms\": {\"input_projection\": %.2f, \"recurrence_forward\": %.2f, "
		   "\"recurrence_backward_with_dw_hh\": %.2f, \"backward\": %.2f}, "
		   "\"gru_pass_seconds\": %.4f, \"gru_targets\": %d, \"gru_ms_per_target\": %.4f, "
		   "\"gru_gflops\": %.1f, \"gru_workspace_mb\": %.1f, \"blas\": \"%s\"}\n",
		   B, T, (long) events, H, C, d.input_dim,
		   lstm.seconds, lstm.targets, lstm.seconds / lstm.targets * 1e3, lstm.gflops,
		   lstm.workspace_bytes / 1048576.0,
		   part[0] * 1e3, part[1] * 1e3, part[2] * 1e3, part[3] * 1e3,
		   gru.seconds, gru.targets, gru.seconds / gru.targets * 1e3, gru.gflops,
		   gru.workspace_bytes / 1048576.0, ss_blas_info());
	return 0;
}
