/*
 * fuzz_blob.c - libFuzzer target of the weight-blob decoders (blob.h).
 *
 * Any byte string must give an error message or a model whose dimensions
 * and parameters are consistent: both decoders agree, the dimensions are
 * within the decoder's documented ranges, the parameter count and the
 * length are those of the dimensions, the parameters are finite, the blob
 * encodes back to the same bytes, and a forward pass over a tiny batch
 * (ss_predict_batch, plain-C products: no OpenBLAS here) reads only what
 * the dimensions say, giving finite probabilities summing to 1 when the
 * weights are moderate.
 *
 * The first input byte selects how the rest is used:
 *   bit 0  the last 4 bytes are replaced by the right CRC, so that
 *          mutations get past the checksum to the structural checks
 *   bit 1  the blob is decoded in place at an odd address (the copying
 *          path) instead of an aligned one
 *   bit 2  the rest is only a header: a well-formed blob is built from
 *          its dimensions (parameters from the input, repeated), so that
 *          the forward pass runs on many shapes
 *   bits 3-7  the tiny batch's shape and ids
 */
#include <math.h>

#include "fuzz_util.h"
#include "../../src/core/blob.h"
#include "../../src/core/model.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/train.h"

/* harness limits: decoded models larger than this are valid but not run */
#define MAX_RUN_PARAMS (1 << 18)
#define MAX_RUN_CLASSES 4096
/* |weight| under which the forward pass must give finite probabilities */
#define MODERATE 1e3f

/* loops over every parameter: no coverage callbacks on their counters */
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bit 2: a well-formed blob from the header in data (NULL when it does not describe one) */
NO_COVERAGE static uint8_t *
build_blob(const uint8_t *data, size_t size, size_t *len)
{
	ss_dims		d;
	int64_t		n;
	float	   *params;
	uint8_t    *blob;
	size_t		at = 0;

	memset(&d, 0, sizeof(d));
	if (size < 8)
		return NULL;
	d.n_classes = 1 + data[at++] % 64;
	d.n_features = data[at++] % 4;
	d.n_numeric = data[at++] % 5;
	d.hidden = 1 + data[at++] % 24;
	d.layers = 1 + data[at++] % SS_MAX_LAYERS;
	d.attn = 1 + data[at++] % 24;
	for (int j = 0; j <= d.n_features; j++)
		d.emb_dim[j] = at < size ? 1 + data[at++] % 12 : 1;
	for (int j = 0; j < d.n_features; j++)
		d.feature_vocab[j] = at < size ? data[at++] % 40 : 0;
	d.input_dim = d.n_numeric;
	for (int j = 0; j <= d.n_features; j++)
		d.input_dim += d.emb_dim[j];
	n = ss_param_count(&d);
	params = malloc(sizeof(float) * (size_t) (n > 0 ? n : 1));
	for (int64_t i = 0; i < n; i++)
	{
		/* small values from the rest of the input, repeated */
		uint8_t		b = at < size ? data[at + (size_t) i % (size - at)] : (uint8_t) i;

		params[i] = ((int) b - 128) / 64.0f;
	}
	*len = ss_blob_size(&d);
	blob = malloc(*len);
	ss_blob_encode(&d, params, blob);
	free(params);
	return blob;
}

/* the forward pass over a tiny batch whose ids are valid for d */
NO_COVERAGE static void
run_forward(const ss_dims *d, const float *params, uint8_t shape, uint32_t salt)
{
	const int	B = 1 + (shape & 1),
				T = 1 + ((shape >> 1) & 3);
	ss_batch   *batch = ss_batch_new(d, B, T);
	ss_workspace *ws = ss_workspace_new();
	float	   *probs = malloc(sizeof(float) * (size_t) B * d->n_classes);
	int64_t		n = ss_param_count(d);
	int			moderate = 1;
	uint32_t	h = salt * 2654435761u + 1;

	batch->B = B;
	batch->T = T;
	for (int b = 0; b < B; b++)
		batch->lengths[b] = b == 0 ? T : 1 + (int) ((shape >> 3) % T);	/* longest first */
	for (int t = 0; t < T; t++)
		for (int b = 0; b < B; b++)
		{
			int64_t		p = (int64_t) t * B + b;
			int			live = t < batch->lengths[b];

			h = h * 1103515245u + 12345u;
			batch->cat[p] = live ? (int32_t) (h % (uint32_t) (d->n_classes + SS_N_RESERVED)) : 0;
			for (int j = 0; j < d->n_features; j++)
			{
				h = h * 1103515245u + 12345u;
				batch->feat[p * d->n_features + j] =
					live ? (int32_t) (h % (uint32_t) (d->feature_vocab[j] + SS_N_RESERVED)) : 0;
			}
			for (int j = 0; j < d->n_numeric; j++)
				batch->num[p * d->n_numeric + j] = live ? (float) ((int) (h >> (j % 24) & 255) - 128) / 16.0f : 0.0f;
			batch->target[p] = -1;
		}
	ss_predict_batch(d, params, batch, ws, probs);
	for (int64_t i = 0; i < n; i++)
		if (!(fabsf(params[i]) <= MODERATE))
			moderate = 0;
	if (moderate)
		for (int b = 0; b < B; b++)
		{
			double		sum = 0.0;

			for (int c = 0; c < d->n_classes; c++)
			{
				float		pc = probs[(int64_t) b * d->n_classes + c];

				FUZZ_CHECK(isfinite(pc) && pc >= 0.0f && pc <= 1.0f, "probability %g", pc);
				sum += pc;
			}
			FUZZ_CHECK(fabs(sum - 1.0) < 1e-3, "probabilities sum to %g", sum);
		}
	free(probs);
	ss_workspace_free(ws);
	ss_batch_free(batch);
}

