/*
 * fuzz_util.h - what the libFuzzer targets share: a reader that takes
 * bytes, numbers and strings off the fuzzer's input (zeros once it is used
 * up, so every input is a valid script), and a check that aborts with a
 * message (libFuzzer then saves the input as a crash).
 */
#ifndef SS_FUZZ_UTIL_H
#define SS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); abort(); \
	} \
} while (0)

typedef struct fuzz_reader
{
	const uint8_t *p;
	size_t		left;
} fuzz_reader;

static inline void
fuzz_take(fuzz_reader *r, void *out, size_t n)
{
	size_t		k = n < r->left ? n : r->left;

	memcpy(out, r->p, k);
	memset((uint8_t *) out + k, 0, n - k);
	r->p += k;
	r->left -= k;
}

static inline uint8_t
fuzz_u8(fuzz_reader *r)
{
	uint8_t		v;

	fuzz_take(r, &v, 1);
	return v;
}

static inline double
fuzz_double(fuzz_reader *r)
{
	double		v;

	fuzz_take(r, &v, sizeof(v));	/* any bit pattern: inf, NaN, denormals */
	return v;
}

/* a string of up to max_len bytes (its length from one byte, cut at a NUL); caller frees */
static inline char *
fuzz_string(fuzz_reader *r, size_t max_len)
{
	size_t		n = fuzz_u8(r) % (max_len + 1);
	char	   *s = malloc(n + 1);

	fuzz_take(r, s, n);
	s[n] = '\0';
	return s;
}

#endif
