r"""Faces: the fixed points of learning rules in policy space, limits at saturated logits included.

With sigmoid policies :math:`p_k = \sigma(\theta_k)` every field of the
learning rules vanishes where a logit runs off to :math:`\pm\infty`, so the
outcomes that matter in the iterated games (all-defect, tit-for-tat) are not
roots of :math:`g(\theta)` but limits. This module describes such a limit by
its *face*, the coordinates whose probability saturates at exactly 0 or 1, and
the values of the others (the *free* coordinates), and judges it with the
quantities that stay finite there.

**The p-space field.** Every rule's direction for coordinate :math:`k` is a
derivative in :math:`\theta_k` of functions of the policies, so by the chain
rule (:math:`dp_k/d\theta_k = p_k(1 - p_k)`) it carries the factor
:math:`p_k(1 - p_k)`:

.. math:: g_k(\theta) = p_k (1 - p_k)\, h_k(p),

where :math:`h_k` is a rational function of the probabilities, finite at 0
and 1 (for the naive learner :math:`h = \partial V_i / \partial p_k`). The
logit flow moves the probability as :math:`\dot p_k = p_k^2 (1 - p_k)^2 h_k`.
:func:`probability_field` evaluates :math:`h`, with a saturated coordinate at
logit :data:`SATURATION_LOGIT` (:math:`\sigma(-100) = 3.7 \cdot 10^{-44}`), so
the value differs from the limit by a relative :math:`O(e^{-100})`, far below
rounding; the programs write :math:`1 - p` as :math:`\sigma(-\theta)`, so no
cancellation occurs (checked against exact rational evaluation in the tests).

**Face points.** On a face the free coordinates solve :math:`h_f = 0` (Newton
in their logits with the exact compiled Jacobian,
:func:`lola_sym.analysis.jacobian.jacobian_function`); the saturated ones are
exactly 0 or 1. The *outward push* of a saturated coordinate is
:math:`s_k h_k` with :math:`s_k = +1` at 1 and :math:`-1` at 0: positive when
the field drives the probability further onto the boundary it sits on.
Near the face the linearised flow is block triangular (the saturated
probabilities move at order :math:`p^2`), so its spectrum is that of the
Jacobian :math:`J_{ff}` restricted to the free coordinates plus a zero per
saturated coordinate, whose one-sided centre dynamics
:math:`\dot p_k \approx p_k^2 h_k` attract exactly when the push is positive.
A face point is

* *attracting*: every push positive and every eigenvalue of :math:`J_{ff}`
  with negative real part (for the map :math:`\theta + \delta g`, given
  ``delta``: every multiplier :math:`1 + \delta\lambda` inside the unit circle);
* *repelling*: every push negative and every eigenvalue unstable;
* *saddle*: both kinds present;
* *degenerate*: a push or an eigenvalue (real part, or multiplier modulus
  minus one) within ``zero_tol`` of zero, e.g. a state the face's policies never
  visit, where every policy is a fixed point (a family). The note says how
  many were zero and what the rest do.

**Off the path of play.** A state that the face's policies never reach
(e.g. CC, CD and DC under mutual defection) has :math:`h = 0` whatever its
policy: each such coordinate adds a zero push or a zero eigenvalue, so such
points are *degenerate*, and the note counts the off-path coordinates and
says what the on-path ones do ("6 zero (6 off-path); rest attracting"). The
on-path pushes can depend on the off-path policies (one-step deviations, e.g.
whether a defection is punished), so a point's class holds for the values
shown. :meth:`FaceResult.format_table` can print off-path entries as ``·``
and merge the rows that then coincide.

**Enumeration** (:func:`find_faces`). A face assigns free, 0 or 1 to each of
the :math:`d` coordinates: :math:`3^d` faces (59,049 for the IPD's
:math:`d = 10`). They are taken by the number :math:`m` of free coordinates,
corners first (:math:`2^d`, evaluated directly), each level
(:math:`\binom{d}{m} 2^{d-m}` faces) exhaustively while the budget
``max_faces`` lasts; the level where it runs out is sampled uniformly
(seeded), and larger ones are skipped (the result says which). On each face
with free coordinates Newton runs from ``starts`` seeded normal starts in
the free logits; roots whose free logit exceeds :data:`FREE_LOGIT_MAX` belong
to a smaller face and are dropped; duplicates are merged, and of a family
(singular :math:`J_{ff}`) one point per face is kept.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. (The IPD with memory-1 sigmoid policies, Sec. 4.1.)
.. [2] Kuznetsov, Y. A. (2004). *Elements of Applied Bifurcation Theory*,
   3rd ed., Springer, Ch. 5 (centre manifolds of non-hyperbolic equilibria).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import combinations, product
from math import comb

import numpy as np
from scipy.special import expit, logit

from lola_sym._validation import check_game, check_positive_int, check_real
from lola_sym.analysis.arguments import need_values, split_values
from lola_sym.analysis.jacobian import jacobian_function
from lola_sym.dynamics.training import as_generator

__all__ = ["FacePoint", "FaceResult", "find_faces", "probability_field", "face_point",
           "SATURATION_LOGIT", "FREE_LOGIT_MAX", "CLASSES"]

#: Logit magnitude at which a saturated coordinate is evaluated (p(1 - p) = 3.7e-44).
SATURATION_LOGIT = 100.0
#: A free coordinate whose root lies beyond this logit magnitude (p(1 - p) < 2e-9) is a point
#: of the smaller face with that coordinate saturated, and is dropped there.
FREE_LOGIT_MAX = 20.0
#: Newton iterations on each face, and the largest step in a logit.
NEWTON_STEPS = 60
MAX_STEP = 3.0
#: Systems solved in one batch.
CHUNK = 8192
#: The classifications, in the order the tables list them.
CLASSES = ("attracting", "saddle", "repelling", "degenerate")


def _check_face_game(game) -> None:
    check_game(game)
    kind = getattr(game, "kind", None)
    if kind not in ("iterated", "repeated"):
        raise ValueError(f"faces are defined for iterated and repeated games with sigmoid "
                         f"policies; {getattr(game, 'name', game)!r} is a {kind} game (use "
                         f"find_fixed_points)")
    if kind == "repeated" and any(k != 2 for k in game.actions):
        raise ValueError(f"faces need two actions per player (one sigmoid logit per state); "
                         f"{game.name} has actions {tuple(game.actions)}")
    if getattr(game, "field_path", None) == "adjoint":
        raise ValueError(f"{game.name} is too large for faces (its field runs on the adjoint "
                         f"path); use a game with at most 10 states per player")


class _Setup:
    """The compiled field and Jacobian of one (game, rule, settings), on flat arrays."""

    def __init__(self, game, rule, parameters, settings):
        from lola_sym.field import update_field
        _check_face_game(game)
        self.hyper, self.values = split_values(game, rule, settings, parameters)
        need_values(game, self.values, "face search", "exact_fixed_points")
        if any(np.ndim(v) != 0 for v in self.values.values()):
            raise ValueError("faces are searched on one game: every value of a game symbol "
                             "must be a scalar")
        self.game = game
        self.f = update_field(game, rule, **self.hyper)
        self.rule = self.f.rule.name
        self.dims = tuple(game.dims)
        self.d = sum(self.dims)
        self.bounds = np.cumsum((0,) + self.dims)
        self._J = None

    def split(self, z):
        return [z[..., lo:hi] for lo, hi in zip(self.bounds[:-1], self.bounds[1:])]

    def g(self, z):
        with np.errstate(all="ignore"):
            return np.concatenate(self.f(*self.split(z), failed="nan", **self.values), axis=-1)

    def h(self, z):
        return self.g(z) / (expit(z) * expit(-z))

    def J(self, z):
        if self._J is None:
            self._J = jacobian_function(self.game, self.rule, parameters=self.values,
                                        **self.hyper)
        with np.errstate(all="ignore"):
            return self._J(*self.split(z))

    def value(self, z):
        return np.asarray(self.game.value(*self.split(z), **self.values), dtype=float)


def _on_path(game, p: np.ndarray, bounds) -> np.ndarray:
    """Per coordinate: whether its state is reached with positive probability under ``p``.

    A search of the game's chain (:func:`lola_sym.games.chain.transitions`, the
    one chain builder) over the histories reachable from the start; saturated
    probabilities are exactly 0 or 1, so unreached states have weight exactly 0.
    """
    from lola_sym.games.chain import first_move, transitions
    space = (game.as_repeated() if game.kind == "iterated" else game).space
    ps = [p[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]

    def prob(i, state, a):
        return ps[i][state] if a == 0 else 1 - ps[i][state]
    seen = np.zeros(len(p), bool)
    for i, lo in enumerate(bounds[:-1]):
        seen[lo + space.state_of(i, ())] = True
    todo = [h for h, w in first_move(space, prob).items() if w > 0]
    done = set()
    while todo:
        h = todo.pop()
        if h in done:
            continue
        done.add(h)
        for i, lo in enumerate(bounds[:-1]):
            seen[lo + space.state_of(i, h)] = True
        todo += [n for n, w in transitions(space, prob, h).items() if w > 0 and n not in done]
    return seen


def _logits(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore"):
        return np.clip(logit(p), -SATURATION_LOGIT, SATURATION_LOGIT)


def probability_field(game, rule, *ps, parameters=None, **settings) -> tuple:
    r"""The field divided by :math:`p(1 - p)`, at probabilities that may be exactly 0 or 1.

    Returns :math:`h_k = g_k / (p_k (1 - p_k))`, one array per player, finite on
    the whole closed cube (for the naive learner the policy gradient
    :math:`\partial V_i / \partial p_k`). Saturated entries are evaluated at
    logit :math:`\pm` :data:`SATURATION_LOGIT`.

    Parameters
    ----------
    game, rule
        An iterated or repeated game with two actions per player; a rule name.
    *ps : array_like
        One probability array per player (shape ``(..., d_i)``), entries in [0, 1].
    parameters, **settings
        The rule's hyper-parameters and the game's symbol values, as in
        :func:`lola_sym.analysis.fixed_points.find_fixed_points`.

    Examples
    --------
    All-defect against all-defect in the IPD: cooperating on the first move
    costs :math:`P - S = 1` once, in state DD it costs
    :math:`\gamma (P - S)/(1 - \gamma) = 24` (:math:`\gamma = 0.96`); the states
    CC, CD and DC are never visited.

    >>> from lola_sym import games
    >>> h1, h2 = probability_field(games.ipd(), "nl", [0.0] * 5, [0.0] * 5)
    >>> [round(float(x), 9) + 0.0 for x in h1]
    [-1.0, 0.0, 0.0, 0.0, -24.0]
    """
    s = _Setup(game, rule, parameters, settings)
    if len(ps) != len(s.dims):
        raise ValueError(f"{game.name} has {len(s.dims)} players: give one probability array "
                         f"each, got {len(ps)}")
    arrs = []
    for i, (p, k) in enumerate(zip(ps, s.dims), 1):
        a = np.asarray(p, dtype=float)
        if a.ndim == 0 or a.shape[-1] != k:
            raise ValueError(f"player {i}'s probabilities need shape (..., {k}), got {a.shape}")
        if not np.all((a >= 0) & (a <= 1)):
            raise ValueError(f"player {i}'s probabilities must lie in [0, 1] (no NaN)")
        arrs.append(a)
    batch = np.broadcast_shapes(*(a.shape[:-1] for a in arrs))
    z = np.concatenate([np.broadcast_to(_logits(a), batch + (a.shape[-1],)) for a in arrs],
                       axis=-1)
    return tuple(s.split(s.h(z)))


@dataclass(frozen=True)
class FacePoint:
    """A fixed point on a face of the policy cube.

    Attributes
    ----------
    face : tuple
        Per coordinate (players' parameters concatenated): 0 or 1 where it
        saturates, ``None`` where it is free.
    p : tuple of ndarray
        Each player's probabilities (exactly 0 or 1 on the face).
    values : ndarray
        :math:`V_1, \\dots, V_n` there.
    residual : float
        Largest :math:`|h_k|` over the free coordinates (0 for a corner).
    push : ndarray
        Outward push :math:`s_k h_k` of each saturated coordinate, in order.
    eigenvalues : ndarray
        Of the logit Jacobian restricted to the free coordinates.
    classification : str
        One of :data:`CLASSES`.
    note : str
        For a degenerate point: how many quantities are zero (and how many
        coordinates are off the path of play), and what the rest do.
    on_path : tuple of bool
        Per coordinate: whether its state is ever visited under ``p``. Off the
        path, h is zero and every value is a limit point too (a family); the
        on-path pushes may still depend on the off-path values (one-step
        deviations), so the classification holds for the values shown.
    """

    face: tuple
    p: tuple
    values: np.ndarray
    residual: float
    push: np.ndarray
    eigenvalues: np.ndarray
    classification: str
    note: str = ""
    on_path: tuple = ()

    @property
    def push_min(self) -> float | None:
        """Smallest outward push (``None`` for an interior point)."""
        return float(np.min(self.push)) if len(self.push) else None

    @property
    def push_min_on_path(self) -> float | None:
        """Smallest outward push over the saturated coordinates on the path of play."""
        sat = [k for k, v in enumerate(self.face) if v is not None]
        on = [x for k, x in zip(sat, self.push) if not self.on_path or self.on_path[k]]
        return float(min(on)) if on else None

    @property
    def free(self) -> int:
        """Number of free coordinates."""
        return sum(v is None for v in self.face)

    def as_dict(self) -> dict:
        """JSON-able summary (probabilities ``p1``, ``p2``, ...)."""
        return {"face": list(self.face),
                **{f"p{i}": q.tolist() for i, q in enumerate(self.p, 1)},
                "values": self.values.tolist(), "residual": self.residual,
                "push": self.push.tolist(), "push_min": self.push_min,
                "eigenvalues": [[float(z.real), float(z.imag)] for z in self.eigenvalues],
                "classification": self.classification, "note": self.note,
                "on_path": list(self.on_path)}


@dataclass(frozen=True)
class FaceResult:
    """The face points of one rule on one game, with how the faces were covered.

    Attributes
    ----------
    game, rule : str
        Names.
    settings : dict
        The rule's hyper-parameters.
    labels : tuple of tuple of str
        Each player's state labels (the coordinates).
    points : tuple of FacePoint
        In table order (see :func:`find_faces`).
    levels : tuple of (int, int, int)
        Per number of free coordinates: the faces there and how many were searched.
    starts, seed, seconds, delta, notes
        The search's settings, its wall time, the map's rate (``None``: the flow)
        and remarks (levels not searched).
    """

    game: str
    rule: str
    settings: dict
    labels: tuple
    points: tuple
    levels: tuple              # (free coordinates m, faces at that level, faces searched)
    starts: int
    seed: object
    seconds: float
    delta: float | None = None
    notes: tuple = field(default=())

    @property
    def exhaustive(self) -> bool:
        """Every face was searched."""
        return all(n == k for _, n, k in self.levels)

    def counts(self) -> dict:
        """Number of face points per classification."""
        return {c: sum(p.classification == c for p in self.points) for c in CLASSES}

    def select(self, classes=None) -> list:
        """The points whose classification is in ``classes`` (all by default)."""
        return [p for p in self.points if classes is None or p.classification in classes]

    def format_table(self, classes=None, limit: int | None = None,
                     hide_degenerate: bool = False, group: bool = False) -> str:
        r"""The face table: class, values, smallest on-path push, largest
        :math:`\mathrm{Re}\,\lambda`, residual and the face (saturated
        probabilities as 0/1, free ones with 3 decimals).

        ``classes`` selects classifications, ``limit`` the number of rows;
        ``hide_degenerate`` drops the degenerate points whose other pushes and
        eigenvalues do not all attract (they cannot be limits of the dynamics
        from an open set), saying how many. ``group`` shows off-path
        coordinates as ``·`` and merges the points that then print alike
        (column ``n``: how many; push and residual are the group's extremes)."""
        searched = sum(k for _, _, k in self.levels)
        total = sum(n for _, n, _ in self.levels)
        hyper = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        head = [f"{self.rule} on {self.game}" + (f" ({hyper})" if hyper else "")
                + f": {searched:,} of {total:,} faces "
                + ("(exhaustive)" if self.exhaustive else "(budget reached: see levels)")
                + f", {self.starts} Newton start(s) per face with free coordinates "
                f"(seed {self.seed}), {self.seconds:.1f} s",
                "  classes: " + ", ".join(f"{v} {k}" for k, v in self.counts().items())
                + (f"; map theta + {self.delta:g} g" if self.delta is not None else "; flow"),
                "  levels (free coordinates: searched/faces): "
                + ", ".join(f"{m}: {k}/{n}" for m, n, k in self.levels)]
        head += [f"  {n}" for n in self.notes]
        n = len(self.labels)
        vals = "".join(f"{'V' + str(i):>10}" for i in range(1, n + 1))
        states = " | ".join(f"p{i} = ({', '.join(lab)})" for i, lab in enumerate(self.labels, 1))
        rows = [f"  {'class':<11}{'n' if group else '':>6}{vals}{'push min':>10}"
                f"{'max Re l':>10}{'residual':>10}  {states}"]
        shown = self.select(classes)
        if hide_degenerate:
            hidden = [p for p in shown if p.classification == "degenerate"
                      and not p.note.endswith("rest attracting")]
            shown = [p for p in shown if not any(p is q for q in hidden)]
            if hidden:
                head.append(f"  {len(hidden)} degenerate point(s) whose other directions do "
                            f"not all attract are not shown")
        groups: dict = {}
        for p in shown:
            face = " | ".join("(" + ", ".join(_cell(v, x, on or not group)
                                              for v, x, on in zip(fc, q, op)) + ")"
                              for fc, q, op in zip(self.per_player(p), p.p,
                                                   self.per_player(p, True)))
            key = (p.classification, face, tuple(np.round(p.values, 3)), p.note) if group \
                else len(groups)
            groups.setdefault(key, (face, []))[1].append(p)
        for face, members in list(groups.values())[:limit]:
            p = members[0]
            pushes = [q.push_min_on_path for q in members if q.push_min_on_path is not None]
            tops = [max((z.real for z in q.eigenvalues), default=None) for q in members]
            res = [r for r in tops if r is not None]
            rows.append(f"  {p.classification:<11}" + (f"{len(members):6d}" if group else "")
                        + "".join(f"{v:10.3f}" for v in p.values)
                        + (f"{min(pushes):10.3g}" if pushes else f"{'-':>10}")
                        + (f"{max(res):10.3g}" if res else f"{'-':>10}")
                        + f"{max(q.residual for q in members):10.1e}  {face}"
                        + (f"  [{p.note}]" if p.note else ""))
        if limit is not None and len(groups) > limit:
            rows.append(f"  ... {len(groups) - limit} more rows")
        return "\n".join(head + rows)

    def per_player(self, p: FacePoint, on_path: bool = False) -> list:
        """Per player: the face entries of ``p`` (or, with ``on_path``, its on-path flags)."""
        out, k = [], 0
        flat = (p.on_path or (True,) * len(p.face)) if on_path else p.face
        for lab in self.labels:
            out.append(flat[k:k + len(lab)])
            k += len(lab)
        return out

    def as_dict(self) -> dict:
        """JSON-able result."""
        return {"game": self.game, "rule": self.rule, "settings": self.settings,
                "labels": [list(lab) for lab in self.labels], "starts": self.starts,
                "seed": self.seed if isinstance(self.seed, int) else None,
                "levels": [list(x) for x in self.levels], "exhaustive": self.exhaustive,
                "counts": self.counts(), "delta": self.delta, "seconds": self.seconds,
                "points": [p.as_dict() for p in self.points]}


def _cell(v, x, on_path: bool = True) -> str:
    if not on_path:
        return "·"
    return str(int(v)) if v is not None else f"{x:.3f}"


# ------------------------------------------------------------------ solving
def _newton(s: _Setup, z: np.ndarray, free: np.ndarray, tol: float) -> tuple:
    """Newton on h_f = 0 in the free logits, batched; rows share the number of free coordinates."""
    B, d = z.shape
    m = int(free[0].sum())
    idx = np.nonzero(free)[1].reshape(B, m)
    rows = np.arange(B)[:, None]
    res = np.full(B, np.inf)
    for _ in range(NEWTON_STEPS + 1):
        h = s.h(z)
        hf = h[rows, idx]
        res = np.where(np.all(np.isfinite(hf), axis=1), np.max(np.abs(hf), axis=1), np.inf)
        act = np.nonzero((res > tol * 1e-3) & np.all(np.abs(z[rows, idx]) <= 2 * FREE_LOGIT_MAX,
                                                     axis=1) & np.isfinite(res))[0]
        if not len(act) or _ == NEWTON_STEPS:
            break
        za = z[act]
        Jg = s.J(za)
        D = expit(za) * expit(-za)
        ia = idx[act]
        ra = np.arange(len(act))[:, None]
        # d h_k / d theta_j = J_kj / D_k - h_k (1 - 2 p_k) [k = j]
        Jh = Jg[ra[:, :, None], ia[:, :, None], ia[:, None, :]] / D[ra, ia][:, :, None]
        Jh[:, np.arange(m), np.arange(m)] -= (h[act][ra, ia] * (1 - 2 * expit(za[ra, ia])))
        rhs = -h[act][ra, ia]
        mu = (1e-13 * np.max(np.abs(Jh), axis=(1, 2), initial=0.0)) ** 2
        A = np.einsum("bki,bkj->bij", Jh, Jh) + mu[:, None, None] * np.eye(m)
        with np.errstate(all="ignore"):
            ok = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(rhs), axis=1)
            step = np.zeros((len(act), m))
            if ok.any():
                try:
                    step[ok] = np.linalg.solve(A[ok], np.einsum("bki,bk->bi", Jh[ok],
                                                                rhs[ok])[..., None])[..., 0]
                except np.linalg.LinAlgError:
                    step[ok] = np.einsum("bij,bj->bi", np.linalg.pinv(Jh[ok]), rhs[ok])
        big = np.max(np.abs(step), axis=1, initial=0.0)
        step *= np.minimum(1.0, MAX_STEP / np.where(big > 0, big, 1.0))[:, None]
        step[~ok] = np.nan
        z[act[:, None], ia] += step
    return z, res


def _classify(push, eig, delta, zero_tol) -> tuple:
    if delta is None:
        growth = np.asarray([z.real for z in eig])
    else:
        growth = np.abs(1 + delta * np.asarray(eig)) - 1
    good = int(np.sum(push > zero_tol) + np.sum(growth < -zero_tol))
    bad = int(np.sum(push < -zero_tol) + np.sum(growth > zero_tol))
    zero = len(push) + len(growth) - good - bad
    rest = "attracting" if not bad else "repelling" if not good else "saddle"
    if zero:
        what = "saddle" if good and bad else rest
        return "degenerate", f"{zero} zero; rest {what}" if good + bad else f"{zero} zero"
    return rest, ""


def _points(s: _Setup, faces: np.ndarray, starts: int, draw, tol, zero_tol, delta) -> list:
    """Solve and classify the faces (rows of -1/0/1) of one level; ``draw(n)`` gives n starts."""
    m = int(np.sum(faces[0] < 0))
    sat = np.where(faces == 1, SATURATION_LOGIT, -SATURATION_LOGIT)
    reps = starts if m else 1
    Z = np.repeat(sat, reps, axis=0)
    F = np.repeat(faces, reps, axis=0)
    free = F < 0
    Z[free] = draw(int(free.sum()))
    out = []
    for lo in range(0, len(Z), CHUNK):
        z, fr, fc = Z[lo:lo + CHUNK].copy(), free[lo:lo + CHUNK], F[lo:lo + CHUNK]
        if m:
            z, res = _newton(s, z, fr, tol)
            keep = (res <= tol) & np.all(np.where(fr, np.abs(z) <= FREE_LOGIT_MAX, True), axis=1)
        else:
            res = np.zeros(len(z))
            keep = np.ones(len(z), bool)
        if not keep.any():
            continue
        z, fr, fc, res = z[keep], fr[keep], fc[keep], res[keep]
        h = s.h(z)
        V = s.value(z)
        if m:
            J = s.J(z)
            fi = np.nonzero(fr)[1].reshape(len(z), m)
            rb = np.arange(len(z))[:, None, None]
            eigs = np.linalg.eigvals(J[rb, fi[:, :, None], fi[:, None, :]])
        else:
            eigs = np.zeros((len(z), 0), complex)
        for b in range(len(z)):
            satk = ~fr[b]
            push = np.where(fc[b][satk] == 1, 1.0, -1.0) * h[b][satk]
            cls, note = _classify(push, eigs[b], delta, zero_tol)
            p = np.where(fr[b], expit(z[b]), fc[b].astype(float))
            seen = _on_path(s.game, p, s.bounds)
            if note and not seen.all():
                note = note.replace(" zero", f" zero ({int((~seen).sum())} off-path)", 1)
            out.append(FacePoint(tuple(None if v < 0 else int(v) for v in fc[b]),
                                 tuple(q.copy() for q in s.split(p)), V[b], float(res[b]),
                                 push, eigs[b], cls, note, tuple(bool(x) for x in seen)))
    return _dedupe(out, zero_tol)


def _dedupe(points, zero_tol) -> list:
    out: list[FacePoint] = []
    by_face: dict[tuple, list[tuple[bool, np.ndarray]]] = {}
    for q in sorted(points, key=lambda x: x.residual):
        flat = np.concatenate(q.p)
        singular = bool(q.free) and np.min(np.abs(q.eigenvalues)) <= zero_tol
        kept = by_face.setdefault(q.face, [])
        if singular and any(s for s, _ in kept):
            continue                            # one point of a family per face
        if any(np.max(np.abs(o - flat)) < 1e-7 for _, o in kept):
            continue
        kept.append((singular, flat))
        out.append(q)
    return out


def _rank(p: FacePoint) -> int:
    """Table order: attracting, degenerate but otherwise attracting, saddle, repelling, rest."""
    if p.classification == "degenerate":
        return 1 if p.note.endswith("rest attracting") else 4
    return {"attracting": 0, "saddle": 2, "repelling": 3}[p.classification]


def _level_faces(d: int, m: int, budget: int, rng) -> tuple:
    """``(faces, total)`` of the level with m free coordinates: all of them, or a sample."""
    total = comb(d, m) * 2 ** (d - m)
    if total <= budget:
        rows = []
        for fr in combinations(range(d), m):
            rest = [k for k in range(d) if k not in fr]
            for bits in product((0, 1), repeat=d - m):
                f = np.full(d, -1, dtype=np.int8)
                f[rest] = bits
                rows.append(f)
        return np.array(rows, dtype=np.int8).reshape(-1, d), total
    seen, rows = set(), []
    for _ in range(20 * budget):
        if len(rows) >= budget:
            break
        f = rng.integers(0, 2, size=d).astype(np.int8)
        f[rng.choice(d, size=m, replace=False)] = -1
        if f.tobytes() not in seen:
            seen.add(f.tobytes())
            rows.append(f)
    return np.array(rows, dtype=np.int8).reshape(-1, d), total


def find_faces(game, rule, *, max_free: int | None = None, max_faces: int = 100_000,
               starts: int = 4, scale: float = 2.0, seed=0, tol: float = 1e-12,
               zero_tol: float = 1e-9, delta: float | None = None, parameters=None,
               **settings) -> FaceResult:
    r"""All face points of ``rule`` on ``game`` that the enumeration reaches, classified.

    Parameters
    ----------
    game
        An iterated game or a repeated game with two actions per player.
    rule : str
        A rule of :data:`lola_sym.rules.registry.RULES` defined for the game's players.
    max_free : int, optional
        Largest number of free coordinates searched (default: all, the interior included).
    max_faces : int
        Budget of faces (>= 1): levels are searched exhaustively, corners first, until it
        runs out; the level where it does is sampled uniformly, larger ones skipped.
    starts : int
        Newton starts per face with free coordinates (>= 1), free logits
        :math:`\sim N(0, \text{scale}^2)`.
    seed : int or numpy.random.Generator
    tol : float
        Largest residual :math:`\max_f |h_f|` accepted (in (0, 1e-6]).
    zero_tol : float
        Pushes and eigenvalue real parts (multiplier moduli minus one with ``delta``)
        within this of zero make a point degenerate.
    delta : float, optional
        Classify for the map :math:`\theta + \delta g` instead of the flow.
    parameters, **settings
        The rule's hyper-parameters and the game's symbol values.

    Returns
    -------
    FaceResult
        Points sorted attracting, degenerate but attracting in every other direction,
        saddle, repelling, other degenerate; then by the free count and values.

    Raises
    ------
    ValueError, TypeError
        For a game without sigmoid policies, or an argument of the wrong type or range.

    Examples
    --------
    The prisoner's dilemma with memory-0 policies: defecting is dominant, so the
    all-defect corner attracts with push :math:`(P - S)/(1 - \gamma) = 25`, and
    all-cooperate repels.

    >>> from lola_sym.games.repeated import repeated
    >>> pd = repeated([[[-1, -3], [0, -2]], [[-1, 0], [-3, -2]]], "24/25", memory=0)
    >>> res = find_faces(pd, "nl")
    >>> [(p.classification, p.face, round(p.push_min, 9)) for p in res.points]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('attracting', (0, 0), 25.0), ('saddle', (0, 1), -25.0), ('saddle', (1, 0), -25.0),
     ('repelling', (1, 1), -25.0)]
    """
    t0 = time.perf_counter()
    s = _Setup(game, rule, parameters, settings)
    d = s.d
    max_free = d if max_free is None else check_positive_int(max_free + 1, "max_free + 1") - 1
    max_free = min(max_free, d)
    max_faces = check_positive_int(max_faces, "max_faces")
    starts = check_positive_int(starts, "starts")
    scale = check_real(scale, "scale", positive=True)
    tol = check_real(tol, "tol", positive=True)
    if tol > 1e-6:
        raise ValueError(f"tol={tol:g} is too loose for a fixed point; use tol <= 1e-6")
    zero_tol = check_real(zero_tol, "zero_tol", positive=True)
    if delta is not None:
        delta = check_real(delta, "delta", positive=True)
    rng = as_generator(seed)
    budget, levels, points = max_faces, [], []
    for m in range(max_free + 1):
        if budget <= 0:
            levels.append((m, comb(d, m) * 2 ** (d - m), 0))
            continue
        faces, total = _level_faces(d, m, budget, rng)
        budget -= len(faces)
        levels.append((m, total, len(faces)))
        if len(faces):
            points += _points(s, faces, starts, lambda n: rng.normal(0.0, scale, size=n), tol,
                              zero_tol, delta)
    points.sort(key=lambda p: (_rank(p), p.free, -float(np.sum(p.values))))
    notes = () if max_free == d else (f"faces with more than {max_free} free coordinates "
                                      f"not searched",)
    labels = tuple(tuple(str(x) for x in grp) for grp in game.param_names)
    return FaceResult(game.name, s.rule, dict(s.hyper), labels, tuple(points), tuple(levels),
                      starts, seed if isinstance(seed, int) else None,
                      time.perf_counter() - t0, delta, notes)


def face_point(game, rule, face, *, x0=None, tol: float = 1e-12, zero_tol: float = 1e-9,
               delta: float | None = None, parameters=None, **settings) -> FacePoint | None:
    r"""Solve one face from one start: the point, or ``None`` where Newton does not converge.

    ``face`` has one entry per coordinate (players concatenated): 0, 1 or
    ``None`` (free); ``x0`` the start of the free logits (default 0).

    Examples
    --------
    Tit-for-tat against itself (only CC is visited after the first move):
    defecting once starts an alternation of T and S, worth
    :math:`S\gamma/(1 - \gamma^2) = -36.73` against :math:`R/(1 - \gamma) = -25`,
    so the push is 11.73 in s0 and :math:`\gamma/(1 - \gamma) = 24` times that in CC;
    nothing acts on CD, DC, DD.

    >>> from lola_sym import games
    >>> tft = (1, 1, 0, 1, 0)
    >>> pt = face_point(games.ipd(), "nl", tft + tft)
    >>> pt.classification, pt.note, [round(float(x), 4) + 0.0 for x in pt.push[:5]]
    ('degenerate', '6 zero (6 off-path); rest attracting', [11.7347, 281.6327, 0.0, 0.0, 0.0])
    """
    s = _Setup(game, rule, parameters, settings)
    if len(face) != s.d or any(v not in (0, 1, None) for v in face):
        raise ValueError(f"face needs {s.d} entries, each 0, 1 or None (free), got {face!r}")
    f = np.array([-1 if v is None else v for v in face], dtype=np.int8)[None]
    m = int(np.sum(f < 0))
    tol = check_real(tol, "tol", positive=True)
    start = np.zeros(m) if x0 is None else np.asarray(x0, dtype=float).reshape(-1)
    if start.shape != (m,) or not np.all(np.isfinite(start)):
        raise ValueError(f"x0 needs {m} finite numbers (one per free coordinate)")
    pts = _points(s, f, 1, lambda n: start.copy(), tol,
                  check_real(zero_tol, "zero_tol", positive=True), delta)
    return pts[0] if pts else None
