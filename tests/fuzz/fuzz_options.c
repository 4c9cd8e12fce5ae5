/*
 * fuzz_options.c - libFuzzer target of the option checks (options.h).
 *
 * The input is a script of (key, JSON type, value text) triples (up to
 * MAX_TRIPLES) applied in turn to the default options, then ss_options_finish and the JSON writer.
 * Fields are split on NUL bytes; a one-byte key or type field picks a known
 * option name or JSON type (so that the fuzzer reaches the checks behind
 * them quickly), a longer one is taken as it is.  After every call: an
 * accepted option set leaves every option within its documented range; a
 * refused one leaves the options unchanged and writes a non-empty,
 * NUL-terminated message within the buffer it was given (buffers of exact
 * size, so that ASan sees any overrun), not truncated when the buffer has
 * ss_option_error_size bytes.
 */
#include <math.h>

#include "fuzz_util.h"
#include "../../src/core/options.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const json_types[] = {
	"number", "boolean", "string", "null", "object", "array"
};

#define N_TYPES ((int) (sizeof(json_types) / sizeof(json_types[0])))

/* triples read from one input (the rest is ignored): more only repeat what these test */
#define MAX_TRIPLES 48

/* every option within its range, whatever was set */
static void
check_ranges(const ss_train_options *o)
{
	const char *base = (const char *) o;

	for (int i = 0; i < ss_option_count(); i++)
	{
		const ss_option_def *def = ss_option_at(i);
		double		v;

		if (def->kind == SS_OPT_BOOL)
		{
			int			b = *(const int *) (base + def->offset);

			FUZZ_CHECK(b == 0 || b == 1, "%s = %d", def->name, b);
			continue;
		}
		if (def->kind == SS_OPT_REAL)
			v = *(const double *) (base + def->offset);
		else if (def->offset == offsetof(ss_train_options, seed))
			v = (double) o->seed;
		else
			v = *(const int *) (base + def->offset);
		FUZZ_CHECK(isfinite(v), "%s = %g", def->name, v);
		FUZZ_CHECK(def->min_exclusive ? v > def->min : v >= def->min, "%s = %g", def->name, v);
		FUZZ_CHECK(v <= def->max, "%s = %g", def->name, v);
		if (def->kind == SS_OPT_INT)
			FUZZ_CHECK(v == floor(v), "%s = %g", def->name, v);
	}
	FUZZ_CHECK(o->hidden >= 1 && o->layers >= 1 && o->max_length >= 1 && o->threads >= 1 &&
			   o->batch_size >= 1 && o->window_stride >= 0, "a size below 1");
}

/* the next NUL-terminated field (copied), or NULL when the input is used up */
static char *
next_field(const uint8_t **p, size_t *left)
{
	const uint8_t *end;
	size_t		n;
	char	   *s;

	if (*left == 0)
		return NULL;
	end = memchr(*p, 0, *left);
	n = end ? (size_t) (end - *p) : *left;
	s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (end ? 1 : 0);
	*left -= n + (end ? 1 : 0);
	return s;
}

static void
check_error(ss_option_status st, const char *message, const char *hint, size_t size, int full)
{
	FUZZ_CHECK(st != SS_OPTION_OK, "status");
	if (size > 0)
	{
		FUZZ_CHECK(memchr(message, 0, size) != NULL && memchr(hint, 0, size) != NULL,
				   "message or hint not terminated");
		FUZZ_CHECK(size == 1 || message[0] != '\0', "empty message");
	}
	if (full)
		FUZZ_CHECK(strlen(message) + 1 < size && strlen(hint) + 1 < size,
				   "truncated with ss_option_error_size bytes: %s / %s", message, hint);
	if (st == SS_OPTION_UNKNOWN || st == SS_OPTION_OUT_OF_RANGE)
		FUZZ_CHECK(!full || hint[0] != '\0', "no hint for status %d", (int) st);
}

static void
check_json(const ss_train_options *o, int attn, uint8_t cut)
{
	size_t		n = ss_options_to_json(o, attn, NULL, 0),
				small = cut % (n + 2);
	char	   *full = malloc(n + 1),
			   *part = malloc(small > 0 ? small : 1);

	FUZZ_CHECK(ss_options_to_json(o, attn, full, n + 1) == n && strlen(full) == n, "json length");
	FUZZ_CHECK(full[0] == '{' && full[n - 1] == '}', "json object: %s", full);
	FUZZ_CHECK(ss_options_to_json(o, attn, small > 0 ? part : NULL, small) == n, "json length when cut");
	if (small > 0)
		FUZZ_CHECK(strlen(part) == (small - 1 < n ? small - 1 : n) && strncmp(part, full, small - 1) == 0,
				   "json cut is not a prefix");
	free(part);
	free(full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ss_train_options o;
	const uint8_t *p = data;
	size_t		left = size;
	uint8_t		cut = size > 0 ? data[0] : 0;

	ss_train_options_default(&o);
	check_ranges(&o);
	for (int triple = 0; triple < MAX_TRIPLES; triple++)
	{
		char	   *key = next_field(&p, &left),
				   *type = next_field(&p, &left),
				   *value = next_field(&p, &left);
		const char *k,
				   *t,
				   *v;
		ss_train_options before;
		ss_option_status st;
		size_t		full,
					sz;
		char	   *msg,
				   *hint;

		if (key == NULL)
			break;
		/* one byte: a known name (or one past them: unknown) / a JSON type */
		k = strlen(key) == 1 && ss_option_at((uint8_t) key[0] % (ss_option_count() + 1))
			? ss_option_at((uint8_t) key[0] % (ss_option_count() + 1))->name : key;
		t = type == NULL ? "number"
			: strlen(type) <= 1 ? json_types[(type[0] ? (uint8_t) type[0] : 0) % N_TYPES] : type;
		v = value && strcmp(value, "~") == 0 ? NULL : value;	/* "~": JSON null's NULL text */
		if (v == NULL && value == NULL)
			v = "1";
		before = o;
		full = ss_option_error_size(k, t, v);
		/* exact-size buffers: the full size, or a short one from the key's first byte */
		sz = (key[0] & 0x80) ? (uint8_t) key[0] % 24 : full;
		msg = malloc(sz > 0 ? sz : 1);
		hint = malloc(sz > 0 ? sz : 1);
		st = ss_option_set(&o, k, t, v, sz > 0 ? msg : NULL, sz > 0 ? hint : NULL, sz);
		if (st == SS_OPTION_OK)
			check_ranges(&o);
		else
		{
			check_error(st, msg, hint, sz, sz == full);
			FUZZ_CHECK(memcmp(&before, &o, sizeof(o)) == 0, "a refused option changed the options");
		}
		free(msg);
		free(hint);
		free(key);
		free(type);
		free(value);
	}
	{
		char		msg[512],
					hint[512];
		ss_option_status st = ss_options_finish(&o, msg, hint, sizeof(msg));

		if (st == SS_OPTION_OK)
		{
			check_ranges(&o);
			FUZZ_CHECK(o.window_stride >= 1 && o.window_stride <= o.max_length,
					   "window_stride %d, max_length %d", o.window_stride, o.max_length);
			check_json(&o, o.hidden, cut);
		}
		else
			check_error(st, msg, hint, sizeof(msg), 1);
	}
	return 0;
}
