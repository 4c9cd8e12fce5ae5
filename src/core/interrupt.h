/*
 * interrupt.h - cutting the engine's long computations short when the host
 * asks, without calling the host.
 *
 * The host registers the addresses of its interrupt flags once
 * (ss_interrupt_watch): variables its signal handlers set, in PostgreSQL
 * QueryCancelPending and ProcDiePending.  Reading them is a memory load,
 * safe on any thread, so worker threads can watch them too; the host is
 * never called.
 *
 * A computation that its caller can throw away runs watched, between
 * ss_interrupt_begin() and ss_interrupt_end() on the calling thread (the
 * worker threads it starts run inside that span).  While watched, the long
 * loops of the engine poll ss_interrupted() after bounded work (matrix
 * products in tiles of about SS_POLL_FLOPS, each time step of a recurrent
 * loop, each few attention queries, the Adam update in slices): once a flag
 * has been seen set it stays "interrupted" until ss_interrupt_end(), and
 * each loop returns at once, leaving its outputs undefined.  The caller
 * sees it from ss_interrupt_end(), discards what was computed (a step of
 * the optimiser is never applied half-way: see ss_train), lets the host
 * serve the interrupt (PostgreSQL's CHECK_FOR_INTERRUPTS, which throws),
 * and when the host returns with the flags clear (an interrupt that turned
 * out benign) runs the computation again, from the same state.  Outside a
 * watched span ss_interrupted() is 0: nothing whose caller does not expect
 * it is ever cut short.
 *
 * One watched computation at a time per process (a backend runs one
 * statement); the state here is process-wide.
 */
#ifndef SS_INTERRUPT_H
#define SS_INTERRUPT_H

#include <signal.h>
#include <stdint.h>

#define SS_MAX_INTERRUPT_FLAGS 4

/*
 * Work between two polls of a matrix product: 2^28 floating-point
 * operations, some 5 to 10 ms on one core of this machine.  The other loops
 * poll after a few ms of work too, each budget beside its loops: POLL_WORK
 * elementary operations (layers.c), POLL_BYTES of packed weights read
 * (packed.c), POLL_ELEMENTS initialised, masked or copied (model.c), SLICE
 * and ADAM_SLICE parameters (train.c).  bench/cancel_bench measures the
 * result.
 */
#define SS_POLL_FLOPS (1.0 * (1 << 28))

/*
 * The flags to watch (n <= SS_MAX_INTERRUPT_FLAGS; NULL entries are
 * skipped; n = 0: none).  An interrupt is pending while any is non-zero.
 */
void		ss_interrupt_watch(const volatile sig_atomic_t *const *flags, int n);

/* Is a watched flag set right now (watched span or not)? */
int			ss_interrupt_pending(void);

/* Starts a watched span (on the calling thread, no span open). */
void		ss_interrupt_begin(void);

/* Ends it; returns 1 if it was interrupted (its results are to be discarded). */
int			ss_interrupt_end(void);

/* In a watched span: 1 once an interrupt has been seen; else 0. */
int			ss_interrupted(void);

/*
 * For tests: the n-th poll from now in a watched span (n >= 1) acts as if a
 * flag had been set, once; n = 0 turns that off.  Either way, counting of
 * polls restarts (ss_interrupt_polls(): polls in watched spans since).
 */
void		ss_interrupt_inject(int64_t n);
int64_t		ss_interrupt_polls(void);

#endif