NO_COVERAGE static void
check_model(const uint8_t *blob, size_t len, const ss_dims *d, const float *params)
{
	int64_t		n = ss_param_count(d);
	int			D = d->n_numeric;
	uint8_t    *again;

	FUZZ_CHECK(d->n_classes >= 1 && d->n_classes <= 1000000, "n_classes %d", d->n_classes);
	FUZZ_CHECK(d->n_features >= 0 && d->n_features <= SS_MAX_FEATURES, "n_features %d", d->n_features);
	FUZZ_CHECK(d->n_numeric >= 0 && d->n_numeric <= SS_MAX_NUMERIC, "n_numeric %d", d->n_numeric);
	FUZZ_CHECK(d->hidden >= 1 && d->hidden <= 4096, "hidden %d", d->hidden);
	FUZZ_CHECK(d->layers >= 1 && d->layers <= SS_MAX_LAYERS, "layers %d", d->layers);
	FUZZ_CHECK(d->attn >= 1 && d->attn <= 4096, "attn %d", d->attn);
	for (int j = 0; j <= d->n_features; j++)
	{
		FUZZ_CHECK(d->emb_dim[j] >= 1 && d->emb_dim[j] <= 800, "emb_dim[%d] %d", j, d->emb_dim[j]);
		D += d->emb_dim[j];
	}
	for (int j = 0; j < d->n_features; j++)
		FUZZ_CHECK(d->feature_vocab[j] >= 0 && d->feature_vocab[j] <= 10000000, "vocab %d", d->feature_vocab[j]);
	FUZZ_CHECK(d->input_dim == D, "input_dim %d, not %d", d->input_dim, D);
	FUZZ_CHECK(n >= 0 && ss_blob_size(d) == len, "blob of %zu bytes for %lld parameters",
			   len, (long long) n);
	for (int64_t i = 0; i < n; i++)
		FUZZ_CHECK(isfinite(params[i]), "parameter %lld is %g", (long long) i, params[i]);
	again = malloc(len);
	ss_blob_encode(d, params, again);
	FUZZ_CHECK(memcmp(again, blob, len) == 0, "the decoded model does not encode back to its blob");
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		flags;
	uint8_t    *blob,
			   *shifted;
	size_t		len;
	ss_dims		d1,
				d2;
	float	   *p1 = NULL;
	const float *p2 = NULL;
	const char *e1,
			   *e2;
	int			odd;

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	odd = (flags >> 1) & 1;
	if (flags & 4)
	{
		blob = build_blob(data, size, &len);
		if (blob == NULL)
			return 0;
	}
	else
	{
		len = size;
		blob = malloc(len > 0 ? len : 1);
		memcpy(blob, data, len);
		if ((flags & 1) && len >= 4)
		{
			uint32_t	crc = ss_crc32(blob, len - 4);

			memcpy(blob + len - 4, &crc, 4);
		}
	}
	/* exactly len bytes at an aligned or an odd address: ASan sees any read past them */
	shifted = malloc(len + 1);
	memcpy(shifted + odd, blob, len);

	e1 = ss_blob_decode(blob, len, &d1, &p1);
	e2 = ss_blob_decode_in_place(shifted + odd, len, &d2, &p2);
	FUZZ_CHECK((e1 == NULL) == (e2 == NULL), "decoders disagree: %s / %s",
			   e1 ? e1 : "ok", e2 ? e2 : "ok");
	if (e1 != NULL)
	{
		FUZZ_CHECK(strcmp(e1, e2) == 0 && p1 == NULL && p2 == NULL, "%s / %s", e1, e2);
		FUZZ_CHECK(e1[0] != '\0', "empty error message");
	}
	else
	{
		int64_t		n = ss_param_count(&d1);

		FUZZ_CHECK(memcmp(&d1, &d2, sizeof(d1)) == 0, "decoders give different dimensions");
		FUZZ_CHECK(memcmp(p1, p2, sizeof(float) * (size_t) n) == 0, "decoders give different parameters");
		check_model(blob, len, &d1, p1);
		if (n <= MAX_RUN_PARAMS && d1.n_classes <= MAX_RUN_CLASSES)
			run_forward(&d1, p1, flags >> 3, (uint32_t) len);
	}
	ss_free(p1);
	if (p2 != NULL && ((const uint8_t *) p2 < shifted || (const uint8_t *) p2 >= shifted + len + 1))
		ss_free((void *) p2);	/* a copy, not a view into the blob */
	free(shifted);
	free(blob);
	return 0;
}
