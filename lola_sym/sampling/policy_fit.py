r"""Opponent modelling: maximum-likelihood policies from observed play.

A memory-``m`` player chooses action :math:`a` in its own-perspective state
:math:`s` with probability :math:`\pi_{s,a}`, independently at every visit, so
the log-likelihood of its observed actions separates per state and the
maximum-likelihood estimate is closed-form: the empirical frequencies (Sec. 4.4
of [1]_). With :math:`c_{s,a}` plays of :math:`a` in :math:`s` and pseudo-counts
:math:`\alpha_a` (a Dirichlet(:math:`\alpha`) prior), the logits with the last
action as the reference are

.. math::

    \hat\theta_{s,b} = \log (c_{s,b} + \alpha_b) - \log (c_{s,k-1} + \alpha_{k-1}),

for two actions :math:`\operatorname{logit} \frac{c + a}{n + a + b}` (cooperations
:math:`c` in :math:`n` visits, pseudo-counts :math:`(a, b)`). This is the MLE
for :math:`\alpha = 0`, and with the default :math:`\alpha = 1` (Laplace's
rule, the posterior mean under a uniform prior) finite even for unvisited
states (estimate 0) or states where the player always chose the same action.
Confidence intervals of each logit: posterior quantiles of
:math:`\pi_b / (\pi_b + \pi_{k-1}) \sim \text{Beta}(c_b + \alpha_b, c_{k-1} + \alpha_{k-1})`
(the Dirichlet's aggregation property) mapped through the logit (``"beta"``),
or Wald intervals on the logit scale,
:math:`\hat\theta \pm z \sqrt{1 / (c_b + \alpha_b) + 1 / (c_{k-1} + \alpha_{k-1})}`
(``"wald"``; for two actions :math:`z / \sqrt{(n + a + b)\,\hat p (1 - \hat p)}`).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv, expit, ndtri   # Beta and normal quantiles

from lola_sym._validation import check_real
from lola_sym.games.layout import STATES
from lola_sym.sampling.markov import check_player, sampling_game
from lola_sym.sampling.rollouts import Rollouts

__all__ = ["OpponentModel", "fit_policy", "model_opponent", "PRIOR"]

#: Default pseudo-counts (cooperations, defections) of a two-action player in every state:
#: Beta(1, 1); with ``k`` actions the default is one pseudo-count per action.
PRIOR = (1.0, 1.0)


@dataclass(frozen=True)
class OpponentModel:
    r"""Estimated logits of a policy from observed actions.

    Attributes
    ----------
    theta : ndarray, ``(*lead, S * (k - 1))``
        :math:`\log(c_{s,b} + \alpha_b) - \log(c_{s,k-1} + \alpha_{k-1})` per
        own-perspective state ``s`` and action ``b < k - 1``; for two actions
        :math:`\operatorname{logit}((c + a) / (n + a + b))` per state.
    counts : ndarray, ``(*lead, S, k)``
        Plays :math:`c_{s,a}` of each action in each state.
    prior : tuple of float
        Pseudo-counts :math:`\alpha_a` (for two actions :math:`(a, b)`).
    """

    theta: np.ndarray
    counts: np.ndarray
    prior: tuple

    @property
    def visits(self) -> np.ndarray:
        """Visits :math:`n_s` of each state, ``(*lead, S)``."""
        return self.counts.sum(axis=-1)

    @property
    def cooperations(self) -> np.ndarray:
        """Plays of the first action (C) in each state, ``(*lead, S)``."""
        return self.counts[..., 0]

    @property
    def probability(self) -> np.ndarray:
        """Estimated probability of the first action (C) in each state, ``(*lead, S)``."""
        k = self.counts.shape[-1]
        if k == 2:
            return expit(self.theta)
        return self.policy[..., 0]

    @property
    def policy(self) -> np.ndarray:
        """Estimated probability of every action in every state, ``(*lead, S, k)``."""
        S, k = self.counts.shape[-2:]
        x = self.theta.reshape(self.theta.shape[:-1] + (S, k - 1))
        z = np.concatenate([x, np.zeros(x.shape[:-1] + (1,))], axis=-1)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def _pseudo(self) -> tuple:
        """Pseudo-counted plays of each non-reference action and of the reference, per logit."""
        S, k = self.counts.shape[-2:]
        num = self.counts + np.array(self.prior)
        lead = num.shape[:-2]
        own = num[..., :k - 1].reshape(lead + (S * (k - 1),))
        ref = np.repeat(num[..., k - 1], k - 1, axis=-1)
        return own, ref

    def interval(self, level: float = 0.95, method: str = "beta") -> tuple:
        """Confidence interval ``(lo, hi)`` of each logit at ``level``.

        ``"beta"``: quantiles of the Beta(c_b + a_b, c_ref + a_ref) posterior
        through the logit (needs positive pseudo-counts); ``"wald"``: estimate
        plus or minus ``z`` standard errors on the logit scale.

        Examples
        --------
        >>> m = fit_policy([[0, 2, 4]], [[0, 1, 1]])
        >>> lo, hi = m.interval(0.95)
        >>> bool(lo[0] < m.theta[0] < hi[0]), bool(lo[1] > -1e9)    # unseen state: finite
        (True, True)
        """
        level = check_real(level, "level")
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        if not isinstance(method, str) or method not in ("beta", "wald"):
            raise ValueError(f"unknown interval method {method!r}; choose 'beta' or 'wald'")
        coop, defect = self._pseudo()    # pseudo-counted plays of the action and the reference
        if method == "wald":
            # se of the logit: 1 / sqrt((n + a + b) p (1 - p)) = sqrt(1 / coop + 1 / defect)
            with np.errstate(over="ignore", divide="ignore"):
                half = ndtri(0.5 + level / 2) * np.sqrt(1 / coop + 1 / defect)
            lo, hi = self.theta - half, self.theta + half
        else:
            if min(self.prior) <= 0:
                raise ValueError("beta intervals need positive pseudo-counts; use prior=(1, 1) "
                                 "or method='wald'")
            q = (1 - level) / 2
            # logit(x) = log(x) - log(1 - x) with 1 - x the complementary quantile of
            # Beta(defect, coop), accurate even when x rounds to 0 or 1
            with np.errstate(divide="ignore"):
                lo = np.log(betaincinv(coop, defect, q)) - np.log(betaincinv(defect, coop, 1 - q))
                hi = np.log(betaincinv(coop, defect, 1 - q)) - np.log(betaincinv(defect, coop, q))
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"the {method} interval of the logits is beyond double precision at "
                             f"pseudo-counts prior={self.prior}; use pseudo-counts nearer 1"
                             + (" or method='wald'" if method == "beta" else ""))
        return lo, hi


def _check_prior(prior, k: int) -> tuple:
    """``k`` non-negative pseudo-counts (default one per action)."""
    if prior is None:
        return (1.0,) * k
    try:
        values = tuple(prior)
    except TypeError:
        values = None
    if values is None or len(values) != k:
        what = "a pair of pseudo-counts (a, b)" if k == 2 else f"{k} pseudo-counts (one per action)"
        raise ValueError(f"prior must be {what}, got {prior!r}")
    return tuple(check_real(v, f"prior[{i}]", nonnegative=True) for i, v in enumerate(values))


def _from_counts(counts, prior, labels) -> OpponentModel:
    k = counts.shape[-1]
    num = counts + np.array(prior)                   # never n + a + b: it may overflow
    degenerate = (num == 0).any(axis=-1)
    if np.any(degenerate):
        lead_axes = tuple(range(degenerate.ndim - 1))
        visits = counts.sum(axis=-1)
        unseen = np.any(degenerate & (visits == 0), axis=lead_axes)
        bad = np.any(degenerate, axis=lead_axes)
        some = "one action only" if k == 2 else "an action never played"
        names = ", ".join(f"{labels[s]} ({'never visited' if unseen[s] else some})"
                          for s in range(len(bad)) if bad[s])
        raise ValueError(f"infinite maximum-likelihood logits in states {names}; "
                         f"use positive pseudo-counts, e.g. prior={(1.0,) * k}")
    lead, S = counts.shape[:-2], counts.shape[-2]
    theta = (np.log(num[..., :k - 1]) - np.log(num[..., k - 1:])).reshape(lead + (S * (k - 1),))
    return OpponentModel(theta, counts, tuple(prior))


def fit_policy(states, actions, mask=None, prior=None, *, n_states: int = 5,
               n_actions: int = 2, labels=None) -> OpponentModel:
    r"""Estimate a policy's logits from one player's own states and actions.

    Parameters
    ----------
    states, actions : array_like of int, ``(*lead, batch, T)``
        Own-perspective state index (0 = s0, ...) and action of the modelled
        player at every step (for 2x2 memory-1 games states 0..4 = s0, CC, CD,
        DC, DD and actions 0 = C, 1 = D).
    mask : array_like of bool, optional
        Steps to use (default all).
    prior : sequence of float, optional
        Pseudo-counts added in every state, one per action (default 1 each;
        for two actions the pair of cooperations and defections).
    n_states, n_actions : int
        The player's numbers of states and actions (default: memory-1, two actions).
    labels : sequence of str, optional
        State names for messages (default ``s0, CC, CD, DC, DD`` or ``state i``).

    Examples
    --------
    >>> m = fit_policy([[0, 1, 1, 1]], [[0, 0, 0, 1]], prior=(1, 1))
    >>> m.visits, m.cooperations
    (array([1., 3., 0., 0., 0.]), array([1., 2., 0., 0., 0.]))
    >>> m.theta.round(4)        # logit(2/3), logit(3/5), then 0 for unseen states
    array([0.6931, 0.4055, 0.    , 0.    , 0.    ])
    >>> fit_policy([[0, 1]], [[0, 0]], prior=(0, 0))
    Traceback (most recent call last):
    ...
    ValueError: infinite maximum-likelihood logits in states s0 (one action only), CC (one action only), CD (never visited), DC (never visited), DD (never visited); use positive pseudo-counts, e.g. prior=(1.0, 1.0)
    """
    S, k = int(n_states), int(n_actions)
    prior = _check_prior(prior, k)
    if labels is None:
        labels = STATES if S == 5 and k == 2 else tuple(f"state {s}" for s in range(S))
    st, ac = np.asarray(states), np.asarray(actions)
    for name, arr, hi, kinds in (("states", st, S - 1, "iu"), ("actions", ac, k - 1, "iub")):
        if arr.dtype.kind not in kinds:
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if arr.ndim < 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty array of shape (..., batch, T)")
        if arr.min() < 0 or arr.max() > hi:
            raise ValueError(f"{name} must lie in 0..{hi}, got values in {arr.min()}..{arr.max()}")
    if st.shape != ac.shape:
        raise ValueError(f"states and actions must have the same shape; got {st.shape} and {ac.shape}")
    m = np.ones(st.shape, dtype=bool) if mask is None else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"mask must hold booleans (True = use the step), got dtype {m.dtype}")
    if m.shape != st.shape:
        raise ValueError(f"mask must have shape {st.shape}, got {m.shape}")
    lead = st.shape[:-2] if st.ndim >= 2 else ()
    points = int(np.prod(lead))
    code = (st.astype(np.intp) * k + ac.astype(np.intp)).reshape(points, -1)
    code = code + (S * k) * np.arange(points)[:, None]
    counts = np.bincount(code[m.reshape(points, -1)], minlength=points * S * k)
    return _from_counts(counts.astype(float).reshape(lead + (S, k)), prior, labels)


def model_opponent(ro: Rollouts, agent: int = 2, prior=None) -> OpponentModel:
    """Estimate agent ``agent``'s logits from its actions in the rollouts (own perspective).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> from lola_sym.sampling.rollouts import rollout
    >>> theta2 = np.array([1.0, 0.5, -0.5, 0.0, -1.0])
    >>> ro = rollout(games.ipd(), np.zeros(5), theta2, batch=4000, horizon=20, seed=0)
    >>> bool(np.all(np.abs(model_opponent(ro).theta - theta2) < 0.1))
    True
    """
    if not isinstance(ro, Rollouts):
        raise TypeError(f"expected Rollouts from lola_sym.sampling.rollouts.rollout, got "
                        f"{type(ro).__name__}")
    a = check_player(agent, ro.n_players)
    g = sampling_game(ro.game)
    return fit_policy(ro.states[a - 1], ro.actions[a - 1], ro.mask, prior,
                      n_states=g.space.n_states(a - 1), n_actions=g.actions[a - 1],
                      labels=g.state_labels(a))
