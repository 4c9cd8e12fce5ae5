/*
 * layers.c - forward and backward passes (see layers.h for shapes).
 */
#include "layers.h"
#include "metrics.h"

#include <math.h>
#include <string.h>

#include "blas.h"
#include "interrupt.h"
#include "packed.h"
#include "simd.h"

/*
 * The loops below poll for an interrupt (interrupt.h) after about
 * POLL_WORK elementary operations (a multiply-add, a tanh, an element
 * copied): a few ms each; *work counts since the last poll.  Once
 * interrupted they return, their outputs undefined.
 */
#define POLL_WORK ((int64_t) 1 << 22)

static inline int
poll_after(int64_t *work, int64_t done)
{
	*work += done;
	if (*work < POLL_WORK)
		return 0;
	*work = 0;
	return ss_interrupted();
}

/* ---------------------------------------------------------------- embedding */

void
ss_embedding_forward(const float *table, int dim, const int32_t *ids,
					 int n, float *out, int out_stride)
{
	int64_t		work = 0;

	for (int i = 0; i < n; i++)
	{
		if (poll_after(&work, dim))
			return;
		memcpy(out + (int64_t) i * out_stride, table + (int64_t) ids[i] * dim,
			   sizeof(float) * dim);
	}
}

SS_MULTIVERSION void
ss_embedding_backward(float *dtable, int dim, const int32_t *ids,
					  int n, const float *dout, int dout_stride)
{
	int64_t		work = 0;

	for (int i = 0; i < n; i++)
	{
		float	   *row;
		const float *d = dout + (int64_t) i * dout_stride;

		if (poll_after(&work, dim))
			return;
		if (ids[i] == 0)
			continue;
		row = dtable + (int64_t) ids[i] * dim;
		for (int j = 0; j < dim; j++)
			row[j] += d[j];
	}
}

/* ---------------------------------------------------------------- dense */

size_t
ss_pack_scratch_floats(int in, int out)
{
	size_t		f = ss_packed_floats(in, out),
				b = ss_packed_floats(out, in);

	return f > b ? f : b;
}

void
ss_matmul_wt(int n, int in, int out, const float *x, int ldx, const float *w,
			 const float *b, float beta, float *y, int ldy, float *pack)
{
	if (n <= 0)
		return;
	if (pack != NULL && n >= 2)
	{
		/* fills pack with w^T (and b), then one pass of the packed kernel */
		ss_pack(1, in, out, w, in, b, pack);
		ss_packed_gemm(n, out, in, x, ldx, pack, beta, y, ldy);
		return;
	}
	if (b != NULL)
	{
		for (int i = 0; i < n; i++)
		{
			float	   *yr = y + (int64_t) i * ldy;

			if (beta == 0.0f)
				memcpy(yr, b, sizeof(float) * out);
			else
				for (int j = 0; j < out; j++)
					yr[j] += b[j];
		}
		beta = 1.0f;
	}
	ss_sgemm(0, 1, n, out, in, 1.0f, x, ldx, w, in, beta, y, ldy);
}

void
ss_matmul_w(int n, int out, int in, const float *dy, int lddy, const float *w,
			float beta, float *dx, int lddx, float *pack)
{
	if (n <= 0)
		return;
	if (pack != NULL && n >= 2)
	{
		ss_pack(0, out, in, w, in, NULL, pack);
		ss_packed_gemm(n, in, out, dy, lddy, pack, beta, dx, lddx);
		return;
	}
	ss_sgemm(0, 0, n, in, out, 1.0f, dy, lddy, w, in, beta, dx, lddx);
}

void
ss_dense_forward(int n, int in, int out, const float *x,
				 const float *w, const float *b, float *y, float *pack)
{
	ss_matmul_wt(n, in, out, x, in, w, b, 0.0f, y, out, pack);
}

static void
add_column_sums(int n, int cols, const float *m, float *sums)
{
	int64_t		work = 0;

	for (int i = 0; i < n; i++)
	{
		const float *row = m + (int64_t) i * cols;

		if (poll_after(&work, cols))
			return;
		for (int j = 0; j < cols; j++)
			sums[j] += row[j];
	}
}

