/*
 * blas.c - OpenBLAS loaded with dlopen() (see blas.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "blas.h"
#include "interrupt.h"
#include "simd.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>

typedef void (*sgemm_fn) (int order, int ta, int tb, int m, int n, int k,
						  float alpha, const float *a, int lda,
						  const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn) (int n);
typedef char *(*get_str_fn) (void);

static sgemm_fn p_sgemm;
static set_threads_fn p_set_threads;
static get_str_fn p_get_config;
static get_str_fn p_get_corename;
static int	current_threads = -1;
static int64_t flops_done = 0;	/* atomic: training threads add to it */

double
ss_blas_flops(void)
{
	return (double) __atomic_load_n(&flops_done, __ATOMIC_RELAXED);
}

void
ss_blas_count_flops(double flops)
{
	__atomic_fetch_add(&flops_done, (int64_t) flops, __ATOMIC_RELAXED);
}

static const char *const library_names[] = {
	"libopenblas.so.0",
	"libopenblas.so",
	NULL
};

const char *
ss_blas_load(void)
{
	void	   *handle = NULL;

	if (p_sgemm != NULL)
		return NULL;
	(void) ss_have_avx2();		/* decided here, on the loading thread */
	setenv("OPENBLAS_NUM_THREADS", "1", 0);
	/*
	 * RTLD_LAZY: binding all of OpenBLAS's symbols up front (RTLD_NOW) took
	 * about 10 ms of a backend's first prediction; the few functions used
	 * are looked up below anyway.
	 */
	for (int i = 0; library_names[i] != NULL && handle == NULL; i++)
		handle = dlopen(library_names[i], RTLD_LAZY | RTLD_LOCAL);
	if (handle == NULL)
		return "could not load libopenblas.so.0";
	p_set_threads = (set_threads_fn) dlsym(handle, "openblas_set_num_threads");
	p_get_config = (get_str_fn) dlsym(handle, "openblas_get_config");
	p_get_corename = (get_str_fn) dlsym(handle, "openblas_get_corename");
	p_sgemm = (sgemm_fn) dlsym(handle, "cblas_sgemm");
	if (p_sgemm == NULL || p_set_threads == NULL)
	{
		p_sgemm = NULL;
		return "libopenblas.so.0 has no cblas_sgemm or openblas_set_num_threads";
	}
	return NULL;
}

void
ss_blas_set_threads(int n)
{
	if (n < 1)
		n = 1;
	if (n != current_threads && p_set_threads != NULL)
	{
		p_set_threads(n);
		current_threads = n;
	}
}

void
ss_sgemm_plain(int trans_a, int trans_b, int m, int n, int k,
			   float alpha, const float *a, int lda,
			   const float *b, int ldb, float beta, float *c, int ldc)
{
	for (int i = 0; i < m; i++)
	{
		float	   *ci = c + (size_t) i * ldc;

		if (!trans_a && trans_b)
		{
			/* a row of A against rows of B: dot products of contiguous rows */
			for (int j = 0; j < n; j++)
				ci[j] = alpha * ss_vec_dot(a + (size_t) i * lda, b + (size_t) j * ldb, k)
					+ (beta == 0.0f ? 0.0f : beta * ci[j]);
			continue;
		}
		for (int j = 0; j < n; j++)
			ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
		for (int p = 0; p < k; p++)
		{
			float		aip = alpha * (trans_a ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p]);

			if (!trans_b)
				ss_vec_axpy(aip, b + (size_t) p * ldb, ci, n);
			else
				for (int j = 0; j < n; j++)
					ci[j] += aip * b[(size_t) j * ldb + p];
		}
	}
}

