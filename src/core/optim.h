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
	float		lr,
				beta1,
				beta2,
				eps;
} ss_adam;

ss_adam    *ss_adam_new(int64_t n, float lr);
void		ss_adam_free(ss_adam *opt);
void		ss_adam_step(ss_adam *opt, float *params, const float *grads);

/*
 * Scales grads so that their global L2 norm is at most max_norm (as
 * torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6)).
 * Returns the norm before clipping.
 */
double		ss_clip_grad_norm(float *grads, int64_t n, double max_norm);

#endif
