/*
 * tune_sql.c - the C half of CALL seqsales_tune (src/sql/selection.sql):
 * the option table, the TPE sampler over a study's trials, and one trial
 * (inner K-fold training with median pruning).
 *
 * The procedure itself is PL/pgSQL, because it commits after every trial
 * (a cancel, a timeout or a crash keeps the finished trials, and the same
 * call continues the study); it keeps the study's search space and its
 * trials as JSON and hands them here as arrays: one trial is one call,
 * which loads the relation once and trains each inner fold on the events
 * already loaded.
 *
 * Objective (as the reference's --tune): inner fold f = md5 part 14..21 of
 * the client % folds; fold f's model trains on the other folds' clients
 * and stops early on fold f's clients, whose best validation Hit@3 is the
 * fold's value; the trial's value is their mean.  Pruning (Optuna's
 * MedianPruner, tpe.h): step = f x epochs + epoch - 1 reports the fold's
 * best value so far; a trial below the median of the complete trials at
 * the same step stops there.
 */
#include "seqsales.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "../core/options.h"
#include "../core/tpe.h"
#include "fold.h"
#include "load.h"
#include "train_args.h"

PG_FUNCTION_INFO_V1(seqsales_option_table);
PG_FUNCTION_INFO_V1(seqsales_tpe_suggest);
PG_FUNCTION_INFO_V1(seqsales_tune_trial);

/* ---------------------------------------------------------------- options */

Datum
seqsales_option_table(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ss_train_options o;

	InitMaterializedSRF(fcinfo, 0);
	ss_train_options_default(&o);
	for (int i = 0; i < ss_option_count(); i++)
	{
		const ss_option_def *d = ss_option_at(i);
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(d->name);
		values[1] = CStringGetTextDatum(d->kind == SS_OPT_INT ? "integer"
										: d->kind == SS_OPT_REAL ? "real"
										: d->kind == SS_OPT_CHOICE ? "text" : "boolean");
		values[2] = Float8GetDatum(d->min);
		values[3] = Float8GetDatum(d->max);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------- arrays */

static double *
float8_arg(FunctionCallInfo fcinfo, int i, int *n)
{
	ArrayType  *a;
	Datum	   *d;
	bool	   *nulls;
	double	   *out;

	if (PG_ARGISNULL(i))
	{
		*n = 0;
		return palloc(sizeof(double));
	}
	a = PG_GETARG_ARRAYTYPE_P(i);
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &d, &nulls, n);
	out = palloc(sizeof(double) * Max(*n, 1));
	for (int j = 0; j < *n; j++)
		out[j] = nulls[j] ? NAN : DatumGetFloat8(d[j]);
	return out;
}

static char **
text_arg(FunctionCallInfo fcinfo, int i, int *n)
{
	ArrayType  *a;
	Datum	   *d;
	bool	   *nulls;
	char	  **out;

	if (PG_ARGISNULL(i))
	{
		*n = 0;
		return palloc(sizeof(char *));
	}
	a = PG_GETARG_ARRAYTYPE_P(i);
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int j = 0; j < *n; j++)
		out[j] = nulls[j] ? "" : TextDatumGetCString(d[j]);
	return out;
}

