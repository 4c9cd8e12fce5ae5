/*
 * lstm_layer.c - one LSTM layer, forward and backward, and the time
 * reversal that turns it into the backward direction of a bidirectional
 * LSTM (see layers.h for the contracts).
 *
 * The layout follows the GRU of layers.c: the input part of every gate for
 * every step is one matrix product over the whole time-major batch (packed
 * weights, rows of finished sequences skipped), and each time step adds the
 * recurrent part with one product of the rows still going by the packed
 * W_hh.  Unlike the GRU, whose candidate gate needs W_hn h apart from W_in x,
 * the LSTM's gates only ever use the sum of the two parts, so the recurrent
 * product accumulates straight into the saved gate rows (b_hh rides in the
 * packed panels) and no per-step scratch is needed; the cell kernel then
 * turns the sums into i, f, g, o in place.  The backward pass walks back in
 * time carrying dc in a B x H buffer; its gate gradients serve both weight
 * matrices, and a second walk over the steps takes the weight gradients on
 * the packed kernel (step_gradients: each step's gate gradients packed
 * once for both), with the input gradients of the same step.
 *
 * A finished sequence (b >= rows[t]) is never touched by a step: its h and
 * c rows are set to zero, its gate gradients too.  Because sequences finish
 * in order (longest first), the rows of the dc carry that belong to a
 * sequence are still the zeros they were set to when the backward loop
 * reaches that sequence's last step.
 */
#include "layers.h"

#include <string.h>

#include "blas.h"
#include "interrupt.h"
#include "packed.h"
#include "simd.h"

/* ---------------------------------------------------------------- cell kernels */

/*
 * One row: g[4H] holds the gate pre-activations on entry and i, f, g, o on
 * exit; cp[H] is the previous cell state; writes c[H] and h[H].  Row
 * pointers and size_t indices so that the loop vectorises under -fwrapv
 * (see simd.c).
 */
static inline void
lstm_cell(float *restrict g, const float *restrict cp, float *restrict c,
		  float *restrict h, int H)
{
	const size_t n = (size_t) H;
	float	   *restrict gi = g;
	float	   *restrict gf = g + n;
	float	   *restrict gg = g + 2 * n;
	float	   *restrict go = g + 3 * n;

	for (size_t j = 0; j < n; j++)
	{
		float		i = ss_sigmoid(gi[j]),
					f = ss_sigmoid(gf[j]),
					u = ss_tanh(gg[j]),
					o = ss_sigmoid(go[j]);
		float		cc = f * cp[j] + i * u;

		gi[j] = i;
		gf[j] = f;
		gg[j] = u;
		go[j] = o;
		c[j] = cc;
		h[j] = o * ss_tanh(cc);
	}
}

/*
 * One row backward: given the saved gates g[4H], previous and current cell
 * states cp[H], c[H], dh[H] (from above and from step t + 1) and dc[H] (the
 * cell gradient from step t + 1), writes the pre-activation gradients
 * dg[4H] and replaces dc by the gradient for cp.
 */
static inline void
lstm_cell_backward(const float *restrict g, const float *restrict cp,
				   const float *restrict c, const float *restrict dh,
				   float *restrict dc, float *restrict dg, int H)
{
	const size_t n = (size_t) H;
	const float *restrict gi = g;
	const float *restrict gf = g + n;
	const float *restrict gg = g + 2 * n;
	const float *restrict go = g + 3 * n;
	float	   *restrict di = dg;
	float	   *restrict df = dg + n;
	float	   *restrict du = dg + 2 * n;
	float	   *restrict dout = dg + 3 * n;

	for (size_t j = 0; j < n; j++)
	{
		float		i = gi[j],
					f = gf[j],
					u = gg[j],
					o = go[j];
		float		tc = ss_tanh(c[j]);
		float		dct = dc[j] + dh[j] * o * (1.0f - tc * tc);

		di[j] = dct * u * i * (1.0f - i);
		df[j] = dct * cp[j] * f * (1.0f - f);
		du[j] = dct * i * (1.0f - u * u);
		dout[j] = dh[j] * tc * o * (1.0f - o);
		dc[j] = dct * f;
	}
}

/* ---------------------------------------------------------------- forward */

