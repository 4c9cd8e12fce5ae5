/*
 * gru4rec.h - GRU4Rec with additive attention (gru4rec.c): its parameter
 * block, for the tests and the PyTorch cross-check.
 */
#ifndef SS_GRU4REC_H
#define SS_GRU4REC_H

#include "arch_impl.h"

#include "history.h"

extern const ss_arch ss_arch_gru4rec;
extern const ss_arch ss_arch_hybrid;

/* Pointers into one parameter (or gradient, or moment) block. */
typedef struct ss_gru4rec_params
{
	ss_encoder_params enc;		/* cat_emb (C + 2) x E0, feat_emb[j] (V_j + 2) x E_j */
	float	   *w_ih[SS_MAX_LAYERS];	/* 3H x D (layer 0) or 3H x H */
	float	   *w_hh[SS_MAX_LAYERS];	/* 3H x H */
	float	   *b_ih[SS_MAX_LAYERS];	/* 3H */
	float	   *b_hh[SS_MAX_LAYERS];	/* 3H */
	float	   *w_k;			/* A x H */
	float	   *b_k;			/* A */
	float	   *w_q;			/* A x H */
	float	   *v;				/* A */
	float	   *w_o;			/* C x 2H */
	float	   *b_o;			/* C */
	/* the hybrid only (NULL otherwise): its history head, then the frozen statistics */
	float	   *head;			/* SS_HIST_FEATURES, divided by SS_HEAD_SCALE (history.h) */
	ss_hist_stats stats;
} ss_gru4rec_params;


/* Points p's fields into base (which holds ss_param_count floats). */
void		ss_gru4rec_bind(const ss_dims *d, float *base, ss_gru4rec_params *p);

#endif
