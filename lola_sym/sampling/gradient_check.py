r"""Check a user's gradient code against the exact update field, with diagnoses.

:func:`check_gradient` compares a user-supplied function (for example one's
own autodiff code) with the exact update field of a rule at seeded random
points of a repeated game (any number of players, actions and memory; the
2x2 memory-1 games of the LOLA paper included) and reports where it differs:
which point, which agent, which state, with hints for the usual mistakes
(states read from another player's perspective, e.g. CD/DC exchanged; a
missing sigmoid factor; the sign; agents in the wrong order).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 (own-perspective states).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import numpy as np
from scipy.special import expit

from lola_sym._validation import as_numeric_array, check_positive_int, check_real
from lola_sym.dynamics.training import as_generator
from lola_sym.sampling.markov import chain_shape, sampling_game

__all__ = ["GradientCheck", "GradientCheckError", "check_gradient", "MAX_POINTS", "MAX_SCALE"]

#: Most points of :func:`check_gradient`: the user's function is called once per point
#: from Python (our part costs about 10 us a point, measured).
MAX_POINTS = 10 ** 6
#: Largest ``scale`` of :func:`check_gradient`: beyond logits of about 745 every sigmoid is
#: exactly 0 or 1 in double precision and every gradient vanishes, so a check would test nothing.
MAX_SCALE = 1000.0
_COUNT = {2: "two", 3: "three", 4: "four", 5: "five"}


class GradientCheckError(AssertionError):
    """A user gradient differs from the exact one; the message is the full report."""


@dataclass(frozen=True)
class GradientCheck:
    r"""The result of :func:`check_gradient`.

    Attributes
    ----------
    thetas : tuple of ndarray, (points, d_i)
        The seeded test points (``theta1``, ``theta2`` for two players).
    expected, got : ndarray, (points, n, d)
        Exact and user directions of every agent, ``d`` the largest number of
        logits (zero-padded for players with fewer); ``got`` is NaN for an
        agent the user function does not return.
    agents : tuple of int
        The agents compared.
    labels : tuple of tuple of str
        Each agent's logit labels (``game.param_names``).
    """

    game: str
    rule: str
    thetas: tuple
    expected: np.ndarray
    got: np.ndarray
    agents: tuple
    rtol: float
    atol: float
    labels: tuple
    hints: tuple = field(default=())

    @property
    def theta1(self) -> np.ndarray:
        """Agent 1's test points, (points, d_1)."""
        return self.thetas[0]

    @property
    def theta2(self) -> np.ndarray:
        """Agent 2's test points, (points, d_2)."""
        return self.thetas[1]

    @property
    def abs_error(self) -> np.ndarray:
        """``|got - expected|`` (inf where the user value is not finite), (points, n, d)."""
        with np.errstate(over="ignore", invalid="ignore"):     # beyond double range: inf
            err = np.abs(self.got - self.expected)
        return np.where(np.isfinite(self.got), err, np.inf)

    @property
    def rel_error(self) -> np.ndarray:
        """``abs_error / (|expected| + atol)`` (0 where both are 0, inf beyond double range)."""
        return _ratio(self.abs_error, np.abs(self.expected) + self.atol)

    @property
    def _allowed(self) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self.atol + self.rtol * np.abs(self.expected)

    def _unchecked(self):
        return [a for a in range(len(self.labels)) if a + 1 not in self.agents]

    @property
    def failing(self) -> np.ndarray:
        """Boolean (points, n, d): entries outside ``atol + rtol * |expected|``."""
        bad = self.abs_error > self._allowed
        bad[:, self._unchecked()] = False
        return bad

    @property
    def passed(self) -> bool:
        return not bool(self.failing.any())

    def _checked(self, arr):
        return arr[:, [a - 1 for a in self.agents]]

    @property
    def max_abs_error(self) -> float:
        return float(self._checked(self.abs_error).max())

    @property
    def max_rel_error(self) -> float:
        return float(self._checked(self.rel_error).max())

    @property
    def worst(self) -> tuple:
        """(point, agent, state name) of the largest error relative to the tolerance."""
        score = _ratio(self.abs_error, self._allowed)
        score[:, self._unchecked()] = -1
        k, i, s = np.unravel_index(int(np.argmax(score)), score.shape)
        return int(k), int(i) + 1, self.labels[i][s]

    def states_differing(self) -> dict:
        """Agent -> {state name: number of points where it differs}."""
        bad = self.failing
        return {a: {lab: int(bad[:, a - 1, s].sum()) for s, lab in enumerate(self.labels[a - 1])
                    if bad[:, a - 1, s].any()} for a in self.agents if bad[:, a - 1].any()}

    def raise_for_failure(self) -> None:
        """Raise :class:`GradientCheckError` with the report when the check failed."""
        if not self.passed:
            raise GradientCheckError(str(self))

    def __str__(self) -> str:
        n = len(self.thetas[0])
        bad_points = int(self.failing.any(axis=(1, 2)).sum())
        who = " and ".join(f"agent {a}" for a in self.agents)
        head = (f"check_gradient on {self.game} (rule {self.rule!r}, {who}): "
                f"{'passed' if self.passed else 'FAILED'} at {n} points, "
                f"{bad_points} differing")
        lines = [head, f"  max abs error {self.max_abs_error:.3e}, max rel error "
                       f"{self.max_rel_error:.3e} (rtol={self.rtol:g}, atol={self.atol:g})"]
        if not self.passed:
            k, a, s = self.worst
            j = self.labels[a - 1].index(s)
            lines.append(f"  worst: point {k}, agent {a}, state {s}: got "
                         f"{self.got[k, a - 1, j]:.6g}, exact {self.expected[k, a - 1, j]:.6g}")
            for i, th in enumerate(self.thetas, start=1):
                lines.append(f"    theta{i} = {np.array2string(th[k], precision=4)}")
            for agent, states in self.states_differing().items():
                desc = ", ".join(f"{st} ({c}/{n} points)" for st, c in states.items())
                lines.append(f"  agent {agent} differs in: {desc}")
            lines += [f"  hint: {h}" for h in self.hints]
        return "\n".join(lines)


