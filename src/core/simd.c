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

/*
 * The loops below run in blocks of LANES with a fixed inner loop: the
 * compiler vectorises such a block as a whole (selects included), where it
 * gives up on a plain loop around the inlined tanh.
 */
SS_MULTIVERSION void
ss_vec_gru_gates(float *restrict g, const float *restrict gh,
				 const float *restrict hp, float *restrict ghn,
				 float *restrict h, int H)
{
	int			j = 0;

	for (; j + LANES <= H; j += LANES)
		for (int l = 0; l < LANES; l++)
		{
			float		r = ss_sigmoid(g[j + l] + gh[j + l]);
			float		z = ss_sigmoid(g[H + j + l] + gh[H + j + l]);
			float		n = ss_tanh(g[2 * H + j + l] + r * gh[2 * H + j + l]);

			g[j + l] = r;
			g[H + j + l] = z;
			g[2 * H + j + l] = n;
			ghn[j + l] = gh[2 * H + j + l];
			h[j + l] = (1.0f - z) * n + z * hp[j + l];
		}
	for (; j < H; j++)
	{
		float		r = ss_sigmoid(g[j] + gh[j]);
		float		z = ss_sigmoid(g[H + j] + gh[H + j]);
		float		n = ss_tanh(g[2 * H + j] + r * gh[2 * H + j]);

		g[j] = r;
		g[H + j] = z;
		g[2 * H + j] = n;
		ghn[j] = gh[2 * H + j];
		h[j] = (1.0f - z) * n + z * hp[j];
	}
}

SS_MULTIVERSION void
ss_vec_gru_gates_backward(const float *restrict g, const float *restrict ghn,
						  const float *restrict hp, const float *restrict dh,
						  float *restrict dgi, float *restrict dgh,
						  float *restrict dhp, int H)
{
	for (int j = 0; j < H; j++)
	{
		float		r = g[j],
					z = g[H + j],
					n = g[2 * H + j];
		float		dn = dh[j] * (1.0f - z);
		float		dz = dh[j] * (hp[j] - n);
		float		dan = dn * (1.0f - n * n);
		float		dar = dan * ghn[j] * r * (1.0f - r);
		float		daz = dz * z * (1.0f - z);

		dgi[j] = dar;
		dgi[H + j] = daz;
		dgi[2 * H + j] = dan;
		dgh[j] = dar;
		dgh[H + j] = daz;
		dgh[2 * H + j] = dan * r;
		dhp[j] += dh[j] * z;
	}
}
