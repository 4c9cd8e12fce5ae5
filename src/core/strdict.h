/*
 * strdict.h - a set of distinct strings, each with a dense id in order of
 * insertion (0, 1, 2, ...): the interning of category and feature values
 * while a training reads its rows, and the vocabularies of a loaded model.
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full; each string's 32-bit hash is kept beside it, so that a
 * probe compares strings only when the hashes agree and growing the table
 * hashes nothing again.  Memory comes from ss_alloc (inside PostgreSQL: the
 * memory context routed to the core when the dictionary is created or
 * grows).
 */
#ifndef SS_STRDICT_H
#define SS_STRDICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ss_strdict
{
	int			n;				/* strings held: ids 0 .. n - 1 */
	int			cap;			/* slots, a power of two */
	int		   *slots;			/* id + 1, 0 = empty */
	uint32_t   *hashes;			/* per id */
	char	  **strs;			/* per id, NUL-terminated copies */
	int			strs_cap;
} ss_strdict;

/* An empty dictionary sized for about expected strings (any value >= 0). */
ss_strdict *ss_strdict_new(int expected);
void		ss_strdict_free(ss_strdict *d);	/* NULL is fine */

/* The id of s, added (copied) when new. */
int			ss_strdict_intern(ss_strdict *d, const char *s);

/* The id of s, or -1 when it is not in the dictionary. */
int			ss_strdict_lookup(const ss_strdict *d, const char *s);

/*
 * The hash of the dictionary: FNV-1a over the bytes, then a final
 * avalanche (xor-shift-multiply) so that the low bits, which pick the
 * slot, depend on every byte.
 */
uint32_t	ss_strdict_hash(const char *s, size_t len);

#endif
