/*
 * options.c - the training options by name (see options.h).
 */
#include "options.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define O(field) offsetof(ss_train_options, field)

/* the values of "unit", by SS_UNIT_* (train.h) */
static const char *const unit_choices[] = {"line", "order", NULL};

/* ranges as in the README's option table */
static const ss_option_def option_defs[] = {
	{"hidden_size", SS_OPT_INT, 1, 4096, 0, O(hidden)},
	{"layers", SS_OPT_INT, 1, SS_MAX_LAYERS, 0, O(layers)},
	{"embedding_scale", SS_OPT_REAL, 0, 16, 1, O(embedding_scale)},
	{"dropout", SS_OPT_REAL, 0, 0.95, 0, O(dropout)},
	{"learning_rate", SS_OPT_REAL, 0, 1, 1, O(learning_rate)},
	{"batch_size", SS_OPT_INT, 1, 65536, 0, O(batch_size)},
	{"epochs", SS_OPT_INT, 1, 10000, 0, O(epochs)},
	{"patience", SS_OPT_INT, 1, 10000, 0, O(patience)},
	{"max_length", SS_OPT_INT, 1, 10000, 0, O(max_length)},
	{"window_stride", SS_OPT_INT, 0, 10000, 0, O(window_stride)},
	{"samples_per_epoch", SS_OPT_INT, 0, 1000000000, 0, O(samples_per_epoch)},
	{"focal_gamma", SS_OPT_REAL, 0, 10, 0, O(focal_gamma)},
	{"class_weighting", SS_OPT_BOOL, 0, 1, 0, O(class_weighting)},
	{"weighted_sampling", SS_OPT_BOOL, 0, 1, 0, O(weighted_sampling)},
	{"inner_target_weight", SS_OPT_REAL, 0, 1, 0, O(inner_target_weight)},
	{"validation_fraction", SS_OPT_REAL, 0, 0.9, 0, O(validation_fraction)},
	{"seed", SS_OPT_INT, -2147483648.0, 2147483647.0, 0, O(seed)},
	{"threads", SS_OPT_INT, 1, SS_MAX_THREADS, 0, O(threads)},
	{"unit", SS_OPT_CHOICE, 0, 1, 0, O(unit), unit_choices},
};

#undef O

#define N_OPTIONS ((int) (sizeof(option_defs) / sizeof(option_defs[0])))

/* fixed text of any message or hint, beside the key, type and value */
#define ERROR_SLACK 512

int
ss_option_count(void)
{
	return N_OPTIONS;
}

const ss_option_def *
ss_option_at(int i)
{
	return i >= 0 && i < N_OPTIONS ? &option_defs[i] : NULL;
}

const ss_option_def *
ss_option_find(const char *name)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if (strcmp(option_defs[i].name, name) == 0)
			return &option_defs[i];
	return NULL;
}

size_t
ss_option_error_size(const char *key, const char *json_type, const char *value)
{
	return strlen(key) + (json_type ? strlen(json_type) : 4) +
		(value ? strlen(value) : 4) + ERROR_SLACK;
}

#if defined(__GNUC__)
#define SS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SS_PRINTF(f, a)
#endif

/* writes message and hint (hint_text NULL: none); returns status */
static ss_option_status fail(ss_option_status status, char *message, char *hint, size_t size,
							 const char *hint_text, const char *fmt,...) SS_PRINTF(6, 7);
static void put(char *buf, size_t size, size_t *at, const char *fmt,...) SS_PRINTF(4, 5);

static ss_option_status
fail(ss_option_status status, char *message, char *hint, size_t size,
	 const char *hint_text, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, size, fmt, ap);
	va_end(ap);
	snprintf(hint, size, "%s", hint_text ? hint_text : "");
	return status;
}

static ss_option_status
unknown(const char *key, char *message, char *hint, size_t size)
{
	size_t		at;

	snprintf(message, size, "unknown option \"%s\"", key);
	at = (size_t) snprintf(hint, size, "Known options: ");
	for (int i = 0; i < N_OPTIONS && at < size; i++)
		at += (size_t) snprintf(hint + at, size - at, "%s%s", i ? ", " : "", option_defs[i].name);
	if (at < size)
		snprintf(hint + at, size - at, ".");
	return SS_OPTION_UNKNOWN;
}