void
ss_dense_backward(int n, int in, int out, const float *x,
				  const float *w, const float *dy, float *dx,
				  int accumulate_dx, float *dw, float *db, float *pack)
{
	ss_sgemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
	if (db != NULL)
		add_column_sums(n, out, dy, db);
	if (dx != NULL)
		ss_matmul_w(n, out, in, dy, out, w, accumulate_dx ? 1.0f : 0.0f, dx, in, pack);
}

/* ---------------------------------------------------------------- ragged batches */

/*
 * A time-major batch whose sequences are longest first: step t holds the
 * rows t B .. t B + rows[t] - 1 of the sequences still going (rows = NULL:
 * all B).  The products below touch only those rows.
 */
static int64_t
active_rows(int T, int B, const int32_t *rows)
{
	int64_t		n = 0;

	if (rows == NULL)
		return (int64_t) T * B;
	for (int t = 0; t < T; t++)
		n += rows[t];
	return n;
}

/* rows[t] rows of step t (from step t0 + shift of m, width w) for t0 <= t < t1, packed into dst */
static int64_t
gather_rows(int t0, int t1, int shift, int B, const int32_t *rows, const float *m, int w,
			float *dst)
{
	int64_t		n = 0,
				work = 0;

	for (int t = t0; t < t1; t++)
	{
		if (poll_after(&work, (int64_t) rows[t] * w))
			break;
		memcpy(dst + n * w, m + (int64_t) (t + shift) * B * w, sizeof(float) * rows[t] * w);
		n += rows[t];
	}
	return n;
}

/*
 * dw (out x in) += sum over steps t0 <= t < t1 of dy_t^T x_{t + shift}, over
 * the rows in use only, gathered into scratch first (dy's rows, then x's);
 * returns the number of rows.
 */
static int64_t
weight_grad_rows(int t0, int t1, int shift, int B, const int32_t *rows,
				 const float *dy, int out, const float *x, int in, float *dw, float *scratch)
{
	int64_t		n;
	float	   *xc;

	if (ss_interrupted())
		return 0;
	n = gather_rows(t0, t1, 0, B, rows, dy, out, scratch);
	xc = scratch + n * out;
	gather_rows(t0, t1, shift, B, rows, x, in, xc);
	ss_sgemm(1, 0, out, in, (int) n, 1.0f, scratch, out, xc, in, 1.0f, dw, in);
	return n;
}

size_t
ss_steps_scratch_floats(int T, int B, int in, int out)
{
	return (size_t) T * B * ((size_t) in + out);
}

void
ss_dense_forward_steps(int T, int B, const int32_t *rows, int in, int out,
					   const float *x, const float *w, const float *b, float *y, float *pack)
{
	if (active_rows(T, B, rows) == (int64_t) T * B)
	{
		ss_dense_forward(T * B, in, out, x, w, b, y, pack);
		return;
	}
	if (pack != NULL)
		ss_pack(1, in, out, w, in, b, pack);
	for (int t = 0; t < T; t++)
	{
		const float *xt = x + (int64_t) t * B * in;
		float	   *yt = y + (int64_t) t * B * out;

		if (ss_interrupted())
			return;
		if (rows[t] <= 0)
			continue;
		if (pack != NULL)
			ss_packed_gemm(rows[t], out, in, xt, in, pack, 0.0f, yt, out);
		else
			ss_matmul_wt(rows[t], in, out, xt, in, w, b, 0.0f, yt, out, NULL);
	}
}

