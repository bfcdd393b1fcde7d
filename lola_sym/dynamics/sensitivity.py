r"""Differentiating through training: exact forward sensitivities of T learning steps.

Training runs :math:`\theta_{t+1} = \theta_t + D\, g(\theta_t; \eta)`, with
:math:`g = (g_1, \dots, g_n)` each player's rule direction and
:math:`D = \mathrm{diag}(\delta_1 I_{d_1}, \dots, \delta_n I_{d_n})` the steps.
For any parameter :math:`p` of the run (an initial logit, a step
:math:`\delta_i`, a rule's hyper-parameter :math:`\eta_i`) the sensitivity
:math:`J_t = \partial\theta_t/\partial p` obeys the forward recursion

.. math::

    J_{t+1} = J_t + D \Big(\frac{\partial g}{\partial\theta}(\theta_t) J_t
              + \frac{\partial g}{\partial p}\Big) + \frac{\partial D}{\partial p}\, g(\theta_t),
    \qquad J_0 = \partial\theta_0/\partial p,

(Griewank & Walther 2008, Ch. 3: forward mode through the unrolled loop), so the
outcome's gradient is :math:`\nabla V^i(\theta_T)^\top J_T` (final value) or
:math:`\sum_t \nabla V^i(\theta_t)^\top J_t` (summed along the run, as M-FOS's
meta-objective). Every factor is exact to rounding:

* :math:`\partial g/\partial\theta` is the compiled forward-mode Jacobian of the
  rule (:func:`lola_sym.analysis.jacobian.jacobian_function`);
* :math:`\partial g/\partial\eta` is the compiled directional derivative of the
  rule's program along its hyper-parameter (forward mode over the derivation,
  :meth:`Program.jvp <lola_sym.program.Program.jvp>`), one program per rule and
  hyper-parameter. Exact, where a complex step would need complex arithmetic in
  every backend and a finite difference loses half the digits;
* :math:`\nabla V^i` with respect to *every* player's parameters is the compiled
  reverse sweep of the value program (:func:`lola_sym.rules.gradients.gradient_program`).

Combined rules (SOS, SGA, CGD, Stackelberg) have no single program: their
:math:`\partial g/\partial\theta` is the central difference of
:mod:`lola_sym.analysis.jacobian`, and :math:`\partial g/\partial\eta` a central
difference of step :data:`FD_HYPER_STEP` (relative), both flagged in
:attr:`Sensitivity.finite_differences`. A player whose rule is ``None`` is
*static* (M-FOS's STATIC): :math:`g_i = 0`.

References
----------
.. [1] Griewank, A. and Walther, A. (2008). *Evaluating Derivatives*, 2nd ed.,
   SIAM, Ch. 3 (forward mode).
.. [2] Lu, C., Willi, T., Schroeder de Witt, C. and Foerster, J. (2022).
   Model-Free Opponent Shaping. ICML. arXiv:2205.01447 (MAMAML differentiates
   through 100 inner steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from lola_sym._validation import check_int, check_real
from lola_sym.analysis.jacobian import jacobian_function
from lola_sym.compile import default_backend
from lola_sym.field import UpdateField, update_field
from lola_sym.rules import get_rule
from lola_sym.rules.gradients import compiled_value_gradients

__all__ = ["Sensitivity", "train_sensitivity", "value_gradients", "hyper_derivative",
           "OUTCOMES", "FD_HYPER_STEP"]

#: What the differentiated outcome is: the final value of a player, or its sum / mean
#: over the steps before each update (t = 0 .. T-1).
OUTCOMES = ("final", "sum", "mean")
#: Relative central-difference step of d g / d eta for combined rules.
FD_HYPER_STEP = 1e-6


def _check_numeric(game):
    if getattr(game, "parameters", ()):
        raise ValueError(f"{game.name} has symbols {[s.name for s in game.parameters]}: "
                         f"substitute numbers first (game.substitute(...))")


def value_gradients(game, *thetas) -> np.ndarray:
    r"""Every player's value gradient in every player's parameters, shape ``(..., n, d)``.

    Row ``i`` is :math:`\nabla V^i` with respect to :math:`(\theta_1, \dots, \theta_n)`
    (compiled reverse mode).

    Examples
    --------
    >>> from lola_sym import games
    >>> value_gradients(games.hamiltonian(), [0.5], [2.0]).tolist()    # V1 = -xy = -V2
    [[-2.0, -0.5], [2.0, 0.5]]
    """
    _check_numeric(game)
    n, d = len(game.dims), sum(game.dims)
    ts = [np.asarray(t, dtype=float) for t in thetas]
    (flat,) = compiled_value_gradients(game, default_backend())(*ts)
    return flat.reshape(flat.shape[:-1] + (n, d))


@lru_cache(maxsize=None)
def _hyper_program(game, rule_name, name):
    from lola_sym.compile import default_backend
    from lola_sym.compile.cached import compiled_for
    from lola_sym.field import derive
    rule = get_rule(rule_name)
    sym = [s for s in rule.hyper_symbols if s.name == name][0]

    def build(g):
        prog, secs = derive(g, rule_name, ())
        ext, tangents = prog.jvp(prog.outputs, {sym: 1}, prefix="_dh")
        return ext.with_outputs(tangents).pruned(), secs
    fn, _ = compiled_for(game, f"sensitivity:d/d{name}:{rule_name}", build,
                         hyper=rule.hyper_symbols, n_out=tuple(game.dims),
                         backend=default_backend())
    return fn, rule


def hyper_derivative(game, rule, name, *thetas, **hyper) -> tuple:
    r""":math:`\partial g / \partial h` of ``rule``'s field for its hyper-parameter ``name``.

    Exact (compiled forward mode along ``name``) for rules with a program in it;
    a central difference (:data:`FD_HYPER_STEP`) for combined rules.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym import games
    >>> t = [np.array([0.3]), np.array([-0.2])]
    >>> d = hyper_derivative(games.matching_pennies(), "lola", "eta", *t, eta=0.5)
    >>> f = lambda e: update_field(games.matching_pennies(), "lola", eta=e)(*t)[0]
    >>> bool(abs(d[0][0] - (f(0.5 + 1e-6) - f(0.5 - 1e-6))[0] / 2e-6) < 1e-8)
    True
    """
    _check_numeric(game)
    r = get_rule(rule)
    if name not in r.hyper:
        raise ValueError(f"rule {r.name!r} has no hyper-parameter {name!r}; it takes "
                         f"{sorted(r.hyper)}")
    values = r.hyper_values(hyper)
    ts = [np.asarray(t, dtype=float) for t in thetas]
    if r.combine is not None or name not in r.compiled_hyper():
        h = FD_HYPER_STEP * max(1.0, abs(values[name]))
        up = update_field(game, r.name, **{**values, name: values[name] + h})(*ts)
        lo = update_field(game, r.name, **{**values, name: max(values[name] - h, 0.0)})(*ts)
        width = values[name] + h - max(values[name] - h, 0.0)
        return tuple((a - b) / width for a, b in zip(up, lo))
    fn, rule_ = _hyper_program(game, r.name, name)
    return tuple(fn(*ts, *(values[k] for k in rule_.compiled_hyper())))


@dataclass(frozen=True)
class Sensitivity:
    r"""The outcome of a training run and its exact gradient.

    Attributes
    ----------
    thetas : tuple of ndarray
        Each player's parameters after the last step, ``(..., d_i)``.
    outcome : ndarray
        ``(...)``: the differentiated outcome (:data:`OUTCOMES`) of player ``player``.
    d_theta0 : tuple of ndarray
        Its gradient in each player's initial parameters, ``(..., d_i)``.
    d_delta : ndarray
        ``(..., n)``: in each player's step :math:`\delta_i`.
    d_hyper : dict
        ``(player, name) -> (...)``: in each player's rule hyper-parameters (players 1-based).
    finite_differences : tuple of str
        The factors taken by central differences (combined rules), if any.
    """

    thetas: tuple
    outcome: np.ndarray
    d_theta0: tuple
    d_delta: np.ndarray
    d_hyper: dict = field(default_factory=dict)
    finite_differences: tuple = ()


def _per_player(x, n, name, check):
    if isinstance(x, (list, tuple)):
        if len(x) != n:
            raise ValueError(f"{name} must be one value or one per player ({n}), got {len(x)}")
        return [check(v) for v in x]
    return [check(x)] * n


def train_sensitivity(game, rules, thetas, *, steps: int, delta=1.0, hyper=None,
                      outcome: str = "final", player: int = 1) -> Sensitivity:
    r"""Train ``steps`` simultaneous steps and differentiate an outcome exactly (forward mode).

    Parameters
    ----------
    game
        A numeric game (no symbols).
    rules : sequence of str or None
        One rule name per player; ``None`` for a static player.
    thetas : sequence of array_like
        Initial parameters per player, ``(..., d_i)`` (batches broadcast).
    steps : int
        Number of updates :math:`T \ge 0`.
    delta : float or sequence of float
        Step of every player, or one per player (> 0).
    hyper : sequence of dict, optional
        Each player's rule hyper-parameters (defaults filled in).
    outcome : {"final", "sum", "mean"}
        :math:`V^i(\theta_T)`, :math:`\sum_{t<T} V^i(\theta_t)` or that sum over :math:`T`.
    player : int
        Whose value (1-based).

    Returns
    -------
    Sensitivity

    Raises
    ------
    ValueError
        Bad arguments, or a run that leaves the finite numbers.

    Examples
    --------
    One NL step on the bilinear game :math:`V^1 = -xy`: :math:`x_1 = x - \delta_1 y`,
    :math:`y_1 = y + \delta_2 x`, so :math:`V^1(\theta_1) = -(x - \delta_1 y)(y + \delta_2 x)`: at
    :math:`(1, 2)`, :math:`\delta = 1/2`, :math:`\partial V^1/\partial x = -y_1 - \delta x_1 = -2.5`,
    :math:`\partial V^1/\partial\delta_1 = y\, y_1 = 5`, :math:`\partial V^1/\partial\delta_2 = -x_1 x = 0`.

    >>> from lola_sym import games
    >>> s = train_sensitivity(games.hamiltonian(), ["nl", "nl"], [[1.0], [2.0]], steps=1,
    ...                       delta=0.5)
    >>> float(s.outcome) + 0.0, s.d_theta0[0].tolist(), s.d_delta.tolist()   # x_1 = 0
    (0.0, [-2.5], [5.0, 0.0])
    """
    _check_numeric(game)
    n, dims = len(game.dims), tuple(game.dims)
    d = sum(dims)
    if len(rules) != n or len(thetas) != n:
        raise ValueError(f"{game.name} has {n} players: give {n} rules and {n} parameter arrays")
    steps = check_int(steps, "steps", 0)
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if isinstance(player, bool) or not isinstance(player, (int, np.integer)) \
            or not 1 <= player <= n:
        raise ValueError(f"player must be an int in 1..{n}, got {player!r}")
    deltas = _per_player(delta, n, "delta", lambda v: check_real(v, "delta", positive=True))
    hyper = [{} for _ in range(n)] if hyper is None else [dict(h) for h in hyper]
    if len(hyper) != n:
        raise ValueError(f"hyper must hold one dict per player ({n}), got {len(hyper)}")
    fields: list[UpdateField | None] = []
    jacs: list[Callable | None] = []
    fd: list[str] = []
    for i, (r, h) in enumerate(zip(rules, hyper)):
        if r is None:
            if h:
                raise ValueError(f"player {i + 1} is static (rule None) and takes no "
                                 f"hyper-parameters, got {sorted(h)}")
            fields.append(None)
            jacs.append(None)
            continue
        rule = get_rule(r)
        hyper[i] = rule.hyper_values(h)
        fields.append(update_field(game, rule.name, **hyper[i]))
        jacs.append(jacobian_function(game, rule.name, **hyper[i]))
        if rule.combine is not None:
            fd.append(f"player {i + 1} ({rule.name}): dg/dtheta and dg/dhyper")
    ts = [np.asarray(t, dtype=float) for t in thetas]
    for i, (t, di) in enumerate(zip(ts, dims)):
        if t.ndim == 0 or t.shape[-1] != di:
            raise ValueError(f"theta{i + 1} must have shape (..., {di}), got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"theta{i + 1} holds non-finite values")
    batch = np.broadcast_shapes(*(t.shape[:-1] for t in ts))
    theta = np.concatenate([np.broadcast_to(t, batch + t.shape[-1:]) for t in ts], axis=-1)
    cols_h = [(i, k) for i in range(n) if rules[i] is not None for k in hyper[i]]
    C = d + n + len(cols_h)
    J = np.zeros(batch + (d, C))
    J[..., :, :d] = np.eye(d)
    bounds = np.cumsum((0,) + dims)
    rows = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
    dvec = np.concatenate([np.full(di, dl) for di, dl in zip(dims, deltas)])
    obj = np.zeros(batch)
    grad = np.zeros(batch + (C,))

    def split(z):
        return [z[..., r] for r in rows]

    def accumulate(z, J):
        parts = split(z)
        v = game.value(*parts)[..., player - 1]
        gv = value_gradients(game, *parts)[..., player - 1, :]
        return v, (gv[..., None, :] @ J)[..., 0, :]

    for step in range(steps):
        parts = split(theta)
        if outcome != "final":
            v, gj = accumulate(theta, J)
            obj, grad = obj + v, grad + gj
        G = np.zeros(batch + (d,))
        Jg = np.zeros(batch + (d, d))
        done: dict = {}                         # players sharing a rule share its evaluation
        for i in range(n):
            f, jac = fields[i], jacs[i]
            if f is None or jac is None:        # a static player (rule None): both are None
                continue
            key = (rules[i], tuple(sorted(hyper[i].items())))
            if key not in done:
                done[key] = (f(*parts), jac(*parts))
            g_all, J_all = done[key]
            G[..., rows[i]] = g_all[i]
            Jg[..., rows[i], :] = J_all[..., rows[i], :]
        dG = Jg @ J
        for c, (i, k) in enumerate(cols_h):
            dG[..., rows[i], d + n + c] += hyper_derivative(game, rules[i], k, *parts,
                                                            **hyper[i])[i]
        J = J + dvec[:, None] * dG
        for i in range(n):
            J[..., rows[i], d + i] += G[..., rows[i]]
        theta = theta + dvec * G
        if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(J))):
            raise ValueError(f"training left the finite numbers at step {step + 1}: lower delta")
    if outcome == "final":
        obj, grad = accumulate(theta, J)
    elif outcome == "mean" and steps:
        obj, grad = obj / steps, grad / steps
    d_hyper = {(i + 1, k): grad[..., d + n + c] for c, (i, k) in enumerate(cols_h)}
    return Sensitivity(tuple(split(theta)), obj, tuple(split(grad[..., :d])),
                       grad[..., d:d + n], d_hyper, tuple(fd))
