/*
 * sgemm_peak.c - this machine's cblas_sgemm speed (GFLOP/s) on large square
 * matrices, with 1 and 2 OpenBLAS threads: the yardstick for the engine's
 * "fraction of peak".
 *
 *   make bench-core && bench/sgemm_peak
 */
#include <stdio.h>
#include <stdlib.h>

#include "../src/core/blas.h"
#include "bench_clock.h"

int
main(void)
{
	const int	n = 1024,
				reps = 10;
	float	   *a = malloc(sizeof(float) * n * n),
			   *b = malloc(sizeof(float) * n * n),
			   *c = malloc(sizeof(float) * n * n);
	const char *err = ss_blas_load();

	if (err)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int i = 0; i < n * n; i++)
	{
		a[i] = (float) (i % 7) / 7.0f;
		b[i] = (float) (i % 5) / 5.0f;
	}
	printf("{");
	for (int threads = 1; threads <= 2; threads++)
	{
		double		t0,
					best = 1e30;

		ss_blas_set_threads(threads);
		ss_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		for (int r = 0; r < reps; r++)
		{
			t0 = now();
			ss_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
			t0 = now() - t0;
			if (t0 < best)
				best = t0;
		}
		printf("%s\"sgemm_gflops_threads_%d\": %.1f", threads > 1 ? ", " : "", threads,
			   2.0 * n * n * n / best / 1e9);
	}
	printf(", \"n\": %d, \"blas\": \"%s\"}\n", n, ss_blas_info());
	return 0;
}
