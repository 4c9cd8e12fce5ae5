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

/*
 * The next-order variant (PROTOCOL.md; a model trained with unit 'order'):
 * for each listed client with at least two orders (ss_row_starts_order),
 * history = the events of its earlier orders (their last max_len), targets
 * = the distinct categories of its last order; one set query per client
 * into m (ss_metrics_add_set: Hit@k, Recall@k, MRR@10).  A category
 * unknown to the model is a target always missed, counted once per
 * distinct category: category_id[r] (the source's category of row r, any
 * numbering) tells them apart; NULL: each unknown row is one.  Otherwise
 * as ss_evaluate_clients.
 */
int64_t		ss_evaluate_orders(const ss_dims *d, const float *params, const ss_dataset *data,
							   const int32_t *category_id, const int32_t *clients, int n_clients,
							   int max_len, int threads, const ss_train_callbacks *cb, ss_metrics *m);

#endif
