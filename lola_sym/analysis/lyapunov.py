r"""Finite-time Lyapunov exponents of learning maps, from exact Jacobians.

For a map :math:`F` and a trajectory :math:`x_{t+1} = F(x_t)`, the
finite-time Lyapunov exponents over :math:`T` steps are the growth rates
:math:`\lambda_i = \frac1T \log \sigma_i(DF(x_{T-1}) \cdots DF(x_0))` of the
product of the map's Jacobians. They are computed without forming the product
(which overflows) by the QR method of Benettin et al. (1980) and Shimada &
Nagashima (1979): an orthonormal frame :math:`Q_0 = I` is carried along,
:math:`DF(x_t) Q_t = Q_{t+1} R_t` (QR), and
:math:`\lambda_i = \frac1T \sum_t \log |(R_t)_{ii}|`.

For learning, :math:`F(\theta) = \theta + \operatorname{diag}(\delta)\, g(\theta)`
with the rule's field :math:`g` and one rate per agent (a common rate
:math:`\delta` or :math:`(\delta_1, \dots, \delta_n)`), so
:math:`DF = I + \operatorname{diag}(\delta) J` with the exact field Jacobian
:math:`J` (:mod:`lola_sym.analysis.jacobian`). :class:`LearningMap` builds this
map on flat parameter vectors (the agents' parameters concatenated);
:func:`lyapunov_exponents` takes it, or any ``(step, jacobian)`` pair of
callables on arrays of shape ``(runs, d)``, and integrates many runs at once.

A largest exponent above 0 means nearby starts separate exponentially
(chaos, for a bounded trajectory); below 0 that the trajectory converges to a
stable orbit; near 0 a neutral direction (a limit cycle's phase, or logits
drifting to infinity where the field vanishes).

References
----------
.. [1] Benettin, G., Galgani, L., Giorgilli, A. and Strelcyn, J.-M. (1980).
   Lyapunov characteristic exponents for smooth dynamical systems and for
   Hamiltonian systems; a method for computing all of them. Meccanica 15.
.. [2] Shimada, I. and Nagashima, T. (1979). A numerical approach to ergodic
   problem of dissipative dynamical systems. Prog. Theor. Phys. 61(6).
.. [3] Ott, E. (2002). *Chaos in Dynamical Systems*, 2nd ed., Cambridge, Sec. 4.4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lola_sym._validation import as_numeric_array, check_game, check_int

__all__ = ["LearningMap", "Lyapunov", "lyapunov_exponents", "learning_ftle"]


class LearningMap:
    r"""The learning map :math:`F(\theta) = \theta + \operatorname{diag}(\delta) g(\theta)`.

    On flat parameter vectors ``x`` of shape ``(runs, d)`` (the agents'
    parameters concatenated, agent 1 first), with its exact Jacobian
    :math:`I + \operatorname{diag}(\delta) J`.

    Parameters
    ----------
    game, rule
        As in :func:`lola_sym.update_field`.
    delta : float or sequence of float
        The common rate, or one rate per agent (:math:`\delta_1 \ne \delta_2`),
        or one per coordinate (:func:`~lola_sym.analysis.stability.rate_vector`).
    parameters : mapping, optional
        Values of the game's symbols.
    **hyper
        The rule's hyper-parameters (e.g. ``eta``).

    Examples
    --------
    >>> from lola_sym import games
    >>> F = LearningMap(games.hamiltonian(), "nl", 0.1)
    >>> F.step(np.array([[1.0, 0.0]])).tolist()      # g = (-y, x)
    [[1.0, 0.1]]
    >>> F.jacobian(np.array([[1.0, 0.0]]))[0].tolist()
    [[1.0, -0.1], [0.1, 1.0]]
    """

    def __init__(self, game, rule, delta=1.0, *, parameters=None, backend=None, **hyper):
        from lola_sym.analysis.jacobian import jacobian_function
        from lola_sym.analysis.stability import rate_vector
        from lola_sym.field import update_field
        check_game(game)
        self.game, self.dims = game, tuple(game.dims)
        self.dim = sum(self.dims)
        self.rates = rate_vector(delta, self.dim, self.dims)          # one per coordinate
        self.deltas = (tuple(float(x) for x in np.ravel(delta)) if np.ndim(delta) else
                       (float(delta),) * len(self.dims))
        self.parameters = dict(parameters or {})
        self.field = update_field(game, rule, backend=backend, **hyper)
        self._J = jacobian_function(game, rule, backend=backend, parameters=self.parameters,
                                    **hyper)
        self.rule, self.hyper = self.field.rule.name, dict(hyper)
        self._bounds = np.cumsum((0,) + self.dims)

    def split(self, x) -> tuple:
        """The agents' parameter arrays of flat vectors ``x`` (``(..., d)``)."""
        return tuple(x[..., lo:hi] for lo, hi in zip(self._bounds[:-1], self._bounds[1:]))

    def join(self, thetas) -> np.ndarray:
        """Flat vectors from one array per agent."""
        return np.concatenate([np.asarray(t, dtype=float) for t in thetas], axis=-1)

    def direction(self, x) -> np.ndarray:
        """The field :math:`g(x)`, shape ``(..., d)`` (NaN where it is undefined)."""
        return np.concatenate(self.field(*self.split(x), failed="nan", **self.parameters),
                              axis=-1)

    def step(self, x) -> np.ndarray:
        r""":math:`F(x) = x + \operatorname{diag}(\delta) g(x)`."""
        return x + self.rates * self.direction(x)

    def jacobian(self, x) -> np.ndarray:
        r""":math:`DF(x) = I + \operatorname{diag}(\delta) J(x)`, shape ``(..., d, d)``."""
        return np.eye(self.dim) + self.rates[:, None] * self._J(*self.split(x))


