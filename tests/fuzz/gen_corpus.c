/*
 * gen_corpus.c - writes the seed corpus of the fuzz targets (committed
 * under tests/fuzz/corpus/<target>/): valid blobs of a few small models,
 * valid and invalid option sets, typical rows.  Run by "make corpus".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../src/core/blob.h"
#include "../../src/core/model.h"
#include "../../src/core/rng.h"
#include "../../src/core/ss_alloc.h"

static const char *dir;

static void
write_file(const char *target, const char *name, const void *data, size_t len)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

/* a blob of these dimensions behind a flags byte */
static void
blob_seed(const char *name, uint8_t flags, int C, int F, const int *vocab, int N, int H, int L, int A)
{
	ss_dims		d;
	ss_rng		rng;
	float	   *params;
	uint8_t    *buf;
	size_t		len;

	memset(&d, 0, sizeof(d));
	d.n_classes = C;
	d.n_features = F;
	for (int j = 0; j < F; j++)
		d.feature_vocab[j] = vocab[j];
	d.n_numeric = N;
	d.hidden = H;
	d.layers = L;
	d.attn = A;
	if (ss_dims_finish(&d, 0.3) != NULL)
		exit(1);
	params = SS_NEW_ARRAY(float, ss_param_count(&d));
	ss_rng_seed(&rng, 11);
	ss_params_init(&d, params, &rng);
	len = ss_blob_size(&d);
	buf = ss_alloc(len + 1);
	buf[0] = flags;
	ss_blob_encode(&d, params, buf + 1);
	write_file("fuzz_blob", name, buf, len + 1);
	ss_free(buf);
	ss_free(params);
}

static void
blob_seeds(void)
{
	const int	v1[] = {3},
				v2[] = {4, 2};
	/* header-only seed of bit 2: dims bytes, then parameter bytes */
	const uint8_t hdr[] = {4 | (5 << 3), 5, 2, 2, 7, 1, 6, 3, 2, 4, 5, 3, 120, 130, 140, 110, 128};

	blob_seed("gru1_plain", 0, 5, 1, v1, 2, 4, 1, 4);
	blob_seed("gru2_crc_fixed", 1 | (3 << 3), 6, 2, v2, 3, 6, 2, 5);
	blob_seed("gru1_odd_address", 2 | (7 << 3), 3, 0, NULL, 0, 3, 1, 2);
	blob_seed("gru3_nofeatures", 3, 4, 0, NULL, 1, 5, 3, 3);
	write_file("fuzz_blob", "built_header", hdr, sizeof(hdr));
	write_file("fuzz_blob", "not_a_blob", "\x01SSQN garbage", 13);
}

static void
options_seed(const char *name, const char *const *fields, int n)
{
	char		buf[1024];
	size_t		at = 0;

	for (int i = 0; i < n; i++)
	{
		size_t		l = strlen(fields[i]);

		memcpy(buf + at, fields[i], l + 1);	/* with its NUL */
		at += l + 1;
	}
	write_file("fuzz_options", name, buf, at);
}

static void
options_seeds(void)
{
	const char *const typical[] = {"epochs", "number", "10", "hidden_size", "number", "64"};
	const char *const all[] = {
		"hidden_size", "number", "128", "layers", "number", "2", "embedding_scale", "number", "1.5",
		"dropout", "number", "0.2", "learning_rate", "number", "0.001", "batch_size", "number", "256",
		"epochs", "number", "30", "patience", "number", "3", "max_length", "number", "50",
		"window_stride", "number", "25", "focal_gamma", "number", "2", "class_weighting", "boolean", "true",
		"weighted_sampling", "boolean", "false", "validation_fraction", "number", "0.1",
		"seed", "number", "-7", "threads", "number", "2"};
	const char *const bad[] = {"hiden_size", "number", "64", "epochs", "string", "ten",
	"dropout", "number", "1.5", "hidden_size", "number", "12.5"};
	const char *const stride[] = {"window_stride", "number", "8", "max_length", "number", "6"};
	const char *const short_fields[] = {"\x03", "\x00", "1e3", "\x0b", "\x01", "true"};

	options_seed("typical", typical, 6);
	options_seed("every_option", all, 48);
	options_seed("errors", bad, 12);
	options_seed("stride_conflict", stride, 6);
	options_seed("one_byte_fields", short_fields, 6);
}

/* typical rows in the layout fuzz_encode.c reads */
static void
encode_seeds(void)
{
	uint8_t		b[512];
	size_t		n = 0;

#define U8(x) (b[n++] = (uint8_t) (x))
#define STR(s) do { U8(strlen(s)); memcpy(b + n, s, strlen(s)); n += strlen(s); } while (0)
#define PLAIN(k) do { U8(200); U8(128 + (k)); } while (0)	/* (k) x 0.37 */
#define EDGE(i) do { U8(100); U8(i); } while (0)
	/* classes: 3 values, sized for them */
	U8(1); U8(3); U8(0);
	STR("CONS_HVAC_FILTERS"); STR("MAINT_HVAC"); STR("OFFICE");
	U8(2);						/* two features */
	U8(1); U8(2); U8(0); STR("frame"); STR("spot");
	U8(1); U8(3); U8(1); U8(5); STR("EU"); STR("US"); STR("APAC");
	U8(2);						/* two numerics */
	U8(1);						/* and the gap */
	PLAIN(27); PLAIN(10);		/* mean 10, std 3.7 */
	PLAIN(-3); PLAIN(100);
	PLAIN(5); PLAIN(8);			/* gap: mean 1.85, std 2.96 */
	U8(3);						/* 4 rows */
	/* row: category, gap, features, numerics */
	U8(2); U8(0); PLAIN(-1); U8(2); U8(1); U8(4); U8(0); PLAIN(20); PLAIN(-2);
	U8(1); STR("UNSEEN"); EDGE(19); U8(7); U8(2); U8(2); EDGE(4); EDGE(18);
	U8(4); U8(2); PLAIN(100); U8(3); STR("x"); U8(1); STR("EU"); EDGE(7); EDGE(16);
	U8(6); U8(1); EDGE(6); U8(0); U8(0); U8(14); U8(2); PLAIN(0); EDGE(14);
	write_file("fuzz_encode", "typical_rows", b, n);
	/* and a few of random bytes */
	{
		ss_rng		rng;

		ss_rng_seed(&rng, 3);
		for (int k = 0; k < 4; k++)
		{
			char		name[32];
			size_t		len = 64 << k;

			for (size_t i = 0; i < len; i++)
				b[i] = (uint8_t) ss_rng_next(&rng);
			snprintf(name, sizeof(name), "random_%zu", len);
			write_file("fuzz_encode", name, b, len);
		}
	}
}

int
main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "corpus";
	mkdir(dir, 0755);
	blob_seeds();
	options_seeds();
	encode_seeds();
	return 0;
}
