/*
 * packed.c - products against a weight matrix packed once (see packed.h).
 */
#include "packed.h"

#include "blas.h"
#include "interrupt.h"
#include "simd.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define SS_HAVE_AVX2_KERNEL 1
#endif

#define NR SS_PACK_NR
#define MR 6

size_t
ss_packed_floats(int K, int N)
{
	size_t		panels = ((size_t) N + NR - 1) / NR;

	return panels * ((size_t) K + 1) * NR;
}

void
ss_pack(int trans, int K, int N, const float *w, int ldw,
		const float *bias, float *packed)
{
	/* panels between two polls for an interrupt (interrupt.h): about 1M floats */
	const int	per_poll = 1 + (1 << 20) / (((K > 0 ? K : 1) + 1) * NR);

	for (int j0 = 0; j0 < N; j0 += NR)
	{
		int			nc = N - j0 < NR ? N - j0 : NR;
		float	   *p = packed + (size_t) (j0 / NR) * ((size_t) K + 1) * NR;

		if ((j0 / NR) % per_poll == per_poll - 1 && ss_interrupted())
			return;
		memset(p, 0, sizeof(float) * NR);
		if (bias != NULL)
			memcpy(p, bias + j0, sizeof(float) * nc);
		p += NR;
		if (trans)
		{
			/* op(W)(k, j) = w[j][k]: one source row per column */
			if (nc < NR)
				memset(p, 0, sizeof(float) * (size_t) K * NR);
			for (int j = 0; j < nc; j++)
			{
				const float *src = w + (size_t) (j0 + j) * ldw;

				for (int k = 0; k < K; k++)
					p[(size_t) k * NR + j] = src[k];
			}
		}
		else
		{
			for (int k = 0; k < K; k++)
			{
				float	   *dst = p + (size_t) k * NR;

				memcpy(dst, w + (size_t) k * ldw + j0, sizeof(float) * nc);
				if (nc < NR)
					memset(dst + nc, 0, sizeof(float) * (NR - nc));
			}
		}
	}
}

/* one mr x 16 block in plain C */
static void
block_generic(int mr, int K, const float *a, int lda, const float *panel,
			  float beta, float *c, int ldc, int nc)
{
	float		acc[MR][NR];

	for (int r = 0; r < mr; r++)
		memcpy(acc[r], panel, sizeof(float) * NR);
	for (int k = 0; k < K; k++)
	{
		const float *b = panel + (size_t) (k + 1) * NR;

		for (int r = 0; r < mr; r++)
		{
			float		av = a[(size_t) r * lda + k];

			for (int j = 0; j < NR; j++)
				acc[r][j] += av * b[j];
		}
	}
	for (int r = 0; r < mr; r++)
	{
		float	   *cr = c + (size_t) r * ldc;

		for (int j = 0; j < nc; j++)
			cr[j] = beta != 0.0f ? cr[j] + acc[r][j] : acc[r][j];
	}
}

#ifdef SS_HAVE_AVX2_KERNEL

/* one row of a block into C (beta 0 or 1), the last panel's columns through a buffer */
static inline __attribute__((always_inline, target("avx2,fma"))) void
store_row_avx2(__m256 lo, __m256 hi, float beta, float *cr, int nc)
{
	if (nc == NR)
	{
		if (beta != 0.0f)
		{
			lo = _mm256_add_ps(lo, _mm256_loadu_ps(cr));
			hi = _mm256_add_ps(hi, _mm256_loadu_ps(cr + 8));
		}
		_mm256_storeu_ps(cr, lo);
		_mm256_storeu_ps(cr + 8, hi);
	}
	else
	{
		float		tmp[NR];

		_mm256_storeu_ps(tmp, lo);
		_mm256_storeu_ps(tmp + 8, hi);
		for (int j = 0; j < nc; j++)
			cr[j] = beta != 0.0f ? cr[j] + tmp[j] : tmp[j];
	}
}

/*
 * mr x 16 block, mr a constant after inlining: 2 mr accumulators in named
 * registers (an array would be spilled to the stack on every step), per k
 * two loads of the panel row, mr broadcasts of A and 2 mr FMAs.
 */
#define SS_ROW(r) \
	if (mr > r) { \
		__m256 av = _mm256_broadcast_ss(a + (size_t) (r) * lda + k); \
		lo##r = _mm256_fmadd_ps(av, b0, lo##r); \
		hi##r = _mm256_fmadd_ps(av, b1, hi##r); \
	}
