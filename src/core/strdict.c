/*
 * strdict.c - string interning (see strdict.h).
 */
#include "strdict.h"

#include <string.h>

#include "ss_alloc.h"

#define MIN_SLOTS 64
#define MAX_SLOTS (1 << 30)

uint32_t
ss_strdict_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;	/* FNV-1a offset basis */

	for (size_t i = 0; i < len; i++)
	{
		h ^= (uint8_t) s[i];
		h *= 16777619u;			/* FNV prime */
	}
	/* avalanche: every input bit reaches the low bits */
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

ss_strdict *
ss_strdict_new(int expected)
{
	ss_strdict *d = ss_zalloc(sizeof(ss_strdict));

	d->cap = MIN_SLOTS;
	while (d->cap < MAX_SLOTS && d->cap / 2 < expected)
		d->cap *= 2;
	d->slots = SS_NEW_ARRAY(int, d->cap);
	d->strs_cap = 32;
	d->strs = ss_alloc(sizeof(char *) * d->strs_cap);
	d->hashes = ss_alloc(sizeof(uint32_t) * d->strs_cap);
	return d;
}

void
ss_strdict_free(ss_strdict *d)
{
	if (d == NULL)
		return;
	for (int id = 0; id < d->n; id++)
		ss_free(d->strs[id]);
	ss_free(d->strs);
	ss_free(d->hashes);
	ss_free(d->slots);
	ss_free(d);
}

/* id of s (hash h), or -(free slot) - 1 where it would go */
static int
find(const ss_strdict *d, const char *s, uint32_t h)
{
	uint32_t	mask = (uint32_t) d->cap - 1;

	for (uint32_t i = h & mask;; i = (i + 1) & mask)
	{
		int			id = d->slots[i] - 1;

		if (id < 0)
			return -(int) i - 1;
		if (d->hashes[id] == h && strcmp(d->strs[id], s) == 0)
			return id;
	}
}

int
ss_strdict_lookup(const ss_strdict *d, const char *s)
{
	int			r = find(d, s, ss_strdict_hash(s, strlen(s)));

	return r >= 0 ? r : -1;
}

/* doubles the table and puts every id back in it */
static void
grow_slots(ss_strdict *d)
{
	ss_free(d->slots);
	d->cap *= 2;
	d->slots = SS_NEW_ARRAY(int, d->cap);
	for (int id = 0; id < d->n; id++)
		d->slots[-find(d, d->strs[id], d->hashes[id]) - 1] = id + 1;
}

static void
grow_strs(ss_strdict *d)
{
	int			c = d->strs_cap * 2;
	char	  **strs = ss_alloc(sizeof(char *) * c);
	uint32_t   *hashes = ss_alloc(sizeof(uint32_t) * c);

	memcpy(strs, d->strs, sizeof(char *) * d->n);
	memcpy(hashes, d->hashes, sizeof(uint32_t) * d->n);
	ss_free(d->strs);
	ss_free(d->hashes);
	d->strs = strs;
	d->hashes = hashes;
	d->strs_cap = c;
}

int
ss_strdict_intern(ss_strdict *d, const char *s)
{
	size_t		len = strlen(s);
	uint32_t	h = ss_strdict_hash(s, len);
	int			r = find(d, s, h);
	char	   *copy;

	if (r >= 0)
		return r;
	if (d->n + 1 > d->cap / 2)
	{
		grow_slots(d);
		r = find(d, s, h);
	}
	if (d->n == d->strs_cap)
		grow_strs(d);
	copy = ss_alloc(len + 1);
	memcpy(copy, s, len + 1);
	d->strs[d->n] = copy;
	d->hashes[d->n] = h;
	d->slots[-r - 1] = d->n + 1;
	return d->n++;
}
