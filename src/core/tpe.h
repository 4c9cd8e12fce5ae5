/*
 * tpe.h - the search engine of a hyperparameter study: a TPE sampler that
 * proposes the next trial's parameters from the history of the study, and
 * a median pruner that stops a running trial whose intermediate values
 * fall behind the earlier trials'.  Both behave as Optuna 3.1's defaults
 * (TPESampler(), MedianPruner()); doc/tuning.md describes them for users,
 * tpe.c and prune.c say where they follow Optuna and where they differ.
 *
 * The engine knows no SQL and keeps no state: the caller holds the history
 * (one ss_trial per earlier trial, in the order the trials were started)
 * and passes all of it on every call.  Objectives are maximised.  Results
 * depend only on the arguments and the rng state.
 */
#ifndef SS_TPE_H
#define SS_TPE_H

#include <stdbool.h>

#include "rng.h"

/*
 * One dimension of the search space.  A parameter's value is a double in
 * every kind: an integral double for SS_PARAM_INT, the index 0 .. n-1 of
 * the choice for SS_PARAM_CATEGORICAL (the SQL side maps indices to
 * values).
 */
typedef enum ss_param_kind
{
	SS_PARAM_FLOAT,				/* uniform in [low, high] */
	SS_PARAM_INT,				/* uniform integer in [low, high] */
	SS_PARAM_CATEGORICAL		/* one of n_choices unordered choices */
} ss_param_kind;

typedef struct ss_param_spec
{
	ss_param_kind kind;
	int			log;			/* FLOAT, INT: log-uniform (low > 0; INT: low >= 1) */
	double		low,			/* FLOAT, INT: inclusive bounds, low <= high */
				high;			/* (integral for INT) */
	int			n_choices;		/* CATEGORICAL: >= 1 */
} ss_param_spec;

/* NULL if p is a valid dimension, else what is wrong (a static string) */
const char *ss_param_spec_check(const ss_param_spec *p);

/*
 * One earlier trial.  A COMPLETE trial whose value is NaN counts as FAILED
 * (Optuna fails a trial whose objective is NaN).  steps[s] is the
 * intermediate value reported at step s (s = 0 .. n_steps - 1); NaN means
 * none.  A trial's params[j] may be NaN: the parameter was not sampled in
 * that trial (a conditional parameter); it is then left out of that
 * parameter's estimators.
 */
typedef enum ss_trial_state
{
	SS_TRIAL_COMPLETE,
	SS_TRIAL_PRUNED,
	SS_TRIAL_FAILED,
	SS_TRIAL_RUNNING
} ss_trial_state;

typedef struct ss_trial
{
	ss_trial_state state;
	const double *params;		/* n_params values, in the order of the space */
	double		value;			/* COMPLETE: the objective (maximised) */
	int			n_steps;
	const double *steps;		/* n_steps intermediate values, NaN = none */
} ss_trial;

/*
 * TPE sampler (Optuna's TPESampler() defaults: univariate, gamma(n) =
 * min(ceil(0.1 n), 25), flat weights below 25 observations then a ramp
 * over the oldest, magic clip on, endpoints off).
 *
 * How the history enters:
 * - COMPLETE trials rank by value;
 * - PRUNED trials rank after every COMPLETE one, those pruned at a later
 *   step first, then by their value at their last step (n_steps - 1; NaN
 *   there, or no step at all, ranks last);
 * - FAILED and RUNNING trials are ignored.
 * Until n_startup_trials COMPLETE or PRUNED trials exist every parameter is
 * drawn uniformly (log-uniformly for log parameters).
 */
typedef struct ss_tpe_options
{
	int			n_startup_trials;	/* 10 */
	int			n_ei_candidates;	/* 24, >= 1 */
	double		prior_weight;		/* 1.0, > 0 */
} ss_tpe_options;

void		ss_tpe_options_default(ss_tpe_options *o);

/*
 * The next trial's parameters into out[0 .. n_params - 1].  Every spec must
 * pass ss_param_spec_check; o NULL means the defaults.  A dimension with a single value (low == high,
 * one choice) gets it without drawing from rng.  Allocates through
 * ss_alloc and frees before returning; main thread only.
 */
void		ss_tpe_suggest(const ss_param_spec *space, int n_params,
						   const ss_trial *trials, int n_trials,
						   const ss_tpe_options *o, ss_rng *rng, double *out);

/*
 * Median pruner (Optuna's MedianPruner()).  The running trial has reported
 * values[0 .. step] (NaN = none) and has just reported step.  It is pruned
 * when its best value so far is below the median of the values that the
 * COMPLETE earlier trials reported at that same step (trials with no value
 * there are left out; PRUNED, FAILED and RUNNING trials never count).  It
 * is never pruned while fewer than n_startup_trials trials are COMPLETE (or
 * none is), before step n_warmup_steps, at a step that is not the first
 * with a value in its interval (intervals of interval_steps steps from
 * n_warmup_steps on), or when no COMPLETE trial has a value at the step.  A trial
 * whose values so far are all NaN is pruned (as Optuna prunes a trial that
 * reports only NaN).
 */
typedef struct ss_median_options
{
	int			n_startup_trials;	/* 5 */
	int			n_warmup_steps; /* 0 */
	int			interval_steps; /* 1, >= 1 */
} ss_median_options;

void		ss_median_options_default(ss_median_options *o);

/* whether to prune the running trial now; o NULL means the defaults */

bool		ss_median_prune(const ss_trial *trials, int n_trials,
							const double *values, int step,
							const ss_median_options *o);

#endif
