/*
 * test_blob_fixture.c - the weight blob round trip and its rejection of
 * damaged input, and the cross-check against PyTorch: a fixed-weight
 * GRU + attention + focal loss case whose logits, loss and gradients were
 * computed by the reference's own modules (tests/torch/gen_fixture.py,
 * output committed under tests/fixtures/).
 */
#include <string.h>

#include "unit.h"
#include "../../src/core/blob.h"
#include "../../src/core/layers.h"
#include "../../src/core/model.h"
#include "../../src/core/gru4rec.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"

/* ---------------------------------------------------------------- blob */

static void
test_blob(void)
{
	ss_dims		d,
				back;
	ss_rng		rng;
	float	   *params,
			   *decoded;
	uint8_t    *blob;
	size_t		len;
	const char *err;
	int			truncated_ok = 1,
				flipped_ok = 1;

	memset(&d, 0, sizeof(d));
	d.n_classes = 7;
	d.n_features = 2;
	d.feature_vocab[0] = 3;
	d.feature_vocab[1] = 11;
	d.n_numeric = 3;
	d.hidden = 8;
	d.layers = 2;
	d.attn = 6;
	ss_dims_finish(&d, 1.0);
	params = SS_NEW_ARRAY(float, ss_param_count(&d));
	ss_rng_seed(&rng, 5);
	ss_params_init(&d, params, &rng);
	len = ss_blob_size(&d);
	blob = ss_alloc(len);
	ss_blob_encode(&d, params, blob);
	err = ss_blob_decode(blob, len, &back, &decoded);
	CHECK(err == NULL && memcmp(&back, &d, sizeof(d)) == 0 &&
		  memcmp(decoded, params, sizeof(float) * ss_param_count(&d)) == 0,
		  "blob round trip keeps dimensions and weights bit for bit");
	ss_free(decoded);
	{
		/* in place: parameters read inside the blob when aligned, else copied */
		const float *view;
		uint8_t    *shifted = ss_alloc(len + 1);
		int			ok;

		err = ss_blob_decode_in_place(blob, len, &back, &view);
		ok = err == NULL && (const uint8_t *) view > blob && (const uint8_t *) view < blob + len &&
			memcmp(view, params, sizeof(float) * ss_param_count(&d)) == 0;
		memcpy(shifted + 1, blob, len);
		err = ss_blob_decode_in_place(shifted + 1, len, &back, &view);
		ok = ok && err == NULL && ((const uint8_t *) view < shifted || (const uint8_t *) view > shifted + len) &&
			memcmp(view, params, sizeof(float) * ss_param_count(&d)) == 0;
		if (err == NULL)
			ss_free((void *) view);
		ss_free(shifted);
		CHECK(ok, "blob decoded in place reads the weights inside the blob (aligned) or copies them (not)");
	}

	for (size_t cut = 0; cut < len; cut += (cut < 200 ? 1 : 97))
	{
		err = ss_blob_decode(blob, cut, &back, &decoded);
		if (err == NULL || decoded != NULL)
			truncated_ok = 0;
	}
	CHECK(truncated_ok, "blob decoder rejects every truncation");
	for (size_t i = 0; i < len; i += (i < 120 ? 1 : 53))
	{
		for (int bit = 0; bit < 8; bit += 3)
		{
			blob[i] ^= (uint8_t) (1u << bit);
			err = ss_blob_decode(blob, len, &back, &decoded);
			if (err == NULL)
				flipped_ok = 0;
			ss_free(decoded);
			blob[i] ^= (uint8_t) (1u << bit);
		}
	}
	CHECK(flipped_ok, "blob decoder rejects single flipped bits");
	{
		/* garbage of every small length must not crash */
		uint8_t		junk[512];
		int			ok = 1;

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t) (ss_rng_next(&rng) & 0xff);
		memcpy(junk, "SSQM\001\0\0\0\001\0\0\0", 12);
		for (size_t n = 0; n <= sizeof(junk); n++)
			if (ss_blob_decode(junk, n, &back, &decoded) == NULL)
				ok = 0;
		CHECK(ok, "blob decoder rejects random bytes behind a valid magic");
	}
	{
		/* a well-formed blob (valid checksum) carrying a NaN or an infinity, anywhere */
		int64_t		n = ss_param_count(&d);
		int			ok = 1;
		const float bad[2] = {NAN, -INFINITY};

		for (int b = 0; b < 2; b++)
			for (int64_t at = 0; at < n; at += n / 7 + 1)
			{
				float		saved = params[at];

				params[at] = bad[b];
				ss_blob_encode(&d, params, blob);
				err = ss_blob_decode(blob, len, &back, &decoded);
				if (err == NULL || decoded != NULL)
					ok = 0;
				{
					const float *in_place = params;

					err = ss_blob_decode_in_place(blob, len, &back, &in_place);
					if (err == NULL || in_place != NULL)
						ok = 0;
				}
				params[at] = saved;
			}
		CHECK(ok, "blob decoder rejects non-finite weights behind a valid checksum (copied and in place)");
	}
	ss_free(blob);
	ss_free(params);
}

