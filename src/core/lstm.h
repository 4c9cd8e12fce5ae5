/*
 * lstm.h - the bidirectional LSTM with additive attention (lstm.c): its
 * parameter block, for the tests and the PyTorch cross-check.
 */
#ifndef SS_LSTM_H
#define SS_LSTM_H

#include "arch_impl.h"

extern const ss_arch ss_arch_lstm;

/*
 * Pointers into one parameter (or gradient, or moment) block.  Direction 0
 * runs forward in time, 1 backward (PyTorch's "_reverse" parameters); the
 * input of layer l > 0 is the layer below's [forward; backward] output.
 */
typedef struct ss_lstm_params
{
	ss_encoder_params enc;		/* cat_emb (C + 2) x E0, feat_emb[j] (V_j + 2) x E_j */
	float	   *w_ih[SS_MAX_LAYERS][2]; /* 4H x D (layer 0) or 4H x 2H; gates i, f, g, o */
	float	   *w_hh[SS_MAX_LAYERS][2]; /* 4H x H */
	float	   *b_ih[SS_MAX_LAYERS][2]; /* 4H */
	float	   *b_hh[SS_MAX_LAYERS][2]; /* 4H */
	float	   *w_k;			/* A x 2H */
	float	   *b_k;			/* A */
	float	   *w_q;			/* A x 2H */
	float	   *v;				/* A */
	float	   *w_o;			/* C x 4H, on [context; query] */
	float	   *b_o;			/* C */
} ss_lstm_params;

/* Points p's fields into base (which holds ss_param_count floats). */
void		ss_lstm_bind(const ss_dims *d, float *base, ss_lstm_params *p);

#endif
