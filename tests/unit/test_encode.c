/*
 * test_encode.c - the code moved out of src/pg: the string dictionary
 * (strdict.h), the option checks (options.h) and the row encoder
 * (encode.h), with the numerics that must never reach the model as inf or
 * NaN (beyond float32, non-finite z-scores, the clamp, infinite gaps).
 */
#include <float.h>
#include <string.h>

#include "unit.h"
#include "../../src/core/encode.h"
#include "../../src/core/options.h"
#include "../../src/core/ss_alloc.h"
#include "../../src/core/strdict.h"

/* ---------------------------------------------------------------- strdict */

static void
test_strdict(void)
{
	ss_strdict *d = ss_strdict_new(0);
	char		buf[32];
	int			dense = 1,
				again = 1,
				lookups = 1;

	CHECK(ss_strdict_intern(d, "HVAC") == 0 && ss_strdict_intern(d, "") == 1 &&
		  ss_strdict_intern(d, "HVAC") == 0 && d->n == 2,
		  "strdict: ids in order of insertion, a known string keeps its id, the empty string is a value");
	CHECK(ss_strdict_lookup(d, "hvac") == -1 && ss_strdict_lookup(d, "HVAC ") == -1 &&
		  ss_strdict_lookup(d, "") == 1, "strdict: lookup compares bytes exactly, -1 when absent");
	/* past several growths of the table and of the string array */
	for (int i = 0; i < 5000; i++)
	{
		snprintf(buf, sizeof(buf), "value-%d", i);
		dense &= ss_strdict_intern(d, buf) == i + 2;
	}
	for (int i = 0; i < 5000; i++)
	{
		snprintf(buf, sizeof(buf), "value-%d", i);
		again &= ss_strdict_intern(d, buf) == i + 2;
		lookups &= ss_strdict_lookup(d, buf) == i + 2 && strcmp(d->strs[i + 2], buf) == 0;
	}
	CHECK(dense && again && lookups && d->n == 5002 && d->cap >= 2 * d->n,
		  "strdict: 5000 values through growth keep dense ids, each found again (table %d slots)", d->cap);
	CHECK(ss_strdict_hash("a", 1) != ss_strdict_hash("b", 1) &&
		  ss_strdict_hash("ab", 2) != ss_strdict_hash("ba", 2) &&
		  ss_strdict_hash("", 0) == ss_strdict_hash("x", 0),
		  "strdict: the hash depends on every byte and on their order, and only on len bytes");
	ss_strdict_free(d);
	ss_strdict_free(NULL);
}

/* ---------------------------------------------------------------- options */

static ss_option_status
set(ss_train_options *o, const char *key, const char *type, const char *value,
	char *msg, char *hint)
{
	return ss_option_set(o, key, type, value, msg, hint, 512);
}