def _ratio(num, den):
    """``num / den`` elementwise: 0 where both are 0, inf where the ratio leaves double range."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(num == 0, 0.0, np.where(np.isnan(out), np.inf, out))


def _as_directions(out, name, dims) -> list:
    """User output -> one array per agent (None for agents not returned), real numbers only."""
    n = len(dims)
    shapes = " / ".join(f"({d},)" for d in dict.fromkeys(dims))
    if isinstance(out, (tuple, list)) and len(out) == n:
        parts = [as_numeric_array(o, f"{name}'s g{i + 1}", "iuf").astype(float)
                 for i, o in enumerate(out)]
    else:
        arr = as_numeric_array(out, f"{name}'s output", "iuf").astype(float)
        if arr.shape == (dims[0],):
            return [arr] + [None] * (n - 1)
        if len(set(dims)) > 1 or arr.shape != (n, dims[0]):
            both = "both agents" if n == 2 else f"all {n} agents"
            names = ", ".join(f"g{i + 1}" for i in range(n))
            raise ValueError(f"{name} returned shape {arr.shape}; expected ({dims[0]},) for agent "
                             f"1's gradient, or ({names})"
                             + (f" / shape ({n}, {dims[0]})" if len(set(dims)) == 1 else "")
                             + f" for {both}")
        parts = list(arr)
    for i, (p, d) in enumerate(zip(parts, dims)):
        if p.shape != (d,):
            raise ValueError(f"{name} returned g{i + 1} of shape {p.shape}; expected ({d},)"
                             + ("" if len(set(dims)) == 1 else f" (shapes {shapes})"))
    return parts


def _close(a, b, rtol, atol):
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def _perspective(sh, a: int, p: int) -> np.ndarray:
    """Logit order of agent ``a`` (0-based) read with player ``p``'s state labels.

    ``g[:, q]`` equals the exact direction when the user's vector was indexed by
    ``p``'s own-perspective states instead of ``a``'s.
    """
    g = sh.game
    space, k = g.space, g.actions[a]
    hist = [h for length in range(g.memory + 1) for h in space.histories(length)]
    q = np.empty(space.n_states(a), dtype=np.intp)
    for h in hist:
        q[space.state_of(a, h)] = space.state_of(p, h)
    return (q[:, None] * (k - 1) + np.arange(k - 1)).ravel()


@np.errstate(over="ignore", invalid="ignore")          # non-finite user values never match
def _hints(sh, got, expected, thetas, agents, rtol, atol):
    out = []
    dims = sh.dims
    for a in agents:
        d = dims[a - 1]
        g, e = got[:, a - 1, :d], expected[:, a - 1, :d]
        seen = set()
        for p in range(sh.n):
            q = _perspective(sh, a - 1, p)
            if np.array_equal(q, np.arange(d)) or q.tobytes() in seen:
                continue
            seen.add(q.tobytes())
            if _close(g[:, q], e, rtol, atol):
                if sh.is_two_by_two:
                    out.append(f"agent {a}'s CD and DC entries are exchanged: states must be read "
                               "from the agent's own perspective (own action first; "
                               "lola_sym.games.layout.SWAP)")
                else:
                    out.append(f"agent {a}'s states are labelled as player {p + 1} reads them: "
                               "states must be read from the agent's own perspective (own "
                               "action first, then the others in cyclic order from the next "
                               "player; game.state_labels)")
        if sh.actions[a - 1] == 2:
            pr = expit(thetas[a - 1])
            if _close(g * pr * (1 - pr), e, rtol, atol):
                out.append(f"agent {a}'s gradient is taken with respect to probabilities, not "
                           "logits: multiply by p (1 - p), the derivative of the sigmoid")
        if _close(-g, e, rtol, atol):
            out.append(f"agent {a}'s gradient has the wrong sign: values are rewards, maximised")
    if len(agents) == sh.n and len(set(dims)) == 1:
        for order in permutations(range(sh.n)):
            if order != tuple(range(sh.n)) and _close(got[:, list(order)], expected, rtol, atol):
                out.append("g1 and g2 are exchanged: return (grad_1 V1, grad_2 V2)" if sh.n == 2
                           else f"the agents' directions are in the wrong order {order}: return "
                                f"(g1, ..., g{sh.n}) in player order")
                break
    return tuple(out)


def check_gradient(fn, game, *, rule: str = "nl", points: int = 8, seed=0, scale: float = 2.0,
                   rtol: float = 1e-6, atol: float = 1e-8, raise_on_fail: bool = False,
                   **hyper) -> GradientCheck:
    r"""Compare ``fn(theta1, ..., theta_n)`` with the exact update field at seeded random points.

    Parameters
    ----------
    fn : callable
        ``fn(theta1, ..., theta_n)`` with 1-d float arrays of shapes ``(d_i,)``
        returning agent 1's direction (shape ``(d_1,)``) or every agent's
        ``(g1, ..., gn)``, real numbers (a complex, boolean or non-numeric result
        is a ``TypeError``; non-finite entries fail the check). For
        ``rule="nl"`` these are :math:`\nabla_i V_i`.
    game : IteratedGame or RepeatedGame
        A numeric repeated game, any number of players (the rule must be
        defined for them).
    rule : str
        The exact rule to compare with (``"nl"``, ``"lola"``, ...); ``**hyper``
        are its hyper-parameters (e.g. ``eta``).
    points, seed, scale
        Number of points (at most :data:`MAX_POINTS`), their seed, logits uniform in
        ``[-scale, scale]`` (``0 < scale <=`` :data:`MAX_SCALE`), drawn player by player.
    rtol, atol : float
        An entry passes when ``|got - exact| <= atol + rtol |exact|``.
    raise_on_fail : bool
        Raise :class:`GradientCheckError` (an ``AssertionError``) with the report
        (``True`` or ``False``; anything else is a ``TypeError``).

    Examples
    --------
    >>> from lola_sym import games, update_field
    >>> nl = update_field(games.ipd(), "nl")
    >>> print(check_gradient(lambda a, b: nl(a, b), games.ipd(), points=3))
    check_gradient on IPD (rule 'nl', agent 1 and agent 2): passed at 3 points, 0 differing
      max abs error 0.000e+00, max rel error 0.000e+00 (rtol=1e-06, atol=1e-08)
    >>> wrong = lambda a, b: nl(a, b)[0][[0, 1, 3, 2, 4]]      # CD and DC mislabelled
    >>> report = check_gradient(wrong, games.ipd(), points=3)
    >>> report.passed, report.states_differing()
    (False, {1: {'CD': 3, 'DC': 3}})
    >>> report.hints[0][:50]
    "agent 1's CD and DC entries are exchanged: states "
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable f(theta1, ..., theta_n), got {type(fn).__name__}")
    sh = chain_shape(game)
    g = sampling_game(game)
    from lola_sym.field import update_field
    field_ = update_field(game, rule, **hyper)
    points = check_positive_int(points, "points")
    if points > MAX_POINTS:
        raise ValueError(f"points={points:,} exceeds {MAX_POINTS:,}: fn is called once per point "
                         f"from Python; use fewer points, or several seeds")
    scale = check_real(scale, "scale", positive=True)
    if scale > MAX_SCALE:
        raise ValueError(f"scale must be at most {MAX_SCALE:g}, got {scale:g}: beyond logits of "
                         f"about 745 every sigmoid is exactly 0 or 1 and every gradient vanishes, "
                         f"so the check would test nothing")
    rtol = check_real(rtol, "rtol", nonnegative=True)
    atol = check_real(atol, "atol", nonnegative=True)
    if not isinstance(raise_on_fail, (bool, np.bool_)):
        raise TypeError(f"raise_on_fail must be True or False, got {type(raise_on_fail).__name__} "
                        f"{raise_on_fail!r}")
    rng = as_generator(seed)
    dims, n, width = sh.dims, sh.n, max(sh.dims)
    thetas = tuple(rng.uniform(-scale, scale, (points, d)) for d in dims)
    expected = np.zeros((points, n, width))
    for i, e in enumerate(field_(*thetas)):
        expected[:, i, :dims[i]] = e
    got = np.full_like(expected, np.nan)
    got[:, :, :] = np.where(np.arange(width) < np.array(dims)[:, None], np.nan, 0.0)
    agents: tuple[int, ...] = ()                # the agents fn returns gradients of (points >= 1)
    fname = getattr(fn, "__name__", "fn")
    for k in range(points):
        parts = _as_directions(fn(*(t[k].copy() for t in thetas)), fname, dims)
        these = tuple(i + 1 for i, p in enumerate(parts) if p is not None)
        if k > 0 and these != agents:
            raise ValueError(f"fn returned one gradient at some points and {_COUNT[n]} at others")
        agents = these
        for i, p in enumerate(parts):
            if p is not None:
                got[k, i, :dims[i]] = p
    labels = tuple(tuple(x) for x in g.param_names)
    report = GradientCheck(game.name, field_.rule.name, thetas, expected, got, agents, rtol,
                           atol, labels)
    if not report.passed:
        hints = _hints(sh, got, expected, thetas, agents, max(rtol, 1e-9), atol)
        report = GradientCheck(game.name, field_.rule.name, thetas, expected, got, agents, rtol,
                               atol, labels, hints)
    if raise_on_fail:
        report.raise_for_failure()
    return report