void
ss_dense_backward_steps(int T, int B, const int32_t *rows, int in, int out,
						const float *x, const float *w, const float *dy, float *dx,
						int accumulate_dx, float *dw, float *db, float *pack, float *scratch)
{
	int64_t		n;

	if (active_rows(T, B, rows) == (int64_t) T * B || scratch == NULL)
	{
		ss_dense_backward(T * B, in, out, x, w, dy, dx, accumulate_dx, dw, db, pack);
		return;
	}
	/* weight gradients over the rows in use, gathered into one product */
	n = weight_grad_rows(0, T, 0, B, rows, dy, out, x, in, dw, scratch);
	if (db != NULL)
		add_column_sums((int) n, out, scratch, db);	/* dy's gathered rows */
	if (dx == NULL || ss_interrupted())
		return;
	if (pack != NULL)
		ss_pack(0, out, in, w, in, NULL, pack);
	for (int t = 0; t < T; t++)
	{
		const float *dyt = dy + (int64_t) t * B * out;
		float	   *dxt = dx + (int64_t) t * B * in;

		if (ss_interrupted())
			return;
		/* finished sequences: no input gradient */
		if (!accumulate_dx && rows[t] < B)
			memset(dxt + (int64_t) rows[t] * in, 0, sizeof(float) * (B - rows[t]) * in);
		if (rows[t] <= 0)
			continue;
		if (pack != NULL)
			ss_packed_gemm(rows[t], in, out, dyt, out, pack, accumulate_dx ? 1.0f : 0.0f, dxt, in);
		else
			ss_matmul_w(rows[t], out, in, dyt, out, w, accumulate_dx ? 1.0f : 0.0f, dxt, in, NULL);
	}
}

/* ---------------------------------------------------------------- dropout */

SS_MULTIVERSION void
ss_dropout_apply(float *x, const float *mask, int64_t n)
{
	if (mask == NULL)
		return;
	for (int64_t i0 = 0; i0 < n; i0 += POLL_WORK)
	{
		int64_t		i1 = n - i0 < POLL_WORK ? n : i0 + POLL_WORK;

		if (i0 > 0 && ss_interrupted())
			return;
		for (int64_t i = i0; i < i1; i++)
			x[i] *= mask[i];
	}
}

/* ---------------------------------------------------------------- GRU */

SS_MULTIVERSION void
ss_gru_forward(int T, int B, int D, int H, const float *x,
			   const float *w_ih, const float *w_hh,
			   const float *b_ih, const float *b_hh,
			   float *gates, float *ghn, float *h, float *gh_step, const float *zeros,
			   float *pack, const int32_t *rows)
{
	const int	G = 3 * H;

	/* packing pays for itself over a few rows, or over a few steps of one row */
	const int	packed = pack != NULL && (B >= 2 || T > 2);

	/* input projections of every step at once: gates = x W_ih^T + b_ih */
	ss_dense_forward_steps(T, B, rows, D, G, x, w_ih, b_ih, gates, pack);
	if (ss_interrupted())
		return;
	/* the recurrent weights, packed once for all T steps */
	if (packed)
		ss_pack(1, H, G, w_hh, H, b_hh, pack);

	for (int t = 0; t < T; t++)
	{
		const int	Bt = rows != NULL ? rows[t] : B;
		float	   *g = gates + (int64_t) t * B * G;
		float	   *ht = h + (int64_t) t * B * H;
		float	   *gn = ghn + (int64_t) t * B * H;
		const float *hp = t > 0 ? h + (int64_t) (t - 1) * B * H : NULL;

		if (ss_interrupted())
			return;
		/* finished sequences: state 0 (read by the layers above, never used) */
		if (Bt < B)
			memset(ht + (int64_t) Bt * H, 0, sizeof(float) * (B - Bt) * H);
		if (Bt <= 0)
			continue;
		if (hp != NULL && packed)
			ss_packed_gemm(Bt, G, H, hp, H, pack, 0.0f, gh_step, G);
		else if (hp != NULL)
			ss_matmul_wt(Bt, H, G, hp, H, w_hh, b_hh, 0.0f, gh_step, G, NULL);
		else
		{
			for (int b = 0; b < Bt; b++)
				memcpy(gh_step + (int64_t) b * G, b_hh, sizeof(float) * G);
		}
		for (int b = 0; b < Bt; b++)
			ss_vec_gru_gates(g + (int64_t) b * G, gh_step + (int64_t) b * G,
							 hp != NULL ? hp + (int64_t) b * H : zeros, gn + (int64_t) b * H,
							 ht + (int64_t) b * H, H);
	}
}

