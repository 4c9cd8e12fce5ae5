/*
 * simd.c - vector kernels (see simd.h).
 */
#include "simd.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define SS_HAVE_AVX2_KERNEL 1
#endif

#define LANES 8

int
ss_have_avx2(void)
{
#ifdef SS_HAVE_AVX2_KERNEL
	static volatile int known = -1;

	if (known < 0)
	{
		__builtin_cpu_init();
		known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
	return known;
#else
	return 0;
#endif
}

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

/* columns [j0, j1) of ss_vec_attn_grad_rows, plain C */
static void
attn_grad_cols(int n, const float *dscore, const float *v, const float *e, int e_stride,
			   float *dk, size_t dk_stride, float *dq, float *dv, int j0, int j1)
{
	for (int j = j0; j < j1; j++)
	{
		float		q = 0.0f,
					w = 0.0f;

		for (int s = 0; s < n; s++)
		{
			float		es = e[(size_t) s * e_stride + j];
			float		g = dscore[s] * v[j] * (1.0f - es * es);

			dk[s * dk_stride + j] += g;
			q += g;
			w += dscore[s] * es;
		}
		dq[j] = q;
		dv[j] += w;
	}
}

#ifdef SS_HAVE_AVX2_KERNEL
static __attribute__((target("avx2,fma"))) void
attn_grad_avx2(int n, const float *dscore, const float *v, const float *e, int e_stride,
			   float *dk, size_t dk_stride, float *dq, float *dv, int A)
{
	int			j0 = 0;

	for (; j0 + 32 <= A; j0 += 32)
	{
		__m256		v0 = _mm256_loadu_ps(v + j0),
					v1 = _mm256_loadu_ps(v + j0 + 8),
					v2 = _mm256_loadu_ps(v + j0 + 16),
					v3 = _mm256_loadu_ps(v + j0 + 24);
		__m256		q0 = _mm256_setzero_ps(),
					q1 = q0,
					q2 = q0,
					q3 = q0,
					w0 = q0,
					w1 = q0,
					w2 = q0,
					w3 = q0;
		const __m256 one = _mm256_set1_ps(1.0f);

		for (int s = 0; s < n; s++)
		{
			const float *es = e + (size_t) s * e_stride + j0;
			float	   *dks = dk + s * dk_stride + j0;
			__m256		ds = _mm256_broadcast_ss(dscore + s);

#define SS_COLS(k, off) do { \
				__m256 ek = _mm256_loadu_ps(es + (off)); \
				__m256 gk = _mm256_mul_ps(_mm256_mul_ps(ds, v##k), _mm256_fnmadd_ps(ek, ek, one)); \
				_mm256_storeu_ps(dks + (off), _mm256_add_ps(_mm256_loadu_ps(dks + (off)), gk)); \
				q##k = _mm256_add_ps(q##k, gk); \
				w##k = _mm256_fmadd_ps(ds, ek, w##k); \
			} while (0)
			SS_COLS(0, 0);
			SS_COLS(1, 8);
			SS_COLS(2, 16);
			SS_COLS(3, 24);
#undef SS_COLS
		}
		_mm256_storeu_ps(dq + j0, q0);
		_mm256_storeu_ps(dq + j0 + 8, q1);
		_mm256_storeu_ps(dq + j0 + 16, q2);
		_mm256_storeu_ps(dq + j0 + 24, q3);
		_mm256_storeu_ps(dv + j0, _mm256_add_ps(_mm256_loadu_ps(dv + j0), w0));
		_mm256_storeu_ps(dv + j0 + 8, _mm256_add_ps(_mm256_loadu_ps(dv + j0 + 8), w1));
		_mm256_storeu_ps(dv + j0 + 16, _mm256_add_ps(_mm256_loadu_ps(dv + j0 + 16), w2));
		_mm256_storeu_ps(dv + j0 + 24, _mm256_add_ps(_mm256_loadu_ps(dv + j0 + 24), w3));
	}
	if (j0 < A)
		attn_grad_cols(n, dscore, v, e, e_stride, dk, dk_stride, dq, dv, j0, A);
}
#endif

void
ss_vec_attn_grad_rows(int n, const float *dscore, const float *v,
					  const float *e, int e_stride, float *dk, size_t dk_stride,
					  float *dq, float *dv, int A)
{
#ifdef SS_HAVE_AVX2_KERNEL
	if (ss_have_avx2())
	{
		attn_grad_avx2(n, dscore, v, e, e_stride, dk, dk_stride, dq, dv, A);
		return;
	}
#endif
	attn_grad_cols(n, dscore, v, e, e_stride, dk, dk_stride, dq, dv, 0, A);
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
