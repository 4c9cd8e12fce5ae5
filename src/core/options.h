/*
 * options.h - the training options by name: the table of every option
 * (name, kind, range), the check of one value, the checks between
 * options, and the options written back as JSON.
 *
 * The SQL side (src/pg/options.c) walks the options jsonb and hands each
 * key with its JSON type and its text here; a status says what is wrong
 * and maps to an errcode there, with the message and hint written here.
 * The README's option table documents the same ranges.
 */
#ifndef SS_OPTIONS_H
#define SS_OPTIONS_H

#include <stddef.h>

#include "train.h"

typedef enum ss_option_kind
{
	SS_OPT_INT,					/* a JSON number with no fraction */
	SS_OPT_REAL,				/* a JSON number */
	SS_OPT_BOOL,				/* a JSON boolean */
	SS_OPT_CHOICE				/* a JSON string among choices; stored as its index (int) */
} ss_option_kind;

typedef struct ss_option_def
{
	const char *name;
	ss_option_kind kind;
	double		min;
	double		max;
	int			min_exclusive;	/* 1: the value must be > min */
	size_t		offset;			/* of its field in ss_train_options */
	const char *const *choices; /* SS_OPT_CHOICE: the values, NULL-terminated
								 * (min 0, max their count - 1) */
} ss_option_def;

/* The options, in the order of the table (that of options_to_json). */
int			ss_option_count(void);
const ss_option_def *ss_option_at(int i);
const ss_option_def *ss_option_find(const char *name);	/* NULL: unknown */

typedef enum ss_option_status
{
	SS_OPTION_OK = 0,
	SS_OPTION_UNKNOWN,			/* no option of that name */
	SS_OPTION_WRONG_TYPE,		/* a string for a number, a number for a boolean .. */
	SS_OPTION_OUT_OF_RANGE,		/* outside its range, or not a finite number */
	SS_OPTION_NOT_WHOLE,		/* a fraction for a whole number */
	SS_OPTION_CONFLICT			/* ss_options_finish: options that contradict each other */
} ss_option_status;

/*
 * Bytes of message and hint buffers that hold any error of this key and
 * value without truncation.
 */
size_t		ss_option_error_size(const char *key, const char *json_type, const char *value);

/*
 * Sets option key of o from its JSON type ("number", "boolean", "string",
 * "null", "object", "array": jsonb_typeof's names) and its text (value
 * #>> '{}', NULL for a JSON null).  Returns SS_OPTION_OK, or a status with
 * message and hint (each size bytes, truncated as snprintf does; hint ""
 * when none) written, o unchanged.
 */
ss_option_status ss_option_set(ss_train_options *o, const char *key, const char *json_type,
							   const char *value, char *message, char *hint, size_t size);

/*
 * After the last ss_option_set: checks the options against each other
 * (window_stride <= max_length; class_weighting is for unit 'line' only)
 * and resolves window_stride 0 to max_length / 2 (recorded so).  Same
 * return as ss_option_set.
 */
ss_option_status ss_options_finish(ss_train_options *o, char *message, char *hint, size_t size);

/*
 * The options as a JSON object (every option of the table, then
 * attention_size and gradient_clip), written into buf as snprintf does:
 * returns the length of the whole text, of which size - 1 bytes at most
 * are written, NUL-terminated (buf may be NULL when size is 0).
 */
size_t		ss_options_to_json(const ss_train_options *o, int attention_size,
							   char *buf, size_t size);

#endif
