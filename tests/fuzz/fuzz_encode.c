/*
 * fuzz_encode.c - libFuzzer target of the row encoder (encode.h) and the
 * string dictionary under it (strdict.h).
 *
 * From the input: vocabularies of random strings (checked against a plain
 * list: dense ids, duplicates found again, every string looked up to its
 * own id), normalisation statistics and rows of random strings and doubles
 * of any bit pattern (inf, NaN, 1e308, denormals), some with a gap.
 * Every encoded id must be the vocabulary's (index + 2, unknown 1, never
 * out of [1, vocabulary + 2)), every numeric input finite and within
 * +-SS_ZSCORE_MAX, 0 where the value is missing or beyond float32.
 */
#include <float.h>
#include <math.h>

#include "fuzz_util.h"
#include "../../src/core/encode.h"
#include "../../src/core/ss_alloc.h"

#define MAX_VOCAB 128
#define MAX_STR 12
#define MAX_F 4
#define MAX_N 6
#define MAX_ROWS 8

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct vocab
{
	ss_strdict *dict;
	int			n;
	char	   *strs[MAX_VOCAB];	/* distinct, in id order */
} vocab;

/* index of s in v's plain list, or -1 */
static int
plain_find(const vocab *v, const char *s)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->strs[i], s) == 0)
			return i;
	return -1;
}

static void
build_vocab(vocab *v, fuzz_reader *r)
{
	/* now and then past the first growths (32 strings, 32 slots) */
	int			want = fuzz_u8(r) % 8 == 0 ? 33 + fuzz_u8(r) % 96 : fuzz_u8(r) % 24;

	v->dict = ss_strdict_new(fuzz_u8(r) % 4 == 0 ? want : fuzz_u8(r) % 16);
	v->n = 0;
	for (int i = 0; i < want && v->n < MAX_VOCAB; i++)
	{
		char	   *s = fuzz_string(r, MAX_STR);
		int			known = plain_find(v, s),
					id = ss_strdict_intern(v->dict, s);

		if (known >= 0)
		{
			FUZZ_CHECK(id == known, "\"%s\" interned again as %d, not %d", s, id, known);
			free(s);
		}
		else
		{
			FUZZ_CHECK(id == v->n, "new \"%s\" got id %d, not %d", s, id, v->n);
			v->strs[v->n++] = s;
		}
		FUZZ_CHECK(v->dict->n == v->n, "dictionary holds %d, not %d", v->dict->n, v->n);
	}
	for (int i = 0; i < v->n; i++)
		FUZZ_CHECK(ss_strdict_lookup(v->dict, v->strs[i]) == i &&
				   strcmp(v->dict->strs[i], v->strs[i]) == 0, "lookup of \"%s\"", v->strs[i]);
}

static void
free_vocab(vocab *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->strs[i]);
	ss_strdict_free(v->dict);
}

/* a double: raw bits, or one of the edge cases, or a plain number */
static double
some_double(fuzz_reader *r)
{
	static const double edges[] = {
		0.0, -0.0, 1.0, -1.0, 1e39, -1e39, 1e308, -1e308, DBL_MAX, -DBL_MAX,
		FLT_MAX, -FLT_MAX, 3.4028235677973366e38, DBL_MIN, 4.9e-324, FLT_MIN,
		INFINITY, -INFINITY, NAN, 1e-300, 1e4, -1e4, 86400.0
	};
	uint8_t		how = fuzz_u8(r);

	if (how < 96)
		return fuzz_double(r);
	if (how < 192)
		return edges[fuzz_u8(r) % (sizeof(edges) / sizeof(edges[0]))];
	return ((int) fuzz_u8(r) - 128) * 0.37;
}

/* a string of a vocabulary (to hit known values) or a random one; NULL sometimes */
static char *
some_value(fuzz_reader *r, const vocab *v, int nullable)
{
	uint8_t		how = fuzz_u8(r);

	if (nullable && how % 7 == 0)
		return NULL;
	if (v->n > 0 && how % 2 == 0)
	{
		const char *s = v->strs[fuzz_u8(r) % v->n];
		char	   *c = malloc(strlen(s) + 1);

		strcpy(c, s);
		return c;
	}
	return fuzz_string(r, MAX_STR);
}

