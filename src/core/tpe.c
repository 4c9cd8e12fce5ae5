/*
 * tpe.c - the Tree-structured Parzen Estimator sampler (see tpe.h).
 *
 * What TPE does.  Random search draws every trial from the prior (uniform,
 * or log-uniform).  TPE (Bergstra et al. 2011) draws the first few trials
 * that way, then splits the finished trials into the few best ("below",
 * gamma(n) of them) and the rest ("above"), and models the density of each
 * parameter in each group with a Parzen estimator: a mixture with one
 * truncated Gaussian per observed value, plus one wide component for the
 * prior.  Wherever l(x), the density of the good trials, is high compared
 * to g(x), the density of the others, a trial is more likely to be good
 * (maximising l/g maximises the expected improvement under the model).  So
 * TPE draws n_ei_candidates points from l and keeps the one with the
 * largest log l(x) - log g(x).  Each parameter is modelled on its own (the
 * univariate TPE), in the order of the space, from the same split.
 *
 * What we follow from Optuna 3.1 (TPESampler() with its defaults, read
 * from samplers/_tpe/sampler.py and parzen_estimator.py):
 * - startup: until n_startup_trials COMPLETE or PRUNED trials exist, the
 *   parameters are drawn as Optuna's RandomSampler draws them: floats
 *   uniform in [low, high), log floats exp(uniform(log low, log high)),
 *   ints uniform, log ints round(exp(uniform(log(low - 0.5),
 *   log(high + 0.5)))), categoricals uniform;
 * - the split: gamma(n) = min(ceil(0.1 n), 25) best of the n COMPLETE and
 *   PRUNED trials, ranked by (step key, loss) as Optuna ranks them (tpe.h
 *   says how), each group kept in trial order;
 * - the estimator of m observations: the weights are 1 for m < 25, else a
 *   ramp linspace(1/m, 1, m - 25) over the oldest and 1 for the newest 25,
 *   plus prior_weight for the prior, all normalised; the prior is centred
 *   on the range with sigma = the range; an observation's sigma is the
 *   larger gap to its neighbours among the sorted centres (prior included)
 *   and the bounds, except that the lowest and highest centres take the gap
 *   to their inner neighbour only (consider_endpoints = False); sigmas are
 *   clipped to [range / min(100, m + 2), range] (the magic clip);
 * - the internal space: log floats and log ints are modelled in log space;
 *   ints widen their bounds by half a step each side, [low - 0.5,
 *   high + 0.5] (log ints in log space, log(low - 0.5) ..), and a non-log
 *   int's density at k is the mass of [k - 0.5, k + 0.5] (clipped to the
 *   bounds); samples are rounded and clipped back to [low, high];
 * - categoricals: a component puts prior_weight / (m + 1) on every choice
 *   and 1 more on its own, normalised; the prior component is uniform;
 * - parameters with a single value (low == high, one choice) are not
 *   sampled at all (Optuna's trial returns the value without asking the
 *   sampler), so they draw nothing from the rng.
 *
 * Where we differ:
 * - the random numbers: ss_rng (xoshiro256**) instead of numpy's Mersenne
 *   twister, so the draws are not Optuna's for the same seed, only the same
 *   distributions;
 * - truncated Gaussians are sampled by rejection from the untruncated one
 *   instead of Optuna's inverse CDF: the same distribution, and cheap here
 *   since every centre lies inside the bounds and sigma <= the range, so a
 *   draw is accepted with probability > 1/3 (observations outside the
 *   bounds, say after the space changed, are clipped into them first);
 * - Optuna ranks a pruned trial by the value at its largest reported step,
 *   which is also ours (n_steps - 1) when the caller reports steps in
 *   order; a pruned trial with no steps ranks last in both;
 * - not implemented: the multivariate and group modes, constant_liar,
 *   constraints, multi-objective studies, stepped floats.
 */
#include "tpe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ss_alloc.h"

#define LOG_SQRT_2PI	0.91893853320467274178	/* log(sqrt(2 pi)) */
#define SQRT_HALF		0.70710678118654752440	/* 1 / sqrt(2) */