@dataclass(frozen=True)
class Lyapunov:
    r"""Finite-time Lyapunov exponents of many runs (the result of :func:`lyapunov_exponents`).

    Attributes
    ----------
    exponents : ndarray, shape (runs, k)
        The :math:`k` largest exponents of each run, in decreasing order
        (natural log per step). NaN for a run that diverged (see ``diverged``).
    steps : int
        Steps over which they were accumulated (after ``transient``).
    transient : int
        Steps run before accumulating.
    final : ndarray, shape (runs, d)
        The last point of each trajectory (its last finite one if it diverged).
    diverged_at : ndarray of int, shape (runs,)
        The step at which a run left ``max_abs`` or became non-finite, -1 if never.
    """

    exponents: np.ndarray
    steps: int
    transient: int
    final: np.ndarray
    diverged_at: np.ndarray

    @property
    def largest(self) -> np.ndarray:
        """The largest exponent of each run, shape ``(runs,)``."""
        return self.exponents[:, 0]

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask of the runs that diverged (their exponents are NaN)."""
        return self.diverged_at >= 0

    @property
    def kaplan_yorke(self) -> np.ndarray:
        r"""The Kaplan-Yorke dimension :math:`j + \sum_{i \le j}\lambda_i / |\lambda_{j+1}|`.

        :math:`j` is the largest index with a non-negative partial sum (0 if
        :math:`\lambda_1 < 0`; :math:`k` if every partial sum is non-negative).
        """
        out = np.full(self.exponents.shape[0], np.nan)
        for r, lam in enumerate(self.exponents):
            if not np.all(np.isfinite(lam)):
                continue
            c = np.cumsum(lam)
            j = int(np.sum(c >= 0)) if c[0] >= 0 else 0
            if j == 0:
                out[r] = 0.0
            elif j >= lam.size:
                out[r] = float(lam.size)
            else:
                out[r] = j + c[j - 1] / abs(lam[j])
        return out


def lyapunov_exponents(step, jacobian, x0, steps: int, *, k: int | None = None,
                       transient: int = 0, max_abs: float = np.inf,
                       on_divergence: str = "mark") -> Lyapunov:
    r"""Finite-time Lyapunov exponents of a map along many trajectories at once.

    Parameters
    ----------
    step : callable or LearningMap
        ``step(x) -> x_next`` on arrays of shape ``(runs, d)``; or a
        :class:`LearningMap` (or any object with ``step`` and ``jacobian``
        methods), in which case ``jacobian`` must be None.
    jacobian : callable or None
        ``jacobian(x) -> (runs, d, d)``, the map's Jacobian :math:`DF(x)`.
    x0 : array_like, shape (runs, d) or (d,)
        Starting points.
    steps : int
        Steps over which the exponents are averaged (>= 1).
    k : int, optional
        How many exponents (the largest ``k``; default all ``d``). ``k = 1``
        carries a single renormalised vector.
    transient : int
        Steps run first (the frame is carried along, nothing is accumulated),
        so that the exponents describe the attractor, not the approach.
    max_abs : float
        A run whose point leaves this magnitude or becomes non-finite counts
        as diverged: it is frozen and its exponents are NaN.
    on_divergence : {"mark", "raise"}
        Mark such runs (``diverged_at``) or raise ``ValueError``.

    Returns
    -------
    Lyapunov

    Examples
    --------
    A linear map has the logarithms of its eigenvalues' moduli:

    >>> A = np.array([[2.0, 1.0], [0.0, 0.5]])
    >>> res = lyapunov_exponents(lambda x: x @ A.T, lambda x: np.broadcast_to(A, (len(x), 2, 2)),
    ...                          [1.0, 1.0], 200)
    >>> bool(np.allclose(res.exponents[0], np.log([2.0, 0.5]), atol=0.01))
    True
    """
    if jacobian is None:
        if not (hasattr(step, "step") and hasattr(step, "jacobian")):
            raise TypeError("give step and jacobian callables, or a LearningMap (an object "
                            "with step and jacobian methods) and jacobian=None")
        step, jacobian = step.step, step.jacobian
    elif not (callable(step) and callable(jacobian)):
        raise TypeError("step and jacobian must be callables (x -> x_next, x -> DF(x))")
    x = as_numeric_array(x0, "x0", "biuf").astype(float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"x0 must have shape (runs, d) or (d,), got {np.shape(x0)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite")
    runs, d = x.shape
    steps = check_int(steps, "steps", 1)
    transient = check_int(transient, "transient", 0)
    k = d if k is None else check_int(k, "k", 1)
    if k > d:
        raise ValueError(f"k must be at most the dimension d = {d}, got {k}")
    if not (isinstance(max_abs, (int, float)) and max_abs > 0):
        raise ValueError(f"max_abs must be a number > 0 (inf for no bound), got {max_abs!r}")
    if on_divergence not in ("mark", "raise"):
        raise ValueError(f"on_divergence must be 'mark' or 'raise', got {on_divergence!r}")
    Q = np.broadcast_to(np.eye(d)[:, :k], (runs, d, k)).copy()
    logs = np.zeros((runs, k))
    diverged_at = np.full(runs, -1, dtype=int)
    alive = np.ones(runs, dtype=bool)
    for t in range(transient + steps):
        with np.errstate(over="ignore", invalid="ignore"):
            D = np.asarray(jacobian(x), dtype=float)
            if D.shape != (runs, d, d):
                raise ValueError(f"jacobian(x) must have shape (runs, d, d) = {(runs, d, d)}, "
                                 f"got {D.shape}")
            new = np.asarray(step(x), dtype=float)
            if new.shape != x.shape:
                raise ValueError(f"step(x) must keep the shape {x.shape}, got {new.shape}")
            M = D @ Q
        bad = alive & ~(np.all(np.isfinite(new) & (np.abs(new) <= max_abs), axis=1)
                        & np.all(np.isfinite(M), axis=(1, 2)))
        if bad.any():
            if on_divergence == "raise":
                raise ValueError(f"run(s) {np.flatnonzero(bad)[:10].tolist()} diverged at step "
                                 f"{t + 1} (non-finite or beyond max_abs={max_abs:g}); pass "
                                 f"on_divergence='mark' or a smaller rate")
            diverged_at[bad] = t + 1
            alive &= ~bad
        M[~alive] = Q[~alive]
        q, r = np.linalg.qr(M)
        diag = np.abs(np.diagonal(r, axis1=1, axis2=2))
        if t >= transient:
            with np.errstate(divide="ignore"):
                logs[alive] += np.log(diag[alive])
        Q = q
        x = np.where(alive[:, None], new, x)
    lam = logs / steps
    lam[~alive] = np.nan
    lam = -np.sort(-lam, axis=1)
    return Lyapunov(lam, steps, transient, x, diverged_at)


def learning_ftle(game, rule, *, delta=1.0, runs: int = 100, steps: int = 200, seed=0,
                  init_std: float = 1.0, thetas=None, k: int | None = 1, transient: int = 0,
                  max_abs: float = 1e4, parameters=None, **hyper) -> Lyapunov:
    r"""Finite-time Lyapunov exponents of ``rule``'s learning map on ``game``.

    The starts are :math:`\theta \sim N(0, \text{init\_std}^2)` drawn as
    :func:`lola_sym.train` draws them (same ``seed``, same runs), or given as
    ``thetas`` (one ``(runs, d_i)`` array per agent); the map is
    :class:`LearningMap` (``delta`` a common rate or one per agent).

    Examples
    --------
    >>> from lola_sym import games
    >>> res = learning_ftle(games.matching_pennies(), "lola", delta=1.0, eta=1.0, runs=3,
    ...                     steps=300)
    >>> bool(np.all(res.largest < 0))           # LOLA converges on matching pennies
    True
    """
    from lola_sym.dynamics.training import initial_parameters
    F = LearningMap(game, rule, delta, parameters=parameters, **hyper)
    if thetas is None:
        thetas = initial_parameters(game, check_int(runs, "runs", 1), seed, init_std, max_abs)
    elif len(thetas) != len(F.dims):
        raise ValueError(f"thetas must hold one (runs, d_i) array per agent ({len(F.dims)})")
    return lyapunov_exponents(F, None, F.join(thetas), steps, k=k, transient=transient,
                              max_abs=max_abs)
