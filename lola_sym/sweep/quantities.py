r"""What a sweep measures in each cell, at the end of the run and along it.

Each quantity has a name, its extra dimensions beyond the grid's, its dtype
and a rule for computing it from a :class:`~lola_sym.dynamics.training.Trajectory`.
End-of-run quantities of a run that diverged are NaN (floats): it reached no
end point; ``diverged_at`` says when it left the bound (``-1``: never), as
:func:`lola_sym.train` with ``on_divergence="mark"`` records it.

``reward``
    Average reward per step :math:`(1-\gamma) V_i` of every agent at the end
    (the value itself for one-shot games); dimension ``agent``.
``value``
    The discounted value :math:`V_i` at the end; dimension ``agent``.
``distance``
    Distance of the final parameters to the game's target
    (:func:`lola_sym.dynamics.compare.target_distance`: ``"tft"`` for the IPD,
    ``"nash"`` for matching pennies and the one-shot games whose Nash set is
    known).
``tft``
    1.0 when an agent's final policy meets the TFT criterion of the LOLA paper
    (:func:`lola_sym.games.outcomes.tft_like`), else 0.0; dimension ``agent``.
    Its mean over seeds and agents is the fraction TFT-like of Table 3.
``diverged_at``
    The update at which the run diverged, ``-1`` if it never did (int).
``converged_at``
    The first update :math:`t` from which every later step is small,
    :math:`\max_i \lVert \theta_i^{s+1} - \theta_i^{s} \rVert_\infty \le`
    ``converge_tol`` for all :math:`s \ge t`; ``-1`` if the last step is
    larger (or the run diverged, or has no steps) (int).
``ftle``
    The largest finite-time Lyapunov exponent of the run,
    :math:`\frac{1}{T} \log \lVert DF_{T-1} \cdots DF_0\, v \rVert` with
    :math:`DF_t = I + \operatorname{diag}(\delta) J(\theta_t)` the exact Jacobian
    of the learning map along the run's own path
    (:class:`~lola_sym.analysis.lyapunov.LearningMap`) and
    :math:`v = (1, \dots, 1) / \sqrt d`, renormalised every step; positive
    means nearby runs separate (chaos, issue 14). Self-play, simultaneous steps.
``theta``
    The final parameters, the fixed point reached when ``converged_at >= 0``;
    dimensions ``agent`` and ``param`` (agents with fewer parameters than the
    largest are padded with NaN).

Along the run (``along=``), every ``record_every`` updates and at the end:
``reward_path``, ``distance_path`` and ``theta_path``, with a dimension
``step`` (NaN from the update at which the run diverged).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Table 3 (average reward, TFT-like share, Nash distance).
"""

from __future__ import annotations

import numpy as np

from lola_sym.dynamics.compare import target_distance
from lola_sym.games.outcomes import tft_like

__all__ = ["QUANTITIES", "ALONG", "DESCRIPTIONS", "extra_dims", "compute", "converged_at",
           "recorded_steps", "default_quantities", "check_quantity", "ftle_along"]

#: End-of-run quantities and their extra dimensions (beyond the grid's).
QUANTITIES = {"reward": ("agent",), "value": ("agent",), "distance": (), "tft": ("agent",),
              "diverged_at": (), "converged_at": (), "ftle": (),
              "theta": ("agent", "param")}

#: Quantities that can also be recorded along the run (stored as ``<name>_path``).
ALONG = ("reward", "distance", "theta")

#: One line per quantity, stored in the dataset's variable attributes.
DESCRIPTIONS = {
    "reward": "average reward per step (1 - gamma) V_i at the end (NaN: diverged)",
    "value": "discounted value V_i at the end (NaN: diverged)",
    "distance": "distance of the final parameters to the target (attribute 'target')",
    "tft": "1 if the agent's final policy is TFT-like (Foerster et al. 2018), else 0",
    "diverged_at": "update at which the run diverged, -1 if it never did",
    "converged_at": "first update from which every step is at most converge_tol, -1 if none",
    "theta": "final parameters (NaN: diverged; padded with NaN beyond an agent's own)",
    "ftle": "largest finite-time Lyapunov exponent along the run (exact Jacobians; NaN: "
            "diverged)",
}

_INT = ("diverged_at", "converged_at")