#define SS_STORE(r) \
	if (mr > r) store_row_avx2(lo##r, hi##r, beta, c + (size_t) (r) * ldc, nc)

static inline __attribute__((always_inline, target("avx2,fma"))) void
block_avx2(const int mr, int K, const float *a, int lda, const float *panel,
		   float beta, float *c, int ldc, int nc)
{
	__m256		lo0 = _mm256_loadu_ps(panel),
				hi0 = _mm256_loadu_ps(panel + 8);
	__m256		lo1 = lo0, hi1 = hi0, lo2 = lo0, hi2 = hi0,
				lo3 = lo0, hi3 = hi0, lo4 = lo0, hi4 = hi0, lo5 = lo0, hi5 = hi0;

	panel += NR;
	for (int k = 0; k < K; k++)
	{
		__m256		b0 = _mm256_loadu_ps(panel + (size_t) k * NR);
		__m256		b1 = _mm256_loadu_ps(panel + (size_t) k * NR + 8);

		SS_ROW(0);
		SS_ROW(1);
		SS_ROW(2);
		SS_ROW(3);
		SS_ROW(4);
		SS_ROW(5);
	}
	SS_STORE(0);
	SS_STORE(1);
	SS_STORE(2);
	SS_STORE(3);
	SS_STORE(4);
	SS_STORE(5);
}

#undef SS_ROW
#undef SS_STORE

/*
 * One row of A against four panels at once (64 columns), for the recurrent
 * step of a single history (prediction): 8 accumulators, so that the FMAs
 * of consecutive k do not wait on each other, where one row against one
 * panel (block_avx2 with mr = 1) chains 2 accumulators through the FMA
 * latency.  The remaining panels go one at a time.
 */
static __attribute__((target("avx2,fma"))) void
row_avx2(int N, int K, const float *a, const float *packed, float beta, float *c)
{
	const size_t pf = ((size_t) K + 1) * NR;
	int			j0 = 0;

	for (; N - j0 >= 4 * NR; j0 += 4 * NR)
	{
		const float *p0 = packed + (size_t) (j0 / NR) * pf,
				   *p1 = p0 + pf,
				   *p2 = p1 + pf,
				   *p3 = p2 + pf;
		__m256		lo0 = _mm256_loadu_ps(p0),
					hi0 = _mm256_loadu_ps(p0 + 8),
					lo1 = _mm256_loadu_ps(p1),
					hi1 = _mm256_loadu_ps(p1 + 8),
					lo2 = _mm256_loadu_ps(p2),
					hi2 = _mm256_loadu_ps(p2 + 8),
					lo3 = _mm256_loadu_ps(p3),
					hi3 = _mm256_loadu_ps(p3 + 8);

		for (int k = 0; k < K; k++)
		{
			const size_t o = (size_t) (k + 1) * NR;
			__m256		x = _mm256_broadcast_ss(a + k);

			lo0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p0 + o), lo0);
			hi0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p0 + o + 8), hi0);
			lo1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p1 + o), lo1);
			hi1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p1 + o + 8), hi1);
			lo2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p2 + o), lo2);
			hi2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p2 + o + 8), hi2);
			lo3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p3 + o), lo3);
			hi3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(p3 + o + 8), hi3);
		}
		store_row_avx2(lo0, hi0, beta, c + j0, NR);
		store_row_avx2(lo1, hi1, beta, c + j0 + NR, NR);
		store_row_avx2(lo2, hi2, beta, c + j0 + 2 * NR, NR);
		store_row_avx2(lo3, hi3, beta, c + j0 + 3 * NR, NR);
	}
	for (; j0 < N; j0 += NR)
		block_avx2(1, K, a, 0, packed + (size_t) (j0 / NR) * pf, beta, c + j0, 0,
				   N - j0 < NR ? N - j0 : NR);
}

static __attribute__((target("avx2,fma"))) void
block_avx2_any(int mr, int K, const float *a, int lda, const float *panel,
			   float beta, float *c, int ldc, int nc)
{
	switch (mr)
	{
		case 6:
			block_avx2(6, K, a, lda, panel, beta, c, ldc, nc);
			break;
		case 5:
			block_avx2(5, K, a, lda, panel, beta, c, ldc, nc);
			break;
		case 4:
			block_avx2(4, K, a, lda, panel, beta, c, ldc, nc);
			break;
		case 3:
			block_avx2(3, K, a, lda, panel, beta, c, ldc, nc);
			break;
		case 2:
			block_avx2(2, K, a, lda, panel, beta, c, ldc, nc);
			break;
		default:
			block_avx2(1, K, a, lda, panel, beta, c, ldc, nc);
			break;
	}
}

