/*
 * simd.c - vector kernels (see simd.h).
 */
#include "simd.h"

#include <stddef.h>

#define LANES 8

SS_MULTIVERSION float
ss_vec_tanh_sum_dot(const float *restrict a, const float *restrict b,
					const float *restrict v, float *restrict e, int n)
{
	float		acc[LANES] = {0};
	float		sum = 0.0f;
	size_t		j = 0;

	for (; j + LANES <= (size_t) n; j += LANES)
		for (size_t l = 0; l < LANES; l++)
		{
			float		t = ss_tanh(a[j + l] + b[j + l]);

			e[j + l] = t;
			acc[l] += v[j + l] * t;
		}
	for (; j < (size_t) n; j++)
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
	size_t		j = 0;

	for (; j + LANES <= (size_t) n; j += LANES)
		for (size_t l = 0; l < LANES; l++)
			acc[l] += a[j + l] * b[j + l];
	for (; j < (size_t) n; j++)
		sum += a[j] * b[j];
	for (int l = 0; l < LANES; l++)
		sum += acc[l];
	return sum;
}

SS_MULTIVERSION int
ss_vec_all_finite(const float *restrict x, size_t n)
{
	/* x - x is 0 for a finite x and NaN for an infinity or a NaN */
	float		acc[LANES] = {0};
	float		sum = 0.0f;
	size_t		j = 0;

	for (; j + LANES <= n; j += LANES)
		for (size_t l = 0; l < LANES; l++)
			acc[l] += x[j + l] - x[j + l];
	for (; j < n; j++)
		sum += x[j] - x[j];
	for (int l = 0; l < LANES; l++)
		sum += acc[l];
	return sum == 0.0f;
}

SS_MULTIVERSION void
ss_vec_axpy(float alpha, const float *restrict x, float *restrict y, int n)
{
	for (size_t j = 0; j < (size_t) n; j++)
		y[j] += alpha * x[j];
}

SS_MULTIVERSION void
ss_vec_attn_grad(float dscore, const float *restrict v, const float *restrict e,
				 float *restrict dk, float *restrict dq, float *restrict dv, int n)
{
	for (size_t j = 0; j < (size_t) n; j++)
	{
		float		g = dscore * v[j] * (1.0f - e[j] * e[j]);

		dk[j] += g;
		dq[j] += g;
		dv[j] += dscore * e[j];
	}
}

/*
 * Separate row pointers and size_t indices: PostgreSQL builds with -fwrapv,
 * under which "g[2 * H + j]" with int indices may wrap and the loop is not
 * vectorised.
 */
SS_MULTIVERSION void
ss_vec_gru_gates(float *restrict g, const float *restrict gh,
				 const float *restrict hp, float *restrict ghn,
				 float *restrict h, int H)
{
	const size_t n = (size_t) H;
	float	   *restrict gr = g;
	float	   *restrict gz = g + n;
	float	   *restrict gn = g + 2 * n;
	const float *restrict hr = gh;
	const float *restrict hz = gh + n;
	const float *restrict hn = gh + 2 * n;

	for (size_t j = 0; j < n; j++)
	{
		float		r = ss_sigmoid(gr[j] + hr[j]);
		float		z = ss_sigmoid(gz[j] + hz[j]);
		float		c = ss_tanh(gn[j] + r * hn[j]);

		gr[j] = r;
		gz[j] = z;
		gn[j] = c;
		ghn[j] = hn[j];
		h[j] = (1.0f - z) * c + z * hp[j];
	}
}

SS_MULTIVERSION void
ss_vec_gru_gates_backward(const float *restrict g, const float *restrict ghn,
						  const float *restrict hp, const float *restrict dh,
						  float *restrict dgi, float *restrict dgh,
						  float *restrict dhp, int H)
{
	const size_t n = (size_t) H;
	const float *restrict gr = g;
	const float *restrict gz = g + n;
	const float *restrict gn = g + 2 * n;
	float	   *restrict ir = dgi;
	float	   *restrict iz = dgi + n;
	float	   *restrict in = dgi + 2 * n;
	float	   *restrict hr = dgh;
	float	   *restrict hz = dgh + n;
	float	   *restrict hn = dgh + 2 * n;

	for (size_t j = 0; j < n; j++)
	{
		float		r = gr[j],
					z = gz[j],
					c = gn[j];
		float		dn = dh[j] * (1.0f - z);
		float		dz = dh[j] * (hp[j] - c);
		float		dan = dn * (1.0f - c * c);
		float		dar = dan * ghn[j] * r * (1.0f - r);
		float		daz = dz * z * (1.0f - z);

		ir[j] = dar;
		iz[j] = daz;
		in[j] = dan;
		hr[j] = dar;
		hz[j] = daz;
		hn[j] = dan * r;
		dhp[j] += dh[j] * z;
	}
}
