/*
 * test_memory.c - the training memory estimate against what ss_train
 * allocates: a counting allocator records the peak of live bytes, which
 * must not pass ss_train_core_memory() at any shape, long histories and a
 * large max_length included, and equals it to the byte when every epoch
 * runs (the estimate replays ss_train's steps: the two must not drift).
 */
#include <string.h>

#include "unit.h"
#include "../../src/core/model.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/train.h"

/* ---------------------------------------------------------------- counting allocator */

static int64_t live_bytes,
			peak_bytes;

/* each block carries its size in front (16 bytes, to keep the alignment) */
static void *
counting_alloc(size_t size)
{
	char	   *p = malloc(size + 16);

	if (p == NULL)
		abort();
	*(size_t *) p = size;
	live_bytes += (int64_t) size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return p + 16;
}

static void
counting_free(void *ptr)
{
	char	   *p = (char *) ptr - 16;

	live_bytes -= (int64_t) *(size_t *) p;
	free(p);
}

/* ---------------------------------------------------------------- data */

/*
 * n_short clients of 2 to 40 events and n_long of long_len events (and
 * more, one per client), C categories with some structure, two
 * categorical features and two numeric inputs.
 */
static ss_dataset *
make_data(int n_short, int n_long, int long_len, int C, ss_rng *rng)
{
	ss_dataset *d = SS_NEW_ARRAY(ss_dataset, 1);
	int			n_clients = n_short + n_long;
	int64_t		n = 0;

	d->n_clients = n_clients;
	d->n_features = 2;
	d->n_numeric = 2;
	d->offsets = SS_NEW_ARRAY(int64_t, n_clients + 1);
	for (int c = 0; c < n_clients; c++)
	{
		d->offsets[c] = n;
		/* long clients at 3 and 11, so that one is a validation client */
		if ((c == 3 || c == 11 || c >= n_clients - n_long + 2) && n_long > 0)
			n += long_len + 50 * (c % 4);
		else
			n += 2 + (int) ss_rng_below(rng, 39);
	}
	d->offsets[n_clients] = n;
	d->n_events = n;
	d->cat_in = SS_NEW_ARRAY(int32_t, n);
	d->feat_in = SS_NEW_ARRAY(int32_t, n * 2);
	d->num_in = SS_NEW_ARRAY(float, n * 2);
	d->target = SS_NEW_ARRAY(int32_t, n);
	for (int64_t i = 0; i < n; i++)
	{
		int			k = (int) ((i / 3 + ss_rng_below(rng, 2)) % C);

		d->target[i] = i % 97 == 5 ? -1 : k;	/* a few categories unknown to the model */
		d->cat_in[i] = k + SS_N_RESERVED;
		d->feat_in[2 * i] = 2 + (int) ss_rng_below(rng, 4);
		d->feat_in[2 * i + 1] = 2 + (int) ss_rng_below(rng, 30);
		d->num_in[2 * i] = ss_rng_normal(rng);
		d->num_in[2 * i + 1] = ss_rng_normal(rng);
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

/* ---------------------------------------------------------------- tests */

typedef struct shape
{
	int			hidden,
				layers,
				max_length,
				batch_size,
				threads,
				weighted,
				window_stride,
				epochs,
				patience;
	const char *what;
	int			arch;			/* ss_arch_id (0: GRU4Rec) */
	int			unit;			/* ss_unit (0: line) */
} shape;

static void
check_shape(const ss_dataset *data, const int32_t *fit, int n_fit, const int32_t *val, int n_val,
			const shape *s)
{
	ss_dims		d;
	ss_train_options o;
	ss_train_result r;
	const char *err;
	int			all_epochs = 0;
	int64_t		bound,
				estimate;

	memset(&d, 0, sizeof(d));
	d.arch = s->arch;
	d.n_classes = 12;
	d.n_features = 2;
	d.feature_vocab[0] = 4;
	d.feature_vocab[1] = 30;
	d.n_numeric = 2;
	d.hidden = s->hidden;
	d.layers = s->layers;
	d.attn = s->hidden;
	ss_dims_finish(&d, 1.0);
	ss_train_options_default(&o);
	o.hidden = s->hidden;
	o.layers = s->layers;
	o.max_length = s->max_length;
	o.batch_size = s->batch_size;
	o.threads = s->threads;
	o.weighted_sampling = s->weighted;
	o.class_weighting = s->weighted && s->unit == SS_UNIT_LINE;
	o.unit = s->unit;
	o.window_stride = s->window_stride;
	o.epochs = s->epochs;
	o.patience = s->patience;
	if (o.patience == 1)
		o.learning_rate = 0.05;	/* validation Hit@3 soon stops improving */
	bound = ss_train_core_memory(&d, data, fit, n_fit, val, n_val, &o);
	estimate = ss_train_memory_estimate(&d, data, fit, n_fit, val, n_val, &o, 0, 0);

	live_bytes = peak_bytes = 0;
	ss_set_allocator(counting_alloc, counting_free);
	err = ss_train(&d, data, fit, n_fit, val, n_val, &o, NULL, &r);
	if (err == NULL)
	{
		all_epochs = r.epochs_run == o.epochs;
		ss_train_result_free(&r);
	}
	ss_set_allocator(NULL, NULL);
	CHECK(err == NULL && live_bytes == 0 && bound <= estimate
		  && (all_epochs ? peak_bytes == bound : peak_bytes <= bound),
		  "%s: ss_train's peak %.1f MB %s the core estimate %.1f MB (%lld bytes apart)",
		  s->what, peak_bytes / 1048576.0, all_epochs ? "==" : "<=", bound / 1048576.0,
		  (long long) (bound - peak_bytes));
}

void		run_memory_tests(void);

void
run_memory_tests(void)
{
	static const shape shapes[] = {
		{8, 1, 50, 256, 1, 0, 0, 2, 5, "hidden 8, max_length 50, batch 256"},
		{32, 2, 50, 16, 2, 0, 0, 2, 5, "hidden 32, 2 layers, batch 16, 2 threads"},
		{16, 1, 1000, 256, 2, 1, 0, 2, 5, "hidden 16, max_length 1000, weighted draws, 2 threads"},
		{8, 2, 10000, 64, 1, 0, 0, 2, 5, "hidden 8, 2 layers, max_length 10000 (longest history 1650)"},
		{32, 1, 200, 64, 1, 0, 200, 2, 5, "hidden 32, max_length 200, windows that do not overlap"},
		{16, 1, 100, 128, 3, 0, 0, 10, 1, "hidden 16, 3 threads, early stopping"},
		{16, 1, 50, 256, 1, 0, 0, 2, 5, "lstm: hidden 16, max_length 50, batch 256", SS_ARCH_LSTM},
		{8, 2, 200, 64, 2, 1, 0, 2, 5, "lstm: hidden 8, 2 layers, max_length 200, weighted draws, 2 threads",
		SS_ARCH_LSTM},
		{16, 1, 50, 64, 1, 0, 0, 2, 5, "unit order: hidden 16, max_length 50, batch 64", 0, SS_UNIT_ORDER},
		{8, 1, 200, 32, 2, 1, 0, 2, 5, "unit order: max_length 200, weighted draws, 2 threads", 0,
		SS_UNIT_ORDER},
		{8, 1, 50, 64, 1, 0, 0, 2, 5, "unit order: lstm", SS_ARCH_LSTM, SS_UNIT_ORDER},
		{8, 1, 50, 64, 1, 0, 0, 2, 5, "unit order: markov", SS_ARCH_MARKOV_ORDER, SS_UNIT_ORDER},
		{16, 1, 50, 256, 1, 0, 0, 2, 5, "hybrid: hidden 16, max_length 50, batch 256", SS_ARCH_HYBRID},
		{8, 1, 200, 64, 2, 1, 0, 2, 5, "hybrid: max_length 200, weighted draws, 2 threads", SS_ARCH_HYBRID},
		{8, 1, 50, 256, 1, 0, 0, 2, 5, "ranker: max_length 50, batch 256", SS_ARCH_RANKER},
		{8, 1, 100, 64, 2, 1, 0, 2, 5, "ranker: max_length 100, weighted draws, 2 threads", SS_ARCH_RANKER},
		{8, 1, 50, 64, 2, 0, 0, 2, 5, "unit order: hybrid, 2 threads", SS_ARCH_HYBRID, SS_UNIT_ORDER},
		{8, 1, 50, 64, 1, 0, 0, 2, 5, "unit order: ranker", SS_ARCH_RANKER, SS_UNIT_ORDER},
	};
	uint8_t    *order_start;
	ss_rng		rng;
	ss_dataset *data;
	int32_t		fit[400],
				val[400];
	int			n_fit = 0,
				n_val = 0;

	ss_rng_seed(&rng, 11);
	data = make_data(200, 6, 1500, 12, &rng);
	/* orders of 1 to 3 events */
	order_start = SS_NEW_ARRAY(uint8_t, data->n_events);
	for (int64_t r = 0; r < data->n_events; r++)
		order_start[r] = ss_rng_below(&rng, 2) == 0;
	for (int c = 0; c < data->n_clients; c++)
		order_start[data->offsets[c]] = 1;
	data->order_start = order_start;
	/* every eighth client validates, client 11 (long) among them */
	for (int c = 0; c < data->n_clients; c++)
	{
		if (c % 8 == 3 && c != 3)
			val[n_val++] = c;
		else
			fit[n_fit++] = c;
	}
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		check_shape(data, fit, n_fit, val, n_val, &shapes[i]);
	ss_free(order_start);
	free_data(data);
}
