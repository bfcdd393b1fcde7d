r"""M-FOS's meta-learning baselines, by exact differentiation through training.

Both optimise player 1's start against naive learners by gradient ascent (Adam)
on the exact gradient of its reward summed over an inner run of training
(:func:`lola_sym.dynamics.sensitivity.train_sensitivity`, forward sensitivities
through every step):

* **MAMAML** (M-FOS's improved meta-MAPG, ``generate_mamaml`` in
  ``src/environments.py`` of ``luchris429/Model-Free-Opponent-Shaping``): learned
  initial logits :math:`\phi` and a learned step :math:`\alpha` of player 1, which
  then learns naively (step :math:`\alpha`) against a naive learner (step
  ``inner_lr`` = 1) started at :math:`N(0, 1)` logits; the objective is player 1's
  value summed over the 100 inner steps, before each update. M-FOS's settings:
  :math:`\phi \sim N(0, 1)`, :math:`\alpha \sim U(0, 1)`, Adam with rate 0.01,
  1000 iterations, 100 inner steps, batch ``b`` (8192 in ``main_non_mfos.py``).
  Here the objective is the batch *mean* (M-FOS sums over the batch; Adam is
  invariant to that scale up to its :math:`\epsilon`), and :math:`\alpha` is kept
  :math:`\ge` :data:`ALPHA_MIN` (M-FOS leaves it free; a negative step would be
  ascent on the opponent's side of the objective).
* **The Good Shepherd reference** (Balaguer et al. 2022): the best *static*
  policy against a naive learner over T steps, the same objective with player 1
  not learning (M-FOS's STATIC player).

References
----------
.. [1] Lu, C., Willi, T., Schroeder de Witt, C. and Foerster, J. (2022).
   Model-Free Opponent Shaping. ICML. arXiv:2205.01447, Sec. 5 (baselines);
   luchris429/Model-Free-Opponent-Shaping @ 3efb169, src/environments.py
   (``generate_mamaml``) and src/main_non_mfos.py.
.. [2] Kim, D.-K. et al. (2021). A Policy Gradient Algorithm for Learning to
   Learn in Multiagent Reinforcement Learning (Meta-MAPG). ICML.
.. [3] Balaguer, J. et al. (2022). The Good Shepherd: An Oracle Agent for
   Mechanism Design. arXiv:2202.10135.
.. [4] Kingma, D. and Ba, J. (2015). Adam. ICLR (the update, torch's defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.dynamics.sensitivity import train_sensitivity

__all__ = ["MetaResult", "mamaml", "good_shepherd", "MFOS_MAMAML", "ALPHA_MIN", "Adam"]

#: M-FOS's MAMAML settings (src/environments.py, generate_mamaml; batch from
#: src/main_non_mfos.py): Adam rate, iterations, inner steps, opponent's step, std of
#: the opponents' initial logits, batch.
MFOS_MAMAML: dict[str, Any] = dict(outer_lr=0.01, iterations=1000, inner_steps=100,
                                   inner_lr=1.0, init_std=1.0, batch=8192)
#: Smallest learned step alpha kept by :func:`mamaml`.
ALPHA_MIN = 1e-6


class Adam:
    """Adam ascent on a flat parameter vector (torch's defaults: betas 0.9, 0.999, eps 1e-8).

    Examples
    --------
    >>> opt = Adam(0.1)
    >>> x = np.array([1.0])
    >>> for _ in range(200):
    ...     x = opt.step(x, -2 * x)          # ascent on -x^2
    >>> bool(abs(x[0]) < 0.05)
    True
    """

    def __init__(self, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.lr = check_real(lr, "lr", positive=True)
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = self.v = None
        self.t = 0

    def step(self, x, grad):
        """``x`` moved up the gradient ``grad``; a new array."""
        grad = np.asarray(grad, dtype=float)
        if self.m is None:
            self.m, self.v = np.zeros_like(grad), np.zeros_like(grad)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        mh = self.m / (1 - self.b1 ** self.t)
        vh = self.v / (1 - self.b2 ** self.t)
        return x + self.lr * mh / (np.sqrt(vh) + self.eps)


@dataclass(frozen=True)
class MetaResult:
    """A learned start of player 1.

    Attributes
    ----------
    theta0 : ndarray
        Player 1's learned initial parameters.
    alpha : float or None
        The learned step (MAMAML), None for a static policy.
    history : ndarray
        The objective (player 1's value averaged over the inner steps and the batch)
        at every iteration, before its update.
    parameters : dict
    """

    theta0: np.ndarray
    alpha: float | None
    history: np.ndarray
    parameters: dict = field(default_factory=dict)


def _settings(game, inner_steps, batch, iterations, outer_lr, inner_lr, init_std, seed,
              progress):
    if len(game.dims) != 2:
        raise ValueError(f"the M-FOS baselines are two-player; {game.name} has "
                         f"{len(game.dims)} players")
    out = dict(inner_steps=check_int(inner_steps, "inner_steps", 1),
               batch=check_int(batch, "batch", 1),
               iterations=check_int(iterations, "iterations", 0),
               outer_lr=check_real(outer_lr, "outer_lr", positive=True),
               inner_lr=check_real(inner_lr, "inner_lr", positive=True),
               init_std=check_real(init_std, "init_std", nonnegative=True))
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return out, rng


def mamaml(game, *, inner_steps: int = MFOS_MAMAML["inner_steps"],
           batch: int = MFOS_MAMAML["batch"], iterations: int = MFOS_MAMAML["iterations"],
           outer_lr: float = MFOS_MAMAML["outer_lr"], inner_lr: float = MFOS_MAMAML["inner_lr"],
           init_std: float = MFOS_MAMAML["init_std"], seed=0, progress=None) -> MetaResult:
    r"""MAMAML: learn player 1's initial logits and step through ``inner_steps`` of training.

    Parameters
    ----------
    game
        A numeric two-player game; player 1 is the meta-learner.
    inner_steps, batch, iterations, outer_lr, inner_lr, init_std
        M-FOS's settings (:data:`MFOS_MAMAML`).
    seed : int or numpy.random.Generator
        Source of :math:`\phi_0`, :math:`\alpha_0` and the opponents' starts.
    progress : callable, optional
        ``progress(done, total)`` after every iteration.

    Returns
    -------
    MetaResult

    Examples
    --------
    >>> from lola_sym import games
    >>> res = mamaml(games.ipd(), inner_steps=3, batch=4, iterations=2)
    >>> res.theta0.shape, res.history.shape
    ((5,), (2,))
    """
    s, rng = _settings(game, inner_steps, batch, iterations, outer_lr, inner_lr, init_std,
                       seed, progress)
    d1, d2 = game.dims
    phi = rng.normal(0.0, 1.0, d1)
    alpha = max(float(rng.uniform()), ALPHA_MIN)
    opt = Adam(s["outer_lr"])
    history = []
    for it in range(s["iterations"]):
        opp = rng.normal(0.0, s["init_std"], (s["batch"], d2))
        sens = train_sensitivity(game, ["nl", "nl"], [phi, opp], steps=s["inner_steps"],
                                 delta=[alpha, s["inner_lr"]], outcome="mean", player=1)
        history.append(float(np.mean(sens.outcome)))
        grad = np.r_[sens.d_theta0[0].mean(axis=0), np.mean(sens.d_delta[..., 0])]
        x = opt.step(np.r_[phi, alpha], grad)
        phi, alpha = x[:d1], max(float(x[d1]), ALPHA_MIN)
        if progress is not None:
            progress(it + 1, s["iterations"])
    return MetaResult(phi, alpha, np.array(history), {**s, "game": game.name})


def good_shepherd(game, *, inner_steps: int = MFOS_MAMAML["inner_steps"],
                  batch: int = MFOS_MAMAML["batch"], iterations: int = MFOS_MAMAML["iterations"],
                  outer_lr: float = MFOS_MAMAML["outer_lr"],
                  inner_lr: float = MFOS_MAMAML["inner_lr"],
                  init_std: float = MFOS_MAMAML["init_std"], seed=0,
                  progress=None) -> MetaResult:
    r"""The best static policy of player 1 against a naive learner over ``inner_steps`` steps.

    Same settings and objective as :func:`mamaml`, with player 1 not learning.

    Examples
    --------
    >>> from lola_sym import games
    >>> res = good_shepherd(games.ipd(), inner_steps=3, batch=4, iterations=2)
    >>> res.alpha is None, res.theta0.shape
    (True, (5,))
    """
    s, rng = _settings(game, inner_steps, batch, iterations, outer_lr, inner_lr, init_std,
                       seed, progress)
    d1, d2 = game.dims
    phi = rng.normal(0.0, 1.0, d1)
    opt = Adam(s["outer_lr"])
    history = []
    for it in range(s["iterations"]):
        opp = rng.normal(0.0, s["init_std"], (s["batch"], d2))
        sens = train_sensitivity(game, [None, "nl"], [phi, opp], steps=s["inner_steps"],
                                 delta=[1.0, s["inner_lr"]], outcome="mean", player=1)
        history.append(float(np.mean(sens.outcome)))
        phi = opt.step(phi, sens.d_theta0[0].mean(axis=0))
        if progress is not None:
            progress(it + 1, s["iterations"])
    return MetaResult(phi, None, np.array(history), {**s, "game": game.name})
