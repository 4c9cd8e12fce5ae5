/*
 * test_model_files.c - models written by earlier releases still decode.
 *
 * models/v0.1/ holds a model trained by the 0.1 release (commit 1b91ee0,
 * made by models/v0.1/make.sh): its seqsales_model row as COPY text and its
 * weights blob as a file.  This build's decoder must accept the blob, and
 * the dimensions it reads must be those the row says (classes, features and
 * their vocabularies, numeric inputs, hidden size, layers, attention size,
 * parameter count).  That the model still predicts what 0.1 predicted is
 * sql/upgrade_model.sql's check, which has the demo data to predict from.
 *
 * The models directory is found from the fixtures directory given to
 * test_core: <fixtures>/../../models.
 */
#include <ctype.h>
#include <string.h>

#include "unit.h"
#include "../../src/core/arch.h"
#include "../../src/core/blob.h"
#include "../../src/core/model.h"
#include "../../src/core/ss_alloc.h"

/* columns of the 0.1 catalog (src/sql/seqsales--0.1.sql), in COPY order */
enum
{
	COL_ID, COL_NAME, COL_VERSION, COL_ARCHITECTURE, COL_CREATED_AT,
	COL_SOURCE_RELATION, COL_COLUMNS, COL_HYPERPARAMETERS, COL_CATEGORIES,
	COL_CATEGORY_COUNTS, COL_FEATURE_VOCABULARIES, COL_NORMALIZATION,
	COL_METRICS, COL_WEIGHTS, COL_FORMAT_VERSION, N_COLS_V01
};

/* A whole file, NUL-terminated; NULL if it cannot be read. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = ss_alloc((size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		ss_free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t) n;
	return buf;
}

/*
 * Splits one line of COPY text format in place into its fields, undoing the
 * backslash escapes (\\, \t, \n, \r); returns the number of fields (at most
 * max).  A NULL (\N) would become "N": the catalog has no nullable column.
 */
static int
copy_fields(char *line, char **fields, int max)
{
	int			n = 0;
	char	   *in = line,
			   *out = line;

	fields[n++] = out;
	for (; *in != '\0' && *in != '\n'; in++)
	{
		if (*in == '\t')
		{
			*out++ = '\0';
			if (n == max)
				return n + 1;
			fields[n++] = out;
		}
		else if (*in == '\\' && in[1] != '\0')
		{
			in++;
			*out++ = *in == 't' ? '\t' : *in == 'n' ? '\n' : *in == 'r' ? '\r' : *in;
		}
		else
			*out++ = *in;
	}
	*out = '\0';
	return n;
}

/*
 * Elements of the JSON array or PostgreSQL array literal at p ('[' or '{'),
 * at its top level; *end is set past its closing bracket (NULL if there is
 * none).  Strings are skipped whole, so a comma or bracket inside one does
 * not count; the elements are scalars or arrays (an object's commas would
 * count).
 */
static int
count_elements(const char *p, const char **end)
{
	char		open = *p,
				close = open == '[' ? ']' : '}';
	int			depth = 0,
				n = 0,
				empty = 1;

	*end = NULL;
	for (; *p != '\0'; p++)
	{
		if (*p == '"')
		{
			for (p++; *p != '\0' && *p != '"'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '\0')
				return -1;
			empty = 0;
		}
		else if (*p == open)
		{
			if (depth++ > 0)
				empty = 0;
		}
		else if (*p == close)
		{
			if (--depth == 0)
			{
				*end = p + 1;
				return empty ? 0 : n + 1;
			}
		}
		else if (*p == ',' && depth == 1)
			n++;
		else if (!isspace((unsigned char) *p))
			empty = 0;
	}
	return -1;
}

/* The value of "key": after it in a jsonb's text (the first occurrence). */
static const char *
json_value(const char *json, const char *key)
{
	char		pattern[80];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	p = strstr(json, pattern);
	return p == NULL ? NULL : p + strlen(pattern);
}

static long
json_int(const char *json, const char *key)
{
	const char *v = json_value(json, key);

	return v == NULL ? -1 : strtol(v, NULL, 10);
}

