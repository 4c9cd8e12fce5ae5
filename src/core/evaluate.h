/*
 * evaluate.h - a model's figures on held-out clients, the protocol's test:
 * each client's last event is the target, the events before it (their
 * last max_len) its history; a target category the model does not know
 * is a miss.  The figures go into a metrics accumulator (metrics.h).
 */
#ifndef SS_EVALUATE_H
#define SS_EVALUATE_H

#include "metrics.h"
#include "train.h"

/*
 * Predicts the last event of each listed client (clients with fewer than
 * two events are skipped) and adds one query per client to m, repeat =
 * the target category occurs in the client's earlier events.  threads
 * batches run at once (ss_predict_batches).  cb->tick (may be NULL) runs
 * between batches on the calling thread and serves interrupts, as in
 * ss_train.  Returns the clients evaluated, or -1 when cancelled (an
 * interrupt the tick did not serve).
 */
int64_t		ss_evaluate_clients(const ss_dims *d, const float *params, const ss_dataset *data,
								const int32_t *clients, int n_clients, int max_len, int threads,
								const ss_train_callbacks *cb, ss_metrics *m);

#endif