/* how many trials an estimator weighs flat before the ramp starts */
#define FLAT_WEIGHTS	25

/* rejection sampling gives up (and clips) after this many draws */
#define MAX_REJECTIONS	1000

void
ss_tpe_options_default(ss_tpe_options *o)
{
	o->n_startup_trials = 10;
	o->n_ei_candidates = 24;
	o->prior_weight = 1.0;
}

const char *
ss_param_spec_check(const ss_param_spec *p)
{
	switch (p->kind)
	{
		case SS_PARAM_FLOAT:
		case SS_PARAM_INT:
			if (!isfinite(p->low) || !isfinite(p->high))
				return "bounds must be finite";
			if (p->low > p->high)
				return "low must not exceed high";
			if (p->kind == SS_PARAM_INT &&
				(p->low != floor(p->low) || p->high != floor(p->high)))
				return "bounds of an integer parameter must be integers";
			if (p->kind == SS_PARAM_INT &&
				(fabs(p->low) > 9007199254740992.0 || fabs(p->high) > 9007199254740992.0))
				return "bounds of an integer parameter must be within +-2^53";
			if (p->log && p->kind == SS_PARAM_FLOAT && p->low <= 0.0)
				return "low of a log parameter must be positive";
			if (p->log && p->kind == SS_PARAM_INT && p->low < 1.0)
				return "low of a log integer parameter must be at least 1";
			return NULL;
		case SS_PARAM_CATEGORICAL:
			if (p->n_choices < 1)
				return "a categorical parameter needs at least one choice";
			return NULL;
	}
	return "unknown parameter kind";
}

/* ----------------------------------------------------------------------
 * Gaussian helpers
 * ---------------------------------------------------------------------- */

