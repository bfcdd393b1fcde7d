"""Named outcome criteria on policies: TFT-like play in the IPD, distance to IMP's Nash.

The LOLA paper reports the share of runs that end "TFT-like" in the IPD and the
distance to the mixed Nash equilibrium in IMP (Foerster et al. 2018, Table 3);
these are the documented criteria, shared by the reproduction, comparisons and
the policy-gradient checks.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from lola_sym.games.layout import policy

__all__ = ["tft_like", "nash_distance"]

_TFT_SIGN = np.sign(policy("tft", 1.0))   # +1 where TFT cooperates, own perspective


def tft_like(theta) -> np.ndarray:
    """Whether each policy (last axis = 5 logits) meets the documented TFT criterion.

    Examples
    --------
    >>> tft_like(np.stack([policy("tft", 2.0), policy("alld", 2.0)]))
    array([ True, False])
    """
    theta = np.asarray(theta, dtype=float)
    return np.all(np.sign(theta) == _TFT_SIGN, axis=-1)


def nash_distance(theta1, theta2) -> np.ndarray:
    """Largest ``|p - 1/2|`` over both agents' policy probabilities (IMP's Nash: all 1/2).

    Examples
    --------
    A logit of :math:`\\log 3` is the probability 3/4:

    >>> import numpy as np
    >>> round(float(nash_distance(np.zeros(5), np.array([0, 0, 0, 0, np.log(3)]))), 12)
    0.25
    """
    p = expit(np.concatenate([np.asarray(theta1), np.asarray(theta2)], axis=-1))
    return np.max(np.abs(p - 0.5), axis=-1)