SS_MULTIVERSION void
ss_gru_backward(int T, int B, int D, int H, const float *x,
				const float *w_ih, const float *w_hh,
				const float *gates, const float *ghn, const float *h,
				float *dh, float *dgi, float *dgh, float *dx,
				float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
				const float *zeros, float *sink, float *pack, const int32_t *rows,
				float *scratch)
{
	const int	G = 3 * H;
	const int	packed = pack != NULL && B >= 2;

	if (ss_interrupted())
		return;
	if (packed)
		ss_pack(0, G, H, w_hh, H, NULL, pack);

	for (int t = T - 1; t >= 0; t--)
	{
		const int	Bt = rows != NULL ? rows[t] : B;
		const float *g = gates + (int64_t) t * B * G;
		const float *gn = ghn + (int64_t) t * B * H;
		const float *hp = t > 0 ? h + (int64_t) (t - 1) * B * H : NULL;
		float	   *dht = dh + (int64_t) t * B * H;
		float	   *dhp = t > 0 ? dh + (int64_t) (t - 1) * B * H : NULL;
		float	   *dgit = dgi + (int64_t) t * B * G;
		float	   *dght = dgh + (int64_t) t * B * G;

		if (ss_interrupted())
			return;
		/* finished sequences: no gradient (the weight products below read every row) */
		if (Bt < B)
		{
			memset(dgit + (int64_t) Bt * G, 0, sizeof(float) * (B - Bt) * G);
			memset(dght + (int64_t) Bt * G, 0, sizeof(float) * (B - Bt) * G);
		}
		for (int b = 0; b < Bt; b++)
			ss_vec_gru_gates_backward(g + (int64_t) b * G, gn + (int64_t) b * H,
									  hp != NULL ? hp + (int64_t) b * H : zeros,
									  dht + (int64_t) b * H, dgit + (int64_t) b * G,
									  dght + (int64_t) b * G,
									  dhp != NULL ? dhp + (int64_t) b * H : sink, H);
		/* recurrent part: dh_{t-1} += dgh_t W_hh */
		if (dhp != NULL && Bt > 0 && packed)
			ss_packed_gemm(Bt, H, G, dght, G, pack, 1.0f, dhp, H);
		else if (dhp != NULL && Bt > 0)
			ss_matmul_w(Bt, G, H, dght, G, w_hh, 1.0f, dhp, H, NULL);
	}
	/* weight gradients of all steps at once: dW_hh += sum_t dgh_t^T h_{t-1} */
	if (T > 1 && rows != NULL && scratch != NULL && active_rows(T, B, rows) < (int64_t) T * B)
		/* only the rows of sequences still going (the others are zero) */
		weight_grad_rows(1, T, -1, B, rows, dgh, G, h, H, dw_hh, scratch);
	else if (T > 1)
		ss_sgemm(1, 0, G, H, (T - 1) * B, 1.0f, dgh + (int64_t) B * G, G, h, H,
				 1.0f, dw_hh, H);
	add_column_sums(T * B, G, dgh, db_hh);
	ss_dense_backward_steps(T, B, rows, D, G, x, w_ih, dgi, dx, 0, dw_ih, db_ih, pack, scratch);
}

/* ---------------------------------------------------------------- attention */

int64_t
ss_attention_offsets(int n_q, const int32_t *qt, int A,
					 int64_t *e_off, int64_t *a_off)
{
	int64_t		e = 0,
				a = 0;

	for (int i = 0; i < n_q; i++)
	{
		e_off[i] = e;
		a_off[i] = a;
		e += (int64_t) (qt[i] + 1) * A;
		a += qt[i] + 1;
	}
	e_off[n_q] = e;
	a_off[n_q] = a;
	return e;
}

/* end of the run of queries i0, i0 + 1, .. of the same sequence; *T_out = its longest prefix */
static int
query_group(int n_q, const int32_t *qt, const int32_t *qb, int i0, int *T_out)
{
	int			i1 = i0,
				T = 0;

	while (i1 < n_q && qb[i1] == qb[i0])
	{
		if (qt[i1] + 1 > T)
			T = qt[i1] + 1;
		i1++;
	}
	*T_out = T;
	return i1;
}