def check_quantity(game, name: str, target) -> None:
    """Refuse a quantity ``game`` cannot give, saying why (ValueError).

    Examples
    --------
    >>> from lola_sym import games
    >>> check_quantity(games.ipd(), "tft", "tft")
    >>> check_quantity(games.tandem(), "tft", "nash")
    Traceback (most recent call last):
    ...
    ValueError: quantity 'tft' needs a 2x2 iterated game with memory-1 policies (five logits per agent); Tandem has dims (1, 1)
    """
    if name not in QUANTITIES:
        raise ValueError(f"unknown quantity {name!r}; choose from {sorted(QUANTITIES)}")
    if name == "tft" and (game.dims != (5, 5) or getattr(game, "gamma", None) is None):
        raise ValueError(f"quantity 'tft' needs a 2x2 iterated game with memory-1 policies (five "
                         f"logits per agent); {game.name} has dims {game.dims}")
    if name == "distance":
        if target is None:
            raise ValueError(f"quantity 'distance' needs a target: {game.name} has no known "
                             f"one; pass target='tft' or 'nash' where it applies, or drop "
                             f"'distance'")
        target_distance(game, target, *(np.zeros((1, d)) for d in game.dims))


def default_quantities(game, target) -> tuple:
    """The quantities measured on ``game`` when none are named.

    Examples
    --------
    >>> from lola_sym import games
    >>> default_quantities(games.ipd(), "tft")
    ('reward', 'distance', 'tft', 'diverged_at', 'converged_at')
    >>> default_quantities(games.tandem(), "nash")
    ('reward', 'distance', 'diverged_at', 'converged_at', 'theta')
    """
    out = ["reward"]
    if target is not None:
        out.append("distance")
    if target == "tft":
        out.append("tft")
    out += ["diverged_at", "converged_at"]
    if sum(game.dims) <= 4:                  # small games: the end point itself is telling
        out.append("theta")
    return tuple(out)


def extra_dims(name: str) -> tuple:
    """Dimensions of quantity ``name`` beyond the grid's (``step`` first along the run).

    Examples
    --------
    >>> extra_dims("distance"), extra_dims("value"), extra_dims("theta_path")
    ((), ('agent',), ('step', 'agent', 'param'))
    """
    if name.endswith("_path"):
        return ("step",) + QUANTITIES[name[:-5]]
    return QUANTITIES[name]


def dtype_of(name: str):
    return np.int64 if name in _INT else np.float64


def recorded_steps(steps: int, every: int) -> np.ndarray:
    """The updates at which quantities are recorded along the run: 0, every, ..., and the end.

    Examples
    --------
    >>> recorded_steps(10, 4)
    array([ 0,  4,  8, 10])
    """
    s = np.arange(0, steps + 1, every)
    return s if s[-1] == steps else np.append(s, steps)


def converged_at(thetas, tol: float, diverged_at) -> np.ndarray:
    r"""First update from which every step is at most ``tol`` (max norm), ``-1`` if none.

    ``thetas``: one array ``(steps + 1, runs, d_i)`` per agent.

    Examples
    --------
    >>> x = np.array([0.0, 1.0, 1.5, 1.5, 1.5])[:, None, None]
    >>> converged_at([x], 1e-9, np.array([-1]))
    array([2])
    """
    steps = thetas[0].shape[0] - 1
    runs = thetas[0].shape[1]
    if steps == 0:
        return np.full(runs, -1, dtype=np.int64)
    move = np.max([np.max(np.abs(np.diff(t, axis=0)), axis=-1) for t in thetas], axis=0)
    big = move > tol                                         # (steps, runs)
    # last step that was big; converged from the one after it (if that is not the end)
    last_big = np.where(big.any(axis=0), steps - 1 - np.argmax(big[::-1], axis=0), -1)
    out = (last_big + 1).astype(np.int64)
    out[(out >= steps) | (np.asarray(diverged_at) >= 0)] = -1
    return out


def _padded(arrays) -> np.ndarray:
    """Per-agent arrays ``(..., d_i)`` stacked on a new agent axis, padded with NaN."""
    d = max(a.shape[-1] for a in arrays)
    out = np.full(arrays[0].shape[:-1] + (len(arrays), d), np.nan)
    for i, a in enumerate(arrays):
        out[..., i, :a.shape[-1]] = a
    return out


def _end(game, name, tr, params, target):
    final = [t[-1] for t in tr.thetas]
    if name == "reward":
        return tr.reward[-1]
    if name == "value":
        return np.asarray(game.value(*final, **params), dtype=float)
    if name == "distance":
        return target_distance(game, target, *final)
    if name == "tft":
        return np.stack([tft_like(t) for t in final], axis=-1).astype(float)
    if name == "theta":
        return _padded(final)
    if name == "ftle":
        return ftle_along(game, tr, params)
    raise ValueError(f"unknown quantity {name!r}")


