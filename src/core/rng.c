/*
 * rng.c - xoshiro256** (Blackman and Vigna), see rng.h.
 */
#include "rng.h"

#include <math.h>

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
ss_rng_seed(ss_rng *rng, uint64_t seed)
{
	uint64_t	z = seed;

	for (int i = 0; i < 4; i++)
	{
		/* splitmix64 */
		uint64_t	x = (z += 0x9e3779b97f4a7c15ULL);

		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		rng->s[i] = x ^ (x >> 31);
	}
}

static inline uint64_t
next(ss_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t
ss_rng_next(ss_rng *rng)
{
	return next(rng);
}

void
ss_rng_dropout_mask(ss_rng *rng, float *mask, int64_t n, float p, float keep)
{
	const float scale = 1.0f / 16777216.0f;	/* 2^-24 */
	int64_t		i = 0;

	for (; i + 1 < n; i += 2)
	{
		uint64_t	x = next(rng);

		mask[i] = (float) (x >> 40) * scale < p ? 0.0f : keep;
		mask[i + 1] = (float) ((x >> 8) & 0xffffff) * scale < p ? 0.0f : keep;
	}
	if (i < n)
		mask[i] = (float) (next(rng) >> 40) * scale < p ? 0.0f : keep;
}

double
ss_rng_uniform(ss_rng *rng)
{
	return (double) (next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

float
ss_rng_normal(ss_rng *rng)
{
	/* Box-Muller; one of the pair is dropped, determinism matters more */
	double		u1 = ss_rng_uniform(rng);
	double		u2 = ss_rng_uniform(rng);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return (float) (sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t
ss_rng_below(ss_rng *rng, uint64_t n)
{
	/* Lemire's multiply-shift; the tiny bias is irrelevant here */
	return (uint64_t) (((__uint128_t) next(rng) * n) >> 64);
}
