/*
 * cross_validate.c - seqsales_cross_validate(): client-level K-fold
 * cross-validation of any architecture on one load of the relation.
 *
 * Fold k of the protocol's md5 rule is the test fold once; the other
 * clients train (their validation clients by the same rule as
 * seqsales_train, for early stopping), with vocabularies and
 * normalisation of that fold's fitting clients only; the test clients are
 * evaluated as seqsales_evaluate does (with options {"unit": "order"},
 * by the next-order variant: next-order Hit@k, MRR@10 and Recall@k, the
 * line-level figures NULL).  Each fold works in its own memory
 * context, freed before the next: at most one fold's model and encoded
 * events are held beside the loaded rows.  No model is stored, unless
 * keep_models names them: fold k's model is then stored as
 * '<keep_models>_fold<k>' (every name checked and locked before a row is
 * read, as seqsales_train does).
 */
#include "seqsales.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "../core/blas.h"
#include "../core/evaluate.h"
#include "catalog.h"
#include "fold.h"
#include "load.h"
#include "train_args.h"

PG_FUNCTION_INFO_V1(seqsales_cross_validate);

#define N_FIGURES 11			/* hit1 .. hit3_new */
#define N_RECALL 4				/* recall1 .. recall10 (unit 'order') */
/* per row: clients, the figures, epochs, seconds, the recalls (and the label column) */
#define N_VALUES (N_FIGURES + 3 + N_RECALL)
#define N_COLUMNS (N_VALUES + 1)

/* unit 'order': next-order figures where they have a meaning, NaN (NULL) elsewhere */
static void
set_figures(const ss_set_summary *s, double *f, double *recall)
{
	f[0] = s->hit1;
	f[1] = s->hit3;
	f[2] = s->hit5;
	f[3] = s->hit10;
	f[4] = s->mrr10;
	for (int i = 5; i < N_FIGURES; i++)
		f[i] = NAN;
	recall[0] = s->recall1;
	recall[1] = s->recall3;
	recall[2] = s->recall5;
	recall[3] = s->recall10;
}

static void
summary_figures(const ss_metric_summary *s, double *f)
{
	f[0] = s->hit1;
	f[1] = s->hit3;
	f[2] = s->hit5;
	f[3] = s->hit10;
	f[4] = s->mrr10;
	f[5] = s->ndcg10;
	f[6] = s->coverage;
	f[7] = s->macro_f1;
	f[8] = s->weighted_f1;
	f[9] = s->hit3_repeat;
	f[10] = s->hit3_new;
}

