/*
 * parallel.h - the engine's threads: a function run on n argument blocks
 * at once, on threads that live for that call only.
 */
#ifndef SS_PARALLEL_H
#define SS_PARALLEL_H

#include <stddef.h>

#define SS_MAX_THREADS 64

/*
 * Runs fn(base + k * stride) for k = 0 .. n - 1: k = 0 on the calling
 * thread, the others on threads created here (every signal blocked) and
 * joined before returning; where no thread can be had, on the caller.
 */
void		ss_run_parallel(void (*fn) (void *), void *base, size_t stride, int n);

#endif
