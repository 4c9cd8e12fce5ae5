/*
 * model.h - a model of any architecture (arch.h): its dimensions, the
 * padded batch it reads, its workspace, and the forward / backward pass
 * over a batch, dispatched to the architecture of the dimensions.  The
 * parameters of a model are one contiguous float block, laid out by its
 * architecture (documented in models/FORMAT.md); gradients and the
 * optimiser's moments are blocks of the same layout.
 */
#ifndef SS_MODEL_H
#define SS_MODEL_H

#include <stdint.h>

#include "rng.h"

#define SS_MAX_FEATURES 32
#define SS_MAX_LAYERS 4
#define SS_MAX_NUMERIC 256		/* numeric inputs: 255 columns and the gap feature */
#define SS_N_RESERVED 2			/* embedding ids: 0 = padding, 1 = unknown */

/* The architectures (arch.h); their numbers in a blob are their blob_id. */
typedef enum ss_arch_id
{
	SS_ARCH_GRU4REC = 0,		/* GRU4Rec + additive attention (gru4rec.c) */
	SS_ARCH_LSTM,				/* bidirectional LSTM + attention (lstm.c) */
	SS_ARCH_POPULARITY,			/* counting baselines (counting.c) */
	SS_ARCH_CLIENT_FREQUENCY,
	SS_ARCH_MARKOV,
	SS_ARCH_RANKER,				/* multinomial logit over history features (ranker.c) */
	SS_ARCH_HYBRID,				/* GRU4Rec + attention + history head (gru4rec.c) */
	SS_ARCH_MARKOV_ORDER,		/* markov trained with unit 'order' (counting.h) */
	SS_N_ARCHS
} ss_arch_id;

typedef struct ss_dims
{
	int			arch;			/* ss_arch_id */
	int			n_classes;		/* C: known categories (output classes) */
	int			n_features;		/* F: categorical features */
	int			n_numeric;		/* N: numeric inputs (z-scored) */
	int			hidden;			/* H */
	int			layers;			/* L */
	int			attn;			/* A: attention size */
	int			feature_vocab[SS_MAX_FEATURES]; /* known values per feature */
	int			emb_dim[SS_MAX_FEATURES + 1];	/* [0] category, [1+j] feature j */
	int			input_dim;		/* D */
} ss_dims;

/*
 * Inputs of the first recurrent layer that an architecture adds to the
 * encoder's (the hybrid's order structure: whether the event continues the
 * previous one's order, and its position in its order).
 */
#define SS_ORDER_INPUTS 2
static inline int
ss_extra_inputs(int arch)
{
	return arch == SS_ARCH_HYBRID ? SS_ORDER_INPUTS : 0;
}

/* Embedding size rule of the reference: max(1, floor(scale * min(50, 1.6 n^0.56) + 0.5)) */
int			ss_embedding_dim(int n_values, double scale);

/*
 * Fills emb_dim and input_dim from the other fields; returns NULL or an
 * error message when a dimension is out of range.
 */
const char *ss_dims_finish(ss_dims *d, double emb_scale);

/* Number of floats of a parameter block. */
int64_t		ss_param_count(const ss_dims *d);

/* The architecture's initialisation (PyTorch's defaults for its modules). */
void		ss_params_init(const ss_dims *d, float *base, ss_rng *rng);

/* 1: trained by gradient steps; 0: counted (arch.h, fit) */
int			ss_model_trained_by_gradient(const ss_dims *d);

/*
 * A padded batch, time-major (row p = t * B + b): B sequences of
 * lengths[b] <= T events; positions past a sequence's end hold id 0.
 * target[p] >= 0 marks a position whose next category is a training target.
 * When lengths never increase with b (longest first, as ss_fill_batch
 * places them), the recurrent steps run only on the sequences still going:
 * rows_at(t) = #{b : lengths[b] > t}; otherwise every step runs all B rows.
 * origin[b] is free for the filler to say where sequence b came from.
 */
