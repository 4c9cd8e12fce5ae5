/*
 * predict.c - batched prediction (predict.h): the probabilities of the
 * event after each history of a batch, on one thread or several.
 */
#include "predict.h"

#include <string.h>

#include "arch.h"
#include "interrupt.h"
#include "layers.h"
#include "parallel.h"

/* scores to shares of their row's sum (counted models: scores are >= 0) */
static void
ss_normalize_rows(int n, int C, float *x)
{
	for (int i = 0; i < n; i++)
	{
		float	   *row = x + (int64_t) i * C;
		double		sum = 0.0;

		for (int c = 0; c < C; c++)
			sum += row[c];
		for (int c = 0; c < C; c++)
			row[c] = sum > 0.0 ? (float) (row[c] / sum) : 1.0f / C;
	}
}

/* probabilities of the batch's last events; 0 when interrupted */
static int
predict_batch(const ss_dims *d, const float *params, const ss_batch *batch,
			  ss_workspace *ws, float *probabilities)
{
	float	   *logits;
	int			n_q = ss_model_forward(d, params, batch, SS_QUERY_LAST, 0.0f, NULL, ws,
									   &logits, NULL, NULL);

	if (ss_interrupted())
		return 0;
	memcpy(probabilities, logits, sizeof(float) * n_q * d->n_classes);
	if (ss_arch_of(d)->output == SS_OUTPUT_LOGITS)
		ss_softmax_rows(n_q, d->n_classes, probabilities);
	else
		ss_normalize_rows(n_q, d->n_classes, probabilities);
	return !ss_interrupted();
}

int
ss_predict_batch(const ss_dims *d, const float *params, const ss_batch *batch,
				 ss_workspace *ws, float *probabilities)
{
	ss_interrupt_begin();
	predict_batch(d, params, batch, ws, probabilities);
	return !ss_interrupt_end();
}


typedef struct predict_job
{
	const ss_dims *d;
	const float *params;
	const ss_batch *batch;
	ss_workspace *ws;
	float	   *probabilities;
} predict_job;

static void
predict_run(void *arg)
{
	predict_job *j = (predict_job *) arg;

	if (j->batch->B > 0)
		predict_batch(j->d, j->params, j->batch, j->ws, j->probabilities);
}

int
ss_predict_batches(const ss_dims *d, const float *params, ss_batch *const *batches,
				   ss_workspace *const *ws, float *const *probabilities, int n)
{
	predict_job jobs[SS_MAX_THREADS];

	if (n < 1)
		return 1;
	if (n > SS_MAX_THREADS)
		n = SS_MAX_THREADS;
	for (int k = 0; k < n; k++)
	{
		jobs[k].d = d;
		jobs[k].params = params;
		jobs[k].batch = batches[k];
		jobs[k].ws = ws[k];
		jobs[k].probabilities = probabilities[k];
		if (n > 1 && batches[k]->B > 0)
			ss_workspace_reserve_predict(ws[k], d, batches[k]);	/* here, not on a worker */
	}
	ss_interrupt_begin();
	ss_run_parallel(predict_run, jobs, sizeof(predict_job), n);
	return !ss_interrupt_end();
}

