/*
 * fold.c - one fold of a training (fold.h): split, vocabularies,
 * encoding, training.
 */
#include "fold.h"

#include "../core/arch.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/json.h"

#include "../core/blas.h"
#include "../core/encode.h"
#include "../core/history.h"
#include "../core/interrupt.h"

/* ---------------------------------------------------------------- split */

void
fold_split(const RawEvents *raw, const bool *keep, int64 seed, double validation_fraction,
		   int32 *fit, int *n_fit, int32 *val, int *n_val)
{
	uint32		cut = (uint32) floor(100.0 * validation_fraction + 0.5);

	*n_fit = 0;
	*n_val = 0;
	for (int c = 0; c < raw->n_clients; c++)
	{
		if (keep && !keep[c])
			continue;
		if (cut > 0 && client_hash_part(seed, raw->client_ids[c], 7) % 100 < cut)
			val[(*n_val)++] = c;
		else
			fit[(*n_fit)++] = c;
	}
}

/* ---------------------------------------------------------------- vocabularies */

static int
cmp_strptr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Vocabulary of the ids in 'present': known values in byte order; map[id]
 * = index or -1.  Returns the number of known values.
 */
static int
build_vocab(ss_strdict *dict, const bool *present, int *map, char ***sorted_out)
{
	char	  **sorted = palloc(sizeof(char *) * Max(dict->n, 1));
	int			n = 0;
	ss_strdict *pos;

	for (int id = 0; id < dict->n; id++)
		if (present[id])
			sorted[n++] = dict->strs[id];
	qsort(sorted, n, sizeof(char *), cmp_strptr);
	pos = ss_strdict_new(n);
	for (int i = 0; i < n; i++)
		ss_strdict_intern(pos, sorted[i]);
	for (int id = 0; id < dict->n; id++)
		map[id] = present[id] ? ss_strdict_lookup(pos, dict->strs[id]) : -1;
	ss_strdict_free(pos);
	*sorted_out = sorted;
	return n;
}

void
fold_vocab(const RawEvents *raw, const int32 *fit, int n_fit, FoldVocab *v)
{
	const int	F = raw->n_cat,
				N = raw->n_numeric;
	bool	   *present = palloc0(sizeof(bool) * Max(raw->categories->n, 1));
	double	   *sum = palloc0(sizeof(double) * Max(N, 1));
	double	   *sq = palloc0(sizeof(double) * Max(N, 1));
	int64	   *cnt = palloc0(sizeof(int64) * Max(N, 1));

	memset(v, 0, sizeof(*v));
	v->n_features = F;
	v->n_numeric = N;
	for (int i = 0; i < n_fit; i++)
		for (int64 e = raw->offsets[fit[i]]; e < raw->offsets[fit[i] + 1]; e++)
		{
			present[raw->cat[e]] = true;
			for (int j = 0; j < N; j++)
			{
				float		x = raw->num[e * N + j];

				if (!isnan(x))
				{
					sum[j] += x;
					cnt[j]++;
				}
			}
		}
	v->class_map = palloc(sizeof(int) * Max(raw->categories->n, 1));
	v->n_classes = build_vocab(raw->categories, present, v->class_map, &v->class_names);
	pfree(present);

	for (int j = 0; j < F; j++)
	{
		bool	   *fp = palloc0(sizeof(bool) * Max(raw->values[j]->n, 1));

		for (int i = 0; i < n_fit; i++)
			for (int64 e = raw->offsets[fit[i]]; e < raw->offsets[fit[i] + 1]; e++)
				if (raw->feat[e * F + j] >= 0)
					fp[raw->feat[e * F + j]] = true;
		v->feat_maps[j] = palloc(sizeof(int) * Max(raw->values[j]->n, 1));
		v->feature_vocab[j] = build_vocab(raw->values[j], fp, v->feat_maps[j], &v->feat_names[j]);
		pfree(fp);
	}

	v->mean = palloc0(sizeof(double) * Max(N, 1));
	v->std = palloc0(sizeof(double) * Max(N, 1));
	for (int j = 0; j < N; j++)
		v->mean[j] = cnt[j] > 0 ? sum[j] / cnt[j] : 0.0;
	for (int i = 0; i < n_fit; i++)
		for (int64 e = raw->offsets[fit[i]]; e < raw->offsets[fit[i] + 1]; e++)
			for (int j = 0; j < N; j++)
			{
				float		x = raw->num[e * N + j];

				if (!isnan(x))
					sq[j] += (x - v->mean[j]) * (x - v->mean[j]);
			}
	for (int j = 0; j < N; j++)
	{
		v->std[j] = cnt[j] > 0 ? sqrt(sq[j] / cnt[j]) : 1.0;
		if (!(v->std[j] > 0.0) || !isfinite(v->std[j]))
			v->std[j] = 1.0;
		if (!isfinite(v->mean[j]))
			v->mean[j] = 0.0;
	}
	pfree(sum);
	pfree(sq);
	pfree(cnt);
}

