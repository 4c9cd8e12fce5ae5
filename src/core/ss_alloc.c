/*
 * ss_alloc.c - allocation hooks (see ss_alloc.h).
 */
#include "ss_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
default_alloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "seqsales core: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

static ss_alloc_fn alloc_hook = default_alloc;
static ss_free_fn free_hook = free;

void
ss_set_allocator(ss_alloc_fn alloc, ss_free_fn release)
{
	alloc_hook = alloc ? alloc : default_alloc;
	free_hook = release ? release : free;
}

void *
ss_alloc(size_t size)
{
	return alloc_hook(size);
}

void *
ss_zalloc(size_t size)
{
	void	   *p = alloc_hook(size);

	memset(p, 0, size);
	return p;
}

void
ss_free(void *ptr)
{
	if (ptr != NULL)
		free_hook(ptr);
}