static void
test_options(void)
{
	ss_train_options o,
				before;
	char		msg[512],
				hint[512];
	char		json[2048];
	size_t		n;
	ss_option_status st;

	ss_train_options_default(&o);
	CHECK(set(&o, "hidden_size", "number", "64", msg, hint) == SS_OPTION_OK && o.hidden == 64 &&
		  set(&o, "dropout", "number", "0.95", msg, hint) == SS_OPTION_OK && o.dropout == 0.95 &&
		  set(&o, "class_weighting", "boolean", "true", msg, hint) == SS_OPTION_OK && o.class_weighting == 1 &&
		  set(&o, "class_weighting", "boolean", "false", msg, hint) == SS_OPTION_OK && o.class_weighting == 0 &&
		  set(&o, "seed", "number", "-2147483648", msg, hint) == SS_OPTION_OK && o.seed == -2147483648LL &&
		  set(&o, "window_stride", "number", "0", msg, hint) == SS_OPTION_OK && o.window_stride == 0 &&
		  set(&o, "threads", "number", "64", msg, hint) == SS_OPTION_OK && o.threads == 64,
		  "options: values at the ends of their ranges are set");
	CHECK(o.unit == SS_UNIT_LINE && set(&o, "unit", "string", "order", msg, hint) == SS_OPTION_OK &&
		  o.unit == SS_UNIT_ORDER && set(&o, "unit", "string", "line", msg, hint) == SS_OPTION_OK &&
		  o.unit == SS_UNIT_LINE, "options: unit is 'line' by default, 'order' or 'line' when set");

	before = o;
	st = set(&o, "hiden_size", "number", "64", msg, hint);
	CHECK(st == SS_OPTION_UNKNOWN && strcmp(msg, "unknown option \"hiden_size\"") == 0 &&
		  strncmp(hint, "Known options: hidden_size, layers, ", 36) == 0 &&
		  strcmp(hint + strlen(hint) - 5, "unit.") == 0 && memcmp(&o, &before, sizeof(o)) == 0,
		  "options: an unknown key names itself and lists the known ones (%s)", hint);
	st = set(&o, "hidden_size", "number", "0", msg, hint);
	CHECK(st == SS_OPTION_OUT_OF_RANGE && strcmp(msg, "option \"hidden_size\" is out of range: 0") == 0 &&
		  strcmp(hint, "\"hidden_size\" must be at least 1 and at most 4096, a whole number.") == 0,
		  "options: out of range, with the range in the hint (%s)", hint);
	st = set(&o, "learning_rate", "number", "0", msg, hint);
	CHECK(st == SS_OPTION_OUT_OF_RANGE &&
		  strcmp(hint, "\"learning_rate\" must be greater than 0 and at most 1.") == 0,
		  "options: an exclusive lower end says so (%s)", hint);
	CHECK(set(&o, "dropout", "number", "0.9500001", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "threads", "number", "65", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "layers", "number", "5", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "seed", "number", "2147483648", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "epochs", "number", "1e999", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "epochs", "number", "nan", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "epochs", "number", "10x", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "epochs", "number", "", msg, hint) == SS_OPTION_OUT_OF_RANGE &&
		  set(&o, "window_stride", "number", "-1", msg, hint) == SS_OPTION_OUT_OF_RANGE,
		  "options: just past a range, infinite, NaN, trailing text and empty text are out of range");
	st = set(&o, "hidden_size", "number", "12.5", msg, hint);
	CHECK(st == SS_OPTION_NOT_WHOLE && strcmp(msg, "option \"hidden_size\" must be a whole number: 12.5") == 0 &&
		  hint[0] == '\0', "options: a fraction for a whole number");
	st = set(&o, "epochs", "string", "ten", msg, hint);
	CHECK(st == SS_OPTION_WRONG_TYPE && strcmp(msg, "option \"epochs\" must be a number, not string") == 0,
		  "options: a string for a number");
	st = set(&o, "weighted_sampling", "number", "1", msg, hint);
	CHECK(st == SS_OPTION_WRONG_TYPE && strcmp(msg, "option \"weighted_sampling\" must be a boolean, not number") == 0,
		  "options: a number for a boolean");
	st = set(&o, "epochs", "null", NULL, msg, hint);
	CHECK(st == SS_OPTION_WRONG_TYPE && strcmp(msg, "option \"epochs\" must be a number, not null") == 0,
		  "options: a JSON null");
	CHECK(memcmp(&o, &before, sizeof(o)) == 0, "options: refused values leave the options unchanged");
	st = ss_option_set(&o, "hiden_size", "number", "64", msg, hint, 10);
	CHECK(st == SS_OPTION_UNKNOWN && strlen(msg) == 9 && strlen(hint) == 9,
		  "options: messages are cut to a short buffer, NUL-terminated");

	ss_train_options_default(&o);
	set(&o, "window_stride", "number", "8", msg, hint);
	set(&o, "max_length", "number", "6", msg, hint);
	st = ss_options_finish(&o, msg, hint, sizeof(msg));
	CHECK(st == SS_OPTION_CONFLICT &&
		  strcmp(msg, "option \"window_stride\" (8) must not exceed \"max_length\" (6)") == 0 &&
		  strncmp(hint, "Windows starting further apart", 30) == 0,
		  "options: window_stride above max_length is refused by the cross-checks");
	ss_train_options_default(&o);
	set(&o, "max_length", "number", "7", msg, hint);
	CHECK(ss_options_finish(&o, msg, hint, sizeof(msg)) == SS_OPTION_OK && o.window_stride == 3,
		  "options: window_stride 0 resolves to max_length / 2");

	n = ss_options_to_json(&o, 128, json, sizeof(json));
	CHECK(n == strlen(json) &&
		  strcmp(json, "{\"hidden_size\": 128, \"layers\": 1, \"embedding_scale\": 1, \"dropout\": 0.20000000000000001,"
				 " \"learning_rate\": 0.001, \"batch_size\": 256, \"epochs\": 30, \"patience\": 3,"
				 " \"max_length\": 7, \"window_stride\": 3, \"samples_per_epoch\": 0, \"focal_gamma\": 2, \"class_weighting\": false,"
				 " \"weighted_sampling\": false, \"inner_target_weight\": 1, \"validation_fraction\": 0.10000000000000001, \"seed\": 1,"
				 " \"threads\": 1, \"unit\": \"line\", \"attention_size\": 128, \"gradient_clip\": 5}") == 0,
		  "options: written back as JSON (%s)", json);
	CHECK(ss_options_to_json(&o, 128, NULL, 0) == n && ss_options_to_json(&o, 128, json, 10) == n &&
		  strcmp(json, "{\"hidden_") == 0, "options: the JSON writer counts the whole length and cuts as snprintf");
}