def ftle_along(game, tr, params) -> np.ndarray:
    r"""The largest finite-time Lyapunov exponent of each run of ``tr`` along its own path.

    Examples
    --------
    >>> from lola_sym import games, train
    >>> tr = train(games.matching_pennies(), "lola", runs=2, steps=200, eta=1.0, seed=0)
    >>> bool(np.all(ftle_along(games.matching_pennies(), tr, {}) < 0))   # LOLA converges
    True
    """
    from lola_sym.analysis.lyapunov import LearningMap
    F = LearningMap(game, tr.rules[0], tr.delta, parameters=params or None, **tr.hyper[0])
    x = np.concatenate([np.asarray(t, dtype=float) for t in tr.thetas], axis=-1)
    steps, runs, d = x.shape[0] - 1, x.shape[1], x.shape[2]
    if steps == 0:
        return np.zeros(runs)
    v = np.full((runs, d), 1.0 / np.sqrt(d))
    total = np.zeros(runs)
    with np.errstate(all="ignore"):          # diverged runs: NaN, reported as diverged
        for t in range(steps):
            v = np.einsum("rij,rj->ri", F.jacobian(x[t]), v)
            n = np.linalg.norm(v, axis=-1)
            total += np.log(n)
            v = v / n[:, None]
    return total / steps


def compute(game, tr, names, along, every, params, target, tol) -> dict:
    """Every requested quantity of a trajectory, as arrays ``(runs, *extra_dims)``.

    ``names``: end-of-run quantities; ``along``: those recorded every ``every``
    updates (as ``<name>_path``).

    Parameters
    ----------
    game : game
    tr : Trajectory
        A run of :func:`lola_sym.train` (``on_divergence="mark"``).
    names, along : sequence of str
        Names from :data:`QUANTITIES` and :data:`ALONG`.
    every : int
        Updates between records along the run (:func:`recorded_steps`).
    params : dict
        Values of the game's symbols (``{}`` for a numeric game).
    target : str or None
        The target of ``distance`` (``"tft"``, ``"nash"``).
    tol : float
        The ``converge_tol`` of ``converged_at``.

    Examples
    --------
    Matching pennies is one-shot, so the final reward (recorded by training) is
    the value at the final parameters (computed again from the game), and the
    last recorded distance is the final one:

    >>> from lola_sym import games, train
    >>> from lola_sym.dynamics.compare import target_distance
    >>> g = games.matching_pennies()
    >>> tr = train(g, "nl", runs=3, steps=5, seed=0, on_divergence="mark")
    >>> q = compute(g, tr, ("reward", "value", "theta", "diverged_at"), ("distance",), 2,
    ...             {}, "nash", 1e-6)
    >>> {k: v.shape for k, v in q.items()}, recorded_steps(5, 2).tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    ({'reward': (3, 2), 'value': (3, 2), 'theta': (3, 2, 1), 'diverged_at': (3,),
      'distance_path': (3, 4)}, [0, 2, 4, 5])
    >>> bool(np.allclose(q["reward"], q["value"], rtol=1e-12, atol=0)), q["diverged_at"]
    (True, array([-1, -1, -1]))
    >>> final = [t[-1] for t in tr.thetas]
    >>> bool(np.array_equal(q["theta"][:, 1, 0], final[1][:, 0]))
    True
    >>> bool(np.allclose(q["distance_path"][:, -1], target_distance(g, "nash", *final)))
    True
    """
    out = {}
    dead = tr.diverged
    for name in names:
        if name == "diverged_at":
            out[name] = tr.diverged_at.astype(np.int64)
        elif name == "converged_at":
            out[name] = converged_at(tr.thetas, tol, tr.diverged_at)
        else:
            v = np.array(_end(game, name, tr, params, target), dtype=float)
            v[dead] = np.nan
            out[name] = v
    if along:
        steps = recorded_steps(tr.steps, every)
        late = (tr.diverged_at[None, :] >= 0) & (steps[:, None] >= tr.diverged_at[None, :])
        for name in along:
            if name == "reward":
                v = tr.reward[steps]                                   # (k, runs, n)
            elif name == "distance":
                v = target_distance(game, target, *(t[steps] for t in tr.thetas))
            else:
                v = _padded([t[steps] for t in tr.thetas])
            v = np.array(v, dtype=float)
            v[late] = np.nan
            out[name + "_path"] = np.moveaxis(v, 0, 1)                 # (runs, k, ...)
    return out
