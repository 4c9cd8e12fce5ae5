/*
 * gradcheck.h - finite-difference checks of analytic gradients.
 */
#ifndef SS_GRADCHECK_H
#define SS_GRADCHECK_H

#include <stdint.h>

/* loss as a function of the current contents of the checked arrays */
typedef double (*loss_fn) (void *ctx);

/*
 * Compares grad[i] with (loss(x + eps e_i) - loss(x - eps e_i)) / (2 eps)
 * for up to max_checks entries of x (spread over the array).  Returns the
 * worst error, measured as |a - n| / max(|a|, |n|, floor, 0.01 max|grad|).
 */
double		gradcheck(const char *name, float *x, const float *grad, int64_t n,
					  loss_fn loss, void *ctx, double eps, int max_checks, double floor);

#endif
