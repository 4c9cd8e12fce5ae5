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
	/* not zeroed here (gigabytes at the largest sizes): the first step writes them */
	opt->m = (float *) ss_alloc(sizeof(float) * (size_t) (n > 0 ? n : 1));
	opt->v = (float *) ss_alloc(sizeof(float) * (size_t) (n > 0 ? n : 1));
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

void
ss_adam_begin(ss_adam *opt)
{
	double		bc1,
				bc2;

	opt->step++;
	bc1 = 1.0 - pow(opt->beta1, (double) opt->step);
	bc2 = 1.0 - pow(opt->beta2, (double) opt->step);
	opt->step_size = (float) (opt->lr / bc1);
	opt->inv_sqrt_bc2 = (float) (1.0 / sqrt(bc2));
}

SS_MULTIVERSION void
ss_adam_apply(const ss_adam *opt, float *restrict params, const float *restrict grads,
			  int64_t lo, int64_t hi)
{
	const float b1 = opt->beta1,
				b2 = opt->beta2,
				eps = opt->eps,
				step_size = opt->step_size,
				inv_sqrt_bc2 = opt->inv_sqrt_bc2;
	float	   *restrict m = opt->m;
	float	   *restrict v = opt->v;

	if (opt->step == 1)
	{
		/*
		 * The moments start at zero, and are not read: b1 * 0 + x is 0 + x
		 * to the bit (0 + x, not x: -0 becomes +0 there too).
		 */
		for (size_t i = (size_t) lo; i < (size_t) hi; i++)
		{
			float		g = grads[i];
			float		mi = m[i] = 0.0f + (1.0f - b1) * g;
			float		vi = v[i] = 0.0f + (1.0f - b2) * g * g;

			params[i] -= step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
		}
		return;
	}
	/* restrict pointers and size_t indices: one vectorised loop */
	for (size_t i = (size_t) lo; i < (size_t) hi; i++)
	{
		float		g = grads[i];
		float		mi = m[i] = b1 * m[i] + (1.0f - b1) * g;
		float		vi = v[i] = b2 * v[i] + (1.0f - b2) * g * g;

		params[i] -= step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
	}
}

void
ss_adam_step(ss_adam *opt, float *params, const float *grads)
{
	ss_adam_begin(opt);
	ss_adam_apply(opt, params, grads, 0, opt->n);
}

SS_MULTIVERSION double
ss_sum_squares(const float *restrict grads, int64_t n)
{
	double		acc[8] = {0},
				sum = 0.0;
	size_t		i = 0;

	/* eight partial sums in double: vectorises without reassociating */
	for (; i + 8 <= (size_t) n; i += 8)
		for (size_t l = 0; l < 8; l++)
			acc[l] += (double) grads[i + l] * grads[i + l];
	for (; i < (size_t) n; i++)
		sum += (double) grads[i] * grads[i];
	for (int l = 0; l < 8; l++)
		sum += acc[l];
	return sum;
}

SS_MULTIVERSION void
ss_scale(float *restrict grads, int64_t n, float c)
{
	for (size_t j = 0; j < (size_t) n; j++)
		grads[j] *= c;
}

float
ss_clip_coef(double sum_squares, double max_norm)
{
	/* as torch.nn.utils.clip_grad_norm_ */
	double		coef = max_norm / (sqrt(sum_squares) + 1e-6);

	return coef < 1.0 ? (float) coef : 1.0f;
}

double
ss_clip_grad_norm(float *grads, int64_t n, double max_norm)
{
	double		sum = ss_sum_squares(grads, n);
	float		coef = ss_clip_coef(sum, max_norm);

	if (coef < 1.0f)
		ss_scale(grads, n, coef);
	return sqrt(sum);
}