/* ---------------------------------------------------------------- fixture */

#define MAX_ARRAYS 64

typedef struct
{
	char		name[64];
	int64_t		n;
	double	   *v;
} fx_array;

typedef struct
{
	int			n;
	fx_array	a[MAX_ARRAYS];
} fixture;

static int
load_fixture(const char *path, fixture *fx)
{
	FILE	   *f = fopen(path, "r");
	char		line[256];

	fx->n = 0;
	if (f == NULL)
		return 0;
	while (fx->n < MAX_ARRAYS)
	{
		int			ch = fgetc(f);
		fx_array   *a;

		if (ch == EOF)
			break;
		if (ch == '#' || ch == '\n')
		{
			if (ch == '#' && fgets(line, sizeof(line), f) == NULL)
				break;
			/* long comment lines: skip to the end of the line */
			while (ch == '#' && strchr(line, '\n') == NULL && fgets(line, sizeof(line), f) != NULL)
				;
			continue;
		}
		ungetc(ch, f);
		a = &fx->a[fx->n];
		if (fscanf(f, "%63s %ld", a->name, &a->n) != 2 || a->n < 0 || a->n > 10000000)
			break;
		a->v = SS_NEW_ARRAY(double, a->n > 0 ? a->n : 1);
		for (int64_t i = 0; i < a->n; i++)
			if (fscanf(f, "%lf", &a->v[i]) != 1)
			{
				fclose(f);
				return 0;
			}
		fx->n++;
	}
	fclose(f);
	return fx->n > 0;
}

static const fx_array *
get(const fixture *fx, const char *name)
{
	for (int i = 0; i < fx->n; i++)
		if (strcmp(fx->a[i].name, name) == 0)
			return &fx->a[i];
	fprintf(stderr, "fixture has no array %s\n", name);
	return NULL;
}

static double
scalar(const fixture *fx, const char *name)
{
	const fx_array *a = get(fx, name);

	return a != NULL && a->n > 0 ? a->v[0] : -1;
}

/* max |a - b| over max |b|: error relative to the array's scale */
static double
rel_error(const float *a, const double *b, int64_t n)
{
	double		diff = 0.0,
				scale = 1e-12;

	for (int64_t i = 0; i < n; i++)
	{
		diff = fmax(diff, fabs(a[i] - b[i]));
		scale = fmax(scale, fabs(b[i]));
	}
	return diff / scale;
}