SS_MULTIVERSION void
ss_lstm_steps_forward(int T, int B, int H, const float *w_hh, const float *b_hh,
					  float *gates, float *c, float *h, const float *zeros,
					  float *pack, const int32_t *rows)
{
	const int	G = 4 * H;

	/* packing pays for itself over a few rows, or over a few steps of one row */
	const int	packed = pack != NULL && (B >= 2 || T > 2);

	if (ss_interrupted())
		return;
	if (packed)
		ss_pack(1, H, G, w_hh, H, b_hh, pack);

	for (int t = 0; t < T; t++)
	{
		const int	Bt = rows != NULL ? rows[t] : B;
		float	   *g = gates + (int64_t) t * B * G;
		float	   *ct = c + (int64_t) t * B * H;
		float	   *ht = h + (int64_t) t * B * H;
		const float *hp = t > 0 ? h + (int64_t) (t - 1) * B * H : NULL;
		const float *cp = t > 0 ? c + (int64_t) (t - 1) * B * H : NULL;

		if (ss_interrupted())
			return;
		/* finished sequences: states 0 (read by the layers above, never used) */
		if (Bt < B)
		{
			memset(ht + (int64_t) Bt * H, 0, sizeof(float) * (B - Bt) * H);
			memset(ct + (int64_t) Bt * H, 0, sizeof(float) * (B - Bt) * H);
		}
		if (Bt <= 0)
			continue;
		/* gates += h_{t-1} W_hh^T + b_hh (h_{-1} = 0: the bias alone) */
		if (hp != NULL && packed)
			ss_packed_gemm(Bt, G, H, hp, H, pack, 1.0f, g, G);
		else if (hp != NULL)
			ss_matmul_wt(Bt, H, G, hp, H, w_hh, b_hh, 1.0f, g, G, NULL);
		else
		{
			for (int b = 0; b < Bt; b++)
				ss_vec_axpy(1.0f, b_hh, g + (int64_t) b * G, G);
		}
		for (int b = 0; b < Bt; b++)
			lstm_cell(g + (int64_t) b * G, cp != NULL ? cp + (int64_t) b * H : zeros,
					  ct + (int64_t) b * H, ht + (int64_t) b * H, H);
	}
}

void
ss_lstm_forward(int T, int B, int D, int H, const float *x,
				const float *w_ih, const float *w_hh,
				const float *b_ih, const float *b_hh,
				float *gates, float *c, float *h,
				const float *zeros, float *pack, const int32_t *rows)
{
	/* input projections of every step at once: gates = x W_ih^T + b_ih */
	ss_dense_forward_steps(T, B, rows, D, 4 * H, x, w_ih, b_ih, gates, pack);
	ss_lstm_steps_forward(T, B, H, w_hh, b_hh, gates, c, h, zeros, pack, rows);
}

/* ---------------------------------------------------------------- backward */

/* sums[j] += sum over the rows in use of dg[., j]; polls once a step */
static void
add_step_column_sums(int T, int B, const int32_t *rows, int G, const float *dg,
					 float *sums)
{
	for (int t = 0; t < T; t++)
	{
		const int	Bt = rows != NULL ? rows[t] : B;

		if (ss_interrupted())
			return;
		for (int b = 0; b < Bt; b++)
			ss_vec_axpy(1.0f, dg + ((int64_t) t * B + b) * G, sums, G);
	}
}

/* dst[j * ld_dst + k] = src[k * ld_src + j]: the n x m block src, transposed */
static void
transpose_rows(int n, int m, const float *src, int ld_src, float *dst, int ld_dst)
{
	for (int k = 0; k < n; k++)
		for (int j = 0; j < m; j++)
			dst[(size_t) j * ld_dst + k] = src[(size_t) k * ld_src + j];
}

/* m[i, j] += acc[j, i] for m rows x n columns (acc is n x rows) */
static void
add_transposed(int rows, int n, const float *acc, float *m)
{
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < n; j++)
			m[(size_t) i * n + j] += acc[(size_t) j * rows + i];
}

size_t
ss_lstm_scratch_floats(int B, int D, int H)
{
	return ss_packed_floats(B, 4 * H) + ((size_t) D + H + 1) * ((size_t) B + 4 * H);
}

/*
 * The gradients that follow from dgates, step by step:
 *   dW_ih += sum_t dg_t^T x_t,  dW_hh += sum_{t >= 1} dg_t^T h_{t-1},
 *   db_ih, db_hh += sum_t of dg_t's rows,  dx_t = dg_t W_ih
 * over the rows in use.  Each weight gradient is a sum over rows, which the
 * packed kernel cannot take as it stands (both factors have the summed
 * index as their row); so each step packs dg_t (Bt x 4H, read row by row)
 * once and multiplies the transposes of x_t and h_{t-1} (a few ten rows,
 * cheap to transpose) by it, accumulating dW_ih^T and dW_hh^T; a row of
 * ones under h_{t-1}^T gives the bias gradient in the same product.  The
 * accumulators are added, transposed back, at the end.  x NULL: only the
 * recurrent part (dW_hh, db_hh).  Scratch: ss_lstm_scratch_floats(B, D, H).
 */
