/*
 * optim.c - Adam and gradient clipping (see optim.h).
 */
#include "optim.h"

#include <math.h>

#include "simd.h"
#include "ss_alloc.h"

ss_adam *
ss_adam_new(int64_t n, float lr)
{
	ss_adam    *opt = SS_NEW_ARRAY(ss_adam, 1);

	opt->n = n;
	opt->m = SS_NEW_ARRAY(float, n);
	opt->v = SS_NEW_ARRAY(float, n);
	opt->lr = lr;
	opt->beta1 = 0.9f;
	opt->beta2 = 0.999f;
	opt->eps = 1e-8f;
	return opt;
}

void
ss_adam_free(ss_adam *opt)
{
	if (opt == NULL)
		return;
	ss_free(opt->m);
	ss_free(opt->v);
	ss_free(opt);
}

SS_MULTIVERSION void
ss_adam_step(ss_adam *opt, float *params, const float *grads)
{
	double		bc1,
				bc2;
	float		step_size,
				inv_sqrt_bc2;
	const float b1 = opt->beta1,
				b2 = opt->beta2;

	opt->step++;
	bc1 = 1.0 - pow(b1, (double) opt->step);
	bc2 = 1.0 - pow(b2, (double) opt->step);
	step_size = (float) (opt->lr / bc1);
	inv_sqrt_bc2 = (float) (1.0 / sqrt(bc2));
	for (int64_t i = 0; i < opt->n; i++)
	{
		float		g = grads[i];
		float		m = opt->m[i] = b1 * opt->m[i] + (1.0f - b1) * g;
		float		v = opt->v[i] = b2 * opt->v[i] + (1.0f - b2) * g * g;

		params[i] -= step_size * m / (sqrtf(v) * inv_sqrt_bc2 + opt->eps);
	}
}

double
ss_clip_grad_norm(float *grads, int64_t n, double max_norm)
{
	double		sum = 0.0,
				norm,
				coef;

	for (int64_t i = 0; i < n; i++)
		sum += (double) grads[i] * grads[i];
	norm = sqrt(sum);
	coef = max_norm / (norm + 1e-6);
	if (coef < 1.0)
	{
		float		c = (float) coef;

		for (int64_t i = 0; i < n; i++)
			grads[i] *= c;
	}
	return norm;
}