static ArrayType *
float8_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n},
				lbs[1] = {1};

	for (int j = 0; j < n; j++)
	{
		nulls[j] = isnan(v[j]);
		d[j] = Float8GetDatum(nulls[j] ? 0.0 : v[j]);
	}
	return construct_md_array(d, nulls, 1, dims, lbs, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

static ss_trial_state
state_of(const char *s)
{
	return strcmp(s, "complete") == 0 ? SS_TRIAL_COMPLETE
		: strcmp(s, "pruned") == 0 ? SS_TRIAL_PRUNED
		: strcmp(s, "running") == 0 ? SS_TRIAL_RUNNING : SS_TRIAL_FAILED;
}

/* ---------------------------------------------------------------- sampler */

/*
 * seqsales_tpe_suggest(kinds text[], lows float8[], highs float8[],
 * logs float8[] (0/1), n_choices float8[], states text[], values float8[],
 * params float8[] (trials x parameters, NULL = not sampled),
 * steps float8[] (trials x n_steps), n_steps int, seed bigint)
 * -> float8[]: the next trial's parameters (categorical: choice index).
 */
Datum
seqsales_tpe_suggest(PG_FUNCTION_ARGS)
{
	int			n_p,
				n,
				n_t,
				n_v,
				n_params,
				n_stepv,
				n_steps = PG_ARGISNULL(9) ? 0 : PG_GETARG_INT32(9);
	char	  **kinds = text_arg(fcinfo, 0, &n_p);
	double	   *lows = float8_arg(fcinfo, 1, &n),
			   *highs = float8_arg(fcinfo, 2, &n),
			   *logs = float8_arg(fcinfo, 3, &n),
			   *choices = float8_arg(fcinfo, 4, &n);
	char	  **states = text_arg(fcinfo, 5, &n_t);
	double	   *values = float8_arg(fcinfo, 6, &n_v),
			   *params = float8_arg(fcinfo, 7, &n_params),
			   *steps = float8_arg(fcinfo, 8, &n_stepv),
			   *out;
	int64		seed = PG_ARGISNULL(10) ? 1 : PG_GETARG_INT64(10);
	ss_param_spec *space;
	ss_trial   *trials;
	ss_rng		rng;
	MemoryContext prev;

	if (n_p < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the search space is empty"),
				 errhint("Give at least one option to search, e.g. '{\"learning_rate\": {\"low\": 0.0003, \"high\": 0.003, \"log\": true}}'.")));
	if (n != n_p || n_v != n_t || n_params != n_t * n_p || n_stepv != n_t * n_steps)
		elog(ERROR, "seqsales_tpe_suggest: array lengths do not match");
	space = palloc0(sizeof(ss_param_spec) * n_p);
	for (int j = 0; j < n_p; j++)
	{
		const char *err;

		space[j].kind = strcmp(kinds[j], "categorical") == 0 ? SS_PARAM_CATEGORICAL
			: strcmp(kinds[j], "int") == 0 ? SS_PARAM_INT : SS_PARAM_FLOAT;
		space[j].low = lows[j];
		space[j].high = highs[j];
		space[j].log = logs[j] > 0;
		space[j].n_choices = (int) choices[j];
		if ((err = ss_param_spec_check(&space[j])) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("search space parameter %d is not valid: %s", j + 1, err)));
	}
	trials = palloc0(sizeof(ss_trial) * Max(n_t, 1));
	for (int i = 0; i < n_t; i++)
	{
		trials[i].state = state_of(states[i]);
		trials[i].params = params + (int64) i * n_p;
		trials[i].value = values[i];
		trials[i].n_steps = n_steps;
		trials[i].steps = steps + (int64) i * n_steps;
	}
	out = palloc(sizeof(double) * n_p);
	ss_rng_seed(&rng, (uint64) seed * 0x9e3779b97f4a7c15ULL + (uint64) n_t);
	prev = core_use_context(CurrentMemoryContext);
	ss_tpe_suggest(space, n_p, trials, n_t, NULL, &rng, out);
	core_use_context(prev);
	PG_RETURN_ARRAYTYPE_P(float8_array(out, n_p));
}

/* ---------------------------------------------------------------- one trial */

typedef struct PruneState
{
	const ss_trial *history;	/* the study's earlier trials */
	int			n_history;
	double	   *values;			/* this trial's intermediate values, n_steps */
	int			n_steps;
	int			fold;
	int			epochs;			/* per fold (the option) */
	double		best;			/* the fold's best so far */
	bool		pruned;
} PruneState;

static bool
prune_check(void *arg, const ss_epoch_stats *st)
{
	PruneState *p = arg;
	int			step = p->fold * p->epochs + st->epoch - 1;

	if (st->validation_hit3 > p->best)
		p->best = st->validation_hit3;
	if (step < 0 || step >= p->n_steps)
		return false;
	p->values[step] = p->best;
	if (ss_median_prune(p->history, p->n_history, p->values, step, NULL))
	{
		p->pruned = true;
		return true;
	}
	return false;
}

/*
 * seqsales_tune_trial(source, client_column, time_column, target_column,
 * categorical, numeric, architecture, options, tiebreak_column, folds,
 * history_states text[], history_steps float8[] (trials x n_steps))
 * -> (state, value, fold_values, intermediate, epochs, seconds)
 */
