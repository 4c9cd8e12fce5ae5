/*
 * rng.h - a small deterministic random number generator (xoshiro256**,
 * seeded through splitmix64), so that a training run is reproducible for a
 * seed on every machine.
 */
#ifndef SS_RNG_H
#define SS_RNG_H

#include <stdint.h>

typedef struct ss_rng
{
	uint64_t	s[4];
} ss_rng;

void		ss_rng_seed(ss_rng *rng, uint64_t seed);
uint64_t	ss_rng_next(ss_rng *rng);
double		ss_rng_uniform(ss_rng *rng);		/* [0, 1) */
float		ss_rng_normal(ss_rng *rng);		/* N(0, 1) */
uint64_t	ss_rng_below(ss_rng *rng, uint64_t n);	/* [0, n), n > 0 */

/*
 * Dropout mask: mask[i] = 0 with probability p, else keep; two 24-bit
 * uniforms from each 64-bit draw (the generator inlined in the loop).
 */
void		ss_rng_dropout_mask(ss_rng *rng, float *mask, int64_t n, float p, float keep);

#endif
