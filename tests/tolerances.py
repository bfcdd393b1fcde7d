"""Named tolerances for the test suite, scaled to machine epsilon where possible."""

import numpy as np

#: float64 machine epsilon
EPS = float(np.finfo(np.float64).eps)

#: compiled field vs the independent mpmath reference, relative to the largest entry
#: (issue 2: 1e-10 at |theta| <= 6)
RTOL_REFERENCE = 1e-10

#: compiled field vs the exact program evaluated at 50 digits (pure rounding: ~1e3 eps)
RTOL_EXACT_EVAL = 1e3 * EPS

#: closed-form value vs a truncated sum of the Markov chain to horizon T (gamma^T tail)
RTOL_TRUNCATED = 1e-9

#: saturated named policies (logit 30): sigmoid(30) = 1 - 9.4e-14 moves (1-gamma)V by < 1e-10
ATOL_SATURATED = 1e-10

#: Monte-Carlo checks: half-width of the confidence interval in standard errors
Z_MC = 4.0

#: one-step training maps vs field evaluation (identical arithmetic up to summation order)
ATOL_ONE_STEP = 1e-12

#: statistics of the LOLA paper's Table 3 (issue 2): |ours - paper| allowed for the IPD means
TOL_IPD_LOLA_MEAN = 0.06
TOL_IPD_NL_MEAN = 0.05
#: IMP LOLA-Ex: std of agent 1's average reward below this
MAX_IMP_LOLA_STD = 0.05

#: llvm vs numpy backends on the same program (issue 5: 1e-10 relative)
RTOL_BACKENDS = 1e-10

#: saturated logits |theta| <= 30: per-entry relative error vs the reference (issue 5)
RTOL_SATURATED = 1e-8

#: known fixed points make every rule's field vanish (issue 4)
ATOL_FIXED_POINT = 1e-12

#: exact (compiled forward-mode) Jacobian vs central finite differences of the compiled
#: field with step 1e-6: truncation O(h^2 |g'''|) + rounding O(eps |g| / h) ~ 1e-9
RTOL_JACOBIAN_FD = 1e-7

#: exact learning-rate threshold vs bisection of the spectral radius and vs lr_threshold
#: (measured worst: 6.5e-14 over 20 game x rule cases x 60 rates)
RTOL_THRESHOLD_BISECTION = 1e-9
