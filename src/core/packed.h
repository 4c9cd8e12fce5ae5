/*
 * packed.h - matrix products against a weight matrix packed once.
 *
 * OpenBLAS packs both operands on every sgemm call.  The recurrent products
 * of a GRU multiply a few rows (one per window of the batch) by the same
 * weights at each of up to 50 time steps, so repacking costs as much as the
 * product itself; the input projection has K = 28 or so, where packing
 * dominates too.  Here the weights are packed once per forward or backward
 * pass, into panels of SS_PACK_NR columns:
 *
 *   panel p (columns 16p .. 16p+15), laid out as
 *     [ bias[16] ][ W(0, 16p..) ][ W(1, 16p..) ] ... [ W(K-1, 16p..) ]
 *   zero-padded past column N, so that every panel has (K + 1) x 16 floats.
 *
 * and C = beta C + A op(W) (+ bias) is computed by an AVX2 + FMA kernel of
 * 6 x 16 blocks (12 accumulator registers), a single row of A four panels
 * at a time (8 accumulators), or plain C elsewhere.
 */
#ifndef SS_PACKED_H
#define SS_PACKED_H

#include <stddef.h>

#define SS_PACK_NR 16

/* floats needed to pack a K x N operand */
size_t		ss_packed_floats(int K, int N);

/*
 * Packs op(W), K x N: trans = 1 reads W as N x K (a dense layer's
 * out x in weights, op(W) = W^T); trans = 0 reads W as K x N.  ldw is W's
 * row stride.  bias (N floats) or NULL for zeros.
 */
void		ss_pack(int trans, int K, int N, const float *w, int ldw,
					const float *bias, float *packed);

/*
 * C (M x N, row stride ldc) = beta C + A (M x K, row stride lda) op(W) + bias,
 * beta 0 or 1 (C is not read when beta is 0).  Counted in ss_blas_flops().
 */
void		ss_packed_gemm(int M, int N, int K, const float *a, int lda,
						   const float *packed, float beta, float *c, int ldc);

#endif