/* the group's attention weights as a dense (i1 - i0) x T matrix, zeros past each query */
static void
alpha_matrix(int i0, int i1, int T, const int32_t *qt, const float *alpha,
			 const int64_t *a_off, float *m)
{
	for (int i = i0; i < i1; i++)
	{
		float	   *row = m + (int64_t) (i - i0) * T;

		memcpy(row, alpha + a_off[i], sizeof(float) * (qt[i] + 1));
		memset(row + qt[i] + 1, 0, sizeof(float) * (T - qt[i] - 1));
	}
}

size_t
ss_attention_scratch_floats(int T)
{
	return 2 * (size_t) T * T + (size_t) T;
}

void
ss_attention_forward(int B, int H, int A, int n_q,
					 const int32_t *qt, const int32_t *qb,
					 const float *h, const float *keys,
					 const float *queries, const float *v,
					 const int64_t *e_off, const int64_t *a_off,
					 float *e, float *alpha, float *ctx, float *scratch)
{
	int64_t		work = 0;

	for (int i0 = 0, i1, T; i0 < n_q; i0 = i1)
	{
		const int	b = qb[i0];

		i1 = query_group(n_q, qt, qb, i0, &T);
		for (int i = i0; i < i1; i++)
		{
			const int	t = qt[i];
			const float *q = queries + (int64_t) i * A;
			float	   *ei = e + e_off[i];
			float	   *al = alpha + a_off[i];
			float		mx = -INFINITY,
						sum = 0.0f;

			/* a tanh counts as 16 operations (measured: 20 ns) */
			if (poll_after(&work, (int64_t) (t + 1) * A * 16))
				return;
			for (int s = 0; s <= t; s++)
			{
				float		score = ss_vec_tanh_sum_dot(keys + ((int64_t) s * B + b) * A, q, v,
														ei + (int64_t) s * A, A);

				al[s] = score;
				if (score > mx)
					mx = score;
			}
			for (int s = 0; s <= t; s++)
			{
				al[s] = expf(al[s] - mx);
				sum += al[s];
			}
			for (int s = 0; s <= t; s++)
				al[s] /= sum;
		}
		/* ctx of the group = alpha (n x T) . h of the sequence (T x H, rows B H apart) */
		alpha_matrix(i0, i1, T, qt, alpha, a_off, scratch);
		ss_sgemm(0, 0, i1 - i0, H, T, 1.0f, scratch, T, h + (int64_t) b * H, B * H,
				 0.0f, ctx + (int64_t) i0 * H, H);
	}
}

void
ss_attention_backward(int B, int H, int A, int n_q,
					  const int32_t *qt, const int32_t *qb,
					  const float *h, const float *v,
					  const int64_t *e_off, const int64_t *a_off,
					  const float *e, const float *alpha,
					  const float *dctx, float *dh, float *dkeys,
					  float *dqueries, float *dv, float *scratch)
{
	int64_t		work = 0;

	for (int i0 = 0, i1, T; i0 < n_q; i0 = i1)
	{
		const int	b = qb[i0];
		float	   *am,
				   *da,
				   *dscore;

		i1 = query_group(n_q, qt, qb, i0, &T);
		am = scratch;
		da = scratch + (int64_t) (i1 - i0) * T;
		dscore = da + (int64_t) (i1 - i0) * T;
		alpha_matrix(i0, i1, T, qt, alpha, a_off, am);
		/* dalpha = dctx h^T (n x T); dh += alpha^T dctx (the direct path) */
		ss_sgemm(0, 1, i1 - i0, T, H, 1.0f, dctx + (int64_t) i0 * H, H,
				 h + (int64_t) b * H, B * H, 0.0f, da, T);
		ss_sgemm(1, 0, T, H, i1 - i0, 1.0f, am, T, dctx + (int64_t) i0 * H, H,
				 1.0f, dh + (int64_t) b * H, B * H);
		for (int i = i0; i < i1; i++)
		{
			const int	t = qt[i];
			const float *al = alpha + a_off[i];
			const float *dai = da + (int64_t) (i - i0) * T;
			float		dot = 0.0f;

			if (poll_after(&work, (int64_t) (t + 1) * A))
				return;
			/* through the softmax: dscore_s = alpha_s (dalpha_s - sum_u alpha_u dalpha_u) */
			for (int s = 0; s <= t; s++)
				dot += al[s] * dai[s];
			for (int s = 0; s <= t; s++)
				dscore[s] = al[s] * (dai[s] - dot);
			/* through tanh: keys, this query, v */
			ss_vec_attn_grad_rows(t + 1, dscore, v, e + e_off[i], A,
								  dkeys + (int64_t) b * A, (size_t) B * A,
								  dqueries + (int64_t) i * A, dv, A);
		}
	}
}