/* one tile: OpenBLAS, or the plain loops (plain: a product of one row, or no OpenBLAS) */
static void
gemm_tile(int plain, int trans_a, int trans_b, int m, int n, int k,
		  float alpha, const float *a, int lda,
		  const float *b, int ldb, float beta, float *c, int ldc)
{
	if (plain)
	{
		/*
		 * One row, whether or not OpenBLAS is loaded (so that a prediction
		 * gives the same bits in any backend): a matrix-vector product in
		 * vector loops; sgemm would pack all of B on every call.  Without
		 * OpenBLAS (not loaded: a backend that only predicts), any product.
		 */
		ss_sgemm_plain(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
		return;
	}
	p_sgemm(SS_ROW_MAJOR, trans_a ? SS_TRANS : SS_NO_TRANS,
			trans_b ? SS_TRANS : SS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb,
			beta, c, ldc);
}

/*
 * Tiles of a product larger than SS_POLL_FLOPS, so that an interrupt is
 * seen between them (interrupt.h).  C is cut into blocks of rows and
 * columns, each computed whole over k by one call: a C element gets the
 * same sum, in the same order, as from the untiled product (OpenBLAS sums
 * k in blocks of its own, whatever m and n).  The blocks are about square,
 * as large as the budget allows (each call packs its block's share of A
 * and B again: square blocks repack the least; at 2^28 flops the training
 * shapes ran as fast tiled as untiled, within 2%).  Only when even a
 * 256 x 256 block over all of k is above the budget (k > 2048) is k cut
 * too, each part added onto C: that changes the rounding of those large
 * products (deterministically).
 */
static void
gemm_tiled(int trans_a, int trans_b, int m, int n, int k,
		   float alpha, const float *a, int lda,
		   const float *b, int ldb, float beta, float *c, int ldc)
{
	const double budget = SS_POLL_FLOPS;
	int			kc = k,
				mc,
				nc;
	double		area;

	if (2.0 * 256 * 256 * k > budget)
		kc = (int) (budget / (2.0 * 256 * 256));
	area = budget / (2.0 * kc);	/* C elements per tile */
	mc = (int) sqrt(area);
	mc = m < mc ? m : mc;
	nc = n < (int) (area / mc) ? n : (int) (area / mc);
	mc = m < (int) (area / nc) ? m : (int) (area / nc);
	/* even them out */
	mc = (m + (m + mc - 1) / mc - 1) / ((m + mc - 1) / mc);
	nc = (n + (n + nc - 1) / nc - 1) / ((n + nc - 1) / nc);
	for (int p0 = 0; p0 < k; p0 += kc)
	{
		const int	kp = k - p0 < kc ? k - p0 : kc;
		const float bp = p0 == 0 ? beta : 1.0f;

		for (int i0 = 0; i0 < m; i0 += mc)
		{
			const int	mp = m - i0 < mc ? m - i0 : mc;
			const float *ap = trans_a ? a + (size_t) p0 * lda + i0 : a + (size_t) i0 * lda + p0;

			for (int j0 = 0; j0 < n; j0 += nc)
			{
				const int	np = n - j0 < nc ? n - j0 : nc;
				const float *bq = trans_b ? b + (size_t) j0 * ldb + p0 : b + (size_t) p0 * ldb + j0;

				if (ss_interrupted())
					return;
				gemm_tile(m == 1 || p_sgemm == NULL, trans_a, trans_b, mp, np, kp, alpha,
						  ap, lda, bq, ldb, bp, c + (size_t) i0 * ldc + j0, ldc);
			}
		}
	}
}

void
ss_sgemm(int trans_a, int trans_b, int m, int n, int k,
		 float alpha, const float *a, int lda,
		 const float *b, int ldb, float beta, float *c, int ldc)
{
	if (m <= 0 || n <= 0)
		return;
	ss_blas_count_flops(2.0 * m * n * (k > 0 ? k : 0));
	if (k <= 0)
	{
		/* OpenBLAS would do the same; spelled out so beta = 0 clears C */
		for (int i = 0; i < m; i++)
			for (int j = 0; j < n; j++)
				c[(size_t) i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t) i * ldc + j];
		return;
	}
	if (2.0 * m * n * k > SS_POLL_FLOPS)
		gemm_tiled(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
	else
		gemm_tile(m == 1 || p_sgemm == NULL, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
				  beta, c, ldc);
}

const char *
ss_blas_info(void)
{
	static char buf[256];

	if (p_sgemm == NULL)
		return "OpenBLAS not loaded";
	snprintf(buf, sizeof(buf), "%s (core %s)",
			 p_get_config ? p_get_config() : "OpenBLAS",
			 p_get_corename ? p_get_corename() : "?");
	return buf;
}