static void
test_fixture(const char *path)
{
	fixture		fx;
	ss_dims		d;
	int			B,
				T,
				F,
				N,
				C,
				n_q;
	float	   *params,
			   *grads,
			   *alpha,
			   *logits;
	const int32_t *qt,
			   *qb;
	int32_t    *y;
	ss_gru4rec_params	pp,
				gp;
	ss_batch   *batch;
	ss_workspace *ws;
	double		loss,
				worst;
	const fx_array *lengths,
			   *cats,
			   *feats,
			   *nums,
			   *targets,
			   *ref;
	char		name[64];
	float	   *tmp;

	if (!load_fixture(path, &fx))
	{
		CHECK(0, "PyTorch fixture %s can be read", path);
		return;
	}
	memset(&d, 0, sizeof(d));
	C = d.n_classes = (int) scalar(&fx, "C");
	F = d.n_features = (int) scalar(&fx, "F");
	N = d.n_numeric = (int) scalar(&fx, "N");
	d.hidden = (int) scalar(&fx, "H");
	d.attn = (int) scalar(&fx, "A");
	d.layers = (int) scalar(&fx, "L");
	if (F > 0)
		d.feature_vocab[0] = (int) scalar(&fx, "V1") - SS_N_RESERVED;
	if (ss_dims_finish(&d, 1.0) != NULL || d.emb_dim[0] != (int) scalar(&fx, "E0") ||
		(F > 0 && d.emb_dim[1] != (int) scalar(&fx, "E1")))
	{
		CHECK(0, "fixture %s: dimensions agree with the embedding-size rule", path);
		return;
	}
	B = (int) scalar(&fx, "B");
	T = (int) scalar(&fx, "T");
	params = SS_NEW_ARRAY(float, ss_param_count(&d));
	grads = SS_NEW_ARRAY(float, ss_param_count(&d));
	ss_gru4rec_bind(&d, params, &pp);
	ss_gru4rec_bind(&d, grads, &gp);

	/* parameters, with their fixture names and sizes */
	{
		struct
		{
			const char *name;
			float	   *p;
			float	   *g;
		}			map[32];
		int			n_map = 0;

#define MAP(nm, f) do { map[n_map].name = nm; map[n_map].p = pp.f; map[n_map].g = gp.f; n_map++; } while (0)
		MAP("cat_emb", enc.cat_emb);
		if (F > 0)
			MAP("feat_emb0", enc.feat_emb[0]);
		MAP("w_ih", w_ih[0]);
		MAP("w_hh", w_hh[0]);
		MAP("b_ih", b_ih[0]);
		MAP("b_hh", b_hh[0]);
		if (d.layers > 1)
		{
			MAP("w_ih_l1", w_ih[1]);
			MAP("w_hh_l1", w_hh[1]);
			MAP("b_ih_l1", b_ih[1]);
			MAP("b_hh_l1", b_hh[1]);
		}
		MAP("w_k", w_k);
		MAP("b_k", b_k);
		MAP("w_q", w_q);
		MAP("v", v);
		MAP("w_o", w_o);
		MAP("b_o", b_o);
#undef MAP
		for (int i = 0; i < n_map; i++)
		{
			const fx_array *a = get(&fx, map[i].name);

			if (a == NULL)
			{
				CHECK(0, "fixture has parameter %s", map[i].name);
				return;
			}
			for (int64_t k = 0; k < a->n; k++)
				map[i].p[k] = (float) a->v[k];
		}

		/* inputs: the fixture is batch-major (B, T), the engine time-major */
		lengths = get(&fx, "lengths");
		cats = get(&fx, "cats");
		feats = get(&fx, "feats");
		nums = get(&fx, "nums");
		targets = get(&fx, "targets");
		batch = ss_batch_new(&d, B, T);
		batch->B = B;
		batch->T = T;
		for (int b = 0; b < B; b++)
		{
			batch->lengths[b] = (int32_t) lengths->v[b];
			for (int t = 0; t < T; t++)
			{
				int			p = t * B + b,
							q = b * T + t;

				batch->cat[p] = (int32_t) cats->v[q];
				for (int j = 0; j < F; j++)
					batch->feat[p * F + j] = (int32_t) feats->v[q * F + j];
				for (int j = 0; j < N; j++)
					batch->num[p * N + j] = (float) nums->v[q * N + j];
				batch->target[p] = t < batch->lengths[b] ? (int32_t) targets->v[q] : -1;
			}
		}
		alpha = SS_NEW_ARRAY(float, C);
		for (int c = 0; c < C; c++)
			alpha[c] = (float) get(&fx, "alpha")->v[c];

		/* forward over every target position */
		ws = ss_workspace_new();
		n_q = ss_model_forward(&d, params, batch, SS_QUERY_TARGETS, 0.0f, NULL, ws, &logits, &qt, &qb);
		ref = get(&fx, "logits_all");
		tmp = SS_NEW_ARRAY(float, (int64_t) B * T * C);
		{
			double	   *want = SS_NEW_ARRAY(double, (int64_t) n_q * C);

			y = SS_NEW_ARRAY(int32_t, n_q + 1);
			for (int i = 0; i < n_q; i++)
			{
				y[i] = batch->target[qt[i] * B + qb[i]];
				for (int c = 0; c < C; c++)
					want[(int64_t) i * C + c] = ref->v[((int64_t) qb[i] * T + qt[i]) * C + c];
			}
			worst = rel_error(logits, want, (int64_t) n_q * C);
			CHECK(worst < 1e-4, "%s: logits at every target position match PyTorch (rel. error %.2e)",
				  path, worst);
			ss_free(want);
		}
		loss = ss_focal_loss(n_q, C, logits, y, alpha, (float) scalar(&fx, "gamma"), logits, NULL);
		CHECK(fabs(loss - scalar(&fx, "loss")) <= 1e-4 * fabs(scalar(&fx, "loss")),
			  "%s: focal loss matches PyTorch (%.7f vs %.7f)", path, loss, scalar(&fx, "loss"));
		ss_model_backward(&d, params, batch, logits, ws, grads);
		for (int i = 0; i < n_map; i++)
		{
			const fx_array *a;

			snprintf(name, sizeof(name), "grad_%s", map[i].name);
			a = get(&fx, name);
			worst = a != NULL ? rel_error(map[i].g, a->v, a->n) : 1.0;
			CHECK(worst < 1e-4, "%s: gradient of %s matches PyTorch (rel. error %.2e)", path,
				  map[i].name, worst);
		}

		/* inference: the event after each sequence's last input */
		n_q = ss_model_forward(&d, params, batch, SS_QUERY_LAST, 0.0f, NULL, ws, &logits, &qt, &qb);
		ref = get(&fx, "logits_last");
		worst = rel_error(logits, ref->v, (int64_t) B * C);
		CHECK(n_q == B && worst < 1e-4, "%s: last-position logits match PyTorch (rel. error %.2e)",
			  path, worst);
		ss_free(tmp);
		ss_workspace_free(ws);
		ss_batch_free(batch);
	}
}

void		run_blob_fixture_tests(const char *fixture_dir);

void
run_blob_fixture_tests(const char *fixture_dir)
{
	char		path[1024];

	test_blob();
	snprintf(path, sizeof(path), "%s/gru_attn_focal.txt", fixture_dir);
	test_fixture(path);
	snprintf(path, sizeof(path), "%s/gru2_attn_focal.txt", fixture_dir);
	test_fixture(path);
}