#endif

/* rows of the next block: 6 at a time, the last 7..11 split in two halves */
static inline int
block_rows(int left)
{
	if (left <= MR || left >= 2 * MR)
		return left < MR ? left : MR;
	return (left + 1) / 2;
}

/*
 * Panels between two polls for an interrupt (interrupt.h): the product is
 * cut into spans of whole panels of at most SS_POLL_FLOPS and 8 MB of
 * packed weights read (a panel is read once per chunk of rows: with a K of
 * thousands the kernel waits on memory more than on arithmetic).  Every
 * element is computed the same way whatever the cut, so the results do not
 * depend on it.  Products below the budget (all of them at the usual sizes)
 * are not cut.
 */
#define POLL_BYTES (8.0 * 1024 * 1024)

/* bytes of packed weights a product reads: every panel once per chunk of rows */
static double
packed_bytes(int M, int N, int K, int chunk)
{
	return (double) ((M + chunk - 1) / chunk) * ((N + NR - 1) / NR) * sizeof(float) * NR * ((double) K + 1);
}

static int
panels_per_poll(int rows, int K)
{
	double		per_panel = 2.0 * rows * NR * (K > 0 ? K : 1);
	double		n = SS_POLL_FLOPS / per_panel,
				by_bytes = POLL_BYTES / (sizeof(float) * NR * ((double) K + 1));

	n = n < by_bytes ? n : by_bytes;
	return n < 1.0 ? 1 : n > (double) (1 << 20) ? 1 << 20 : (int) n;
}

void
ss_packed_gemm(int M, int N, int K, const float *a, int lda,
			   const float *packed, float beta, float *c, int ldc)
{
	const size_t panel_floats = ((size_t) K + 1) * NR;

	/* rows of A per chunk: about 96 KB of A, kept in L2 across the panels */
	int			chunk = (int) ((96 * 1024) / (sizeof(float) * (size_t) (K > 0 ? K : 1)));
	int			span,
				watch;
	void		(*block) (int, int, const float *, int, const float *, float, float *, int, int) = block_generic;

#ifdef SS_HAVE_AVX2_KERNEL
	if (ss_have_avx2())
	{
		if (M == 1)
		{
			/* spans of whole groups of four panels (row_avx2's unit) */
			watch = packed_bytes(1, N, K, 1) > POLL_BYTES;
			span = watch ? 4 * NR * ((panels_per_poll(1, K) + 3) / 4) : N;
			for (int j0 = 0; j0 < N; j0 += span)
			{
				if (watch && ss_interrupted())
					return;
				row_avx2(N - j0 < span ? N - j0 : span, K, a,
						 packed + (size_t) (j0 / NR) * panel_floats, beta, c + j0);
			}
			ss_blas_count_flops(2.0 * N * K);
			return;
		}
		block = block_avx2_any;
	}
#endif
	chunk = chunk < 2 * MR ? 2 * MR : chunk - chunk % MR;
	watch = 2.0 * M * N * K > SS_POLL_FLOPS || packed_bytes(M, N, K, chunk) > POLL_BYTES;
	span = watch ? NR * panels_per_poll(M < chunk ? M : chunk, K) : N;
	for (int i0 = 0; i0 < M; i0 += chunk)
	{
		int			i1 = M - i0 < chunk ? M : i0 + chunk;

		for (int j0 = 0; j0 < N; j0 += NR)
		{
			const float *panel = packed + (size_t) (j0 / NR) * panel_floats;
			int			nc = N - j0 < NR ? N - j0 : NR;

			if (watch && j0 % span == 0 && ss_interrupted())
				return;
			for (int i = i0; i < i1;)
			{
				int			mr = block_rows(i1 - i);

				block(mr, K, a + (size_t) i * lda, lda, panel, beta,
					  c + (size_t) i * ldc + j0, ldc, nc);
				i += mr;
			}
		}
	}
	ss_blas_count_flops(2.0 * M * N * K);
}
