/*
 * parallel.c - threads for one call (parallel.h).  No thread outlives the
 * call, so none is left running when the caller is interrupted between
 * calls, and none ever runs PostgreSQL code: they block every signal.
 */
#include "parallel.h"

#include <pthread.h>
#include <signal.h>

typedef struct thread_job
{
	void		(*fn) (void *);
	void	   *arg;
} thread_job;

static void *
thread_main(void *arg)
{
	thread_job *job = arg;

	job->fn(job->arg);
	return NULL;
}

void
ss_run_parallel(void (*fn) (void *), void *base, size_t stride, int n)
{
	pthread_t	threads[SS_MAX_THREADS];
	thread_job	jobs[SS_MAX_THREADS];
	int			started[SS_MAX_THREADS] = {0};
	sigset_t	all,
				saved;

	if (n > 1)
	{
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &saved);	/* inherited by the new threads */
		for (int k = 1; k < n; k++)
		{
			jobs[k].fn = fn;
			jobs[k].arg = (char *) base + k * stride;
			started[k] = pthread_create(&threads[k], NULL, thread_main, &jobs[k]) == 0;
		}
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	fn(base);
	for (int k = 1; k < n; k++)
	{
		if (started[k])
			pthread_join(threads[k], NULL);
		else
			fn((char *) base + k * stride);	/* no thread to be had: do it here */
	}
}

