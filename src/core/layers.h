/*
 * layers.h - forward and backward passes of the layers, one pair each.
 *
 * Conventions: matrices are row-major float32.  A batch of sequences is
 * stored time-major: row p = t * B + b holds position t of sequence b, so
 * one time step of the whole batch is B contiguous rows and a recurrent step
 * is one matrix product.  "TB" below is T * B.  Backward functions
 * accumulate (+=) into parameter gradients and, where named so, into input
 * gradients; they overwrite scratch buffers.
 */
#ifndef SS_LAYERS_H
#define SS_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- embedding */

/*
 * out[i, 0:dim] = table[ids[i], :] for i < n; out rows are out_stride apart
 * (so several embeddings can be written side by side into one input row).
 */
void		ss_embedding_forward(const float *table, int dim, const int32_t *ids,
								 int n, float *out, int out_stride);

/* dtable[ids[i], :] += dout[i, 0:dim]; id 0 (padding) gets no gradient. */
void		ss_embedding_backward(float *dtable, int dim, const int32_t *ids,
								  int n, const float *dout, int dout_stride);

/* ---------------------------------------------------------------- dense */

/*
 * Products with a weight matrix w[out x in].  pack is scratch of
 * ss_pack_scratch_floats(in, out) floats: with it, products of two rows or
 * more pack w once and run the packed kernel (packed.h); with NULL they go
 * to OpenBLAS.  Either way the result is the same up to rounding.
 *
 *   ss_matmul_wt:  y[n x out] = beta y + x[n x in] w^T + b   (b may be NULL)
 *   ss_matmul_w:   dx[n x in] = beta dx + dy[n x out] w
 * ldx, ldy, lddy, lddx are row strides; beta is 0 or 1.
 */
size_t		ss_pack_scratch_floats(int in, int out);
void		ss_matmul_wt(int n, int in, int out, const float *x, int ldx,
						 const float *w, const float *b, float beta,
						 float *y, int ldy, float *pack);
void		ss_matmul_w(int n, int out, int in, const float *dy, int lddy,
						const float *w, float beta, float *dx, int lddx, float *pack);

/* y[n x out] = x[n x in] w[out x in]^T + b[out] (b may be NULL); pack as above */
void		ss_dense_forward(int n, int in, int out, const float *x,
							 const float *w, const float *b, float *y, float *pack);

/*
 * dw[out x in] += dy^T x; db[out] += column sums of dy (db may be NULL);
 * dx[n x in] = dy w (dx may be NULL; accumulate_dx adds instead).
 */
void		ss_dense_backward(int n, int in, int out, const float *x,
							  const float *w, const float *dy, float *dx,
							  int accumulate_dx, float *dw, float *db, float *pack);

/*
 * The same over a time-major batch of T steps of B rows of which only the
 * first rows[t] of step t are in use (sequences longest first; rows = NULL:
 * all).  Forward writes only those rows of y; backward takes the weight
 * gradients over them (gathered into scratch, ss_steps_scratch_floats(T,
 * B, in, out) floats; NULL: over every row, which must then hold zeros in
 * dy) and writes dx on them (zeros on the others unless accumulate_dx).
 */
size_t		ss_steps_scratch_floats(int T, int B, int in, int out);
void		ss_dense_forward_steps(int T, int B, const int32_t *rows, int in, int out,
								   const float *x, const float *w, const float *b,
								   float *y, float *pack);
void		ss_dense_backward_steps(int T, int B, const int32_t *rows, int in, int out,
									const float *x, const float *w, const float *dy,
									float *dx, int accumulate_dx, float *dw, float *db,
									float *pack, float *scratch);

/* ---------------------------------------------------------------- dropout */

/*
 * In training, x[i] *= mask[i] with mask[i] = 0 (probability p) or
 * 1 / (1 - p), drawn from uniform numbers; backward multiplies by the same
 * mask.  With p = 0 or mask == NULL nothing happens.
 */
void		ss_dropout_apply(float *x, const float *mask, int64_t n);

/* ---------------------------------------------------------------- GRU */

/*
 * One GRU layer over T steps of a batch of B sequences (PyTorch semantics,
 * gate order r, z, n; h_{-1} = 0):
 *   r = sig(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sig(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * x[TB x D], w_ih[3H x D], w_hh[3H x H], b_ih[3H], b_hh[3H].
 * Saves gates[TB x 3H] (r, z, n) and ghn[TB x H] (W_hn h + b_hn) for the
 * backward pass; h[TB x H] receives the hidden states.  gh_step[B x 3H] is
 * scratch; zeros[H] must hold zeros (the state before the first step).
 * pack (NULL, or ss_pack_scratch_floats of the larger of D x 3H and
 * H x 3H) holds the packed weights.  rows (NULL: all B at every step)
 * gives rows[t], the sequences 0 .. rows[t] - 1 still going at step t
 * (non-increasing in t); the others get h = 0 and are skipped.  Allocates
 * nothing (it may run on a worker thread).
 */