/*
 * The option errors of sql/errors.sql, message and hint as in
 * expected/errors.out (src/pg/options.c raises them verbatim).
 */
static void
test_options_errors_out(void)
{
	static const struct
	{
		const char *key,
				   *type,
				   *value,
				   *message,
				   *hint;
	}			cases[] = {
		{"hidden_size", "number", "0", "option \"hidden_size\" is out of range: 0",
		"\"hidden_size\" must be at least 1 and at most 4096, a whole number."},
		{"hidden_size", "number", "12.5", "option \"hidden_size\" must be a whole number: 12.5", ""},
		{"dropout", "number", "1.5", "option \"dropout\" is out of range: 1.5",
		"\"dropout\" must be at least 0 and at most 0.95."},
		{"learning_rate", "number", "0", "option \"learning_rate\" is out of range: 0",
		"\"learning_rate\" must be greater than 0 and at most 1."},
		{"epochs", "string", "ten", "option \"epochs\" must be a number, not string", ""},
		{"weighted_sampling", "number", "1", "option \"weighted_sampling\" must be a boolean, not number", ""},
		{"window_stride", "number", "-1", "option \"window_stride\" is out of range: -1",
		"\"window_stride\" must be at least 0 and at most 10000, a whole number."},
		{"hiden_size", "number", "64", "unknown option \"hiden_size\"",
			"Known options: hidden_size, layers, embedding_scale, dropout, learning_rate, batch_size, "
			"epochs, patience, max_length, window_stride, samples_per_epoch, focal_gamma, class_weighting, "
		"weighted_sampling, inner_target_weight, validation_fraction, seed, threads, unit."},
		{"unit", "string", "basket", "option \"unit\" has an unknown value: basket",
		"\"unit\" is one of 'line', 'order'."},
		{"unit", "number", "1", "option \"unit\" must be a string, not number",
		"\"unit\" is one of 'line', 'order'."},
	};
	int			same = 1;
	ss_train_options o;
	char		msg[512],
				hint[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		ss_train_options_default(&o);
		if (ss_option_set(&o, cases[i].key, cases[i].type, cases[i].value, msg, hint, sizeof(msg)) == SS_OPTION_OK ||
			strcmp(msg, cases[i].message) != 0 || strcmp(hint, cases[i].hint) != 0)
		{
			same = 0;
			printf("# %s / %s\n", msg, hint);
		}
	}
	ss_train_options_default(&o);
	ss_option_set(&o, "window_stride", "number", "51", msg, hint, sizeof(msg));
	same &= ss_options_finish(&o, msg, hint, sizeof(msg)) == SS_OPTION_CONFLICT &&
		strcmp(msg, "option \"window_stride\" (51) must not exceed \"max_length\" (50)") == 0 &&
		strcmp(hint, "Windows starting further apart than max_length would leave targets out; "
			   "0 means max_length / 2.") == 0;
	CHECK(same, "options: every option error of sql/errors.sql has the message and hint of expected/errors.out");
}

/* ---------------------------------------------------------------- encoder */