/* N(0, 1), in double (Box-Muller; one of the pair is dropped) */
static double
draw_normal(ss_rng *rng)
{
	double		u1 = ss_rng_uniform(rng);
	double		u2 = ss_rng_uniform(rng);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Phi(z), the standard normal CDF */
static double
ndtr(double z)
{
	return 0.5 * erfc(-z * SQRT_HALF);
}

/*
 * log Phi(z), finite far into the lower tail: below -20 erfc has too few
 * digits left, and the asymptotic series of Mills' ratio takes over.
 */
static double
log_ndtr(double z)
{
	double		sum = 1.0,
				term = 1.0,
				inv_z2;

	if (z > 6.0)
		return log1p(-ndtr(-z));
	if (z > -20.0)
		return log(ndtr(z));

	/* Phi(z) = phi(z) / -z * (1 - 1/z^2 + 3/z^4 - 15/z^6 + ...) */
	inv_z2 = 1.0 / (z * z);
	for (int i = 1; i < 50; i++)
	{
		term *= -(2 * i - 1) * inv_z2;
		sum += term;
		if (fabs(term) < 1e-17)
			break;
	}
	return -0.5 * z * z - log(-z) - LOG_SQRT_2PI + log(sum);
}

/* log of the standard normal mass of [a, b], a <= b; -inf when empty */
static double
log_gauss_mass(double a, double b)
{
	double		la,
				lb;

	if (a >= b)
		return -INFINITY;
	if (a > 0.0)
	{
		/* in the upper tail: by symmetry, the mass of [-b, -a] */
		double		t = -a;

		a = -b;
		b = t;
	}
	if (b <= 0.0)
	{
		/* both in the lower tail: Phi(b) (1 - Phi(a) / Phi(b)) */
		la = log_ndtr(a);
		lb = log_ndtr(b);
		return lb + log1p(-exp(la - lb));
	}
	/* a <= 0 < b: a mass of some size, 1 minus the two tails is accurate */
	return log1p(-ndtr(a) - ndtr(-b));
}

/* N(mu, sigma^2) truncated to [lo, hi], mu in [lo, hi], 0 < sigma */
static double
draw_truncated_normal(double mu, double sigma, double lo, double hi, ss_rng *rng)
{
	double		x = mu;

	for (int i = 0; i < MAX_REJECTIONS; i++)
	{
		x = mu + sigma * draw_normal(rng);
		if (x >= lo && x <= hi)
			return x;
	}
	return x < lo ? lo : hi;
}

/*
 * A running log-sum-exp: add terms with lse_add, read the log of the sum of
 * their exponentials in *max + log(*sum).  -inf terms add nothing.
 */
static void
lse_add(double *max, double *sum, double t)
{
	if (t == -INFINITY)
		return;
	if (t > *max)
	{
		*sum = *sum * exp(*max - t) + 1.0;
		*max = t;
	}
	else
		*sum += exp(t - *max);
}

/* ----------------------------------------------------------------------
 * A dimension's internal space: where its estimators live
 * ---------------------------------------------------------------------- */

typedef struct dim
{
	const ss_param_spec *spec;
	double		lo,				/* bounds in the internal space */
				hi;
	bool		discrete;		/* non-log INT: densities are masses of unit cells */
} dim;

static void
dim_init(dim *d, const ss_param_spec *p)
{
	d->spec = p;
	d->discrete = p->kind == SS_PARAM_INT && !p->log;
	switch (p->kind)
	{
		case SS_PARAM_FLOAT:
			d->lo = p->log ? log(p->low) : p->low;
			d->hi = p->log ? log(p->high) : p->high;
			break;
		case SS_PARAM_INT:
			d->lo = p->log ? log(p->low - 0.5) : p->low - 0.5;
			d->hi = p->log ? log(p->high + 0.5) : p->high + 0.5;
			break;
		case SS_PARAM_CATEGORICAL:
			d->lo = 0.0;
			d->hi = p->n_choices - 1;
			break;
	}
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* a parameter value into the internal space (clipped into the bounds) */
static double
dim_internal(const dim *d, double x)
{
	if (d->spec->kind == SS_PARAM_CATEGORICAL)
		return x;
	return clamp(d->spec->log ? log(x) : x, d->lo, d->hi);
}

/* a point of the internal space back into a parameter value */
static double
dim_external(const dim *d, double y)
{
	const ss_param_spec *p = d->spec;
	double		x = p->log ? exp(y) : y;

	if (p->kind == SS_PARAM_INT)
		x = rint(x);
	return clamp(x, p->low, p->high);
}

/* a parameter drawn from its prior, as Optuna's RandomSampler */
static double
draw_uniform(const ss_param_spec *p, ss_rng *rng)
{
	dim			d;

	if (p->kind == SS_PARAM_CATEGORICAL)
		return (double) ss_rng_below(rng, (uint64_t) p->n_choices);
	if (p->kind == SS_PARAM_INT && !p->log)
		return p->low + (double) ss_rng_below(rng, (uint64_t) (p->high - p->low + 1.0));
	dim_init(&d, p);
	return dim_external(&d, d.lo + (d.hi - d.lo) * ss_rng_uniform(rng));
}

static bool
is_single(const ss_param_spec *p)
{
	return p->kind == SS_PARAM_CATEGORICAL ? p->n_choices == 1 : p->low == p->high;
}

/* ----------------------------------------------------------------------
 * The split of the history into below and above
 * ---------------------------------------------------------------------- */

enum
{
	SIDE_NONE,					/* failed, running: not in the model */
	SIDE_BELOW,
	SIDE_ABOVE
};

typedef struct ranked
{
	int			trial;
	double		step_key;		/* -inf for COMPLETE, -(last step) for PRUNED */
	double		loss;			/* -value: lower is better */
} ranked;

static bool
is_complete(const ss_trial *t)
{
	return t->state == SS_TRIAL_COMPLETE && !isnan(t->value);
}

static bool
is_ranked(const ss_trial *t)
{
	return is_complete(t) || t->state == SS_TRIAL_PRUNED;
}

static int
ranked_cmp(const void *pa, const void *pb)
{
	const ranked *a = pa;
	const ranked *b = pb;

	if (a->step_key != b->step_key)
		return a->step_key < b->step_key ? -1 : 1;
	if (a->loss != b->loss)
		return a->loss < b->loss ? -1 : 1;
	return a->trial - b->trial; /* stable: the earlier trial first */
}

/*
 * Optuna's order: COMPLETE trials by value, then PRUNED trials by the
 * latest step they reached (later first) and their value there (NaN last
 * in its step), then PRUNED trials with no step at all.
 */
static ranked
rank_key(const ss_trial *t, int index)
{
	ranked		r;

	r.trial = index;
	if (is_complete(t))
	{
		r.step_key = -INFINITY;
		r.loss = -t->value;
	}
	else if (t->n_steps > 0)
	{
		double		last = t->steps[t->n_steps - 1];

		r.step_key = -(double) (t->n_steps - 1);
		r.loss = isnan(last) ? INFINITY : -last;
	}
	else
	{
		r.step_key = 1.0;
		r.loss = 0.0;
	}
	return r;
}

/* side[i] for every trial: the n_below best ranked trials are below */
static unsigned char *
split_history(const ss_trial *trials, int n_trials, int n_below)
{
	unsigned char *side = SS_NEW_ARRAY(unsigned char, n_trials + 1);
	ranked	   *order = SS_NEW_ARRAY(ranked, n_trials + 1);
	int			n = 0;

	for (int i = 0; i < n_trials; i++)
		if (is_ranked(&trials[i]))
			order[n++] = rank_key(&trials[i], i);
	qsort(order, (size_t) n, sizeof(ranked), ranked_cmp);
	for (int r = 0; r < n; r++)
		side[order[r].trial] = r < n_below ? SIDE_BELOW : SIDE_ABOVE;
	ss_free(order);
	return side;
}

static int
default_gamma(int n)
{
	int			g = (int) ceil(0.1 * n);

	return g < 25 ? g : 25;
}

/* ----------------------------------------------------------------------
 * The Parzen estimator of one dimension
 * ---------------------------------------------------------------------- */

typedef struct parzen
{
	int			n;				/* components: m observations, then the prior */
	double	   *weight;			/* n, summing to 1 */
	/* numerical dimensions, in the internal space */
	double	   *mu;
	double	   *sigma;
	double	   *log_norm;		/* log weight - log mass of [lo, hi]; for
								 * continuous ones also - log(sigma sqrt(2pi)) */
	/* categorical dimensions */
	int		   *choice;			/* the observed choice, -1 for the prior */
	int			n_choices;
	double		p_own,			/* an observation's probability of its choice */
				p_other;		/* and of any other */
} parzen;

typedef struct by_value
{
	double		value;
	int			index;
} by_value;

static int
by_value_cmp(const void *pa, const void *pb)
{
	const by_value *a = pa;
	const by_value *b = pb;

	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return a->index - b->index;
}

/* Optuna's default_weights for m observations (oldest first), then the prior */
static void
parzen_weights(parzen *pe, int m, double prior_weight)
{
	int			n_ramp = m < FLAT_WEIGHTS ? 0 : m - FLAT_WEIGHTS;
	double		total = 0.0;

	for (int i = 0; i < m; i++)
	{
		double		w = 1.0;

		if (i < n_ramp)
			w = n_ramp == 1 ? 1.0 / m :
				1.0 / m + (1.0 - 1.0 / m) * i / (n_ramp - 1);
		pe->weight[i] = w;
		total += w;
	}
	pe->weight[m] = prior_weight;
	total += prior_weight;
	for (int i = 0; i <= m; i++)
		pe->weight[i] /= total;
}

/* centres and bandwidths of m observations y (internal space) and the prior */
static void
parzen_fit_numeric(parzen *pe, const dim *d, const double *y, int m)
{
	int			n = m + 1;
	double		range = d->hi - d->lo;
	double		min_sigma = range / fmin(100.0, 1.0 + n);
	by_value   *sorted = SS_NEW_ARRAY(by_value, n);

	pe->mu = SS_NEW_ARRAY(double, n);
	pe->sigma = SS_NEW_ARRAY(double, n);
	pe->log_norm = SS_NEW_ARRAY(double, n);
	for (int i = 0; i < m; i++)
		pe->mu[i] = y[i];
	pe->mu[m] = 0.5 * (d->lo + d->hi);

	for (int i = 0; i < n; i++)
	{
		sorted[i].value = pe->mu[i];
		sorted[i].index = i;
	}
	qsort(sorted, (size_t) n, sizeof(by_value), by_value_cmp);
	for (int r = 0; r < n; r++)
	{
		double		here = sorted[r].value;
		double		left = here - (r > 0 ? sorted[r - 1].value : d->lo);
		double		right = (r < n - 1 ? sorted[r + 1].value : d->hi) - here;
		double		s = fmax(left, right);

		/* consider_endpoints = False: the outermost look inwards only */
		if (n >= 2 && r == 0)
			s = right;
		else if (n >= 2 && r == n - 1)
			s = left;
		pe->sigma[sorted[r].index] = clamp(s, min_sigma, range);
	}
	pe->sigma[m] = range;
	ss_free(sorted);

	/* the constant factor of each component's density (or cell mass) */
	for (int i = 0; i < n; i++)
	{
		double		s = pe->sigma[i];

		pe->log_norm[i] = log(pe->weight[i]) -
			log_gauss_mass((d->lo - pe->mu[i]) / s, (d->hi - pe->mu[i]) / s);
		if (!d->discrete)
			pe->log_norm[i] -= log(s) + LOG_SQRT_2PI;
	}
}

static void
parzen_fit_categorical(parzen *pe, const dim *d, const double *y, int m,
					   double prior_weight)
{
	double		a = prior_weight / (m + 1);
	int			c = d->spec->n_choices;

	pe->n_choices = c;
	pe->choice = SS_NEW_ARRAY(int, m + 1);
	for (int i = 0; i < m; i++)
		pe->choice[i] = (int) y[i];
	pe->choice[m] = -1;
	pe->p_own = (a + 1.0) / (a * c + 1.0);
	pe->p_other = a / (a * c + 1.0);
}

/* the estimator of m observations y (internal space) */
static void
parzen_fit(parzen *pe, const dim *d, const double *y, int m, double prior_weight)
{
	memset(pe, 0, sizeof(*pe));
	pe->n = m + 1;
	pe->weight = SS_NEW_ARRAY(double, m + 1);
	parzen_weights(pe, m, prior_weight);
	if (d->spec->kind == SS_PARAM_CATEGORICAL)
		parzen_fit_categorical(pe, d, y, m, prior_weight);
	else
		parzen_fit_numeric(pe, d, y, m);
}

static void
parzen_free(parzen *pe)
{
	ss_free(pe->weight);
	ss_free(pe->mu);
	ss_free(pe->sigma);
	ss_free(pe->log_norm);
	ss_free(pe->choice);
}

static double
category_p(const parzen *pe, int k, int c)
{
	if (pe->choice[k] < 0)
		return 1.0 / pe->n_choices;
	return pe->choice[k] == c ? pe->p_own : pe->p_other;
}

/* a component drawn by weight */
static int
draw_component(const parzen *pe, ss_rng *rng)
{
	double		u = ss_rng_uniform(rng),
				acc = 0.0;

	for (int k = 0; k < pe->n - 1; k++)
	{
		acc += pe->weight[k];
		if (u < acc)
			return k;
	}
	return pe->n - 1;
}

/* a choice drawn from component k */
static int
draw_category(const parzen *pe, int k, ss_rng *rng)
{
	double		u = ss_rng_uniform(rng),
				acc = 0.0;

	for (int c = 0; c < pe->n_choices - 1; c++)
	{
		acc += category_p(pe, k, c);
		if (u < acc)
			return c;
	}
	return pe->n_choices - 1;
}

/* a parameter value drawn from the mixture */
static double
parzen_draw(const parzen *pe, const dim *d, ss_rng *rng)
{
	int			k = draw_component(pe, rng);

	if (d->spec->kind == SS_PARAM_CATEGORICAL)
		return draw_category(pe, k, rng);
	return dim_external(d, draw_truncated_normal(pe->mu[k], pe->sigma[k],
												 d->lo, d->hi, rng));
}

/* log density (log mass for discrete dimensions) of the mixture at y */
static double
parzen_log_pdf(const parzen *pe, const dim *d, double y)
{
	double		max = -INFINITY,
				sum = 0.0;

	if (d->spec->kind == SS_PARAM_CATEGORICAL)
	{
		for (int k = 0; k < pe->n; k++)
			sum += pe->weight[k] * category_p(pe, k, (int) y);
		return log(sum);
	}
	for (int k = 0; k < pe->n; k++)
	{
		double		mu = pe->mu[k],
					s = pe->sigma[k];

		if (d->discrete)
		{
			double		a = fmax(y - 0.5, d->lo),
						b = fmin(y + 0.5, d->hi);

			lse_add(&max, &sum, pe->log_norm[k] +
					log_gauss_mass((a - mu) / s, (b - mu) / s));
		}
		else
		{
			double		z = (y - mu) / s;

			lse_add(&max, &sum, pe->log_norm[k] - 0.5 * z * z);
		}
	}
	return max + log(sum);
}

/* ----------------------------------------------------------------------
 * The sampler
 * ---------------------------------------------------------------------- */

/* dimension j of the trials on the given side, in trial order, into y */
static int
gather(const ss_trial *trials, int n_trials, const unsigned char *side,
	   int which, int j, const dim *d, double *y)
{
	int			m = 0;

	for (int i = 0; i < n_trials; i++)
		if (side[i] == which && !isnan(trials[i].params[j]))
			y[m++] = dim_internal(d, trials[i].params[j]);
	return m;
}

/* dimension j by TPE: the best of the candidates drawn from l by l / g */
static double
suggest_dimension(const ss_param_spec *p, int j, const ss_trial *trials,
				  int n_trials, const unsigned char *side,
				  const ss_tpe_options *o, ss_rng *rng)
{
	dim			d;
	parzen		below,
				above;
	double	   *y = SS_NEW_ARRAY(double, n_trials + 1);
	double		best = 0.0,
				best_score = -INFINITY;
	int			m;

	dim_init(&d, p);
	m = gather(trials, n_trials, side, SIDE_BELOW, j, &d, y);
	parzen_fit(&below, &d, y, m, o->prior_weight);
	m = gather(trials, n_trials, side, SIDE_ABOVE, j, &d, y);
	parzen_fit(&above, &d, y, m, o->prior_weight);

	for (int c = 0; c < (o->n_ei_candidates > 0 ? o->n_ei_candidates : 1); c++)
	{
		double		x = parzen_draw(&below, &d, rng);
		double		yc = dim_internal(&d, x);
		double		score = parzen_log_pdf(&below, &d, yc) -
			parzen_log_pdf(&above, &d, yc);

		if (c == 0 || score > best_score)
		{
			best = x;
			best_score = score;
		}
	}
	parzen_free(&below);
	parzen_free(&above);
	ss_free(y);
	return best;
}

void
ss_tpe_suggest(const ss_param_spec *space, int n_params,
			   const ss_trial *trials, int n_trials,
			   const ss_tpe_options *o, ss_rng *rng, double *out)
{
	ss_tpe_options defaults;
	unsigned char *side = NULL;
	int			n = 0;

	if (o == NULL)
	{
		ss_tpe_options_default(&defaults);
		o = &defaults;
	}
	for (int i = 0; i < n_trials; i++)
		n += is_ranked(&trials[i]);
	if (n >= o->n_startup_trials)
		side = split_history(trials, n_trials, default_gamma(n));

	for (int j = 0; j < n_params; j++)
	{
		const ss_param_spec *p = &space[j];

		if (is_single(p))
			out[j] = p->kind == SS_PARAM_CATEGORICAL ? 0.0 : p->low;
		else if (side == NULL)
			out[j] = draw_uniform(p, rng);
		else
			out[j] = suggest_dimension(p, j, trials, n_trials, side, o, rng);
	}
	ss_free(side);
}
