/*
 * blas.h - the few OpenBLAS entry points the engine uses.
 *
 * OpenBLAS is loaded with dlopen() on first use, in the process that needs
 * it (a backend, a test binary), never at library load time: its
 * constructor starts a thread pool, and a pool created in the postmaster
 * does not survive fork().  Before loading, OPENBLAS_NUM_THREADS is set to 1
 * unless the environment already sets it, so the pool starts small;
 * ss_blas_set_threads() grows it when a training asks for more threads.
 */
#ifndef SS_BLAS_H
#define SS_BLAS_H

/* values of the CBLAS enums (cblas.h) */
#define SS_ROW_MAJOR 101
#define SS_NO_TRANS 111
#define SS_TRANS 112

/* Loads OpenBLAS; returns NULL on success, else a static error message. */
const char *ss_blas_load(void);

/* Number of OpenBLAS threads for the following calls (>= 1). */
void		ss_blas_set_threads(int n);

/*
 * C[m x n] = alpha * op(A) * op(B) + beta * C, row-major.
 * op(A) is m x k (A is k x m when trans_a), op(B) is k x n.
 */
void		ss_sgemm(int trans_a, int trans_b, int m, int n, int k,
					 float alpha, const float *a, int lda,
					 const float *b, int ldb, float beta, float *c, int ldc);

/*
 * The same product in plain C loops.  ss_sgemm runs it when OpenBLAS is not
 * loaded: the products of one history's prediction (matrix-vector products
 * and small ones; its recurrent steps use the packed kernel) need no
 * library, which spares a backend that only predicts loading OpenBLAS
 * (about 4 ms of its first call).
 */
void		ss_sgemm_plain(int trans_a, int trans_b, int m, int n, int k,
						   float alpha, const float *a, int lda,
						   const float *b, int ldb, float beta, float *c, int ldc);

/*
 * Floating-point operations done by ss_sgemm so far in this process (2 m n k
 * per call), on every thread.
 */
double		ss_blas_flops(void);
/* adds products done elsewhere (the packed kernel) to that count */
void		ss_blas_count_flops(double flops);

/* A short description of the loaded library (version and core). */
const char *ss_blas_info(void);

#endif