typedef struct ss_batch
{
	int			B,
				T;
	int32_t    *lengths;		/* B */
	int32_t    *origin;			/* B, see above */
	int32_t    *cat;			/* TB: category embedding ids */
	int32_t    *feat;			/* TB x F: feature embedding ids */
	float	   *num;			/* TB x N */
	int32_t    *target;			/* TB: class of the next event, -1 = none */
	/*
	 * TB: 1 where the event starts an order (its time differs from the
	 * client's previous event's, or it is the client's first), 0 where it
	 * continues the previous event's order.  Only history: nothing of a
	 * target event.
	 */
	uint8_t    *order_start;
	/* TB: 1 where the target (the next event) ends its order or the history (loss weighting) */
	uint8_t    *target_ends;
	/* B: the client's key (history.h; 0 = none): a client is never its own neighbour */
	uint32_t   *client_key;
} ss_batch;

ss_batch   *ss_batch_new(const ss_dims *d, int max_B, int max_T);
void		ss_batch_free(ss_batch *b);

/* Activations and scratch of one forward/backward pass; grows on demand. */
typedef struct ss_workspace ss_workspace;

ss_workspace *ss_workspace_new(void);
/* floats of the workspace's packed-weight scratch (see packed.h) */
int64_t		ss_pack_floats(const ss_dims *d);
void		ss_workspace_free(ss_workspace *ws);
/* bytes currently held */
int64_t		ss_workspace_bytes(const ss_workspace *ws);

/*
 * Grows every buffer to what a training forward + backward pass
 * (with_backward) over this batch needs, so that the pass itself allocates
 * nothing and may run on a worker thread.
 */
void		ss_workspace_reserve(ss_workspace *ws, const ss_dims *d, const ss_batch *batch,
								 int with_backward);
/* The same for ss_predict_batch (a query at the last event of each sequence). */
void		ss_workspace_reserve_predict(ss_workspace *ws, const ss_dims *d, const ss_batch *batch);

/*
 * The shape of a pass, as far as the workspace's sizes go: B sequences
 * padded to T positions (TB = B x T), n_q query rows with n_alpha
 * attention weights in all (the sum over queries of their position + 1).
 */
typedef struct ss_pass_shape
{
	int64_t		B,
				T,
				TB,
				n_q,
				n_alpha;
} ss_pass_shape;

/*
 * Grows ws as ss_workspace_reserve (with_backward) or a forward pass in
 * eval mode (the validation's, without) over a batch of this shape would.
 */
void		ss_workspace_reserve_shape(ss_workspace *ws, const ss_dims *d,
									   const ss_pass_shape *s, int with_backward);

/*
 * A workspace that allocates nothing: its capacities grow as a real one's
 * (ss_workspace_bytes, ss_workspace_allocations), to size one in advance.
 * Not for passes.
 */
ss_workspace *ss_workspace_new_sizing(void);
/* allocations held, the buffers and the workspace itself; their bytes to *bytes */
int			ss_workspace_allocations(const ss_workspace *ws, int64_t *bytes);

typedef enum ss_query_mode
{
	SS_QUERY_TARGETS,			/* every position with target >= 0 (training) */
	SS_QUERY_LAST				/* the last position of every sequence */
} ss_query_mode;

/*
 * Forward pass.  With dropout > 0 and rng != NULL, dropout masks are drawn
 * (training); otherwise none.  Returns the number of query rows; their
 * logits (n_q x C) are at *logits, the query positions at *qt / *qb.
 */
int			ss_model_forward(const ss_dims *d, const float *params,
							 const ss_batch *batch, ss_query_mode mode,
							 float dropout, ss_rng *rng, ss_workspace *ws,
							 float **logits, const int32_t **qt,
							 const int32_t **qb);

/*
 * Backward pass after ss_model_forward in SS_QUERY_TARGETS mode, given
 * dlogits (n_q x C, may be the logits buffer itself); accumulates into the
 * gradient block grads.
 */
void		ss_model_backward(const ss_dims *d, const float *params,
							  const ss_batch *batch, const float *dlogits,
							  ss_workspace *ws, float *grads);

#endif
