/*
 * optim.h - Adam (PyTorch semantics: betas 0.9 / 0.999, eps 1e-8, bias
 * correction, no weight decay) and gradient-norm clipping.
 */
#ifndef SS_OPTIM_H
#define SS_OPTIM_H

#include <stdint.h>

typedef struct ss_adam
{
	int64_t		n;
	float	   *m;
	float	   *v;
	int64_t		step;
	float		step_size,		/* lr / (1 - beta1^step), set by ss_adam_begin */
				inv_sqrt_bc2;	/* 1 / sqrt(1 - beta2^step) */
	float		lr,
				beta1,
				beta2,
				eps;
} ss_adam;

/* n parameters; the moments are written by the first step (not zeroed here) */
ss_adam    *ss_adam_new(int64_t n, float lr);
void		ss_adam_free(ss_adam *opt);
void		ss_adam_step(ss_adam *opt, float *params, const float *grads);

/*
 * The same step in parts (for several threads): ss_adam_begin counts the
 * step and its bias corrections, then ss_adam_apply updates [lo, hi) of
 * the parameters; parts may run at the same time.
 */
void		ss_adam_begin(ss_adam *opt);
void		ss_adam_apply(const ss_adam *opt, float *params, const float *grads,
						  int64_t lo, int64_t hi);

/*
 * Scales grads so that their global L2 norm is at most max_norm (as
 * torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6)).
 * Returns the norm before clipping.
 */
double		ss_clip_grad_norm(float *grads, int64_t n, double max_norm);

/*
 * The clipping factor for gradients whose squares sum to sum_squares:
 * max_norm / (norm + 1e-6) when below 1, else 1 (ss_clip_grad_norm's, for
 * callers that sum the squares in parts).
 */
float		ss_clip_coef(double sum_squares, double max_norm);

/* sum of squares of grads[0 .. n) (double lanes), and grads *= c */
double		ss_sum_squares(const float *grads, int64_t n);
void		ss_scale(float *grads, int64_t n, float c);

#endif