static void
test_encoder(void)
{
	ss_strdict *classes = ss_strdict_new(4),
			   *region = ss_strdict_new(4);
	const ss_strdict *feats[1] = {region};
	double		mean[3] = {10.0, 0.0, 1.0},
				std[3] = {2.0, 1e-30, 0.5};
	ss_encoder	e = {classes, 1, feats, 2, 1, mean, std};
	const char *fv[1];
	double		nv[2];
	int32_t		cat,
				feat[1];
	float		num[3];
	int			finite = 1;
	const double nasty[] = {1e39, -1e39, 1e308, -1e308, DBL_MAX, INFINITY, -INFINITY, NAN,
	3.5e38, 4.9e-324, -0.0};

	ss_strdict_intern(classes, "HVAC");
	ss_strdict_intern(classes, "OFFICE");
	ss_strdict_intern(region, "EU");

	fv[0] = "EU";
	nv[0] = 13.0;
	nv[1] = 0.0;
	ss_encode_event(&e, "OFFICE", fv, nv, 86400.0 * (M_E - 1.0), &cat, feat, num);
	CHECK(cat == 3 && feat[0] == 2 && num[0] == 1.5f && num[1] == 0.0f && fabsf(num[2]) < 1e-6f,
		  "encode: known values are index + 2, numerics (x - mean) / std, the gap log1p(days) z-scored");
	fv[0] = NULL;
	ss_encode_event(&e, "SOMETHING ELSE", fv, nv, -1.0, &cat, feat, num);
	CHECK(cat == SS_UNKNOWN_ID && feat[0] == SS_UNKNOWN_ID && num[2] == -2.0f,
		  "encode: unknown category and NULL feature are 1; a first event's gap is 0 before z-scoring");
	ss_encode_event(&e, NULL, fv, nv, -1.0, &cat, feat, num);
	CHECK(cat == SS_UNKNOWN_ID, "encode: a NULL category is unknown");

	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++)
	{
		nv[0] = nasty[i];
		ss_encode_event(&e, "HVAC", fv, nv, nasty[i], &cat, feat, num);
		for (int j = 0; j < 3; j++)
			finite &= isfinite(num[j]) && fabsf(num[j]) <= (float) SS_ZSCORE_MAX;
		if (!(fabs(nasty[i]) <= FLT_MAX))
			finite &= num[0] == 0.0f;
	}
	CHECK(finite, "encode: inf, NaN, 1e39, 1e308, DBL_MAX, denormals give finite inputs; beyond float32 they are imputed (0)");

	nv[0] = 1e30;				/* a float32, but 5e29 standard deviations out */
	nv[1] = 1.0;				/* std 1e-30: z = 1e30 */
	ss_encode_event(&e, "HVAC", fv, nv, -1.0, &cat, feat, num);
	CHECK(num[0] == (float) SS_ZSCORE_MAX && num[1] == (float) SS_ZSCORE_MAX,
		  "encode: z-scores are clamped to +-%g", SS_ZSCORE_MAX);
	nv[0] = -1e30;
	nv[1] = -1.0;
	ss_encode_event(&e, "HVAC", fv, nv, -1.0, &cat, feat, num);
	CHECK(num[0] == (float) -SS_ZSCORE_MAX && num[1] == (float) -SS_ZSCORE_MAX, "encode: also below");
	CHECK(ss_zscore(3.0e38, -3.0e38, 1e-300) == 0.0f && ss_zscore(1.0, 0.0, 0.0) == 0.0f &&
		  ss_zscore(1.0, NAN, 1.0) == 0.0f && ss_zscore(0.0, 0.0, 0.0) == 0.0f,
		  "encode: a non-finite z-score (overflow, std 0, NaN statistics) is imputed (0)");

	CHECK(ss_gap_feature(INFINITY) == 0.0 && ss_gap_feature(-INFINITY) == 0.0 &&
		  ss_gap_feature(NAN) == 0.0 && ss_gap_feature(-5.0) == 0.0 &&
		  isfinite(ss_gap_feature(DBL_MAX)) && fabs(ss_gap_feature(86400.0) - log(2.0)) < 1e-12,
		  "encode: the gap feature is log1p(days), 0 for infinite, NaN and negative gaps");
	ss_encode_gap(&e, INFINITY, num);
	CHECK(num[2] == -2.0f, "encode: an infinite gap (infinite timestamps) encodes as gap 0");

	CHECK(isnan(ss_numeric_value(1e39)) && isnan(ss_numeric_value(-1e308)) &&
		  isnan(ss_numeric_value(INFINITY)) && isnan(ss_numeric_value(NAN)) &&
		  ss_numeric_value(FLT_MAX) == FLT_MAX && ss_numeric_value(2.5) == 2.5f,
		  "encode: training stores values beyond float32 as missing (NaN), others as float32");
	CHECK(ss_embedding_id(-1) == 1 && ss_embedding_id(0) == 2 && ss_embedding_id(7) == 9,
		  "encode: embedding ids, index + 2, unknown 1");
	ss_strdict_free(classes);
	ss_strdict_free(region);
}

void		run_encode_tests(void);

void
run_encode_tests(void)
{
	test_strdict();
	test_options();
	test_options_errors_out();
	test_encoder();
}
