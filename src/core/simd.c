/*
 * simd.c - vector kernels (see simd.h).
 */
#include "simd.h"

#define LANES 8

SS_MULTIVERSION float
ss_vec_tanh_sum_dot(const float *restrict a, const float *restrict b,
					const float *restrict v, float *restrict e, int n)
{
	float		acc[LANES] = {0};
	float		sum = 0.0f;
	int			j = 0;

	for (; j + LANES <= n; j += LANES)
		for (int l = 0; l < LANES; l++)
		{
			float		t = ss_tanh(a[j + l] + b[j + l]);

			e[j + l] = t;
			acc[l] += v[j + l] * t;
		}
	for (; j < n; j++)
	{
		e[j] = ss_tanh(a[j] + b[j]);
		sum += v[j] * e[j];
	}
	for (int l = 0; l < LANES; l++)
		sum += acc[l];
	return sum;
}

SS_MULTIVERSION float
ss_vec_dot(const float *restrict a, const float *restrict b, int n)
{
	float		acc[LANES] = {0};
	float		sum = 0.0f;
	int			j = 0;

	for (; j + LANES <= n; j += LANES)
		for (int l = 0; l < LANES; l++)
			acc[l] += a[j + l] * b[j + l];
	for (; j < n; j++)
		sum += a[j] * b[j];
	for (int l = 0; l < LANES; l++)
		sum += acc[l];
	return sum;
}

SS_MULTIVERSION void
ss_vec_axpy(float alpha, const float *restrict x, float *restrict y, int n)
{
	for (int j = 0; j < n; j++)
		y[j] += alpha * x[j];
}

SS_MULTIVERSION void
ss_vec_attn_grad(float dscore, const float *restrict v, const float *restrict e,
				 float *restrict dk, float *restrict dq, float *restrict dv, int n)
{
	for (int j = 0; j < n; j++)
	{
		float		g = dscore * v[j] * (1.0f - e[j] * e[j]);

		dk[j] += g;
		dq[j] += g;
		dv[j] += dscore * e[j];
	}
}
