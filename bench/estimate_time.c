/*
 * estimate_time.c - how long the training memory estimate takes: it replays
 * every epoch's draws (src/core/train.c), so its time grows with windows x
 * epochs.  Synthetic clients of 2 to 61 events, 40 categories, hidden 128,
 * 90% fitting, 10% validating.
 *
 *   estimate_time CLIENTS MAX_LENGTH EPOCHS [WEIGHTED]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "../src/core/model.h"
#include "../src/core/rng.h"
#include "../src/core/ss_alloc.h"
#include "../src/core/train.h"

int
main(int argc, char **argv)
{
	int			n_clients,
				n_fit;
	int64_t		n = 0,
				windows = 0,
				estimate;
	ss_rng		rng;
	ss_dataset	data;
	ss_dims		d;
	ss_train_options o;
	int32_t    *clients;
	double		t0,
				seconds;

	if (argc < 4)
	{
		fprintf(stderr, "usage: %s CLIENTS MAX_LENGTH EPOCHS [WEIGHTED]\n", argv[0]);
		return 2;
	}
	n_clients = atoi(argv[1]);
	ss_train_options_default(&o);
	o.max_length = atoi(argv[2]);
	o.epochs = atoi(argv[3]);
	o.weighted_sampling = argc > 4 && atoi(argv[4]) != 0;

	memset(&data, 0, sizeof(data));
	ss_rng_seed(&rng, 1);
	data.n_clients = n_clients;
	data.offsets = SS_NEW_ARRAY(int64_t, n_clients + 1);
	for (int c = 0; c < n_clients; c++)
	{
		data.offsets[c] = n;
		n += 2 + (int64_t) ss_rng_below(&rng, 60);
		windows += ss_window_count(n - data.offsets[c], o.max_length, ss_window_stride(&o));
	}
	data.offsets[n_clients] = n;
	data.n_events = n;
	data.cat_in = SS_NEW_ARRAY(int32_t, n);
	data.target = SS_NEW_ARRAY(int32_t, n);
	data.feat_in = SS_NEW_ARRAY(int32_t, 1);
	data.num_in = SS_NEW_ARRAY(float, 1);
	for (int64_t i = 0; i < n; i++)
	{
		data.target[i] = (int32_t) (i % 40);
		data.cat_in[i] = data.target[i] + SS_N_RESERVED;
	}
	clients = SS_NEW_ARRAY(int32_t, n_clients);
	for (int c = 0; c < n_clients; c++)
		clients[c] = c;
	n_fit = n_clients - n_clients / 10;

	memset(&d, 0, sizeof(d));
	d.n_classes = 40;
	d.hidden = o.hidden;
	d.layers = o.layers;
	d.attn = o.hidden;
	ss_dims_finish(&d, o.embedding_scale);

	t0 = now();
	estimate = ss_train_memory_estimate(&d, &data, clients, n_fit, clients + n_fit,
										n_clients - n_fit, &o, 0, 0);
	seconds = now() - t0;
	printf("%lld events, %lld windows, max_length %d, %d epochs%s: estimate %.1f MB in %.2f s "
		   "(%.0f ns per window and epoch)\n",
		   (long long) n, (long long) windows, o.max_length, o.epochs,
		   o.weighted_sampling ? ", weighted draws" : "", estimate / 1048576.0,
		   seconds, seconds * 1e9 / ((double) windows * o.epochs));
	return 0;
}