/* ---------------------------------------------------------------- loss */

double
ss_set_loss_row(int C, const float *z, const int32_t *set, int n_set, float scale, float *dz)
{
	double		mx = z[0],
				sum = 0.0,
				zs = 0.0,
				logsum;
	float		inv_sum,
				share = scale / (float) n_set;

	for (int j = 1; j < C; j++)
		if (z[j] > mx)
			mx = z[j];
	/* the members' logits first: dz may be z */
	for (int i = 0; i < n_set; i++)
		zs += z[set[i]] - mx;
	for (int j = 0; j < C; j++)
	{
		float		ej = expf((float) (z[j] - mx));

		dz[j] = ej;
		sum += ej;
	}
	logsum = log(sum);
	inv_sum = (float) (1.0 / sum);
	for (int j = 0; j < C; j++)
		dz[j] = scale * dz[j] * inv_sum;
	for (int i = 0; i < n_set; i++)
		dz[set[i]] -= share;
	return logsum - zs / n_set;
}

void
ss_softmax_rows(int n, int C, float *x)
{
	int64_t		work = 0;

	for (int i = 0; i < n; i++)
	{
		float	   *r = x + (int64_t) i * C;
		float		mx = r[0],
					sum = 0.0f;

		if (poll_after(&work, C))
			return;
		for (int j = 1; j < C; j++)
			if (r[j] > mx)
				mx = r[j];
		for (int j = 0; j < C; j++)
			sum += (r[j] = expf(r[j] - mx));
		for (int j = 0; j < C; j++)
			r[j] /= sum;
	}
}

double
ss_focal_loss(int n, int C, const float *logits, const int32_t *y,
			  const float *alpha, float gamma, float *dlogits, int *hits3)
{
	double		total = 0.0;
	int			hits = 0;
	int64_t		work = 0;

	for (int i = 0; i < n; i++)
	{
		const float *z = logits + (int64_t) i * C;
		float	   *dz = dlogits + (int64_t) i * C;
		int			c = y[i];
		double		mx = z[0],
					sum = 0.0,
					zc,
					logp,
					p,
					u,
					w,
					a,
					dw,
					dldp;

		if (poll_after(&work, C))
			break;
		if (hits3 != NULL && ss_target_rank(z, C, c) <= 3)
			hits++;
		for (int j = 1; j < C; j++)
			if (z[j] > mx)
				mx = z[j];
		/* exp(z_j - max) once, kept in dz (which may be z itself: z[c] read first) */
		zc = z[c];
		for (int j = 0; j < C; j++)
		{
			float		ej = expf((float) (z[j] - mx));

			dz[j] = ej;
			sum += ej;
		}
		logp = (zc - mx) - log(sum);
		p = exp(logp);
		a = alpha != NULL ? alpha[c] : 1.0;
		u = 1.0 - p;
		if (u < 1e-6)
		{
			u = 1e-6;
			dw = 0.0;
		}
		else
			dw = gamma == 0.0f ? 0.0 : -gamma * pow(u, gamma - 1.0);
		w = pow(u, gamma);
		total += -a * w * logp;
		/*
		 * dL/dp = -a (dw/dp logp + w / p), dp/dz_j = p (delta_jc - p_j), so
		 * dL/dz_j = -a (dw/dp logp p + w) (delta_jc - p_j)
		 */
		dldp = -a * (dw * logp * p + w);
		{
			const float scale = (float) (dldp / n),
						inv_sum = (float) (1.0 / sum);

			for (int j = 0; j < C; j++)
				dz[j] = scale * ((j == c) - dz[j] * inv_sum);
		}
	}
	if (hits3 != NULL)
		*hits3 = hits;
	return n > 0 ? total / n : 0.0;
}
