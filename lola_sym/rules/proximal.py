r"""The proximal step of POLA, solved numerically from exact compiled derivatives.

POLA (Zhao et al. 2022) replaces LOLA's gradient step by a proximal step. With
the opponent :math:`j` taking a naive step of size :math:`\eta` (the exact-value
IPD experiment of the reference code, ``LOLA_exact.py``,
``update_th_exact_value_outer_exact_prox``), agent :math:`i`'s new logits are

.. math::

    \theta_i^+ = \arg\max_x \; J_i(x), \qquad
    J_i(x) = V^i\big(x, \theta_j + \eta \nabla_j V^j(x, \theta_j)\big)
             - \beta\, D\big(\pi_i(\theta_i) \,\|\, \pi_i(x)\big),

with :math:`D = \sum_s w_s\, \mathrm{KL}(\pi_{i,s}(\theta_i) \| \pi_{i,s}(x))` the KL
between the old and new per-state policies, unweighted (:math:`w_s = 1`, the
reference's ``kl_div(..., reduction='batchmean')`` over a batch of one) or
visitation-weighted (``--visitation_weighted_kl``: :math:`w_s = p_s / (S \sum_r p_r)`
with :math:`p` the discounted state visitation and the start state counted once).

The gradient of the first term is the exact-LOLA direction
(:mod:`lola_sym.rules.exact`) at :math:`(x, \theta_j)`, and its Hessian the
:math:`(i, i)` block of that field's exact Jacobian; both are compiled and
*injected* here (this module is below the compiler's driver,
:mod:`lola_sym.field`, which builds the :class:`ProximalField`). For a state's
free logits :math:`x_s` (softmax with the last action as reference 0) and old
probabilities :math:`q_s`,

.. math::

    \nabla_{x_s} \mathrm{KL}(q_s \| \pi_s(x)) = \pi_s' - q_s', \qquad
    \nabla^2_{x_s} = \mathrm{diag}(\pi_s') - \pi_s' \pi_s'^\top, \qquad
    \partial_{\theta_{i,s}} \nabla_{x_s} = -(\mathrm{diag}(q_s') - q_s' q_s'^\top),

(primes: the free actions). *Ideal* POLA solves :math:`\nabla J_i = 0` by damped
Newton to :data:`NEWTON_GTOL`; *outer* POLA is the paper's Algorithm 1 as the
reference code runs it: gradient ascent with rate ``lr_out`` until the KL between
consecutive iterates is below ``prox_threshold`` both ways, or ``max_iters``.

Deviation from the reference, stated: with visitation weights the reference
recomputes the visitation at every iterate and differentiates through it; here
the weights are those of the old policies, held fixed during the step (so that
:math:`D` stays a divergence with a closed-form Hessian).

The Jacobian of the ideal POLA map :math:`\theta \mapsto \theta^+` comes from
the implicit-function theorem on :math:`\nabla J_i(\theta_i^+; \theta) = 0`:
:math:`\partial \theta_i^+ / \partial \theta = -(\nabla^2 J_i)^{-1}
\partial_\theta \nabla J_i`.

References
----------
.. [1] Zhao, S., Lu, C., Grosse, R., Foerster, J. (2022). Proximal Learning With
   Opponent-Learning Awareness. NeurIPS. arXiv:2210.10125, Algorithm 1.
.. [2] Silent-Zebra/POLA @ b248b52, ``LOLA_exact.py`` (``prox_f``,
   ``get_discounted_state_visitation_weighted_kl``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lola_sym.games.chain import first_move, transitions
from lola_sym.rules.pointwise import PointwiseField

__all__ = ["ProximalField", "policy_shape", "kl_divergence", "kl_gradient", "kl_hessian",
           "kl_mixed", "visitation_weights", "NEWTON_GTOL", "NEWTON_MAX_ITERS", "NEWTON_MAX_STEP",
           "FD_STEP", "ProximalSolveError"]

#: Ideal POLA's stopping rule: the max-norm of the proximal objective's exact gradient (or 100
#: units of rounding times beta, the weight of the KL term, if larger).
NEWTON_GTOL = 1e-11
#: Newton iterations before the solve is declared failed.
NEWTON_MAX_ITERS = 200
#: Largest change of a logit in one Newton iteration (a trust region: near-saturated
#: policies make the Hessian nearly singular and the raw Newton step huge).
NEWTON_MAX_STEP = 2.0
#: Central-difference step of the Hessian that steers full POLA's outer Newton iteration.
FD_STEP = 1e-5


class ProximalSolveError(ValueError):
    """The proximal step did not converge (objective unbounded, or Hessian singular)."""


def _repeated(game):
    if hasattr(game, "policy_table") and hasattr(game, "space"):
        return game
    if hasattr(game, "as_repeated"):
        return game.as_repeated()
    raise ValueError(f"POLA's proximal term is a KL between per-state policies; {game.name} "
                     f"has none (its parameters are not policy logits): use an iterated or "
                     f"repeated game")


@lru_cache(maxsize=64)
def policy_shape(game, player: int) -> tuple:
    """``(states, k - 1)``: how player ``player``'s (0-based) logits fill its states.

    Examples
    --------
    >>> from lola_sym.games import ipd, rps
    >>> policy_shape(ipd(), 0), policy_shape(rps(), 1)
    ((5, 1), (10, 2))
    """
    rep = _repeated(game)
    return rep.space.n_states(player), rep.actions[player] - 1


def _probs(x, shape):
    """Free-action probabilities ``(states, k - 1)`` of logits ``x`` (reference action last)."""
    z = np.concatenate([x.reshape(shape), np.zeros((shape[0], 1))], axis=1)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return p


def _log_probs(x, shape):
    """Log-probabilities ``(states, k)`` of logits ``x`` (reference action last), stably."""
    z = np.concatenate([x.reshape(shape), np.zeros((shape[0], 1))], axis=1)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def kl_divergence(game, player, theta_old, theta_new, weights=None) -> float:
    r""":math:`\sum_s w_s \mathrm{KL}(\pi_s(\theta_{old}) \| \pi_s(\theta_{new}))`.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> kl_divergence(ipd(), 0, np.zeros(5), np.zeros(5))
    0.0
    >>> round(kl_divergence(ipd(), 0, np.zeros(5), np.r_[np.log(3), np.zeros(4)]), 12)
    0.143841036226
    """
    shape = policy_shape(game, player)
    lq, lp = _log_probs(np.asarray(theta_old, float), shape), _log_probs(
        np.asarray(theta_new, float), shape)
    terms = (np.exp(lq) * (lq - lp)).sum(axis=1)
    w = np.ones(shape[0]) if weights is None else weights
    return float(np.dot(w, terms))


def kl_gradient(game, player, theta_old, theta_new, weights=None) -> np.ndarray:
    """Gradient of :func:`kl_divergence` in ``theta_new``: :math:`w_s(\\pi_s' - q_s')`.

    Examples
    --------
    Against central differences (step :math:`10^{-6}`) of :func:`kl_divergence`; zero where the policies agree:

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> old, new = np.array([0.3, -1.0, 0.2, 0.4, 0.0]), np.array([0.0, 0.5, -0.2, 1.0, 0.3])
    >>> E = np.eye(5) * 1e-6
    >>> fd = [(kl_divergence(ipd(), 0, old, new + e) - kl_divergence(ipd(), 0, old, new - e))
    ...       / 2e-6 for e in E]
    >>> bool(np.allclose(kl_gradient(ipd(), 0, old, new), fd, atol=1e-8))
    True
    >>> kl_gradient(ipd(), 0, old, old)
    array([0., 0., 0., 0., 0.])
    """
    shape = policy_shape(game, player)
    w = np.ones(shape[0]) if weights is None else weights
    q, p = _probs(theta_old, shape), _probs(theta_new, shape)
    return (w[:, None] * (p[:, :-1] - q[:, :-1])).ravel()


def _fisher(p, w):
    """Block-diagonal :math:`w_s(\\mathrm{diag}(p_s') - p_s' p_s'^\\top)`."""
    s, k = p.shape[0], p.shape[1] - 1
    out = np.zeros((s * k, s * k))
    for i in range(s):
        f = p[i, :-1]
        out[i * k:(i + 1) * k, i * k:(i + 1) * k] = w[i] * (np.diag(f) - np.outer(f, f))
    return out


def kl_hessian(game, player, theta_old, theta_new, weights=None) -> np.ndarray:
    """Hessian of :func:`kl_divergence` in ``theta_new`` (weights held fixed).

    Examples
    --------
    Against central differences (step :math:`10^{-6}`) of :func:`kl_gradient`; with two actions the diagonal is
    :math:`w_s p_s (1 - p_s)`, 1/4 at logit 0:

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> old, new = np.array([0.3, -1.0, 0.2, 0.4, 0.0]), np.array([0.0, 0.5, -0.2, 1.0, 0.3])
    >>> E = np.eye(5) * 1e-6
    >>> fd = [(kl_gradient(ipd(), 0, old, new + e) - kl_gradient(ipd(), 0, old, new - e)) / 2e-6
    ...       for e in E]
    >>> bool(np.allclose(kl_hessian(ipd(), 0, old, new), fd, atol=1e-8))
    True
    >>> np.diag(kl_hessian(ipd(), 0, old, np.zeros(5)))
    array([0.25, 0.25, 0.25, 0.25, 0.25])
    """
    shape = policy_shape(game, player)
    w = np.ones(shape[0]) if weights is None else weights
    return _fisher(_probs(theta_new, shape), w)


def kl_mixed(game, player, theta_old, theta_new, weights=None) -> np.ndarray:
    """:math:`\\partial_{\\theta_{old}} \\nabla_{\\theta_{new}}` of :func:`kl_divergence`.

    Examples
    --------
    Against central differences (step :math:`10^{-6}`) of :func:`kl_gradient` in ``theta_old``:

    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> old, new = np.array([0.3, -1.0, 0.2, 0.4, 0.0]), np.array([0.0, 0.5, -0.2, 1.0, 0.3])
    >>> E = np.eye(5) * 1e-6
    >>> fd = np.array([(kl_gradient(ipd(), 0, old + e, new) - kl_gradient(ipd(), 0, old - e, new))
    ...                / 2e-6 for e in E])
    >>> bool(np.allclose(kl_mixed(ipd(), 0, old, new), fd, atol=1e-8))
    True
    """
    shape = policy_shape(game, player)
    w = np.ones(shape[0]) if weights is None else weights
    return -_fisher(_probs(theta_old, shape), w)


def visitation_weights(game, player, *thetas) -> np.ndarray:
    r"""The reference's visitation weights of ``player``'s states, :math:`p_s/(S\sum_r p_r)`.

    :math:`p` is the discounted visitation :math:`\mu_1 (I - \gamma P)^{-1}` of the
    joint histories (from the first move on), summed into the player's own
    states, with the start state weighted 1 (``init_state_representation == 2``
    in ``LOLA_exact.py``). Memory-1 games only.

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import ipd
    >>> w = visitation_weights(ipd(), 0, np.zeros(5), np.zeros(5))
    >>> round(float(w.sum()), 12), round(float(w[0] * 5), 12)   # s0: 1 / (1 + 1/(1-gamma))
    (0.2, 0.038461538462)
    """
    rep = _repeated(game)
    space = rep.space
    if space.memory != 1:
        raise ValueError(f"visitation-weighted KL is defined here for memory-1 games; "
                         f"{game.name} has memory {space.memory}")
    tables = rep.policy_table(*thetas)

    def prob(i, state, a):
        return tables[i][state, a]

    hist = [(a,) for a in space.joint]
    index = {h: n for n, h in enumerate(hist)}
    mu = np.zeros(len(hist))
    for h, wgt in first_move(space, prob).items():
        mu[index[h]] += wgt
    P = np.zeros((len(hist), len(hist)))
    for h in hist:
        for nxt, wgt in transitions(space, prob, h).items():
            P[index[h], index[nxt]] += wgt
    gamma = float(rep.gamma)
    d = np.linalg.solve((np.eye(len(hist)) - gamma * P).T, mu)
    p = np.zeros(space.n_states(player))
    p[0] = 1.0
    for h, v in zip(hist, d):
        p[space.state_of(player, h)] += v
    return p / (p.size * p.sum())


class ProximalField(PointwiseField):
    r"""POLA on a game: ``f(theta_1, theta_2) -> (g_1, g_2)`` with :math:`g_i = \theta_i^+ - \theta_i`.

    Training with ``delta=1`` applies the POLA step exactly. Built by
    :func:`lola_sym.update_field` (rules ``"pola"`` and ``"pola_outer"``).

    Parameters
    ----------
    game, rule, hyper, options
        As :class:`lola_sym.field.UpdateField`.
    grad : callable
        ``grad(t1, t2) -> (g1, g2)``: the exact-LOLA directions at lookahead ``eta``.
    jac : callable
        ``jac(t1, t2) -> (d, d)``: their exact Jacobian.
    value : callable
        ``value(t1, t2) -> (V1, V2)`` (for the line search).
    naive : callable
        ``naive(t1, t2) -> (grad_1 V1, grad_2 V2)``.
    solver : {"newton", "outer", "nested"}
        Ideal POLA, the paper's outer loop, or full POLA (the opponent's step proximal
        too, hyper-parameter ``beta_in``; needs ``naive_jac`` and ``value_grads``).
    policy_game : game, optional
        The game whose per-state policies the KL compares (default ``game``).
    policy_maps : tuple, optional
        Per player the matrix :math:`M_i` with policy logits :math:`M_i x` (None: the
        parameters are the logits), e.g. those of a
        :class:`~lola_sym.games.reparameterised.Reparameterised` game.
    naive_jac : callable, optional
        ``naive_jac(t1, t2) -> (d, d)``: the exact Jacobian of ``naive``.
    value_grads : callable, optional
        ``value_grads(t1, t2) -> ((grad_1 V1, grad_2 V1), (grad_1 V2, grad_2 V2))``.
    """

    path = "proximal"

    def __init__(self, game, rule, hyper, options, grad, jac, value, naive, solver="newton",
                 policy_game=None, policy_maps=None, naive_jac=None, value_grads=None):
        super().__init__(game, rule, hyper, options)
        self._grad, self._jac, self._value, self._naive = grad, jac, value, naive
        self._naive_jac, self._value_grads = naive_jac, value_grads
        if solver not in ("newton", "outer", "nested"):
            raise ValueError(f"solver must be 'newton', 'outer' or 'nested', got {solver!r}")
        if solver == "nested" and (naive_jac is None or value_grads is None):
            raise ValueError("the nested solver (full POLA) needs naive_jac and value_grads")
        self.solver = solver
        if len(game.dims) != 2:
            raise ValueError(f"POLA is implemented for two players; {game.name} has "
                             f"{len(game.dims)}")
        #: the game whose per-state policies the KL compares, and per player the matrix M_i
        #: with policy logits M_i x (None: the parameters are the logits)
        self.policy_game = game if policy_game is None else policy_game
        self.policy_maps = (None, None) if policy_maps is None else tuple(
            None if m is None else np.asarray(m, dtype=float) for m in policy_maps)
        for i in range(2):
            policy_shape(self.policy_game, i)       # refuses games without policies

    # -- the proximal term, through the policy maps ---------------------------------------
    def _logits(self, i, x):
        m = self.policy_maps[i]
        return x if m is None else m @ x

    def _wrap(self, i, v, order):
        m = self.policy_maps[i]
        if m is None:
            return v
        return m.T @ v if order == 1 else m.T @ v @ m

    def kl(self, i, old, x, weights=None):
        r""":math:`\sum_s w_s \mathrm{KL}(\pi_s(M\, old) \| \pi_s(M x))`."""
        return kl_divergence(self.policy_game, i, self._logits(i, old), self._logits(i, x),
                             weights)

    def _kl_grad(self, i, old, x, w):
        return self._wrap(i, kl_gradient(self.policy_game, i, self._logits(i, old),
                                         self._logits(i, x), w), 1)

    def _kl_hess(self, i, old, x, w):
        return self._wrap(i, kl_hessian(self.policy_game, i, self._logits(i, old),
                                        self._logits(i, x), w), 2)

    def _kl_mixed(self, i, old, x, w):
        return self._wrap(i, kl_mixed(self.policy_game, i, self._logits(i, old),
                                      self._logits(i, x), w), 2)

    @property
    def program(self):
        """The primitive's exact program (exact LOLA's, :func:`~lola_sym.rules.pola.derive_pola`)."""
        return self.rule.derive(self.game, **self.options).pruned()

    # -- the proximal objective of agent i, everything else fixed ---------------------------
    def _args(self, i, x, thetas):
        ts = list(thetas)
        ts[i] = x
        return ts

    def _weights(self, i, thetas):
        if self.options.get("weighted", 0):
            return visitation_weights(self.policy_game, i,
                                      *(self._logits(k, t) for k, t in enumerate(thetas)))
        return None

    def objective(self, i, x, thetas, weights=None):
        r""":math:`J_i(x) = V^i(x, \theta_j + \eta \nabla_j V^j) - \beta D`."""
        j = 1 - i
        ts = self._args(i, x, thetas)
        step = self._naive(*ts)[j]
        ts[j] = ts[j] + self.hyper["eta"] * step
        v = self._value(*ts)[i]
        return float(v) - self.hyper["beta"] * self.kl(i, thetas[i], x, weights)

    def gradient(self, i, x, thetas, weights=None):
        """Exact gradient of :meth:`objective` in ``x``."""
        g = self._grad(*self._args(i, x, thetas))[i]
        return g - self.hyper["beta"] * self._kl_grad(i, thetas[i], x, weights)

    def _block(self, J, i, j):
        d = self.game.dims
        lo = [0, d[0]]
        return J[lo[i]:lo[i] + d[i], lo[j]:lo[j] + d[j]]

    def hessian(self, i, x, thetas, weights=None):
        """Exact Hessian of :meth:`objective` in ``x``."""
        J = self._jac(*self._args(i, x, thetas))
        return (self._block(J, i, i)
                - self.hyper["beta"] * self._kl_hess(i, thetas[i], x, weights))

    # -- solvers ------------------------------------------------------------------------
    def _maximise(self, objective, gradient, hessian, x0, who, knob: str, scale: float = 1.0):
        """Damped Newton with a trust region and Armijo backtracking: ``(x, iterations)``.

        Stops when the max-norm of the gradient is at most :data:`NEWTON_GTOL`, or 100
        times ``scale`` units of rounding, ``scale`` the weight of the KL term (its
        gradient is computed to about ``scale`` times the rounding error). Near the
        optimum the decrease of the objective falls below its rounding error (or, in full
        POLA, below the error of the opponent's solve); a full Newton step that reduces the
        gradient is then accepted without the Armijo test.

        ``who()`` names the problem and ``knob`` the hyper-parameter whose increase
        conditions it, in the errors.
        """
        x = np.array(x0, dtype=float)
        f = objective(x)
        gtol = max(NEWTON_GTOL, 100 * np.finfo(float).eps * scale)
        for it in range(NEWTON_MAX_ITERS):
            g = gradient(x)
            if np.max(np.abs(g)) <= gtol:
                return x, it
            H = hessian(x)
            H = 0.5 * (H + H.T)
            lam = np.linalg.eigvalsh(H)
            shift = 0.0 if lam.max() < 0 else lam.max() + 1e-3 * max(1.0, abs(lam).max())
            step = np.linalg.solve(H - shift * np.eye(x.size), -g)
            big = np.max(np.abs(step))
            if big > NEWTON_MAX_STEP:           # trust region in logit space
                step *= NEWTON_MAX_STEP / big
            t = 1.0
            while True:                         # backtracking (Armijo) on the objective
                xn = x + t * step
                fn = objective(xn)
                if np.isfinite(fn) and fn >= f + 1e-4 * t * float(g @ step) - 1e-12 * abs(f):
                    break
                if t == 1.0 and shift == 0.0 and np.isfinite(fn) and abs(fn - f) <= 1e-9 * max(
                        1.0, abs(f)) and np.max(np.abs(gradient(xn))) < np.max(np.abs(g)):
                    break                       # quadratic region: the decrease is below noise
                t *= 0.5
                if t < 1e-12:
                    raise ProximalSolveError(
                        f"{who()} on {self.game.name} stalled at |grad| = "
                        f"{np.max(np.abs(g)):.3g}; increase {knob}")
            x, f = xn, fn
            if np.max(np.abs(x)) > 1e3:
                raise ProximalSolveError(
                    f"{who()} on {self.game.name} has no maximum near the start (logits beyond "
                    f"1e3): {knob} is too small, increase it")
        raise ProximalSolveError(f"{who()} on {self.game.name} did not reach |grad| <= "
                                 f"{gtol:g} in {NEWTON_MAX_ITERS} iterations (|grad| = "
                                 f"{np.max(np.abs(g)):.3g}, logits up to "
                                 f"{np.max(np.abs(x)):.3g}): the proximal objective is badly "
                                 f"conditioned there; increase {knob} or NEWTON_MAX_ITERS")

    def newton(self, i, thetas):
        """Ideal POLA: damped Newton on the exact gradient and Hessian; ``(x, iterations)``."""
        w = self._weights(i, thetas)
        return self._maximise(
            lambda x: self.objective(i, x, thetas, w),
            lambda x: self.gradient(i, x, thetas, w),
            lambda x: self.hessian(i, x, thetas, w), thetas[i],
            lambda: f"POLA's Newton solve for agent {i + 1} from theta = {_fmt(thetas)}",
            f"beta={self.hyper['beta']:g}", self.hyper["beta"])

    # -- the opponent's proximal step (the paper's full POLA) -----------------------------
    def opponent_step(self, i, x, thetas, start=None, weights=None):
        r"""The opponent's proximal step against agent ``i`` playing ``x``: ``(y*, iterations)``.

        :math:`y^* = \arg\max_y V^j(x, y) - \beta_{in} D_j(\theta_j \| y)`, by Newton on
        the compiled naive gradient and its exact Jacobian. ``weights``: the opponent's KL
        weights, if already computed (they depend on the old logits only).
        """
        j = 1 - i
        w = self._weights(j, thetas) if weights is None else weights
        beta_in = self.hyper["beta_in"]
        ts = self._args(i, x, thetas)

        def at(y):
            out = list(ts)
            out[j] = y
            return out

        def hess(y):
            return (self._block(self._naive_jac(*at(y)), j, j)
                    - beta_in * self._kl_hess(j, thetas[j], y, w))
        return self._maximise(
            lambda y: float(self._value(*at(y))[j]) - beta_in * self.kl(j, thetas[j], y, w),
            lambda y: self._naive(*at(y))[j] - beta_in * self._kl_grad(j, thetas[j], y, w),
            hess, thetas[j] if start is None else start,
            lambda: f"the proximal step of agent {j + 1} (POLA's inner problem) against x = "
            f"{_fmt([x])} from theta = {_fmt(thetas)}", f"beta_in={beta_in:g}", beta_in)

    def _nested_parts(self, i, x, thetas, start, wi, wj):
        """``(y*, outer objective, its exact gradient)`` at ``x``, the opponent proximal
        (``wi``, ``wj``: the two players' KL weights)."""
        j = 1 - i
        y, _ = self.opponent_step(i, x, thetas, start, wj)
        ts = self._args(i, x, thetas)
        ts[j] = y
        J = self._naive_jac(*ts)
        Hyy = self._block(J, j, j) - self.hyper["beta_in"] * self._kl_hess(j, thetas[j], y, wj)
        Y = -np.linalg.solve(Hyy, self._block(J, j, i))          # dy*/dx by the IFT
        grads = self._value_grads(*ts)[i]                        # (grad_1 V_i, grad_2 V_i)
        g = grads[i] + Y.T @ grads[j] - self.hyper["beta"] * self._kl_grad(i, thetas[i], x, wi)
        f = float(self._value(*ts)[i]) - self.hyper["beta"] * self.kl(i, thetas[i], x, wi)
        return y, f, g

    def nested(self, i, thetas):
        r"""Full POLA for agent ``i``: both steps proximal; ``(x, iterations)``.

        Maximises :math:`V^i(x, y^*(x)) - \beta D_i(\theta_i \| x)` by damped Newton. Its
        gradient is exact (the implicit-function theorem gives :math:`dy^*/dx`); its Hessian,
        which only steers the iteration, is a central difference of that gradient (step
        :data:`FD_STEP`).
        """
        wi, wj = self._weights(i, thetas), self._weights(1 - i, thetas)
        warm: dict = {"y": None}
        seen: dict = {}                         # the line search's point is the next iterate

        def parts(x):
            key = x.tobytes()
            if key not in seen:
                y, f, g = self._nested_parts(i, x, thetas, warm["y"], wi, wj)
                warm["y"] = y
                if len(seen) > 2 * x.size + 4:  # one iteration's points at most
                    seen.clear()
                seen[key] = (f, g)
            return seen[key]

        def hess(x):
            cols = []
            for e in np.eye(x.size) * FD_STEP:
                cols.append((parts(x + e)[1] - parts(x - e)[1]) / (2 * FD_STEP))
            return np.array(cols).T
        return self._maximise(
            lambda x: parts(x)[0], lambda x: parts(x)[1], hess, thetas[i],
            lambda: f"POLA's (both steps proximal) Newton solve for agent {i + 1} from theta = "
                    f"{_fmt(thetas)}", f"beta={self.hyper['beta']:g}", self.hyper["beta"])

    def outer(self, i, thetas):
        """Outer POLA (Algorithm 1 as in the reference): ``(x, iterations)``."""
        w = self._weights(i, thetas)
        x = np.array(thetas[i], dtype=float)
        lr, tol = self.hyper["lr_out"], self.hyper["prox_threshold"]
        for it in range(1, int(self.options.get("max_iters", 5000)) + 1):
            prev = x
            x = x + lr * self.gradient(i, x, thetas, w)
            if self.kl(i, x, prev, w) < tol and self.kl(i, prev, x, w) < tol:
                return x, it
        return x, it

    def step(self, *thetas):
        """The new logits ``(theta_1^+, theta_2^+)`` from one point (1-d arrays)."""
        solve = {"newton": self.newton, "outer": self.outer, "nested": self.nested}[self.solver]
        return tuple(solve(i, thetas)[0] for i in range(2))

    def directions(self, *thetas) -> tuple:
        """Directions :math:`\\theta_i^+ - \\theta_i` at one point (1-d arrays)."""
        return tuple(n - p for n, p in zip(self.step(*thetas), thetas))

    def map_jacobian(self, *thetas) -> np.ndarray:
        r"""Jacobian of the ideal POLA map :math:`\theta \mapsto \theta^+` by the IFT, ``(d, d)``.

        Row block :math:`i`: :math:`-(\nabla^2 J_i)^{-1} [\partial_{\theta_1} \nabla J_i,
        \partial_{\theta_2} \nabla J_i]` at :math:`\theta_i^+`. The field's Jacobian
        (of :math:`g = \theta^+ - \theta`) is this minus the identity.
        """
        if self.solver == "nested":
            raise ValueError("the IFT Jacobian of POLA with a proximal opponent step needs third "
                             "derivatives of the values; it is not implemented (analysis "
                             "differences the field instead)")
        if self.options.get("weighted", 0):
            raise ValueError("the IFT Jacobian needs the derivative of the visitation weights "
                             "in the old logits; it is implemented for the unweighted KL only "
                             "(weighted=0)")
        point = [np.asarray(t, dtype=float) for t in thetas]
        rows = []
        for i in range(2):
            x, _ = self.newton(i, point)
            J = self._jac(*self._args(i, x, point))
            H = self.hessian(i, x, point)
            own = -self.hyper["beta"] * self._kl_mixed(i, point[i], x, None)
            other = self._block(J, i, 1 - i)
            cross = [own, other] if i == 0 else [other, own]
            rows.append(-np.linalg.solve(H, np.hstack(cross)))
        return np.vstack(rows)

    @property
    def has_jacobian(self) -> bool:
        """Whether :meth:`jacobian` is this field's exact Jacobian: ideal POLA (the Newton
        solve) with the unweighted KL; the outer loop stops short of the optimum."""
        return self.solver == "newton" and not self.options.get("weighted", 0)

    def jacobian(self, *thetas) -> np.ndarray:
        """Jacobian of the field :math:`g = \\theta^+ - \\theta` (ideal POLA), ``(d, d)``."""
        M = self.map_jacobian(*thetas)
        return M - np.eye(M.shape[0])

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in {**self.options, **self.hyper}.items())
        return f"ProximalField({self.rule.name!r} on {self.game.name}, {hyper})"


def _fmt(thetas) -> str:
    return "(" + ", ".join(np.array2string(np.asarray(t), precision=3) for t in thetas) + ")"
