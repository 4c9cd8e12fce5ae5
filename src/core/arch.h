/*
 * arch.h - the architecture interface: what a model family gives the
 * engine, and nothing more.
 *
 * The training loop, windows, sampling, validation, prediction, metrics
 * and the blob know a model only through this table; each architecture is
 * one file (gru4rec.c, lstm.c, counting.c) that fills one ss_arch and
 * registers it in arch.c.  What an architecture file may use of the
 * engine (the workspace's buffers, the shared input encoder, dropout and
 * interrupt helpers) is in arch_impl.h.
 *
 *   check        optional: a dimension it cannot serve (ss_dims_finish)
 *   layout       its parameter block: count, and pointers into it (the
 *                file's own struct; the engine only sees param_count)
 *   init         the initial parameters, from a seeded stream
 *   forward      logits (or scores, see output) of query rows of a batch
 *   backward     gradients of those logits into a gradient block
 *   pass_bytes   the bytes every workspace buffer needs for a pass of a
 *                given shape: the activation estimate, used to grow a
 *                workspace before a pass runs on a worker thread and by the
 *                training's memory estimate
 *   blob_id      its number in the weight blob (models/FORMAT.md)
 */
#ifndef SS_ARCH_H
#define SS_ARCH_H

#include <stdint.h>

#include "model.h"

struct ss_dataset;

/* bytes per workspace buffer: an architecture numbers its buffers 0 .. SS_WS_SLOTS - 1 */
#define SS_WS_SLOTS 96

typedef enum ss_output_kind
{
	SS_OUTPUT_LOGITS,			/* prediction applies a softmax */
	SS_OUTPUT_SCORES			/* non-negative scores: probability = score / sum */
} ss_output_kind;

typedef struct ss_arch
{
	const char *name;			/* its SQL name: architecture => 'gru4rec' */
	const char *description;	/* one line, for errors and documentation */
	uint32_t	blob_id;		/* models/FORMAT.md */
	ss_output_kind output;

	/*
	 * 1: the model sees a whole window (a bidirectional encoder sees its
	 * future), so each training target gets its own window ending just
	 * before it and carrying only that target; 0: causal, windows carry
	 * every target after their first event (train.h, ss_window).
	 */
	int			one_target_per_window;

	/*
	 * NULL, or a check of the dimensions beyond ss_dims_finish's common
	 * ranges: NULL when it can serve them, else why not (a static message)
	 */
	const char *(*check) (const ss_dims *d);
	int64_t		(*param_count) (const ss_dims *d);
	void		(*init) (const ss_dims *d, float *params, ss_rng *rng);
	/*
	 * NULL, or what a trained model counts on the fitting clients before its
	 * first step (frozen parameters: statistics its forward pass reads and
	 * its backward pass never gives a gradient, history.h)
	 */
	void		(*prepare) (const ss_dims *d, const struct ss_dataset *data, const int32_t *fit,
							int n_fit, float *params);
	/* floats of the packed-weight scratch of a pass (its largest weight, see packed.h) */
	int64_t		(*pack_floats) (const ss_dims *d);
	void		(*pass_bytes) (const ss_dims *d, const ss_pass_shape *s, int with_backward,
							   int64_t bytes[SS_WS_SLOTS]);
	/* as ss_model_forward / ss_model_backward (model.h) */
	int			(*forward) (const ss_dims *d, const float *params, const ss_batch *batch,
							ss_query_mode mode, float dropout, ss_rng *rng, ss_workspace *ws,
							float **logits, const int32_t **qt, const int32_t **qb);
	void		(*backward) (const ss_dims *d, const float *params, const ss_batch *batch,
							 const float *dlogits, ss_workspace *ws, float *grads);

	/*
	 * Counted models (no gradients: backward is NULL): the parameters from
	 * the fitting clients' events in one pass.  Returns NULL, or a message
	 * (a dimension it cannot serve); sets *interrupted when cut short.
	 */
	const char *(*fit) (const ss_dims *d, const struct ss_dataset *data, const int32_t *fit,
						int n_fit, float *params);
} ss_arch;

/* The architecture of dims (d->arch); never NULL for finished dims. */
const ss_arch *ss_arch_of(const ss_dims *d);

/* By SQL name, or NULL; *id receives its ss_arch_id. */
const ss_arch *ss_arch_by_name(const char *name, int *id);

/* By blob id, or NULL; *id receives its ss_arch_id. */
const ss_arch *ss_arch_by_blob_id(uint32_t blob_id, int *id);

/*
 * The architecture that trains as id with unit (ss_unit, train.h): id
 * itself, except markov with unit 'order', which is markov_order (its own
 * fit, scoring and blob id: counting.h).
 */
int			ss_arch_for_unit(int id, int unit);

/* "gru4rec, lstm, ..." : every name, for hints */
const char *ss_arch_names(void);

#endif