void		ss_gru_forward(int T, int B, int D, int H, const float *x,
						   const float *w_ih, const float *w_hh,
						   const float *b_ih, const float *b_hh,
						   float *gates, float *ghn, float *h, float *gh_step,
						   const float *zeros, float *pack, const int32_t *rows);

/*
 * dh[TB x H] holds dLoss/dh from above on entry and is consumed (the
 * recurrent gradient is added into it as the loop walks back in time).
 * dgi, dgh [TB x 3H] are scratch.  dx[TB x D] is overwritten (may be NULL).
 * zeros[H] holds zeros, sink[H] is scratch, pack and rows as for the
 * forward pass (finished sequences get dgi = dgh = 0, dx = 0); scratch
 * (NULL, or ss_steps_scratch_floats(T, B, 3H, max(D, H))) lets the weight
 * gradients skip them.
 */
void		ss_gru_backward(int T, int B, int D, int H, const float *x,
							const float *w_ih, const float *w_hh,
							const float *gates, const float *ghn, const float *h,
							float *dh, float *dgi, float *dgh, float *dx,
							float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
							const float *zeros, float *sink, float *pack, const int32_t *rows,
							float *scratch);

/* ---------------------------------------------------------------- LSTM */

/*
 * One LSTM layer over T steps of a batch of B sequences (PyTorch semantics,
 * gate order i, f, g, o; h_{-1} = c_{-1} = 0), in lstm_layer.c:
 *   i = sig(W_ii x + b_ii + W_hi h + b_hi)    f = sig(W_if x + b_if + W_hf h + b_hf)
 *   g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = sig(W_io x + b_io + W_ho h + b_ho)
 *   c' = f * c + i * g,   h' = o * tanh(c')
 * x[TB x D], w_ih[4H x D], w_hh[4H x H], b_ih[4H], b_hh[4H].  Saves
 * gates[TB x 4H] (i, f, g, o, after their nonlinearities) and c[TB x H]
 * (the cell states) for the backward pass; h[TB x H] receives the hidden
 * states.  zeros[H] must hold zeros.  pack (NULL, or
 * ss_pack_scratch_floats of the larger of D x 4H and H x 4H) holds the
 * packed weights.  rows (NULL: all B at every step) gives rows[t], the
 * sequences 0 .. rows[t] - 1 still going at step t (non-increasing in t);
 * the others get h = c = 0 and are skipped.  Allocates nothing (it may run
 * on a worker thread); polls for interrupts at every step.
 *
 * ss_lstm_steps_forward is the recurrence alone: gates holds the input
 * projections x W_ih^T + b_ih on entry (on the rows in use), so a caller
 * may compute those for several layers' directions in one product.
 */
void		ss_lstm_forward(int T, int B, int D, int H, const float *x,
							const float *w_ih, const float *w_hh,
							const float *b_ih, const float *b_hh,
							float *gates, float *c, float *h,
							const float *zeros, float *pack, const int32_t *rows);
void		ss_lstm_steps_forward(int T, int B, int H, const float *w_hh,
								  const float *b_hh, float *gates, float *c, float *h,
								  const float *zeros, float *pack, const int32_t *rows);

/*
 * dh[TB x H] holds dLoss/dh from above on entry and is consumed (the
 * recurrent gradient is added into it as the loop walks back in time).
 * dgates[TB x 4H] receives dLoss/d(pre-activations), the same for the
 * input and the recurrent part (zeros on finished sequences).  dc_step[B x
 * H] is scratch (the cell gradient carried back).  dx[TB x D] is
 * overwritten (may be NULL; zeros on finished sequences).  zeros, pack and
 * rows as for the forward pass.  scratch (NULL, or ss_lstm_scratch_floats(B,
 * D, H) floats) lets the weight gradients run step by step on the packed
 * kernel over the sequences still going; with NULL they are OpenBLAS
 * products over every row.
 *
 * ss_lstm_steps_backward is the recurrence alone: it fills dgates and adds
 * into dw_hh and db_hh (scratch: ss_lstm_scratch_floats(B, 0, H)); the
 * input part (dx, dw_ih, db_ih) is then ss_dense_backward_steps over dgates.
 */
size_t		ss_lstm_scratch_floats(int B, int D, int H);
void		ss_lstm_backward(int T, int B, int D, int H, const float *x,
							 const float *w_ih, const float *w_hh,
							 const float *gates, const float *c, const float *h,
							 float *dh, float *dgates, float *dc_step, float *dx,
							 float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
							 const float *zeros, float *pack, const int32_t *rows,
							 float *scratch);
