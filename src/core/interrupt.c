/*
 * interrupt.c - watched computations (see interrupt.h).
 *
 * ss_interrupted() runs on every thread of a step, often: when no span is
 * open it is one relaxed load; in a span, two more (the latch and the
 * flags).  Only the calling thread opens and closes spans, and it does so
 * while no worker runs (threads are created after ss_interrupt_begin and
 * joined before ss_interrupt_end), so relaxed atomics are enough: the
 * latch only ever goes from 0 to 1 inside a span.
 */
#include "interrupt.h"

#include <stddef.h>

static const volatile sig_atomic_t *watched[SS_MAX_INTERRUPT_FLAGS];
static int	n_watched;
static int	open_span;			/* a watched span is open */
static int	seen;				/* latch: an interrupt was seen in this span */

/* tests only (ss_interrupt_inject) */
static int	counting;
static int64_t countdown;
static int64_t polls;

void
ss_interrupt_watch(const volatile sig_atomic_t *const *flags, int n)
{
	n_watched = 0;
	for (int i = 0; i < n && i < SS_MAX_INTERRUPT_FLAGS; i++)
		if (flags[i] != NULL)
			watched[n_watched++] = flags[i];
}

int
ss_interrupt_pending(void)
{
	for (int i = 0; i < n_watched; i++)
		if (*watched[i] != 0)
			return 1;
	return 0;
}

void
ss_interrupt_begin(void)
{
	__atomic_store_n(&seen, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&open_span, 1, __ATOMIC_RELAXED);
}

int
ss_interrupt_end(void)
{
	int			was = __atomic_load_n(&seen, __ATOMIC_RELAXED);

	__atomic_store_n(&open_span, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&seen, 0, __ATOMIC_RELAXED);
	return was;
}

int
ss_interrupted(void)
{
	if (!__atomic_load_n(&open_span, __ATOMIC_RELAXED))
		return 0;
	if (__atomic_load_n(&seen, __ATOMIC_RELAXED))
		return 1;
	if (__builtin_expect(counting, 0))
	{
		__atomic_add_fetch(&polls, 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&countdown, __ATOMIC_RELAXED) > 0 &&
			__atomic_sub_fetch(&countdown, 1, __ATOMIC_RELAXED) == 0)
		{
			__atomic_store_n(&seen, 1, __ATOMIC_RELAXED);
			return 1;
		}
	}
	if (ss_interrupt_pending())
	{
		__atomic_store_n(&seen, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

void
ss_interrupt_inject(int64_t n)
{
	counting = 1;
	__atomic_store_n(&polls, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&countdown, n > 0 ? n : 0, __ATOMIC_RELAXED);
}

int64_t
ss_interrupt_polls(void)
{
	return __atomic_load_n(&polls, __ATOMIC_RELAXED);
}
