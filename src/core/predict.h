/*
 * predict.h - batched prediction: the probabilities of the event after
 * each history of a batch (softmax of an architecture's logits, or its
 * scores' shares for a counted model, arch.h).
 */
#ifndef SS_PREDICT_H
#define SS_PREDICT_H

#include "model.h"

/*
 * Prediction for a set of histories: probabilities[i x C] of the event
 * after the last one of each sequence in batch (eval mode).
 * Watched (interrupt.h): returns 1, or 0 when an interrupt cut it short
 * (the probabilities are then undefined: serve the interrupt, call again).
 */
int			ss_predict_batch(const ss_dims *d, const float *params,
							 const ss_batch *batch, ss_workspace *ws,
							 float *probabilities);

/*
 * ss_predict_batch on n batches at once, batch k on thread k (the calling
 * thread runs batch 0); each batch has its own workspace, grown here before
 * the threads start.  A batch with B = 0 is skipped.  Returns 1, or 0 when
 * interrupted, as ss_predict_batch.
 */
int			ss_predict_batches(const ss_dims *d, const float *params, ss_batch *const *batches,
							   ss_workspace *const *ws, float *const *probabilities, int n);

#endif
