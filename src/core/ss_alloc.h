/*
 * ss_alloc.h - allocation hooks of the learning engine.
 *
 * The core never calls malloc directly: inside PostgreSQL the hooks are set
 * to palloc in a memory context, so an ERROR (cancel, statement_timeout,
 * out of memory) thrown while the engine runs frees everything it had
 * allocated.  Stand-alone (unit tests, benchmarks) they are malloc/free.
 * An allocation hook never returns NULL: it succeeds or does not return.
 */
#ifndef SS_ALLOC_H
#define SS_ALLOC_H

#include <stddef.h>

typedef void *(*ss_alloc_fn) (size_t size);
typedef void (*ss_free_fn) (void *ptr);

void		ss_set_allocator(ss_alloc_fn alloc, ss_free_fn release);

void	   *ss_alloc(size_t size);		/* uninitialised */
void	   *ss_zalloc(size_t size);		/* zero-filled */
void		ss_free(void *ptr);			/* NULL is fine */

#define SS_NEW_ARRAY(type, n)  ((type *) ss_zalloc(sizeof(type) * (size_t) (n)))

#endif