void
fold_vocab_of_model(const RawEvents *raw, ss_strdict *classes, char **class_names,
					ss_strdict *const *feat_dicts, int n_numeric, double *mean, double *std,
					FoldVocab *v)
{
	memset(v, 0, sizeof(*v));
	v->n_classes = classes->n;
	v->class_names = class_names;
	v->class_map = palloc(sizeof(int) * Max(raw->categories->n, 1));
	for (int id = 0; id < raw->categories->n; id++)
		v->class_map[id] = ss_strdict_lookup(classes, raw->categories->strs[id]);
	v->n_features = raw->n_cat;
	for (int j = 0; j < raw->n_cat; j++)
	{
		v->feature_vocab[j] = feat_dicts[j]->n;
		v->feat_names[j] = feat_dicts[j]->strs;
		v->feat_maps[j] = palloc(sizeof(int) * Max(raw->values[j]->n, 1));
		for (int id = 0; id < raw->values[j]->n; id++)
			v->feat_maps[j][id] = ss_strdict_lookup(feat_dicts[j], raw->values[j]->strs[id]);
	}
	v->n_numeric = n_numeric;
	v->mean = mean;
	v->std = std;
}

/* ---------------------------------------------------------------- encoding */

void
fold_encode(RawEvents *raw, const FoldVocab *v, bool in_place, ss_dataset *data)
{
	const int	F = raw->n_cat,
				N = raw->n_numeric;
	const int64 n = raw->n_events;

	data->n_clients = raw->n_clients;
	data->n_events = n;
	data->n_features = F;
	data->n_numeric = N;
	data->offsets = raw->offsets;
	data->order_start = raw->order_start;
	{
		uint32	   *keys = palloc(sizeof(uint32) * Max(raw->n_clients, 1));

		for (int c = 0; c < raw->n_clients; c++)
			keys[c] = ss_client_key(raw->client_ids[c]);
		data->client_key = keys;
	}
	data->cat_in = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
	if (in_place)
	{
		data->target = raw->cat;
		data->feat_in = raw->feat;
		data->num_in = raw->num;
	}
	else
	{
		data->target = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
		data->feat_in = palloc_extended(sizeof(int32) * Max(n * F, 1), MCXT_ALLOC_HUGE);
		data->num_in = palloc_extended(sizeof(float) * Max(n * N, 1), MCXT_ALLOC_HUGE);
	}
	for (int64 e = 0; e < n; e++)
	{
		int			c = v->class_map[raw->cat[e]];

		if ((e & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		data->target[e] = c;
		data->cat_in[e] = ss_embedding_id(c);
		for (int j = 0; j < F; j++)
		{
			int			x = raw->feat[e * F + j];

			x = x >= 0 ? v->feat_maps[j][x] : -1;
			data->feat_in[e * F + j] = ss_embedding_id(x);
		}
		for (int j = 0; j < N; j++)
			data->num_in[e * N + j] = ss_zscore(raw->num[e * N + j], v->mean[j], v->std[j]);	/* NaN: 0 */
	}
}

/* ---------------------------------------------------------------- model */

void
fold_dims(const FoldVocab *v, int arch, const ss_train_options *opt, ss_dims *dims)
{
	const char *err;

	memset(dims, 0, sizeof(*dims));
	dims->arch = ss_arch_for_unit(arch, opt->unit);
	dims->n_classes = v->n_classes;
	dims->n_features = v->n_features;
	for (int j = 0; j < v->n_features; j++)
		dims->feature_vocab[j] = v->feature_vocab[j];
	dims->n_numeric = v->n_numeric;
	dims->hidden = opt->hidden;
	dims->layers = opt->layers;
	dims->attn = opt->hidden;
	if ((err = ss_dims_finish(dims, opt->embedding_scale)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot build the model: %s", err)));
}

/* ---------------------------------------------------------------- training */

static int
on_epoch(void *arg, const ss_epoch_stats *st)
{
	TrainProgress *p = arg;

	if (p->n == p->cap)
	{
		p->cap = p->cap ? p->cap * 2 : 32;
		p->epochs = p->epochs ? repalloc(p->epochs, sizeof(ss_epoch_stats) * p->cap)
			: palloc(sizeof(ss_epoch_stats) * p->cap);
	}
	p->epochs[p->n++] = *st;
	if (!isfinite(st->train_loss))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("training diverged: the loss of epoch %d is not a finite number", st->epoch),
				 errdetail("No model was stored."),
				 errhint("Lower \"learning_rate\", or check the numeric columns for extreme values.")));
	if (p->notices)
		ereport(NOTICE,
				(errmsg("epoch %d: train loss %.4f, validation Hit@3 %.4f, %.2f s%s",
						st->epoch, st->train_loss, st->validation_hit3, st->seconds,
						st->improved ? " (best so far)" : "")));
	if (p->stop && p->stop(p->stop_arg, st))
	{
		p->stopped = true;
		return 1;
	}
	return 0;
}

int64
fold_train(const ss_dims *dims, const ss_dataset *data, const int32 *fit, int n_fit,
		   const int32 *val, int n_val, const ss_train_options *opt, int64 held,
		   const char *relname, TrainProgress *prog, ss_train_result *res)
{
	int64		memory_estimate;
	ss_train_callbacks cb;
	const char *err;

	/*
	 * held: the caller's blocks (the events, dictionaries, client ids) and
	 * 1 MB for the catalog caches and plans of the call (0.7 MB in a fresh
	 * backend); transient: the scan's sort, done (work_mem of tuples in
	 * blocks that double up to ALLOCSET_DEFAULT_MAXSIZE: the last one may be
	 * as large as all the others, up to that size).  Watched: it replays
	 * every epoch's steps, seconds on tens of millions of events.
	 */
	for (;;)
	{
		ss_interrupt_begin();
		memory_estimate = ss_train_memory_estimate(dims, data, fit, n_fit, val, n_val, opt,
												   held + 1024 * 1024,
												   (int64) work_mem * 1024
												   + Min((int64) work_mem * 1024, ALLOCSET_DEFAULT_MAXSIZE));
		if (!ss_interrupt_end())
			break;
		core_serve_interrupt();	/* throws, or the estimate is made again */
	}
	check_training_memory(memory_estimate, "events, model, optimiser state and activations");
	ereport(DEBUG1,
			(errmsg("seqsales: %d fitting and %d validation clients, " INT64_FORMAT " events, %d categories, %s",
					n_fit, n_val, data->n_events, dims->n_classes, ss_blas_info())));

	cb.arg = prog;
	cb.tick = core_tick;
	cb.epoch_done = on_epoch;
	err = ss_train(dims, data, fit, n_fit, val, n_val, opt, &cb, res);
	if (err != NULL)
		ereport(ERROR,
				(errcode(err == ss_train_cancelled ? ERRCODE_QUERY_CANCELED : ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot train on relation %s: %s", relname, err)));
	ss_blas_set_threads(1);
	for (int64 i = 0; i < res->n_params; i++)
		if (!isfinite(res->params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("training diverged: the model's parameters are not all finite"),
					 errdetail("No model was stored."),
					 errhint("Lower \"learning_rate\", or check the numeric columns for extreme values.")));
	return memory_estimate;
}

/* ---------------------------------------------------------------- JSON */

void
json_string_array(StringInfo buf, char **strs, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(buf, ", ");
		escape_json(buf, strs[i]);
	}
	appendStringInfoChar(buf, ']');
}

void
json_double_array(StringInfo buf, const double *v, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, "%s%.9g", i ? ", " : "", v[i]);
	appendStringInfoChar(buf, ']');
}
