/*
 * simd.h - small vector kernels of the hot loops, written so that the
 * compiler vectorises them (restrict pointers, no loop-carried
 * dependencies but explicit partial sums), and compiled for both baseline
 * x86-64 and AVX2 + FMA with the right one picked at load time
 * (target_clones), so one binary runs everywhere at full speed.
 */
#ifndef SS_SIMD_H
#define SS_SIMD_H

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SS_MULTIVERSION __attribute__((target_clones("default", "arch=x86-64-v3")))
#else
#define SS_MULTIVERSION
#endif

/*
 * tanh as a minimax rational function of degree 13/6 on [-7.9, 7.9]
 * (beyond that tanh is 1 in float32); maximum error a few ulp, and
 * branch-free, so it vectorises.  The coefficients are the published ones
 * used by the Eigen library for float tanh.
 */
static inline float
ss_tanh(float x)
{
	const float lim = 7.90531110763549805f;
	float		x2,
				p,
				q;

	x = x > lim ? lim : (x < -lim ? -lim : x);
	x2 = x * x;
	p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
	p = x2 * p + -8.60467152213735e-11f;
	p = x2 * p + 5.12229709037114e-08f;
	p = x2 * p + 1.48572235717979e-05f;
	p = x2 * p + 6.37261928875436e-04f;
	p = x2 * p + 4.89352455891786e-03f;
	p = x * p;
	q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
	q = x2 * q + 2.26843463243900e-03f;
	q = x2 * q + 4.89352518554385e-03f;
	return p / q;
}

static inline float
ss_sigmoid(float x)
{
	/* sigmoid(x) = (1 + tanh(x / 2)) / 2 */
	return 0.5f + 0.5f * ss_tanh(0.5f * x);
}

/*
 * 1 if this CPU runs the AVX2 + FMA kernels (here and in packed.c).
 * Computed on first use; ss_blas_load() calls it on the loading thread, so
 * that worker threads only read it.
 */
int			ss_have_avx2(void);

/* e[j] = tanh(a[j] + b[j]); returns sum_j v[j] * e[j] */
float		ss_vec_tanh_sum_dot(const float *restrict a, const float *restrict b,
								const float *restrict v, float *restrict e, int n);

/* sum_j a[j] * b[j] */
float		ss_vec_dot(const float *restrict a, const float *restrict b, int n);

/* 1 if no x[j] is an infinity or a NaN */
int			ss_vec_all_finite(const float *restrict x, size_t n);

/* y[j] += alpha * x[j] */
void		ss_vec_axpy(float alpha, const float *restrict x, float *restrict y, int n);

/*
 * Attention backward of one query over its n positions s:
 *   g_s = dscore[s] * v * (1 - e_s^2)    (e_s = e + s A)
 *   dk_s += g_s                          (dk_s = dk + s dk_stride)
 *   dq = sum_s g_s  (overwritten);  dv += sum_s dscore[s] e_s
 * Blocked over 32 columns so that dq and dv stay in registers while s runs.
 */
void		ss_vec_attn_grad_rows(int n, const float *dscore, const float *v,
								  const float *e, int e_stride, float *dk, size_t dk_stride,
								  float *dq, float *dv, int A);

/*
 * GRU gates of one row (see layers.h): g[3H] holds the input projections
 * (x W_ih^T + b_ih) on entry and r, z, n on exit; gh[3H] = h_prev W_hh^T +
 * b_hh; hp[H] the previous state (zeros at t = 0).  Writes ghn[H] =
 * gh's n part and h[H], the new state.
 */
void		ss_vec_gru_gates(float *restrict g, const float *restrict gh,
							 const float *restrict hp, float *restrict ghn,
							 float *restrict h, int H);

/*
 * GRU backward of one row: given dh[H] (from above and from t+1) and the
 * saved gates g[3H], ghn[H], previous state hp[H], writes dgi[3H], dgh[3H]
 * and adds dh * z (the direct path to h_{t-1}) into dhp[H].
 */
void		ss_vec_gru_gates_backward(const float *restrict g, const float *restrict ghn,
									  const float *restrict hp, const float *restrict dh,
									  float *restrict dgi, float *restrict dgh,
									  float *restrict dhp, int H);

#endif
