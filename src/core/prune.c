/*
 * prune.c - the median pruner (see tpe.h).
 *
 * Optuna 3.1's MedianPruner is its PercentilePruner at 50 (pruners/
 * _median.py, _percentile.py); for a maximised objective it prunes a trial
 * whose best intermediate value so far is below the median, over the
 * COMPLETE trials that reported a value at the trial's latest step, of
 * those values (numpy's nanpercentile: the middle value, or the mean of
 * the two middle ones).  Pruned trials never enter the median, nor the
 * startup count.  We follow it with these readings of the representation:
 * a NaN in steps[] is "no value" for the median (Optuna's nanpercentile
 * skips NaN too) and for the interval check (where Optuna counts a
 * reported NaN as a report); n_min_trials is Optuna's default, 1.
 */
#include "tpe.h"

#include <math.h>
#include <stdlib.h>

#include "ss_alloc.h"

void
ss_median_options_default(ss_median_options *o)
{
	o->n_startup_trials = 5;
	o->n_warmup_steps = 0;
	o->interval_steps = 1;
}

static int
double_cmp(const void *pa, const void *pb)
{
	double		a = *(const double *) pa;
	double		b = *(const double *) pb;

	return a < b ? -1 : a > b;
}

/*
 * Whether step is the first step with a value in its interval: intervals
 * of interval_steps steps start at n_warmup_steps, and a check that found
 * no value is put off to the next step that has one.
 */
static bool
is_check_step(const double *values, int step, const ss_median_options *o)
{
	int			interval = o->interval_steps > 0 ? o->interval_steps : 1;
	int			grid = (step - o->n_warmup_steps) / interval * interval + o->n_warmup_steps;
	int			previous = -1;

	for (int s = step - 1; s >= 0; s--)
		if (!isnan(values[s]))
		{
			previous = s;
			break;
		}
	return previous < grid;
}

/* the median of the COMPLETE trials' values at step; NaN if there is none */
static double
median_at_step(const ss_trial *trials, int n_trials, int step)
{
	double	   *v = SS_NEW_ARRAY(double, n_trials + 1);
	double		median = NAN;
	int			n = 0;

	for (int i = 0; i < n_trials; i++)
	{
		const ss_trial *t = &trials[i];

		if (t->state == SS_TRIAL_COMPLETE && !isnan(t->value) &&
			step < t->n_steps && !isnan(t->steps[step]))
			v[n++] = t->steps[step];
	}
	if (n > 0)
	{
		qsort(v, (size_t) n, sizeof(double), double_cmp);
		median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
	}
	ss_free(v);
	return median;
}

bool
ss_median_prune(const ss_trial *trials, int n_trials, const double *values,
				int step, const ss_median_options *o)
{
	ss_median_options defaults;
	double		best = NAN,
				median;
	int			n_complete = 0;

	if (o == NULL)
	{
		ss_median_options_default(&defaults);
		o = &defaults;
	}
	for (int i = 0; i < n_trials; i++)
		n_complete += trials[i].state == SS_TRIAL_COMPLETE && !isnan(trials[i].value);
	if (n_complete == 0 || n_complete < o->n_startup_trials)
		return false;
	if (step < 0 || step < o->n_warmup_steps)
		return false;
	if (!is_check_step(values, step, o))
		return false;

	for (int s = 0; s <= step; s++)
		if (!isnan(values[s]) && (isnan(best) || values[s] > best))
			best = values[s];
	if (isnan(best))
		return true;

	median = median_at_step(trials, n_trials, step);
	return !isnan(median) && best < median;
}
