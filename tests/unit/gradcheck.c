/*
 * gradcheck.c - central finite differences (see gradcheck.h).
 */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>

double
gradcheck(const char *name, float *x, const float *grad, int64_t n,
		  loss_fn loss, void *ctx, double eps, int max_checks, double floor)
{
	double		worst = 0.0;
	int64_t		step = n > max_checks ? n / max_checks : 1;
	double		scale = 0.0;

	/*
	 * Float32 differences are noisy for entries far smaller than the rest of
	 * the array: errors are relative to the larger of the entry and 1% of
	 * the array's largest gradient (and floor).
	 */
	for (int64_t i = 0; i < n; i++)
		scale = fmax(scale, fabs((double) grad[i]));
	floor = fmax(floor, 0.01 * scale);

	for (int64_t i = 0; i < n; i += step)
	{
		float		saved = x[i];
		double		lp,
					lm,
					num,
					err;

		x[i] = saved + (float) eps;
		lp = loss(ctx);
		x[i] = saved - (float) eps;
		lm = loss(ctx);
		x[i] = saved;
		num = (lp - lm) / (2.0 * eps);
		err = fabs(num - grad[i]) / fmax(fmax(fabs(num), fabs((double) grad[i])), floor);
		if (err > worst)
			worst = err;
		if (err > 0.01)
			fprintf(stderr, "  %s[%ld]: analytic %.6g numeric %.6g\n", name, (long) i,
					(double) grad[i], num);
	}
	return worst;
}