static void
step_gradients(int T, int B, int D, int H, const int32_t *rows,
			   const float *x, const float *w_ih, const float *h, const float *dgates,
			   float *dx, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
			   float *pack, float *scratch)
{
	const int	G = 4 * H;
	float	   *packed = scratch;
	float	   *xt = packed + ss_packed_floats(B, G);	/* D x B */
	float	   *ht = xt + (size_t) D * B;	/* (H + 1) x B, the last row ones */
	float	   *acc_ih = ht + (size_t) (H + 1) * B; /* D x 4H: dW_ih^T */
	float	   *acc_hh = acc_ih + (size_t) D * G;	/* (H + 1) x 4H: dW_hh^T, then db */

	if (x == NULL)
		D = 0;
	memset(acc_ih, 0, sizeof(float) * ((size_t) D + H + 1) * G);
	for (int b = 0; b < B; b++)
		ht[(size_t) H * B + b] = 1.0f;
	if (dx != NULL && pack != NULL)
		ss_pack(0, G, D, w_ih, D, NULL, pack);

	for (int t = 0; t < T; t++)
	{
		const int	Bt = rows != NULL ? rows[t] : B;
		const float *dg = dgates + (int64_t) t * B * G;

		if (ss_interrupted())
			return;
		if (dx != NULL)
		{
			float	   *dxt = dx + (int64_t) t * B * D;

			/* finished sequences: no input gradient */
			if (Bt < B)
				memset(dxt + (int64_t) Bt * D, 0, sizeof(float) * (B - Bt) * D);
			if (Bt > 0 && pack != NULL)
				ss_packed_gemm(Bt, D, G, dg, G, pack, 0.0f, dxt, D);
			else if (Bt > 0)
				ss_matmul_w(Bt, G, D, dg, G, w_ih, 0.0f, dxt, D, NULL);
		}
		if (Bt <= 0)
			continue;
		ss_pack(0, Bt, G, dg, G, NULL, packed);
		if (D > 0)
		{
			transpose_rows(Bt, D, x + (int64_t) t * B * D, D, xt, B);
			ss_packed_gemm(D, G, Bt, xt, B, packed, 1.0f, acc_ih, G);
		}
		if (t > 0)
		{
			transpose_rows(Bt, H, h + (int64_t) (t - 1) * B * H, H, ht, B);
			ss_packed_gemm(H + 1, G, Bt, ht, B, packed, 1.0f, acc_hh, G);
		}
		else					/* h_{-1} = 0: the bias row alone */
			ss_packed_gemm(1, G, Bt, ht + (size_t) H * B, B, packed, 1.0f,
						   acc_hh + (size_t) H * G, G);
	}
	if (ss_interrupted())
		return;
	if (D > 0)
	{
		add_transposed(G, D, acc_ih, dw_ih);
		ss_vec_axpy(1.0f, acc_hh + (size_t) H * G, db_ih, G);
	}
	add_transposed(G, H, acc_hh, dw_hh);
	ss_vec_axpy(1.0f, acc_hh + (size_t) H * G, db_hh, G);
}

