/*
 * packed_bench.c - the engine's matrix products, OpenBLAS sgemm against the
 * pack-once kernel (src/core/packed.c), for the shapes training runs:
 * recurrent steps (few rows), the input projection (K = 28) and the
 * attention keys (many rows).  GFLOP/s; packing time included once per
 * 50 products, as in a batch of 50 time steps.
 *
 *   make bench-core && bench/packed_bench
 */
#include <stdio.h>
#include <stdlib.h>

#include "../src/core/blas.h"
#include "../src/core/packed.h"
#include "bench_clock.h"

int
main(void)
{
	static const int shapes[][3] = {
		{10, 384, 128}, {10, 128, 384}, {10, 768, 256}, {10, 256, 768},
		{40, 384, 128}, {40, 768, 256}, {1, 384, 128},
		{5, 384, 128}, {5, 768, 256}, {5, 256, 768}, {3, 768, 256},
		{1565, 768, 28}, {500, 384, 28}, {1143, 256, 256}, {500, 128, 128}, {256, 40, 256},
	};
	const char *err = ss_blas_load();

	if (err)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%6s %6s %6s %12s %12s\n", "M", "N", "K", "sgemm GF/s", "packed GF/s");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		int			M = shapes[s][0],
					N = shapes[s][1],
					K = shapes[s][2];
		float	   *a = malloc(sizeof(float) * M * K),
				   *w = malloc(sizeof(float) * N * K),
				   *bias = malloc(sizeof(float) * N),
				   *c = malloc(sizeof(float) * M * N),
				   *p = malloc(sizeof(float) * ss_packed_floats(K, N));
		double		flops = 2.0 * M * N * K,
					reps = 2e9 / flops,
					t0,
					t_blas,
					t_pack;

		for (int i = 0; i < M * K; i++)
			a[i] = (float) rand() / RAND_MAX - 0.5f;
		for (int i = 0; i < N * K; i++)
			w[i] = (float) rand() / RAND_MAX - 0.5f;
		for (int i = 0; i < N; i++)
			bias[i] = 0.1f;
		if (reps < 50)
			reps = 50;
		t0 = now();
		for (int r = 0; r < reps; r++)
			ss_sgemm(0, 1, M, N, K, 1.0f, a, K, w, K, 0.0f, c, N);
		t_blas = now() - t0;
		t0 = now();
		for (int r = 0; r < reps; r++)
		{
			if (r % 50 == 0)
				ss_pack(1, K, N, w, K, bias, p);
			ss_packed_gemm(M, N, K, a, K, p, 0.0f, c, N);
		}
		t_pack = now() - t0;
		printf("%6d %6d %6d %12.1f %12.1f\n", M, N, K, flops * reps / t_blas * 1e-9,
			   flops * reps / t_pack * 1e-9);
		free(a);
		free(w);
		free(bias);
		free(c);
		free(p);
	}
	return 0;
}