static void
check_id(int32_t id, const vocab *v, const char *s)
{
	FUZZ_CHECK(id >= 0 && id < v->n + SS_N_RESERVED, "id %d of a vocabulary of %d", id, v->n);
	if (s == NULL)
		FUZZ_CHECK(id == SS_UNKNOWN_ID, "NULL encoded as %d", id);
	else
		FUZZ_CHECK(id == ss_embedding_id(plain_find(v, s)), "\"%s\" encoded as %d", s, id);
}

static void
check_num(float z, double x, double mean, double std)
{
	FUZZ_CHECK(isfinite(z) && fabsf(z) <= (float) SS_ZSCORE_MAX, "z-score %g", z);
	if (!(fabs(x) <= FLT_MAX) || !isfinite((x - mean) / std))
		FUZZ_CHECK(z == 0.0f, "missing or unrepresentable %g encoded as %g", x, z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_reader r = {data, size};
	vocab		classes,
				feats[MAX_F];
	const ss_strdict *feat_dicts[MAX_F];
	double		mean[MAX_N + 1],
				std[MAX_N + 1];
	ss_encoder	e;
	int			rows;

	build_vocab(&classes, &r);
	e.classes = classes.dict;
	e.n_features = fuzz_u8(&r) % (MAX_F + 1);
	for (int j = 0; j < e.n_features; j++)
	{
		build_vocab(&feats[j], &r);
		feat_dicts[j] = feats[j].dict;
	}
	e.features = feat_dicts;
	e.n_numeric = fuzz_u8(&r) % (MAX_N + 1);
	e.has_gap = fuzz_u8(&r) & 1;
	for (int j = 0; j < e.n_numeric + e.has_gap; j++)
	{
		/* the catalog's statistics are finite with std > 0; the encoder must not need it */
		mean[j] = some_double(&r);
		std[j] = some_double(&r);
	}
	e.mean = mean;
	e.std = std;

	rows = 1 + fuzz_u8(&r) % MAX_ROWS;
	for (int i = 0; i < rows; i++)
	{
		char	   *category = some_value(&r, &classes, 1);
		char	   *values[MAX_F];
		double		numeric[MAX_N],
					gap = some_double(&r);
		int32_t		cat = -7,
					feat[MAX_F];
		float		num[MAX_N + 1];

		for (int j = 0; j < e.n_features; j++)
			values[j] = some_value(&r, &feats[j], 1);
		for (int j = 0; j < e.n_numeric; j++)
			numeric[j] = some_double(&r);
		ss_encode_event(&e, category, (const char *const *) values, numeric, gap, &cat, feat, num);
		check_id(cat, &classes, category);
		for (int j = 0; j < e.n_features; j++)
			check_id(feat[j], &feats[j], values[j]);
		for (int j = 0; j < e.n_numeric; j++)
			check_num(num[j], numeric[j], mean[j], std[j]);
		if (e.has_gap)
		{
			double		g = ss_gap_feature(gap);

			FUZZ_CHECK(isfinite(g) && g >= 0.0, "gap feature %g of %g s", g, gap);
			if (!(gap > 0.0) || !isfinite(gap))
				FUZZ_CHECK(g == 0.0, "gap feature %g of %g s", g, gap);
			check_num(num[e.n_numeric], g, mean[e.n_numeric], std[e.n_numeric]);
			/* rewriting the gap alone gives what a first event gets */
			ss_encode_gap(&e, -1.0, num);
			check_num(num[e.n_numeric], 0.0, mean[e.n_numeric], std[e.n_numeric]);
		}
		for (int j = 0; j < e.n_numeric; j++)
		{
			float		f = ss_numeric_value(numeric[j]);

			FUZZ_CHECK(isnan(f) || isfinite(f), "stored value %g", f);
			FUZZ_CHECK(isnan(f) == !(fabs(numeric[j]) <= FLT_MAX), "stored value %g of %g", f, numeric[j]);
		}
		free(category);
		for (int j = 0; j < e.n_features; j++)
			free(values[j]);
	}
	free_vocab(&classes);
	for (int j = 0; j < e.n_features; j++)
		free_vocab(&feats[j]);
	return 0;
}