/* one output row: label, clients, the figures, epochs, seconds, recalls (NaN: NULL) */
static void
put_row(ReturnSetInfo *rsinfo, const char *label, double clients, const double *f, double epochs,
		double seconds, const double *recall)
{
	Datum		values[N_COLUMNS];
	bool		nulls[N_COLUMNS] = {0};

	values[0] = CStringGetTextDatum(label);
	values[1] = Float8GetDatum(clients);
	for (int i = 0; i < N_FIGURES; i++)
	{
		values[2 + i] = Float8GetDatum(f[i]);
		nulls[2 + i] = isnan(f[i]);
	}
	values[2 + N_FIGURES] = Float8GetDatum(epochs);
	values[3 + N_FIGURES] = Float8GetDatum(seconds);
	for (int i = 0; i < N_RECALL; i++)
	{
		values[4 + N_FIGURES + i] = Float8GetDatum(recall[i]);
		nulls[4 + N_FIGURES + i] = isnan(recall[i]);
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
seqsales_cross_validate(PG_FUNCTION_ARGS)
{
	static const TrainArgPos pos = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TrainArgs	args;
	ss_train_options opt;
	int			folds;
	MemoryContext cv_cxt,
				fold_cxt,
				old,
				prev_core;
	RawEvents  *raw;
	double		(*fig)[N_VALUES];
	ss_train_callbacks eval_cb = {NULL, core_tick, NULL};
	char	   *keep_prefix = NULL;
	Catalog		cat;
	instr_time	load_start,
				load_time;

	train_args_get(fcinfo, &pos, &args);
	if (PG_ARGISNULL(9))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("folds must not be NULL")));
	folds = PG_GETARG_INT32(9);
	if (folds < 2 || folds > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 2 and 100, not %d", folds)));
	if (!PG_ARGISNULL(10))
	{
		keep_prefix = text_to_cstring(PG_GETARG_TEXT_PP(10));
		if (strlen(keep_prefix) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("keep_models must not be empty"),
					 errhint("Pass a prefix for the fold models' names, or NULL to keep none.")));
	}
	train_args_check(&args);
	InitMaterializedSRF(fcinfo, 0);

	cv_cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales cross-validation",
								   ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (keep_prefix)
	{
		catalog_open(fcinfo->flinfo->fn_oid, &cat);
		for (int k = 0; k < folds; k++)
			catalog_prepare_training(&cat, psprintf("%s_fold%d", keep_prefix, k));
	}
	old = MemoryContextSwitchTo(cv_cxt);
	prev_core = core_use_context(cv_cxt);
	options_parse(args.options, args.arch_id, &opt);
	MemoryContextSwitchTo(cv_cxt);
	core_load_blas();
	INSTR_TIME_SET_CURRENT(load_start);
	raw = load_events(args.relid, &args.cols);
	INSTR_TIME_SET_CURRENT(load_time);
	INSTR_TIME_SUBTRACT(load_time, load_start);
	MemoryContextSwitchTo(cv_cxt);
	if (raw->n_clients == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("relation %s has no client with at least two events", get_rel_name(args.relid))));
	/* every fold must have test clients: checked before any training */
	{
		int		   *per_fold = palloc0(sizeof(int) * folds);

		for (int c = 0; c < raw->n_clients; c++)
			per_fold[client_fold(raw, c, opt.seed, folds)]++;
		for (int k = 0; k < folds; k++)
			if (per_fold[k] == 0 || per_fold[k] == raw->n_clients)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("fold %d of %d has no %s clients", k, folds, per_fold[k] == 0 ? "test" : "training"),
						 errhint("Use fewer folds, or more clients.")));
		pfree(per_fold);
	}
	fig = palloc0(sizeof(double) * N_VALUES * folds);
	fold_cxt = AllocSetContextCreate(cv_cxt, "seqsales fold", ALLOCSET_DEFAULT_SIZES);

	for (int k = 0; k < folds; k++)
	{
		bool	   *keep = palloc(sizeof(bool) * raw->n_clients);
		int32	   *fit,
				   *val,
				   *test;
		int			n_fit,
					n_val,
					n_test = 0;
		FoldVocab	v;
		ss_dataset	data;
		ss_dims		dims;
		ss_train_result res;
		TrainProgress prog = {0};
		ss_metrics *m;
		ss_metric_summary s;
		char		label[16];
		int64		estimate;

		MemoryContextSwitchTo(fold_cxt);
		core_use_context(fold_cxt);
		fit = palloc(sizeof(int32) * raw->n_clients);
		val = palloc(sizeof(int32) * raw->n_clients);
		test = palloc(sizeof(int32) * raw->n_clients);
		for (int c = 0; c < raw->n_clients; c++)
		{
			keep[c] = client_fold(raw, c, opt.seed, folds) != k;
			if (!keep[c])
				test[n_test++] = c;
		}
		fold_split(raw, keep, opt.seed, opt.validation_fraction, fit, &n_fit, val, &n_val);
		if (n_fit == 0 || n_test == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("fold %d of %d has no %s clients", k, folds, n_fit == 0 ? "fitting" : "test"),
					 errhint("Use fewer folds, or more clients.")));
		fold_vocab(raw, fit, n_fit, &v);
		fold_encode(raw, &v, false, &data);
		fold_dims(&v, args.arch_id, &opt, &dims);
		estimate = fold_train(&dims, &data, fit, n_fit, val, n_val, &opt,
							  (int64) MemoryContextMemAllocated(cv_cxt, true), get_rel_name(args.relid),
							  &prog, &res);
		if (keep_prefix)
		{
			StoredFold	f = {psprintf("%s_fold%d", keep_prefix, k), args.relid, &args.cols, &v, &dims, &opt, &res,
			&prog, raw, n_fit, n_val, INSTR_TIME_GET_DOUBLE(load_time), estimate};

			(void) store_model(&cat, &f);
		}
		m = ss_metrics_new(dims.n_classes);
		if (opt.unit == SS_UNIT_ORDER)
		{
			/* raw->cat is kept (fold_encode not in place): the unknown categories told apart */
			ss_set_summary o;

			if (ss_evaluate_orders(&dims, res.params, &data, raw->cat, test, n_test, opt.max_length,
								   opt.threads, &eval_cb, m) < 0)
				core_serve_interrupt();
			ss_metrics_set_summary(m, &o);
			set_figures(&o, fig[k] + 1, fig[k] + 3 + N_FIGURES);
			fig[k][0] = (double) o.n;
		}
		else
		{
			if (ss_evaluate_clients(&dims, res.params, &data, test, n_test, opt.max_length, opt.threads,
									&eval_cb, m) < 0)
				core_serve_interrupt();
			ss_metrics_summary(m, &s);
			summary_figures(&s, fig[k] + 1);
			fig[k][0] = (double) s.n;
			if (s.n_repeat == 0)
				fig[k][1 + 9] = NAN;
			if (s.n_new == 0)
				fig[k][1 + 10] = NAN;
			for (int i = 0; i < N_RECALL; i++)
				fig[k][3 + N_FIGURES + i] = NAN;
		}
		fig[k][1 + N_FIGURES] = res.epochs_run;
		fig[k][2 + N_FIGURES] = res.seconds_total;
		snprintf(label, sizeof(label), "%d", k);
		put_row(rsinfo, label, fig[k][0], fig[k] + 1, fig[k][1 + N_FIGURES], fig[k][2 + N_FIGURES],
				fig[k] + 3 + N_FIGURES);
		MemoryContextSwitchTo(cv_cxt);
		core_use_context(cv_cxt);
		MemoryContextReset(fold_cxt);
	}

	/* mean and sample standard deviation over the folds */
	{
		double		mean[N_VALUES],
					sd[N_VALUES];

		for (int i = 0; i < N_VALUES; i++)
		{
			double		sum = 0.0,
						sq = 0.0;
			int			cnt = 0;

			for (int k = 0; k < folds; k++)
				if (!isnan(fig[k][i]))
				{
					sum += fig[k][i];
					cnt++;
				}
			mean[i] = cnt > 0 ? sum / cnt : NAN;
			for (int k = 0; k < folds; k++)
				if (!isnan(fig[k][i]))
					sq += (fig[k][i] - mean[i]) * (fig[k][i] - mean[i]);
			sd[i] = cnt > 1 ? sqrt(sq / (cnt - 1)) : NAN;
		}
		put_row(rsinfo, "mean", mean[0], mean + 1, mean[1 + N_FIGURES], mean[2 + N_FIGURES],
				mean + 3 + N_FIGURES);
		put_row(rsinfo, "std", sd[0], sd + 1, sd[1 + N_FIGURES], sd[2 + N_FIGURES], sd + 3 + N_FIGURES);
	}
	core_use_context(prev_core);
	MemoryContextSwitchTo(old);
	SPI_finish();
	return (Datum) 0;
}