void		ss_lstm_steps_backward(int T, int B, int H, const float *w_hh,
								   const float *gates, const float *c, const float *h,
								   float *dh, float *dgates, float *dc_step,
								   float *dw_hh, float *db_hh, const float *zeros,
								   float *pack, const int32_t *rows, float *scratch);

/*
 * A backward direction is the same layer run on the batch reversed in time
 * sequence by sequence: dst[t, b] = src[len_b - 1 - t, b] (W floats each,
 * rows ld_src and ld_dst floats apart) for t < len_b, and dst[t, b] = 0
 * for len_b <= t < T.  The reversed batch has the same lengths, so it keeps
 * the longest-first rows[].  Reversing twice gives the batch back: the same
 * call maps the reversed direction's outputs (and, backward, its input
 * gradients) back to the batch's time order; accumulate adds into dst
 * instead (and leaves the rows past each end alone).  lengths NULL: all T.
 */
void		ss_reverse_steps(int T, int B, const int32_t *lengths, int W,
							 const float *src, int ld_src, float *dst, int ld_dst,
							 int accumulate);

/* ---------------------------------------------------------------- attention */

/*
 * Additive attention of n_q queries over the hidden states of their own
 * sequence, causal: query i sits at position qt[i] of sequence qb[i] and
 * attends over positions s = 0 .. qt[i] of that sequence.
 *   k_s = W_k h_s + b_k            keys[TB x A], computed by the caller
 *   q_i = W_q h_{qt,qb}            queries[n_q x A], computed by the caller
 *   e_is = tanh(k_s + q_i)         saved in e (offset e_off[i], (qt+1) x A)
 *   score_is = v . e_is, alpha_i = softmax_s(score_i)   saved in alpha
 *                                  (offset a_off[i], qt+1 values)
 *   ctx_i = sum_s alpha_is h_s     ctx[n_q x H]
 * e_off / a_off are prefix sums computed by ss_attention_offsets().
 * Consecutive queries of the same sequence form a group whose contexts
 * (and, backward, the gradients through them) are matrix products with
 * that sequence's states; scratch holds ss_attention_scratch_floats(T)
 * floats, T the batch's longest sequence.
 */
size_t		ss_attention_scratch_floats(int T);

int64_t		ss_attention_offsets(int n_q, const int32_t *qt, int A,
								 int64_t *e_off, int64_t *a_off);

void		ss_attention_forward(int B, int H, int A, int n_q,
								 const int32_t *qt, const int32_t *qb,
								 const float *h, const float *keys,
								 const float *queries, const float *v,
								 const int64_t *e_off, const int64_t *a_off,
								 float *e, float *alpha, float *ctx, float *scratch);

/*
 * Given dctx[n_q x H]: dh[TB x H] += direct (alpha * dctx) part,
 * dkeys[TB x A] += , dqueries[n_q x A] = (overwritten), dv[A] += .
 * scratch as for the forward pass.
 */
void		ss_attention_backward(int B, int H, int A, int n_q,
								  const int32_t *qt, const int32_t *qb,
								  const float *h, const float *v,
								  const int64_t *e_off, const int64_t *a_off,
								  const float *e, const float *alpha,
								  const float *dctx, float *dh, float *dkeys,
								  float *dqueries, float *dv, float *scratch);

/* ---------------------------------------------------------------- loss */

/*
 * Focal loss over n rows of logits[n x C] with targets y[n] (all >= 0):
 *   L = (1/n) sum_i -alpha[y_i] (1 - p_i)^gamma log p_i,  p_i = softmax(logits_i)[y_i]
 * (1 - p) is clamped at 1e-6 as in the reference.  alpha may be NULL (all 1).
 * Returns L and writes dL/dlogits into dlogits[n x C] (may alias logits).
 * Also returns, through hits3 (may be NULL), how many targets were in the
 * top 3 of their row.
 */
double		ss_focal_loss(int n, int C, const float *logits, const int32_t *y,
						  const float *alpha, float gamma, float *dlogits,
						  int *hits3);

/*
 * The next-order loss of one row (unit 'order'): the cross-entropy of
 * p = softmax(z[C]) against the uniform distribution over the target set
 * set[0..n_set) (distinct classes, n_set >= 1):
 *   L = -(1/|S|) sum_{y in S} log p_y
 * the mean over the set's members of the line-level loss.  Returns L and
 * writes scale x dL/dz = scale x (p - multi_hot(S) / |S|) into dz[C] (may
 * alias z); scale is 1/n for the mean over n rows, as ss_focal_loss.
 */
double		ss_set_loss_row(int C, const float *z, const int32_t *set, int n_set, float scale,
							float *dz);

/* softmax of each row of x[n x C], in place */
void		ss_softmax_rows(int n, int C, float *x);

#endif
