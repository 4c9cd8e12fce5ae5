/*
 * arch_impl.h - what an architecture file (gru4rec.c, lstm.c, ...) may use
 * of the engine: the workspace's buffers, the shared input encoder (the
 * embeddings and numerics of every event, the same in every architecture),
 * dropout masks and interrupt-aware copies.  Not for the engine's other
 * users: they see model.h and arch.h.
 */
#ifndef SS_ARCH_IMPL_H
#define SS_ARCH_IMPL_H

#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "interrupt.h"

/* elements of an initialisation or a dropout mask between two polls (interrupt.h) */
#define SS_POLL_ELEMENTS ((int64_t) 1 << 20)

/*
 * The workspace: SS_WS_SLOTS buffers that grow on demand and are kept
 * between passes; an architecture numbers them with its own enum.  The
 * fields after the buffers describe the last forward pass, for backward.
 */
struct ss_workspace
{
	void	   *buf[SS_WS_SLOTS];
	int64_t		cap[SS_WS_SLOTS];	/* bytes */
	int			sizing;			/* capacities only, nothing allocated */
	int			n_q;
	int			train;
	float		dropout;
};

/* buffer slot with at least bytes (NULL in a sizing workspace) */
void	   *ss_ws_get(ss_workspace *ws, int slot, int64_t bytes);

#define SS_WSF(ws, slot, n) ((float *) ss_ws_get((ws), (slot), (int64_t) sizeof(float) * (n)))

/* the buffer of a slot as it is (what forward left for backward) */
#define SS_WSBUF(ws, slot, type) ((type *) (ws)->buf[(slot)])

/*
 * Slot 0 holds zeros (a recurrent state before the first step): n floats,
 * zeroed whenever the slot grows.  An architecture numbers its own buffers
 * from 1.
 */
#define SS_WS_ZEROS 0
const float *ss_ws_zeros(ss_workspace *ws, int n);

/*
 * rows_at[t] = sequences still going at step t when the batch is longest
 * first (see ss_batch), else B; in slot (T + 1 int32).
 */
const int32_t *ss_ws_rows_at(ss_workspace *ws, int slot, const ss_batch *batch);

/*
 * The query rows of a batch: every position with a target (SS_QUERY_TARGETS)
 * or each sequence's last (SS_QUERY_LAST), sequence by sequence; qt / qb
 * hold T B + 1.  Returns their number.
 */
int			ss_queries_of(const ss_batch *batch, ss_query_mode mode, int32_t *qt, int32_t *qb);

/* dst = src (src NULL: zeros) over n floats, polling between slices */
void		ss_copy_floats(float *dst, const float *src, int64_t n);

/* a dropout mask of n elements with drop probability p (polls between slices) */
void		ss_draw_mask(float *mask, int64_t n, float p, ss_rng *rng);

/* in a loop over rows of n floats: 1 at every row ending some SS_POLL_ELEMENTS floats, if interrupted */
static inline int
ss_row_poll(int64_t i, int64_t n)
{
	int64_t		every = 1 + SS_POLL_ELEMENTS / n;

	return i % every == every - 1 && ss_interrupted();
}

/* x[i] = U(-bound, bound), polling (stops early when interrupted) */
void		ss_fill_uniform(float *x, int64_t n, float bound, ss_rng *rng);

/* an embedding table N(0, 1) with a zero padding row (PyTorch's nn.Embedding(padding_idx=0)) */
void		ss_init_embedding(float *table, int rows, int dim, ss_rng *rng);

/* ---------------------------------------------------------------- the input encoder */

/*
 * The embeddings of every event: tables cat_emb ((C + 2) x E0) and
 * feat_emb[j] ((V_j + 2) x E_j) first in every architecture's parameter
 * block, in this order; ss_encoder_layout takes them.
 */
typedef struct ss_encoder_params
{
	float	   *cat_emb;
	float	   *feat_emb[SS_MAX_FEATURES];
} ss_encoder_params;

/* binds (base != NULL) and counts the encoder's parameters from offset *off */
void		ss_encoder_layout(const ss_dims *d, float *base, int64_t *off, ss_encoder_params *p);
void		ss_encoder_init(const ss_dims *d, const ss_encoder_params *p, ss_rng *rng);

/*
 * x0[TB x D] = [E_cat(cat), E_1(f_1), .., E_F(f_F), num] of every position
 * (ids_slot: scratch of TB int32 for the feature ids).
 */
void		ss_encoder_forward(const ss_dims *d, const ss_encoder_params *p, const ss_batch *batch,
							   ss_workspace *ws, int ids_slot, float *x0);
/* the embeddings' gradients from dx0[TB x D] */
void		ss_encoder_backward(const ss_dims *d, const ss_encoder_params *g, const ss_batch *batch,
								ss_workspace *ws, int ids_slot, const float *dx0);

#endif