/* bytea's hex output (\x...) as bytes; NULL if it is not that */
static uint8_t *
unhex(const char *text, size_t *len)
{
	size_t		n = strlen(text);
	uint8_t    *out;

	if (n < 2 || text[0] != '\\' || text[1] != 'x' || n % 2 != 0)
		return NULL;
	*len = (n - 2) / 2;
	out = ss_alloc(*len > 0 ? *len : 1);
	for (size_t i = 0; i < *len; i++)
	{
		unsigned int byte;

		if (!isxdigit((unsigned char) text[2 + 2 * i]) || !isxdigit((unsigned char) text[3 + 2 * i]) ||
			sscanf(text + 2 + 2 * i, "%2x", &byte) != 1)
		{
			ss_free(out);
			return NULL;
		}
		out[i] = (uint8_t) byte;
	}
	return out;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* dimensions the catalog row states, checked against the blob's */
static void
check_dims(const char *label, char **row, const ss_dims *d)
{
	const char *hyper = row[COL_HYPERPARAMETERS];
	const char *end;
	const char *p = row[COL_FEATURE_VOCABULARIES];
	int			n_vocabs = count_elements(p, &end);
	int			vocabs_ok = n_vocabs == d->n_features;
	const char *columns = json_value(row[COL_NORMALIZATION], "columns");
	int			emb_sum = d->emb_dim[0];

	CHECK(count_elements(row[COL_CATEGORIES], &end) == d->n_classes &&
		  count_elements(row[COL_CATEGORY_COUNTS], &end) == d->n_classes,
		  "%s: %d classes, as many as the row's categories and category counts", label, d->n_classes);
	/* feature_vocabularies: [[...], [...]], one array per feature */
	for (int j = 0, inner_at = 1; vocabs_ok && j < d->n_features; j++)
	{
		while (p[inner_at] != '\0' && p[inner_at] != '[')
			inner_at++;
		vocabs_ok = p[inner_at] == '[' && count_elements(p + inner_at, &end) == d->feature_vocab[j];
		inner_at = end != NULL ? (int) (end - p) : (int) strlen(p);
	}
	CHECK(vocabs_ok, "%s: %d categorical features, their known values as the row's vocabularies (first %d)",
		  label, d->n_features, d->n_features > 0 ? d->feature_vocab[0] : 0);
	CHECK(columns != NULL && *columns == '[' && count_elements(columns, &end) == d->n_numeric,
		  "%s: %d numeric inputs, as the row's normalisation columns", label, d->n_numeric);
	CHECK(json_int(hyper, "hidden_size") == d->hidden && json_int(hyper, "layers") == d->layers &&
		  json_int(hyper, "attention_size") == d->attn,
		  "%s: hidden %d, layers %d, attention %d as in the row's hyperparameters", label,
		  d->hidden, d->layers, d->attn);
	for (int j = 0; j < d->n_features; j++)
		emb_sum += d->emb_dim[1 + j];
	CHECK(d->input_dim == emb_sum + d->n_numeric &&
		  json_int(row[COL_METRICS], "parameters") == ss_param_count(d),
		  "%s: input size %d = embeddings + numeric inputs, %ld parameters as the row's metrics", label,
		  d->input_dim, (long) ss_param_count(d));
}

static void
test_model_row(const char *models_dir, const char *name)
{
	char		path[2048],		/* room for models_dir, name and a suffix */
				label[128];
	char	   *row[N_COLS_V01];
	uint8_t    *copy_text,
			   *blob,
			   *row_blob = NULL;
	size_t		copy_len,
				blob_len,
				row_blob_len = 0;
	int			n_cols = 0;
	ss_dims		d,
				d_in_place;
	float	   *params = NULL;
	const float *view = NULL;
	const char *err;

	snprintf(label, sizeof(label), "models/%s", name);
	snprintf(path, sizeof(path), "%s/%s.model.copy", models_dir, name);
	copy_text = read_file(path, &copy_len);
	if (copy_text != NULL)
		n_cols = copy_fields((char *) copy_text, row, N_COLS_V01);
	snprintf(path, sizeof(path), "%s/%s.blob", models_dir, name);
	blob = read_file(path, &blob_len);
	CHECK(copy_text != NULL && n_cols == N_COLS_V01 && blob != NULL,
		  "%s: the catalog row (%d columns, 0.1 has %d) and the blob (%zu bytes) read",
		  label, n_cols, N_COLS_V01, blob != NULL ? blob_len : 0);
	if (copy_text == NULL || n_cols != N_COLS_V01 || blob == NULL)
	{
		ss_free(copy_text);
		ss_free(blob);
		return;
	}

	row_blob = unhex(row[COL_WEIGHTS], &row_blob_len);
	CHECK(row_blob != NULL && row_blob_len == blob_len && memcmp(row_blob, blob, blob_len) == 0,
		  "%s: the blob file is the row's weights column", label);
	/* 0.1 wrote format 1 and knew one architecture, number 1 (models/FORMAT.md) */
	CHECK(strcmp(row[COL_ARCHITECTURE], "gru4rec") == 0 && atoi(row[COL_FORMAT_VERSION]) == 1 &&
		  blob_len >= 12 && get_u32(blob + 4) == 1 && get_u32(blob + 8) == 1,
		  "%s: architecture %s (1 in the blob), format version %s in the row and the blob", label,
		  row[COL_ARCHITECTURE], row[COL_FORMAT_VERSION]);

	err = ss_blob_decode(blob, blob_len, &d, &params);
	CHECK(err == NULL, "%s: this build's ss_blob_decode reads the blob%s%s", label,
		  err != NULL ? ": " : "", err != NULL ? err : "");
	if (err == NULL)
	{
		int			same;

		CHECK(strcmp(ss_arch_of(&d)->name, row[COL_ARCHITECTURE]) == 0,
			  "%s: decoded as the row's architecture (%s)", label, ss_arch_of(&d)->name);
		check_dims(label, row, &d);
		err = ss_blob_decode_in_place(blob, blob_len, &d_in_place, &view);
		same = err == NULL && memcmp(&d, &d_in_place, sizeof(d)) == 0 &&
			memcmp(view, params, sizeof(float) * ss_param_count(&d)) == 0;
		CHECK(same, "%s: decoded in place, the same dimensions and weights", label);
		if (err == NULL && ((const uint8_t *) view < blob || (const uint8_t *) view >= blob + blob_len))
			ss_free((void *) view);
		ss_free(params);
	}
	ss_free(row_blob);
	ss_free(copy_text);
	ss_free(blob);
}

void		run_model_file_tests(const char *fixture_dir);

void
run_model_file_tests(const char *fixture_dir)
{
	char		dir[1024];

	snprintf(dir, sizeof(dir), "%s/../../models", fixture_dir);
	test_model_row(dir, "v0.1/demo_small");
}
