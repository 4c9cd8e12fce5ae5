/*
 * test_layers.c - every layer's backward pass against finite differences,
 * the optimiser, and the whole model's gradient.
 */
#include <string.h>

#include "unit.h"
#include "gradcheck.h"
#include "../../src/core/blas.h"
#include "../../src/core/layers.h"
#include "../../src/core/packed.h"
#include "../../src/core/model.h"
#include "../../src/core/gru4rec.h"
#include "../../src/core/optim.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"

#define TOL 1e-2

static ss_rng rng;

static float *
randn(int64_t n, float scale)
{
	float	   *x = SS_NEW_ARRAY(float, n);

	for (int64_t i = 0; i < n; i++)
		x[i] = scale * ss_rng_normal(&rng);
	return x;
}

static double
dot(const float *a, const float *b, int64_t n)
{
	double		s = 0.0;

	for (int64_t i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

/* ---------------------------------------------------------------- packed kernel */

/*
 * The packed kernel against a plain triple loop in double precision, on
 * shapes that hit every row-block size (1..6, the split of 7..11 rows),
 * partial panels (N not a multiple of 16) and K = 1; both packings, with
 * and without bias, beta 0 and 1, row strides wider than the rows.
 */
static void
test_packed(void)
{
	static const int shapes[][3] = {
		{1, 1, 1}, {2, 16, 3}, {5, 17, 8}, {7, 33, 1}, {10, 40, 28}, {11, 15, 9},
		{13, 64, 32}, {40, 130, 7}, {300, 48, 5},
		/* one row: four panels at a time, then the rest one by one */
		{1, 64, 5}, {1, 65, 17}, {1, 200, 9}, {1, 384, 128},
	};
	double		worst = 0.0;
	int			runs = 0;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		int			M = shapes[s][0],
					N = shapes[s][1],
					K = shapes[s][2],
					lda = K + 3,
					ldc = N + 5;
		float	   *a = randn((int64_t) M * lda, 1),
				   *w = randn((int64_t) N * K, 1),
				   *bias = randn(N, 1),
				   *c0 = randn((int64_t) M * ldc, 1),
				   *c = SS_NEW_ARRAY(float, (int64_t) M * ldc),
				   *packed = SS_NEW_ARRAY(float, ss_packed_floats(K, N));

		for (int trans = 0; trans <= 1; trans++)
			for (int with_bias = 0; with_bias <= 1; with_bias++)
				for (int beta = 0; beta <= 1; beta++)
				{
					/* trans = 1: w is N x K (op = w^T); trans = 0: w is K x N */
					ss_pack(trans, K, N, w, trans ? K : N, with_bias ? bias : NULL, packed);
					memcpy(c, c0, sizeof(float) * M * ldc);
					ss_packed_gemm(M, N, K, a, lda, packed, (float) beta, c, ldc);
					for (int i = 0; i < M; i++)
					{
						for (int j = 0; j < N; j++)
						{
							double		want = (beta ? c0[i * ldc + j] : 0.0) + (with_bias ? bias[j] : 0.0);

							for (int k = 0; k < K; k++)
								want += (double) a[i * lda + k] * (trans ? w[j * K + k] : w[k * N + j]);
							if (fabs(c[i * ldc + j] - want) > worst)
								worst = fabs(c[i * ldc + j] - want);
						}
						/* the padding between rows stays untouched */
						for (int j = N; j < ldc; j++)
							if (c[i * ldc + j] != c0[i * ldc + j])
								worst = 1e9;
					}
					runs++;
				}
		ss_free(a);
		ss_free(w);
		ss_free(bias);
		ss_free(c0);
		ss_free(c);
		ss_free(packed);
	}
	CHECK(worst < 1e-4, "packed kernel = triple loop on %d shape/packing/bias/beta cases (max error %.2g)",
		  runs, worst);
}

/* ---------------------------------------------------------------- dense */

typedef struct
{
	int			n,
				in,
				out;
	float	   *x,
			   *w,
			   *b,
			   *y,
			   *r,
			   *pack;			/* NULL: OpenBLAS; else the packed kernel */
} dense_ctx;

static double
dense_loss(void *p)
{
	dense_ctx  *c = p;

	ss_dense_forward(c->n, c->in, c->out, c->x, c->w, c->b, c->y, c->pack);
	return dot(c->y, c->r, (int64_t) c->n * c->out);
}

/*
 * ss_sgemm_plain (one-row products, and every product while OpenBLAS is not
 * loaded) against OpenBLAS's sgemm, for every transposition, alpha != 1,
 * beta 0 (C holding NaN, which must not be read) and 1, padded strides.
 */
static void
test_sgemm_plain(void)
{
	static const int shapes[][3] = {{2, 3, 4}, {5, 17, 9}, {7, 40, 33}, {3, 1, 64}, {4, 130, 1}};
	double		worst = 0.0;
	int			nan_read = 0;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (int ta = 0; ta <= 1; ta++)
			for (int tb = 0; tb <= 1; tb++)
				for (int beta = 0; beta <= 1; beta++)
				{
					int			M = shapes[s][0],
								N = shapes[s][1],
								K = shapes[s][2],
								lda = (ta ? M : K) + 2,
								ldb = (tb ? K : N) + 3,
								ldc = N + 1;
					float	   *a = randn((int64_t) (ta ? K : M) * lda, 1),
							   *b = randn((int64_t) (tb ? N : K) * ldb, 1),
							   *c0 = randn((int64_t) M * ldc, 1),
							   *c1 = SS_NEW_ARRAY(float, (int64_t) M * ldc),
							   *c2 = SS_NEW_ARRAY(float, (int64_t) M * ldc);

					for (int64_t i = 0; i < (int64_t) M * ldc; i++)
						c1[i] = c2[i] = beta ? c0[i] : NAN;
					ss_sgemm(ta, tb, M, N, K, 0.7f, a, lda, b, ldb, (float) beta, c1, ldc);
					ss_sgemm_plain(ta, tb, M, N, K, 0.7f, a, lda, b, ldb, (float) beta, c2, ldc);
					for (int i = 0; i < M; i++)
						for (int j = 0; j < N; j++)
						{
							double		d = fabs(c1[i * ldc + j] - c2[i * ldc + j]);

							if (isnan(c2[i * ldc + j]))
								nan_read = 1;
							if (d > worst)
								worst = d;
						}
					ss_free(a);
					ss_free(b);
					ss_free(c0);
					ss_free(c1);
					ss_free(c2);
				}
	CHECK(worst < 1e-4 && !nan_read,
		  "plain C products equal OpenBLAS's for every transposition and beta (max diff %.1e)", worst);
}

static void
test_dense(int packed)
{
	dense_ctx	c = {5, 7, 20};
	const char *how = packed ? "packed" : "OpenBLAS";
	float	   *dx,
			   *dw,
			   *db;

	c.x = randn(c.n * c.in, 1);
	c.w = randn(c.out * c.in, 1);
	c.b = randn(c.out, 1);
	c.y = randn(c.n * c.out, 1);
	c.r = randn(c.n * c.out, 1);
	dx = SS_NEW_ARRAY(float, c.n * c.in);
	dw = SS_NEW_ARRAY(float, c.out * c.in);
	db = SS_NEW_ARRAY(float, c.out);
	c.pack = packed ? SS_NEW_ARRAY(float, ss_pack_scratch_floats(c.in, c.out)) : NULL;
	ss_dense_backward(c.n, c.in, c.out, c.x, c.w, c.r, dx, 0, dw, db, c.pack);
	CHECK(gradcheck("dense.x", c.x, dx, c.n * c.in, dense_loss, &c, 1e-2, 50, 1e-3) < TOL, "dense backward (%s): dx", how);
	CHECK(gradcheck("dense.w", c.w, dw, c.out * c.in, dense_loss, &c, 1e-2, 50, 1e-3) < TOL, "dense backward (%s): dW", how);
	CHECK(gradcheck("dense.b", c.b, db, c.out, dense_loss, &c, 1e-2, 50, 1e-3) < TOL, "dense backward (%s): db", how);
}

/* ---------------------------------------------------------------- embedding */

typedef struct
{
	int			rows,
				dim,
				n;
	int32_t    *ids;
	float	   *table,
			   *out,
			   *r;
} emb_ctx;

static double
emb_loss(void *p)
{
	emb_ctx    *c = p;

	ss_embedding_forward(c->table, c->dim, c->ids, c->n, c->out, c->dim);
	return dot(c->out, c->r, (int64_t) c->n * c->dim);
}

static void
test_embedding(void)
{
	emb_ctx		c = {6, 3, 9};
	int32_t		ids[9] = {2, 3, 0, 5, 2, 1, 4, 0, 2};
	float	   *dt;

	c.ids = ids;
	c.table = randn(c.rows * c.dim, 1);
	c.out = SS_NEW_ARRAY(float, c.n * c.dim);
	c.r = randn(c.n * c.dim, 1);
	dt = SS_NEW_ARRAY(float, c.rows * c.dim);
	ss_embedding_backward(dt, c.dim, c.ids, c.n, c.r, c.dim);
	/* row 0 is padding: its true gradient is non-zero, ours must be zero */
	CHECK(dt[0] == 0.0f && dt[1] == 0.0f && dt[2] == 0.0f, "embedding backward: padding row gets no gradient");
	CHECK(gradcheck("embedding", c.table + c.dim, dt + c.dim, (c.rows - 1) * c.dim, emb_loss, &c,
					1e-2, 100, 1e-3) < TOL, "embedding backward: dtable");
}

/* ---------------------------------------------------------------- GRU */

typedef struct
{
	int			T,
				B,
				D,
				H;
	float	   *x,
			   *w_ih,
			   *w_hh,
			   *b_ih,
			   *b_hh,
			   *gates,
			   *ghn,
			   *h,
			   *step,
			   *zeros,
			   *r,
			   *pack;
	const int32_t *rows;
} gru_ctx;

static double
gru_loss(void *p)
{
	gru_ctx    *c = p;

	ss_gru_forward(c->T, c->B, c->D, c->H, c->x, c->w_ih, c->w_hh, c->b_ih, c->b_hh,
				   c->gates, c->ghn, c->h, c->step, c->zeros, c->pack, c->rows);
	return dot(c->h, c->r, (int64_t) c->T * c->B * c->H);
}

/* largest |a - b| relative to the largest |b| */
static double
max_rel_diff(const float *a, const float *b, int64_t n)
{
	double		diff = 0.0,
				scale = 1e-30;

	for (int64_t i = 0; i < n; i++)
	{
		diff = fmax(diff, fabs((double) a[i] - b[i]));
		scale = fmax(scale, fabs((double) b[i]));
	}
	return diff / scale;
}

/*
 * GRU backward against finite differences through OpenBLAS (pack = NULL),
 * through the packed kernel, and with finished sequences skipped (rows);
 * the first two must also agree with each other to float rounding, output
 * and every gradient, and the third give the same states where sequences
 * are still going and zeros elsewhere.
 */
static void
test_gru(void)
{
	gru_ctx		c = {5, 3, 4, 6};
	int64_t		TB = c.T * c.B,
				G = 3 * c.H;
	size_t		pa = ss_pack_scratch_floats(c.D, G),
				pb = ss_pack_scratch_floats(c.H, G);
	float	   *pack = SS_NEW_ARRAY(float, pa > pb ? pa : pb);
	float	   *h_ref = NULL,
			   *g_ref[5] = {NULL};
	double		agree = 0.0,
				ragged = 0.0;
	static const int32_t rows[5] = {3, 3, 2, 2, 1};

	c.x = randn(TB * c.D, 1);
	c.w_ih = randn(G * c.D, 0.5f);
	c.w_hh = randn(G * c.H, 0.5f);
	c.b_ih = randn(G, 0.5f);
	c.b_hh = randn(G, 0.5f);
	c.gates = SS_NEW_ARRAY(float, TB * G);
	c.ghn = SS_NEW_ARRAY(float, TB * c.H);
	c.h = SS_NEW_ARRAY(float, TB * c.H);
	c.step = SS_NEW_ARRAY(float, c.B * G);
	c.zeros = SS_NEW_ARRAY(float, c.H);
	c.r = randn(TB * c.H, 1);
	for (int run = 0; run <= 2; run++)
	{
		const int	packed = run >= 1;
		const char *how = run == 2 ? "packed, finished sequences skipped" : packed ? "packed" : "OpenBLAS";
		float	   *dh = SS_NEW_ARRAY(float, TB * c.H),
				   *dgi = SS_NEW_ARRAY(float, TB * G),
				   *dgh = SS_NEW_ARRAY(float, TB * G),
				   *dx = SS_NEW_ARRAY(float, TB * c.D),
				   *dw_ih = SS_NEW_ARRAY(float, G * c.D),
				   *dw_hh = SS_NEW_ARRAY(float, G * c.H),
				   *db_ih = SS_NEW_ARRAY(float, G),
				   *db_hh = SS_NEW_ARRAY(float, G);
		float	   *grads[5] = {dx, dw_ih, dw_hh, db_ih, db_hh};
		int64_t		sizes[5] = {TB * c.D, G * c.D, G * c.H, G, G};

		c.pack = packed ? pack : NULL;
		c.rows = run == 2 ? rows : NULL;
		gru_loss(&c);
		memcpy(dh, c.r, sizeof(float) * TB * c.H);
		ss_gru_backward(c.T, c.B, c.D, c.H, c.x, c.w_ih, c.w_hh, c.gates, c.ghn, c.h, dh, dgi, dgh,
						dx, dw_ih, dw_hh, db_ih, db_hh, c.zeros, SS_NEW_ARRAY(float, c.H), c.pack, c.rows,
						run == 2 ? SS_NEW_ARRAY(float, ss_steps_scratch_floats(c.T, c.B, G, c.D > c.H ? c.D : c.H)) : NULL);
		if (run == 2)
		{
			for (int t = 0; t < c.T; t++)
				for (int b = 0; b < c.B; b++)
					for (int j = 0; j < c.H; j++)
					{
						int64_t		p = ((int64_t) t * c.B + b) * c.H + j;

						ragged = fmax(ragged, fabs(c.h[p] - (b < rows[t] ? h_ref[p] : 0.0f)));
					}
		}
		else if (!packed)
		{
			h_ref = SS_NEW_ARRAY(float, TB * c.H);
			memcpy(h_ref, c.h, sizeof(float) * TB * c.H);
			for (int i = 0; i < 5; i++)
				g_ref[i] = grads[i];
		}
		else
		{
			agree = max_rel_diff(c.h, h_ref, TB * c.H);
			for (int i = 0; i < 5; i++)
				agree = fmax(agree, max_rel_diff(grads[i], g_ref[i], sizes[i]));
		}
		CHECK(gradcheck("gru.x", c.x, dx, TB * c.D, gru_loss, &c, 1e-2, 60, 1e-3) < TOL, "GRU backward (%s): dx", how);
		CHECK(gradcheck("gru.w_ih", c.w_ih, dw_ih, G * c.D, gru_loss, &c, 1e-2, 60, 1e-3) < TOL, "GRU backward (%s): dW_ih", how);
		CHECK(gradcheck("gru.w_hh", c.w_hh, dw_hh, G * c.H, gru_loss, &c, 1e-2, 60, 1e-3) < TOL, "GRU backward (%s): dW_hh", how);
		CHECK(gradcheck("gru.b_ih", c.b_ih, db_ih, G, gru_loss, &c, 1e-2, 60, 1e-3) < TOL, "GRU backward (%s): db_ih", how);
		CHECK(gradcheck("gru.b_hh", c.b_hh, db_hh, G, gru_loss, &c, 1e-2, 60, 1e-3) < TOL, "GRU backward (%s): db_hh", how);
	}
	CHECK(agree < 1e-5, "GRU packed = OpenBLAS: states and every gradient (max relative difference %.2g)", agree);
	CHECK(ragged < 1e-5, "GRU with finished sequences skipped: same states while going, zeros after (max difference %.2g)", ragged);
}

/* ---------------------------------------------------------------- attention */

typedef struct
{
	int			B,
				T,
				H,
				A,
				n_q;
	int32_t    *qt,
			   *qb;
	int64_t    *e_off,
			   *a_off;
	float	   *h,
			   *keys,
			   *queries,
			   *v,
			   *e,
			   *alpha,
			   *ctx,
			   *r,
			   *scratch;
} attn_ctx;

static double
attn_loss(void *p)
{
	attn_ctx   *c = p;

	ss_attention_forward(c->B, c->H, c->A, c->n_q, c->qt, c->qb, c->h, c->keys, c->queries,
						 c->v, c->e_off, c->a_off, c->e, c->alpha, c->ctx, c->scratch);
	return dot(c->ctx, c->r, (int64_t) c->n_q * c->H);
}

/* A = 6 runs the plain C gradient kernel, A = 40 the AVX2 one (32 columns) and its tail */
static void
test_attention(int A)
{
	attn_ctx	c = {3, 5, 4, A, 7};
	int32_t		qt[7] = {0, 4, 2, 3, 1, 4, 0};
	int32_t		qb[7] = {0, 0, 1, 1, 2, 2, 2};
	int64_t		TB = c.T * c.B,
				n_e;
	float	   *dh,
			   *dkeys,
			   *dq,
			   *dv;

	c.qt = qt;
	c.qb = qb;
	c.e_off = SS_NEW_ARRAY(int64_t, c.n_q + 1);
	c.a_off = SS_NEW_ARRAY(int64_t, c.n_q + 1);
	n_e = ss_attention_offsets(c.n_q, qt, c.A, c.e_off, c.a_off);
	c.h = randn(TB * c.H, 1);
	c.keys = randn(TB * c.A, 1);
	c.queries = randn(c.n_q * c.A, 1);
	c.v = randn(c.A, 1);
	c.e = SS_NEW_ARRAY(float, n_e);
	c.alpha = SS_NEW_ARRAY(float, c.a_off[c.n_q]);
	c.ctx = SS_NEW_ARRAY(float, c.n_q * c.H);
	c.r = randn(c.n_q * c.H, 1);
	c.scratch = SS_NEW_ARRAY(float, ss_attention_scratch_floats(c.T));
	dh = SS_NEW_ARRAY(float, TB * c.H);
	dkeys = SS_NEW_ARRAY(float, TB * c.A);
	dq = SS_NEW_ARRAY(float, c.n_q * c.A);
	dv = SS_NEW_ARRAY(float, c.A);
	attn_loss(&c);
	ss_attention_backward(c.B, c.H, c.A, c.n_q, qt, qb, c.h, c.v, c.e_off, c.a_off, c.e, c.alpha,
						  c.r, dh, dkeys, dq, dv, c.scratch);
	CHECK(gradcheck("attn.h", c.h, dh, TB * c.H, attn_loss, &c, 1e-2, 60, 1e-3) < TOL, "attention backward (A = %d): dh (values)", A);
	CHECK(gradcheck("attn.keys", c.keys, dkeys, TB * c.A, attn_loss, &c, 1e-2, 60, 1e-3) < TOL, "attention backward (A = %d): dkeys", A);
	CHECK(gradcheck("attn.queries", c.queries, dq, c.n_q * c.A, attn_loss, &c, 1e-2, 60, 1e-3) < TOL, "attention backward (A = %d): dqueries", A);
	CHECK(gradcheck("attn.v", c.v, dv, c.A, attn_loss, &c, 1e-2, 60, 1e-3) < TOL, "attention backward (A = %d): dv", A);
	/* causality: a query at t = 0 attends only to itself */
	CHECK(c.alpha[c.a_off[0]] == 1.0f, "attention: position 0 attends only to itself");
}

/* ---------------------------------------------------------------- focal loss */

typedef struct
{
	int			n,
				C;
	float	   *logits,
			   *alpha,
			   *scratch;
	int32_t    *y;
	float		gamma;
} focal_ctx;

static double
focal_loss_of(void *p)
{
	focal_ctx  *c = p;

	return ss_focal_loss(c->n, c->C, c->logits, c->y, c->alpha, c->gamma, c->scratch, NULL);
}

static void
test_focal(void)
{
	float		gammas[3] = {0.0f, 0.5f, 2.0f};

	for (int g = 0; g < 3; g++)
	{
		focal_ctx	c = {6, 5};
		int32_t		y[6] = {0, 4, 2, 2, 1, 3};
		float	   *d;

		c.y = y;
		c.gamma = gammas[g];
		c.logits = randn(c.n * c.C, 2);
		c.alpha = randn(c.C, 0);
		for (int j = 0; j < c.C; j++)
			c.alpha[j] = 0.5f + 0.25f * j;
		c.scratch = SS_NEW_ARRAY(float, c.n * c.C);
		d = SS_NEW_ARRAY(float, c.n * c.C);
		ss_focal_loss(c.n, c.C, c.logits, c.y, c.alpha, c.gamma, d, NULL);
		CHECK(gradcheck("focal", c.logits, d, c.n * c.C, focal_loss_of, &c, 1e-2, 100, 1e-3) < TOL,
			  "focal loss backward, gamma %.1f", c.gamma);
	}
	{
		/* gamma 0 and alpha 1 is cross-entropy */
		float		z[3] = {1.0f, 2.0f, 0.5f},
					d[3];
		int32_t		y = 1;
		double		ce = -(2.0 - log(exp(1.0) + exp(2.0) + exp(0.5)));
		double		l = ss_focal_loss(1, 3, z, &y, NULL, 0.0f, d, NULL);

		CHECK(fabs(l - ce) < 1e-6, "focal loss with gamma 0 is cross-entropy (%.6f vs %.6f)", l, ce);
	}
}

/* ---------------------------------------------------------------- optimiser */

static void
test_adam(void)
{
	float		p[2] = {1.0f, -2.0f},
				g[2] = {0.5f, -0.25f};
	ss_adam    *opt = ss_adam_new(2, 0.1f);
	double		m0,
				v0,
				expect;

	ss_adam_step(opt, p, g);
	/* first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) */
	CHECK(fabs(p[0] - (1.0 - 0.1)) < 1e-6 && fabs(p[1] - (-2.0 + 0.1)) < 1e-6,
		  "Adam: first step moves each parameter by lr");
	ss_adam_step(opt, p, g);
	m0 = 0.9 * 0.05 + 0.1 * 0.5;
	v0 = 0.999 * 0.001 * 0.25 + 0.001 * 0.25;
	expect = 0.9 - 0.1 * (m0 / (1 - 0.81)) / (sqrt(v0 / (1 - 0.999 * 0.999)) + 1e-8);
	CHECK(fabs(p[0] - expect) < 1e-6, "Adam: second step matches the bias-corrected update (%.7f vs %.7f)",
		  p[0], expect);
	ss_adam_free(opt);
	{
		float		gr[2] = {3.0f, 4.0f};
		double		n = ss_clip_grad_norm(gr, 2, 1.0);

		CHECK(fabs(n - 5.0) < 1e-6 && fabs(sqrt(gr[0] * gr[0] + gr[1] * gr[1]) - 1.0) < 1e-5,
			  "gradient clipping scales the norm down to max_norm");
		n = ss_clip_grad_norm(gr, 2, 10.0);
		CHECK(fabs(sqrt(gr[0] * gr[0] + gr[1] * gr[1]) - 1.0) < 1e-5,
			  "gradient clipping leaves a small gradient alone");
	}
}

/* ---------------------------------------------------------------- model */

typedef struct
{
	ss_dims		d;
	float	   *params;
	ss_batch   *batch;
	ss_workspace *ws;
	float	   *alpha;
	int32_t    *y;
} model_ctx;

static double
model_loss(void *p)
{
	model_ctx  *c = p;
	float	   *logits;
	const int32_t *qt,
			   *qb;
	int			n_q = ss_model_forward(&c->d, c->params, c->batch, SS_QUERY_TARGETS, 0.0f, NULL,
									   c->ws, &logits, &qt, &qb);

	for (int i = 0; i < n_q; i++)
		c->y[i] = c->batch->target[qt[i] * c->batch->B + qb[i]];
	return ss_focal_loss(n_q, c->d.n_classes, logits, c->y, c->alpha, 2.0f, logits, NULL);
}

static void
test_model(int layers)
{
	model_ctx	c;
	int			B = 3,
				T = 6,
				lengths[3] = {6, 4, 2};
	int64_t		n;
	float	   *grads;
	ss_gru4rec_params	pp,
				gp;
	struct
	{
		const char *name;
		float	   *p,
				   *g;
		int64_t		n;
	}			parts[16];
	int			n_parts = 0;

	memset(&c, 0, sizeof(c));
	c.d.n_classes = 5;
	c.d.n_features = 2;
	c.d.feature_vocab[0] = 3;
	c.d.feature_vocab[1] = 4;
	c.d.n_numeric = 2;
	c.d.hidden = 6;
	c.d.layers = layers;
	c.d.attn = 5;
	ss_dims_finish(&c.d, 1.0);
	n = ss_param_count(&c.d);
	c.params = SS_NEW_ARRAY(float, n);
	ss_params_init(&c.d, c.params, &rng);
	grads = SS_NEW_ARRAY(float, n);
	c.batch = ss_batch_new(&c.d, B, T);
	c.batch->B = B;
	c.batch->T = T;
	c.ws = ss_workspace_new();
	c.alpha = SS_NEW_ARRAY(float, 5);
	c.y = SS_NEW_ARRAY(int32_t, B * T);
	for (int j = 0; j < 5; j++)
		c.alpha[j] = 0.6f + 0.2f * j;
	for (int b = 0; b < B; b++)
	{
		c.batch->lengths[b] = lengths[b];
		for (int t = 0; t < T; t++)
		{
			int			p = t * B + b,
						valid = t < lengths[b];

			c.batch->cat[p] = valid ? 1 + (int) ss_rng_below(&rng, 6) : 0;
			c.batch->feat[p * 2] = valid ? 1 + (int) ss_rng_below(&rng, 4) : 0;
			c.batch->feat[p * 2 + 1] = valid ? 1 + (int) ss_rng_below(&rng, 5) : 0;
			c.batch->num[p * 2] = valid ? ss_rng_normal(&rng) : 0;
			c.batch->num[p * 2 + 1] = valid ? ss_rng_normal(&rng) : 0;
			c.batch->target[p] = valid && (t + b) % 4 != 1 ? (int) ss_rng_below(&rng, 5) : -1;
		}
	}
	{
		float	   *logits;
		const int32_t *qt,
				   *qb;
		int			n_q = ss_model_forward(&c.d, c.params, c.batch, SS_QUERY_TARGETS, 0.0f, NULL,
										   c.ws, &logits, &qt, &qb);

		for (int i = 0; i < n_q; i++)
			c.y[i] = c.batch->target[qt[i] * B + qb[i]];
		ss_focal_loss(n_q, 5, logits, c.y, c.alpha, 2.0f, logits, NULL);
		ss_model_backward(&c.d, c.params, c.batch, logits, c.ws, grads);
	}
	ss_gru4rec_bind(&c.d, c.params, &pp);
	ss_gru4rec_bind(&c.d, grads, &gp);
#define PART(nm, f, cnt) do { parts[n_parts].name = nm; parts[n_parts].p = pp.f; parts[n_parts].g = gp.f; parts[n_parts].n = cnt; n_parts++; } while (0)
	PART("cat_emb", enc.cat_emb, (int64_t) 7 * c.d.emb_dim[0]);
	PART("feat_emb0", enc.feat_emb[0], (int64_t) 5 * c.d.emb_dim[1]);
	PART("feat_emb1", enc.feat_emb[1], (int64_t) 6 * c.d.emb_dim[2]);
	PART("w_ih0", w_ih[0], (int64_t) 18 * c.d.input_dim);
	PART("w_hh0", w_hh[0], 18 * 6);
	PART("b_ih0", b_ih[0], 18);
	PART("b_hh0", b_hh[0], 18);
	if (layers > 1)
	{
		PART("w_ih1", w_ih[1], 18 * 6);
		PART("w_hh1", w_hh[1], 18 * 6);
		PART("b_hh1", b_hh[1], 18);
	}
	PART("w_k", w_k, 30);
	PART("b_k", b_k, 5);
	PART("w_q", w_q, 30);
	PART("v", v, 5);
	PART("w_o", w_o, 5 * 12);
	PART("b_o", b_o, 5);
#undef PART
	for (int i = 0; i < n_parts; i++)
		CHECK(gradcheck(parts[i].name, parts[i].p, parts[i].g, parts[i].n, model_loss, &c,
						1e-2, 40, 1e-3) < 2 * TOL,
			  "model (%d layer%s) gradient of %s against finite differences", layers,
			  layers > 1 ? "s" : "", parts[i].name);
}

void		run_layer_tests(void);

void
run_layer_tests(void)
{
	ss_rng_seed(&rng, 42);
	test_packed();
	test_sgemm_plain();
	test_dense(0);
	test_dense(1);
	test_embedding();
	test_gru();
	test_attention(6);
	test_attention(40);
	test_focal();
	test_adam();
	test_model(1);
	test_model(2);
}