Datum
seqsales_tune_trial(PG_FUNCTION_ARGS)
{
	static const TrainArgPos pos = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	TrainArgs	args;
	ss_train_options opt;
	int			folds,
				n_h,
				n_hs;
	char	  **hstates;
	double	   *hsteps;
	ss_trial   *history;
	PruneState	ps;
	MemoryContext cxt,
				fold_cxt,
				old,
				prev_core;
	RawEvents  *raw;
	double	   *fold_values;
	int			epochs_total = 0,
				folds_run = 0;
	double		seconds = 0.0,
				sum = 0.0;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {0};

	train_args_get(fcinfo, &pos, &args);
	folds = PG_ARGISNULL(9) ? 3 : PG_GETARG_INT32(9);
	if (folds < 2 || folds > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 2 and 100, not %d", folds)));
	train_args_check(&args);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "seqsales_tune_trial must return a record");

	cxt = AllocSetContextCreate(CurrentMemoryContext, "seqsales trial", ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	old = MemoryContextSwitchTo(cxt);
	prev_core = core_use_context(cxt);
	options_parse(args.options, args.arch_id, &opt);
	MemoryContextSwitchTo(cxt);

	hstates = text_arg(fcinfo, 10, &n_h);
	hsteps = float8_arg(fcinfo, 11, &n_hs);
	memset(&ps, 0, sizeof(ps));
	ps.epochs = opt.epochs;
	ps.n_steps = folds * opt.epochs;
	if (n_hs != n_h * ps.n_steps)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the study's earlier trials have %d intermediate values, not %d x %d",
						n_hs, n_h, ps.n_steps),
				 errhint("The \"epochs\" option and the folds of a study must not change.")));
	history = palloc0(sizeof(ss_trial) * Max(n_h, 1));
	for (int i = 0; i < n_h; i++)
	{
		history[i].state = state_of(hstates[i]);
		history[i].value = NAN;
		history[i].n_steps = ps.n_steps;
		history[i].steps = hsteps + (int64) i * ps.n_steps;
	}
	ps.history = history;
	ps.n_history = n_h;
	ps.values = palloc(sizeof(double) * Max(ps.n_steps, 1));
	for (int s = 0; s < ps.n_steps; s++)
		ps.values[s] = NAN;

	core_load_blas();
	raw = load_events(args.relid, &args.cols);
	MemoryContextSwitchTo(cxt);
	fold_values = palloc(sizeof(double) * folds);
	fold_cxt = AllocSetContextCreate(cxt, "seqsales inner fold", ALLOCSET_DEFAULT_SIZES);
	for (int f = 0; f < folds && !ps.pruned; f++)
	{
		int32	   *fit,
				   *val;
		int			n_fit = 0,
					n_val = 0;
		FoldVocab	v;
		ss_dataset	data;
		ss_dims		dims;
		ss_train_result res;
		TrainProgress prog = {0};

		MemoryContextSwitchTo(fold_cxt);
		core_use_context(fold_cxt);
		fit = palloc(sizeof(int32) * Max(raw->n_clients, 1));
		val = palloc(sizeof(int32) * Max(raw->n_clients, 1));
		for (int c = 0; c < raw->n_clients; c++)
		{
			if ((int) (client_hash_part(opt.seed, raw->client_ids[c], 14) % (uint32) folds) == f)
				val[n_val++] = c;
			else
				fit[n_fit++] = c;
		}
		if (n_fit == 0 || n_val == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("inner fold %d of %d has no %s clients", f, folds,
							n_fit == 0 ? "fitting" : "validation"),
					 errhint("Use fewer folds, or more clients.")));
		fold_vocab(raw, fit, n_fit, &v);
		fold_encode(raw, &v, false, &data);
		fold_dims(&v, args.arch_id, &opt, &dims);
		ps.fold = f;
		ps.best = -1.0;
		prog.stop = prune_check;
		prog.stop_arg = &ps;
		fold_train(&dims, &data, fit, n_fit, val, n_val, &opt,
				   (int64) MemoryContextMemAllocated(cxt, true), get_rel_name(args.relid), &prog, &res);
		fold_values[f] = res.best_validation_hit3;
		sum += res.best_validation_hit3;
		epochs_total += res.epochs_run;
		seconds += res.seconds_total;
		folds_run++;
		MemoryContextSwitchTo(cxt);
		core_use_context(cxt);
		MemoryContextReset(fold_cxt);
	}

	values[0] = CStringGetTextDatum(ps.pruned ? "pruned" : "complete");
	values[1] = Float8GetDatum(sum / folds);
	nulls[1] = ps.pruned;
	values[2] = PointerGetDatum(float8_array(fold_values, folds_run));
	values[3] = PointerGetDatum(float8_array(ps.values, ps.n_steps));
	values[4] = Int32GetDatum(epochs_total);
	values[5] = Float8GetDatum(seconds);
	core_use_context(prev_core);
	MemoryContextSwitchTo(old);
	{
		HeapTuple	tup = heap_form_tuple(BlessTupleDesc(desc), values, nulls);
		Datum		result = HeapTupleGetDatum(tup);

		SPI_finish();
		PG_RETURN_DATUM(result);
	}
}