/* the recurrence backward: fills dgates (zeros on finished sequences), consumes dh */
static void
recurrence_backward(int T, int B, int H, const float *w_hh,
					const float *gates, const float *c, float *dh, float *dgates,
					float *dc_step, const float *zeros, float *pack, const int32_t *rows)
{
	const int	G = 4 * H;
	const int	packed = pack != NULL && B >= 2;

	if (ss_interrupted())
		return;
	if (packed)
		ss_pack(0, G, H, w_hh, H, NULL, pack);
	memset(dc_step, 0, sizeof(float) * B * H);

	for (int t = T - 1; t >= 0; t--)
	{
		const int	Bt = rows != NULL ? rows[t] : B;
		const float *g = gates + (int64_t) t * B * G;
		const float *ct = c + (int64_t) t * B * H;
		const float *cp = t > 0 ? c + (int64_t) (t - 1) * B * H : NULL;
		float	   *dht = dh + (int64_t) t * B * H;
		float	   *dhp = t > 0 ? dh + (int64_t) (t - 1) * B * H : NULL;
		float	   *dgt = dgates + (int64_t) t * B * G;

		if (ss_interrupted())
			return;
		/* finished sequences: no gradient (the weight products may read every row) */
		if (Bt < B)
			memset(dgt + (int64_t) Bt * G, 0, sizeof(float) * (B - Bt) * G);
		for (int b = 0; b < Bt; b++)
			lstm_cell_backward(g + (int64_t) b * G,
							   cp != NULL ? cp + (int64_t) b * H : zeros,
							   ct + (int64_t) b * H, dht + (int64_t) b * H,
							   dc_step + (int64_t) b * H, dgt + (int64_t) b * G, H);
		/* recurrent part: dh_{t-1} += dgates_t W_hh */
		if (dhp != NULL && Bt > 0 && packed)
			ss_packed_gemm(Bt, H, G, dgt, G, pack, 1.0f, dhp, H);
		else if (dhp != NULL && Bt > 0)
			ss_matmul_w(Bt, G, H, dgt, G, w_hh, 1.0f, dhp, H, NULL);
	}
}

SS_MULTIVERSION void
ss_lstm_steps_backward(int T, int B, int H, const float *w_hh,
					   const float *gates, const float *c, const float *h,
					   float *dh, float *dgates, float *dc_step,
					   float *dw_hh, float *db_hh, const float *zeros,
					   float *pack, const int32_t *rows, float *scratch)
{
	const int	G = 4 * H;

	recurrence_backward(T, B, H, w_hh, gates, c, dh, dgates, dc_step, zeros, pack, rows);
	if (ss_interrupted())
		return;
	if (scratch != NULL)
	{
		step_gradients(T, B, 0, H, rows, NULL, NULL, h, dgates, NULL, NULL, dw_hh, NULL, db_hh,
					   pack, scratch);
		return;
	}
	/*
	 * without scratch, over every row (those of finished sequences hold
	 * zeros): dW_hh += sum_{t >= 1} dgates_t^T h_{t-1} in one product
	 */
	if (T > 1)
		ss_sgemm(1, 0, G, H, (T - 1) * B, 1.0f, dgates + (int64_t) B * G, G, h, H,
				 1.0f, dw_hh, H);
	add_step_column_sums(T, B, rows, G, dgates, db_hh);
}

SS_MULTIVERSION void
ss_lstm_backward(int T, int B, int D, int H, const float *x,
				 const float *w_ih, const float *w_hh,
				 const float *gates, const float *c, const float *h,
				 float *dh, float *dgates, float *dc_step, float *dx,
				 float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
				 const float *zeros, float *pack, const int32_t *rows,
				 float *scratch)
{
	if (scratch == NULL)
	{
		ss_lstm_steps_backward(T, B, H, w_hh, gates, c, h, dh, dgates, dc_step,
							   dw_hh, db_hh, zeros, pack, rows, NULL);
		if (ss_interrupted())
			return;
		ss_dense_backward_steps(T, B, rows, D, 4 * H, x, w_ih, dgates, dx, 0, dw_ih, db_ih,
								pack, NULL);
		return;
	}
	recurrence_backward(T, B, H, w_hh, gates, c, dh, dgates, dc_step, zeros, pack, rows);
	if (ss_interrupted())
		return;
	step_gradients(T, B, D, H, rows, x, w_ih, h, dgates, dx, dw_ih, dw_hh, db_ih, db_hh,
				   pack, scratch);
}

/* ---------------------------------------------------------------- time reversal */

void
ss_reverse_steps(int T, int B, const int32_t *lengths, int W,
				 const float *src, int ld_src, float *dst, int ld_dst, int accumulate)
{
	for (int t = 0; t < T; t++)
	{
		if (ss_interrupted())
			return;
		for (int b = 0; b < B; b++)
		{
			const int	len = lengths != NULL ? lengths[b] : T;
			float	   *d = dst + ((int64_t) t * B + b) * ld_dst;
			const float *s;

			if (t >= len)
			{
				if (!accumulate)
					memset(d, 0, sizeof(float) * W);
				continue;
			}
			s = src + ((int64_t) (len - 1 - t) * B + b) * ld_src;
			if (accumulate)
				ss_vec_axpy(1.0f, s, d, W);
			else
				memcpy(d, s, sizeof(float) * W);
		}
	}
}