ss_option_status
ss_option_set(ss_train_options *o, const char *key, const char *json_type,
			  const char *value, char *message, char *hint, size_t size)
{
	const ss_option_def *def = ss_option_find(key);
	char	   *base = (char *) o;
	char	   *end;
	double		v;
	int			low;

	if (json_type == NULL)
		json_type = "null";
	if (value == NULL)
		value = "null";
	if (def == NULL)
		return unknown(key, message, hint, size);
	if (def->kind == SS_OPT_CHOICE)
	{
		size_t		at;

		if (strcmp(json_type, "string") == 0)
			for (int i = 0; def->choices[i] != NULL; i++)
				if (strcmp(value, def->choices[i]) == 0)
				{
					*(int *) (base + def->offset) = i;
					return SS_OPTION_OK;
				}
		snprintf(message, size, strcmp(json_type, "string") == 0
				 ? "option \"%s\" has an unknown value: %s" : "option \"%s\" must be a string, not %s",
				 def->name, strcmp(json_type, "string") == 0 ? value : json_type);
		at = (size_t) snprintf(hint, size, "\"%s\" is one of", def->name);
		for (int i = 0; def->choices[i] != NULL && at < size; i++)
			at += (size_t) snprintf(hint + at, size - at, "%s '%s'", i ? "," : "", def->choices[i]);
		if (at < size)
			snprintf(hint + at, size - at, ".");
		return strcmp(json_type, "string") == 0 ? SS_OPTION_OUT_OF_RANGE : SS_OPTION_WRONG_TYPE;
	}
	if (def->kind == SS_OPT_BOOL)
	{
		if (strcmp(json_type, "boolean") != 0)
			return fail(SS_OPTION_WRONG_TYPE, message, hint, size, NULL,
						"option \"%s\" must be a boolean, not %s", def->name, json_type);
		*(int *) (base + def->offset) = strcmp(value, "true") == 0;
		return SS_OPTION_OK;
	}
	if (strcmp(json_type, "number") != 0)
		return fail(SS_OPTION_WRONG_TYPE, message, hint, size, NULL,
					"option \"%s\" must be a number, not %s", def->name, json_type);
	v = strtod(value, &end);
	low = def->min_exclusive ? v <= def->min : v < def->min;
	if (end == value || *end != '\0' || !isfinite(v) || low || v > def->max)
	{
		fail(SS_OPTION_OUT_OF_RANGE, message, hint, size, NULL,
			 "option \"%s\" is out of range: %s", def->name, value);
		snprintf(hint, size, "\"%s\" must be %s %g and at most %g%s.", def->name,
				 def->min_exclusive ? "greater than" : "at least", def->min, def->max,
				 def->kind == SS_OPT_INT ? ", a whole number" : "");
		return SS_OPTION_OUT_OF_RANGE;
	}
	if (def->kind == SS_OPT_REAL)
	{
		*(double *) (base + def->offset) = v;
		return SS_OPTION_OK;
	}
	if (v != floor(v))
		return fail(SS_OPTION_NOT_WHOLE, message, hint, size, NULL,
					"option \"%s\" must be a whole number: %s", def->name, value);
	if (def->offset == offsetof(ss_train_options, seed))
		o->seed = (int64_t) v;
	else
		*(int *) (base + def->offset) = (int) v;
	return SS_OPTION_OK;
}

ss_option_status
ss_options_finish(ss_train_options *o, char *message, char *hint, size_t size)
{
	if (o->window_stride > o->max_length)
		return fail(SS_OPTION_CONFLICT, message, hint, size,
					"Windows starting further apart than max_length would leave targets out; "
					"0 means max_length / 2.",
					"option \"window_stride\" (%d) must not exceed \"max_length\" (%d)",
					o->window_stride, o->max_length);
	if (o->unit == SS_UNIT_ORDER && o->class_weighting)
		return fail(SS_OPTION_CONFLICT, message, hint, size,
					"The next-order loss weighs every category of an order alike; "
					"focal_gamma is ignored there too.",
					"option \"class_weighting\" is for unit 'line' only");
	o->window_stride = ss_window_stride(o);
	return SS_OPTION_OK;
}

/* snprintf at buf + *at, counting the whole length past the end too */
static void
put(char *buf, size_t size, size_t *at, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(*at < size ? buf + *at : NULL, *at < size ? size - *at : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t) n;
}

size_t
ss_options_to_json(const ss_train_options *o, int attention_size, char *buf, size_t size)
{
	const char *base = (const char *) o;
	size_t		at = 0;

	if (size > 0)
		buf[0] = '\0';
	put(buf, size, &at, "{");
	for (int k = 0; k < N_OPTIONS; k++)
	{
		const ss_option_def *def = &option_defs[k];

		put(buf, size, &at, "%s\"%s\": ", k ? ", " : "", def->name);
		if (def->kind == SS_OPT_BOOL)
			put(buf, size, &at, "%s", *(const int *) (base + def->offset) ? "true" : "false");
		else if (def->kind == SS_OPT_CHOICE)
			put(buf, size, &at, "\"%s\"", def->choices[*(const int *) (base + def->offset)]);
		else if (def->kind == SS_OPT_REAL)
			put(buf, size, &at, "%.17g", *(const double *) (base + def->offset));
		else if (def->offset == offsetof(ss_train_options, seed))
			put(buf, size, &at, "%" PRId64, o->seed);
		else
			put(buf, size, &at, "%d", *(const int *) (base + def->offset));
	}
	put(buf, size, &at, ", \"attention_size\": %d, \"gradient_clip\": %g}", attention_size, o->clip);
	return at;
}
