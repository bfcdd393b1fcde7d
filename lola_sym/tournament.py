r"""Round-robin tournaments between learning rules, and export of memory-1 policies.

:func:`tournament` trains every pair of rules (self-play included) with
:func:`~lola_sym.training.train` from the same seeded initial parameters, as
in Table 4 of the LOLA paper. The learned policies can be exported as
memory-one probability vectors (:func:`to_memory_one`) and as players of the
Axelrod library (:func:`to_axelrod`); :func:`long_run_reward` gives the exact
undiscounted long-run average reward of two policies, the quantity a long
Axelrod match estimates.

Axelrod's ``MemoryOnePlayer(four_vector=(p_CC, p_CD, p_DC, p_DD), initial)``
reads states as (own last move, opponent's last move), which is our own
perspective: the four vector is our ``sigmoid(theta[1:])`` for either agent.
Our first move is stochastic, ``P(C) = sigmoid(theta[0])``, while Axelrod's
``initial`` is one action. :func:`to_axelrod` therefore plays the more likely
first action by default (``initial="likely"``, C on a tie) or, with
``initial="sample"``, a :class:`MemoryOnePlayer` subclass that draws the first
move from the player's seeded random source. The first move changes the
discounted value :math:`V` but not the long-run average: every state has a
positive probability, so the chain of joint actions is ergodic and forgets its
start (a fixed-length match of ``T`` turns carries an :math:`O(t_{mix}/T)`
start-up bias, where the mixing time grows like :math:`e^{|\theta|}`).

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 6 and Table 4.
.. [2] Knight, V. et al. (2016). An open reproducible framework for the study
   of the iterated prisoner's dilemma. J. Open Research Software 4(1), e35.
.. [3] Leighton, F. T. and Rivest, R. L. (1986). Estimating a probability
   using finite memory. IEEE Trans. Inf. Theory 32(6) (Markov chain tree theorem).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp, softmax

from lola_sym._validation import as_params, check_positive_int, check_real
from lola_sym.games import ipd
from lola_sym.layout import LOGIT_CLIP, SWAP
from lola_sym.rules import get_rule
from lola_sym.training import as_generator, train

__all__ = ["tournament", "TournamentResult", "Pairing", "DEFAULT_RULES", "to_memory_one",
           "from_memory_one", "stationary_distribution", "long_run_reward", "to_axelrod",
           "to_axelrod_game", "simulate_axelrod", "INITIAL_MODES"]

#: The rules of the default tournament (Table 4 of [1] has NL, LOLA and second-order LOLA).
DEFAULT_RULES = ("nl", "lola", "lola2", "la", "sos")
#: How :func:`to_axelrod` turns the stochastic first move into Axelrod's ``initial``.
INITIAL_MODES = ("likely", "sample")
_AXELROD_HINT = ("to_axelrod needs the Axelrod library: pip install axelrod "
                 "(or pip install -e '.[axelrod]')")


# ---------------------------------------------------------------- the tournament
@dataclass(frozen=True, eq=False)
class Pairing:
    r"""The end of training of one (row rule, column rule) pair over all runs.

    Attributes
    ----------
    row, col : str
        The rule playing agent 1 (row of the table) and agent 2 (column).
    reward : ndarray, shape (runs, 2)
        Final average reward per step :math:`(1 - \gamma) V` of the row and column agent.
    theta_row, theta_col : ndarray, shape (runs, 5)
        Final logits of both agents, each in its own perspective.
    diverged : ndarray of bool, shape (runs,)
        Runs that diverged (frozen at their last finite parameters, still counted in the means).
    mirrored : bool
        True when the entry is the mirror image of the (col, row) training, which a
        symmetric game makes identical to training the swapped pair from swapped starts.
    """

    row: str
    col: str
    reward: np.ndarray
    theta_row: np.ndarray
    theta_col: np.ndarray
    diverged: np.ndarray
    mirrored: bool = False

    @property
    def mean(self) -> np.ndarray:
        """Mean over runs of the row and column agent's reward, shape (2,)."""
        return self.reward.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation over runs (ddof = 0, as in Table 3 of the reproduction), shape (2,)."""
        return self.reward.std(axis=0)

    @property
    def n_diverged(self) -> int:
        return int(self.diverged.sum())

    def swapped(self) -> "Pairing":
        """The same training seen from the other side (row and column exchanged)."""
        return Pairing(self.col, self.row, self.reward[:, ::-1], self.theta_col, self.theta_row,
                       self.diverged, not self.mirrored)


@dataclass(frozen=True, eq=False)
class TournamentResult:
    """The result of :func:`tournament`; ``pairings[(row, col)]`` is a :class:`Pairing`."""

    game: object
    rules: tuple
    pairings: dict
    runs: int
    steps: int
    delta: float
    seed: int | None
    init_std: float
    ordered: bool
    hyper: dict

    def pairing(self, row: str, col: str) -> Pairing:
        """The entry of ``row`` (agent 1) against ``col`` (agent 2)."""
        try:
            return self.pairings[(row, col)]
        except KeyError:
            raise ValueError(f"no pairing ({row!r}, {col!r}); the rules are {list(self.rules)}") from None

    def _table(self, attr) -> np.ndarray:
        return np.array([[getattr(self.pairings[(a, b)], attr) for b in self.rules]
                         for a in self.rules])

    @property
    def mean(self) -> np.ndarray:
        """``mean[i, j] = (row, col)`` mean rewards of rules i vs j, shape (n, n, 2)."""
        return self._table("mean")

    @property
    def std(self) -> np.ndarray:
        """Standard deviations over runs, shape (n, n, 2)."""
        return self._table("std")

    @property
    def diverged(self) -> np.ndarray:
        """Number of diverged runs per entry, shape (n, n)."""
        return self._table("n_diverged")

    def score(self) -> dict:
        """Each rule's mean reward over all its opponents (each opponent weighted equally)."""
        return {r: float(m) for r, m in zip(self.rules, self.mean[:, :, 0].mean(axis=1))}

    def format(self, std: bool = False) -> str:
        """The table as text: row rule vs column rule, entries ``"r_row / r_col"``.

        With ``std=True`` each number is followed by its standard deviation over runs.
        """
        mean, sd, div = self.mean, self.std, self.diverged

        def cell(i, j):
            parts = [f"{mean[i, j, k]:+.2f}" + (f" ({sd[i, j, k]:.2f})" if std else "")
                     for k in (0, 1)]
            return " / ".join(parts) + ("*" if div[i, j] else " ")

        cells = [[cell(i, j) for j in range(len(self.rules))] for i in range(len(self.rules))]
        w = max(len(c) for row in cells for c in row) + 2
        lw = max(4, *(len(r) for r in self.rules)) + 1
        seed = "a Generator" if self.seed is None else self.seed
        head = (f"{self.game.name} tournament: average reward per step (1 - gamma) V at the end "
                f"(row / column), mean{' (std)' if std else ''} over {self.runs} runs; "
                f"{self.steps} steps, delta = {self.delta:g}, seed = {seed}")
        lines = [head, " " * lw + "".join(f"{r:>{w}}" for r in self.rules) + f"{'mean':>8}",
                 "-" * (lw + w * len(self.rules) + 8)]
        score = self.score()
        for i, r in enumerate(self.rules):
            lines.append(f"{r:<{lw}}" + "".join(f"{c:>{w}}" for c in cells[i])
                         + f"{score[r]:>+8.2f}")
        hyper = "; ".join(f"{r}: " + ", ".join(f"{k}={v:g}" for k, v in h.items())
                          for r, h in self.hyper.items() if h)
        lines.append("mean = the row rule's reward averaged over its opponents"
                     + (f"; {hyper}" if hyper else ""))
        if div.any():
            bad = ", ".join(f"{self.rules[i]} vs {self.rules[j]}: {div[i, j]}"
                            for i, j in zip(*np.nonzero(div)))
            lines.append(f"* diverged runs (frozen, included in the means): {bad}")
        return "\n".join(lines)

    def as_dict(self, policies: bool = True) -> dict:
        """A JSON-serialisable summary; ``policies`` adds each run's final policies.

        Policies are given as memory-one cooperation probabilities
        ``[s0, CC, CD, DC, DD]`` (own perspective, see :func:`to_memory_one`) and as logits.
        """
        pairs = []
        for (a, b), p in self.pairings.items():
            d = {"row": a, "col": b, "mean": p.mean.tolist(), "std": p.std.tolist(),
                 "diverged": p.n_diverged, "mirrored": p.mirrored}
            if policies:
                d["policies"] = {"row": to_memory_one(p.theta_row).tolist(),
                                 "col": to_memory_one(p.theta_col).tolist(),
                                 "row_logits": p.theta_row.tolist(),
                                 "col_logits": p.theta_col.tolist()}
            pairs.append(d)
        return {"game": {"name": self.game.name, **self.game.spec()}, "rules": list(self.rules),
                "runs": self.runs, "steps": self.steps, "delta": self.delta, "seed": self.seed,
                "init_std": self.init_std, "ordered": self.ordered,
                "hyper": {r: dict(h) for r, h in self.hyper.items()},
                "score": self.score(), "pairs": pairs}


def _check_rules(rules) -> tuple:
    if isinstance(rules, (str, bytes)) or not hasattr(rules, "__iter__"):
        raise TypeError(f"rules must be a sequence of rule names such as ('nl', 'lola'), "
                        f"got {type(rules).__name__} {rules!r}")
    names = tuple(get_rule(r).name for r in rules)   # ValueError naming an unknown rule
    if not names:
        raise ValueError("rules is empty: give at least one rule name, e.g. ('nl', 'lola')")
    dup = sorted({r for r in names if names.count(r) > 1})
    if dup:
        raise ValueError(f"rules must be distinct; repeated: {dup}")
    return names


def _resolve_hyper(rules, shared: dict, per_rule) -> dict:
    takes = {r: get_rule(r).hyper for r in rules}
    for k in shared:
        if not any(k in takes[r] for r in rules):
            raise ValueError(f"no rule of {list(rules)} takes a hyper-parameter {k!r}; they take "
                             f"{sorted(set().union(*takes.values()))}")
    per_rule = dict(per_rule or {})
    for r, h in per_rule.items():
        if r not in takes:
            raise ValueError(f"hyper_by_rule names {r!r}, which is not in rules {list(rules)}")
        bad = sorted(set(h) - set(takes[r]))
        if bad:
            raise ValueError(f"rule {r!r} takes no hyper-parameter {bad[0]!r}; "
                             f"it takes {sorted(takes[r])}")
    return {r: {**{k: v for k, v in shared.items() if k in takes[r]}, **per_rule.get(r, {})}
            for r in rules}


def tournament(game=None, rules=DEFAULT_RULES, *, runs: int = 50, steps: int = 200,
               delta: float = 0.5, seed=0, init_std: float = 1.0, ordered: bool | None = None,
               hyper_by_rule: dict | None = None, progress=None, **hyper) -> TournamentResult:
    r"""Round robin between learning rules, self-play included (Table 4 of [1]_).

    Every entry (row rule as agent 1, column rule as agent 2) is trained with
    :func:`~lola_sym.training.train` from the *same* initial parameters
    :math:`\theta_1, \theta_2 \sim N(0, \text{init\_std}^2)` drawn once from ``seed``
    (so an entry equals ``train(game, row, col, seed=seed, ...)`` for an int seed),
    with ``on_divergence="mark"``.

    Parameters
    ----------
    game : IteratedGame, optional
        Default :func:`~lola_sym.games.ipd`.
    rules : sequence of str
        Distinct rule names (see ``lola_sym.rules.RULES``).
    runs, steps : int
        Independent runs per entry and updates per run.
    delta : float
        Learning rate; 0.5 as in the caption of Table 4 of [1]_.
    seed : int or numpy.random.Generator
    init_std : float
    ordered : bool, optional
        Train both (A, B) and (B, A). By default only for asymmetric games: in a
        symmetric game (B, A) is the mirror image of (A, B) (the field is
        symmetric to rounding; chaotic training amplifies that rounding, so a
        separately trained swapped pair agrees only statistically).
    hyper_by_rule : dict, optional
        Per-rule hyper-parameters, e.g. ``{"sos": {"a": 0.5}}``; they override ``**hyper``.
    progress : callable, optional
        Called as ``progress(row, col)`` before each training (for command lines).
    **hyper
        Shared hyper-parameters (e.g. ``eta``), given to every rule that takes them.

    Returns
    -------
    TournamentResult

    Examples
    --------
    >>> res = tournament(rules=("nl", "lola"), runs=2, steps=3, seed=0)
    >>> res.mean.shape, sorted(res.pairings)[:2]
    ((2, 2, 2), [('lola', 'lola'), ('lola', 'nl')])
    >>> bool(np.array_equal(res.pairing("lola", "nl").reward,
    ...                     res.pairing("nl", "lola").reward[:, ::-1]))
    True
    >>> tournament(rules=("nl", "lolaa"), runs=2, steps=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown rule 'lolaa'; choose one of [...]

    References
    ----------
    .. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
       AAMAS. arXiv:1709.04326, Table 4.
    """
    game = ipd() if game is None else game
    if getattr(game, "kind", None) != "iterated":
        raise TypeError("tournament needs an iterated 2x2 game (lola_sym.games.IteratedGame), "
                        f"got {type(game).__name__}")
    rules = _check_rules(rules)
    runs = check_positive_int(runs, "runs")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    steps = int(steps)
    delta = check_real(delta, "delta", positive=True)
    init_std = check_real(init_std, "init_std", nonnegative=True)
    if ordered is None:
        ordered = not game.is_symmetric
    elif not isinstance(ordered, bool):
        raise TypeError(f"ordered must be a bool or None, got {type(ordered).__name__}")
    elif not ordered and not game.is_symmetric:
        raise ValueError(f"{game.name} is not symmetric: the (B, A) entries cannot be mirrored "
                         "from (A, B); use ordered=True")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable or None")
    per = _resolve_hyper(rules, hyper, hyper_by_rule)
    rng = as_generator(seed)
    int_seed = None if isinstance(seed, np.random.Generator) else int(seed)
    t1 = rng.normal(0.0, init_std, size=(runs, game.dims[0]))
    t2 = rng.normal(0.0, init_std, size=(runs, game.dims[1]))

    pairings = {}
    for i, a in enumerate(rules):
        for j, b in enumerate(rules):
            if (a, b) in pairings:
                continue
            if not ordered and j < i:
                continue
            if progress is not None:
                progress(a, b)
            tr = train(game, a, b, runs=runs, steps=steps, delta=delta, theta1=t1, theta2=t2,
                       hyper1=per[a], hyper2=per[b], on_divergence="mark")
            p = Pairing(a, b, tr.final_reward.copy(), tr.theta1[-1].copy(),
                        tr.theta2[-1].copy(), tr.diverged.copy())
            pairings[(a, b)] = p
            if not ordered and a != b:
                pairings[(b, a)] = p.swapped()
    full = {r: {k: float(v) for k, v in {**get_rule(r).hyper, **per[r]}.items()} for r in rules}
    ordered_pairings = {(a, b): pairings[(a, b)] for a in rules for b in rules}
    return TournamentResult(game, rules, ordered_pairings, runs, steps, delta, int_seed,
                            init_std, ordered, full)


# ------------------------------------------------------------ memory-one export
def to_memory_one(theta) -> np.ndarray:
    r"""Cooperation probabilities ``[s0, CC, CD, DC, DD]`` of memory-1 logits, shape (..., 5).

    States are the agent's own perspective (own last move first), the
    convention of Axelrod's ``four_vector`` = ``to_memory_one(theta)[1:]``;
    the same function serves agent 1 and agent 2. Entry 0 is the probability
    of cooperating on the first move.

    Examples
    --------
    >>> from lola_sym.layout import policy
    >>> to_memory_one(policy("wsls")).round(12)
    array([1., 1., 0., 0., 1.])
    >>> to_memory_one([0, 0, 0, 0, 0])
    array([0.5, 0.5, 0.5, 0.5, 0.5])
    """
    return expit(as_params(theta, "theta"))


def from_memory_one(p, clip: float = LOGIT_CLIP) -> np.ndarray:
    r"""Logits of cooperation probabilities ``[s0, CC, CD, DC, DD]``, clipped to ``[-clip, clip]``.

    Probabilities 0 and 1 map to :math:`\mp` ``clip`` (the saturated logits of
    :func:`lola_sym.layout.policy`).

    Examples
    --------
    >>> from_memory_one([1, 1, 0, 1, 0])     # tit-for-tat
    array([ 30.,  30., -30.,  30., -30.])
    >>> from_memory_one([0.5, 0.5, 0.5, 0.5, 1.5])
    Traceback (most recent call last):
    ...
    ValueError: probabilities must lie in [0, 1]; got 1.5 at index (4,)
    """
    p = as_params(p, "p")
    bad = (p < 0) | (p > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"probabilities must lie in [0, 1]; got {p[idx]} at index {idx}")
    clip = check_real(clip, "clip", positive=True)
    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p)
    return np.clip(logit, -clip, clip)


# ------------------------------------------------------- the long-run average
def _arborescences() -> tuple:
    """For each root, the spanning trees of 4 states directed towards it, as (v, parent) edges."""
    out = []
    for root in range(4):
        others = [v for v in range(4) if v != root]
        trees = []
        for parents in itertools.product(range(4), repeat=3):
            f = dict(zip(others, parents))
            if any(f[v] == v for v in others):
                continue
            ok = True
            for v in others:
                seen, u = set(), v
                while u != root and ok:
                    ok = u not in seen
                    seen.add(u)
                    u = f[u]
            if ok:
                trees.append(tuple(f.items()))
        out.append(tuple(trees))
    return tuple(out)


_TREES = _arborescences()          # 16 trees per root (Cayley: 4^(4-2))


def _log_transitions(theta1, theta2) -> np.ndarray:
    """log P of the joint-action chain, shape (..., 4, 4), from log-sigmoids (no cancellation)."""
    t1 = as_params(theta1, "theta1")
    t2 = as_params(theta2, "theta2")[..., list(SWAP)]   # agent 2 relabelled agent-1-first
    lc1, ld1 = -np.logaddexp(0.0, -t1[..., 1:]), -np.logaddexp(0.0, t1[..., 1:])
    lc2, ld2 = -np.logaddexp(0.0, -t2[..., 1:]), -np.logaddexp(0.0, t2[..., 1:])
    a = (lc1, lc1, ld1, ld1)    # next joint action CC, CD, DC, DD: agent 1's part
    b = (lc2, ld2, lc2, ld2)
    return np.stack([a[k] + b[k] for k in range(4)], axis=-1)


def stationary_distribution(theta1, theta2) -> np.ndarray:
    r"""Stationary distribution of the joint actions (CC, CD, DC, DD, agent 1 first), shape (..., 4).

    By the Markov chain tree theorem [1]_, :math:`\pi_i` is proportional to the
    sum over the spanning trees directed towards state :math:`i` of the product
    of their transition probabilities. All terms are positive and are summed in
    log space, so the result keeps full relative accuracy even for saturated
    logits, where a linear solve of :math:`\pi (I - P) = 0` is ill-conditioned.

    Examples
    --------
    >>> from lola_sym.layout import policy
    >>> stationary_distribution(policy("tft"), policy("tft")).round(12)  # errors spread TFT pairs
    array([0.25, 0.25, 0.25, 0.25])

    References
    ----------
    .. [1] Leighton, F. T. and Rivest, R. L. (1986). Estimating a probability
       using finite memory. IEEE Trans. Inf. Theory 32(6), 733-742.
    """
    lp = _log_transitions(theta1, theta2)
    roots = []
    for trees in _TREES:
        v = np.array([[e[0] for e in t] for t in trees])
        w = np.array([[e[1] for e in t] for t in trees])
        roots.append(logsumexp(lp[..., v, w].sum(axis=-1), axis=-1))
    return softmax(np.stack(roots, axis=-1), axis=-1)


def long_run_reward(theta1, theta2, game) -> np.ndarray:
    r"""Exact undiscounted long-run average reward per step of both agents, shape (..., 2).

    :math:`\lim_{T\to\infty} \frac1T \sum_{t<T} E[r_i] = \pi^\top r_i` with
    :math:`\pi` the :func:`stationary_distribution`; it does not depend on the
    first move and equals :math:`\lim_{\gamma \to 1} (1 - \gamma) V_i` (Abel
    limit). It is what a long fixed-length match (Axelrod) estimates. For
    near-deterministic policies the limit is reached only after a mixing time
    of order :math:`e^{|\theta|}` steps: tit-for-tat pairs at logit 30 average
    (R + S + T + P) / 4 in the limit, not R.

    Parameters
    ----------
    theta1, theta2 : array_like, shape (..., 5)
        Logits of both agents, own perspective (broadcast over leading axes).
    game : IteratedGame

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.layout import policy
    >>> long_run_reward(policy("allc"), policy("wsls"), ipd()).round(9)
    array([-2. , -0.5])

    (rare errors alternate WSLS between cooperating and exploiting ALLC: half the time each).
    >>> long_run_reward(policy("wsls"), policy("wsls"), ipd()).round(9)
    array([-1., -1.])
    """
    if getattr(game, "kind", None) != "iterated":
        raise TypeError("long_run_reward needs an iterated 2x2 game (lola_sym.games.IteratedGame), "
                        f"got {type(game).__name__}")
    pi = stationary_distribution(theta1, theta2)
    r = np.array([[float(v) for v in game.r1], [float(v) for v in game.r2]])
    return pi @ r.T


# ------------------------------------------------------------------- Axelrod
def _axelrod():
    try:
        import axelrod
    except ImportError as exc:
        raise ImportError(f"{_AXELROD_HINT} ({exc})") from None
    return axelrod


_SAMPLED_START = None


def _sampled_start_class():
    """A MemoryOnePlayer whose first move is C with a given probability (built lazily)."""
    global _SAMPLED_START
    if _SAMPLED_START is None:
        axl = _axelrod()

        class SampledStartPlayer(axl.MemoryOnePlayer):
            """Memory-one player with a stochastic first move, P(C) = ``initial_probability``."""

            name = "lola_sym memory-one (sampled first move)"

            def __init__(self, four_vector=(1, 0, 0, 1), initial_probability: float = 0.5):
                super().__init__(four_vector, initial=axl.Action.C)
                if not 0 <= initial_probability <= 1:
                    raise ValueError(f"initial_probability must lie in [0, 1], "
                                     f"got {initial_probability}")
                self.initial_probability = float(initial_probability)

            def _post_init(self):
                super()._post_init()
                if 0 < self.initial_probability < 1:
                    self.classifier["stochastic"] = True

            def strategy(self, opponent):
                if len(opponent.history) == 0:
                    return self._random.random_choice(self.initial_probability)
                return super().strategy(opponent)

        # picklable by reference: lola_sym.tournament.SampledStartPlayer (module __getattr__)
        SampledStartPlayer.__module__ = __name__
        SampledStartPlayer.__qualname__ = "SampledStartPlayer"
        _SAMPLED_START = SampledStartPlayer
    return _SAMPLED_START


def __getattr__(name):
    if name == "SampledStartPlayer":
        return _sampled_start_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_axelrod(theta, initial: str = "likely", name: str | None = None):
    """Axelrod player(s) playing the memory-1 policy ``theta`` (own perspective).

    Parameters
    ----------
    theta : array_like, shape (5,) or (n, 5)
        Logits ``[s0, CC, CD, DC, DD]``; a batch gives a list of players.
    initial : {"likely", "sample"}
        ``"likely"``: an ``axelrod.MemoryOnePlayer`` opening with the more likely
        action (C when ``P(C) >= 1/2``); its discounted value differs from ours
        by the first-move term, its long-run average does not. ``"sample"``: a
        ``MemoryOnePlayer`` subclass drawing the first move with ``P(C) =
        sigmoid(theta[0])`` from the player's seeded random source (exactly our policy).
    name : str, optional
        The players' display name.

    Raises
    ------
    ImportError
        When the Axelrod library is not installed (``pip install axelrod``).

    Examples
    --------
    >>> from lola_sym.layout import policy
    >>> p = to_axelrod(policy("tft", 3.0))          # doctest: +SKIP
    >>> p, p.initial                                # doctest: +SKIP
    (Generic Memory One Player: (0.95..., 0.047..., 0.95..., 0.047...), C)
    """
    if initial not in INITIAL_MODES:
        raise ValueError(f"initial must be one of {list(INITIAL_MODES)}, got {initial!r}")
    p = to_memory_one(theta)
    if p.ndim > 2:
        raise ValueError(f"theta must have shape (5,) or (n, 5), got {p.shape}")
    axl = _axelrod()
    players = []
    for q in np.atleast_2d(p):
        four = tuple(float(x) for x in q[1:])
        if initial == "likely":
            pl = axl.MemoryOnePlayer(four, initial=axl.Action.C if q[0] >= 0.5 else axl.Action.D)
        else:
            pl = _sampled_start_class()(four, float(q[0]))
        if name is not None:
            pl.name = name
        players.append(pl)
    return players[0] if p.ndim == 1 else players


def to_axelrod_game(game=None):
    """``axelrod.Game(r, s, t, p)`` with the payoffs of a symmetric iterated game (default IPD).

    Axelrod scores are maximised, like our values: our IPD's R, S, T, P are
    ``R1[C][C] = -1``, ``R1[C][D] = -3``, ``R1[D][C] = 0``, ``R1[D][D] = -2``
    (the Axelrod default is 3, 0, 5, 1; all shifts and positive rescalings of a
    game give the same learning up to the same transformation of the rewards).
    """
    game = ipd() if game is None else game
    if getattr(game, "kind", None) != "iterated" or not game.is_symmetric:
        raise ValueError("Axelrod games are symmetric 2x2 games; got "
                         f"{getattr(game, 'name', type(game).__name__)!r}, which is not")
    R = [[float(x) for x in row] for row in game.R1]
    return _axelrod().Game(r=R[0][0], s=R[0][1], t=R[1][0], p=R[1][1])


def simulate_axelrod(theta1, theta2, game=None, *, turns: int = 1000, repetitions: int = 10,
                     seed=0, initial: str = "likely") -> np.ndarray:
    """Per-turn average scores of ``repetitions`` seeded Axelrod matches, shape (repetitions, 2).

    Each match has a fixed length of ``turns`` and a seed drawn from ``seed``;
    compare the mean with :func:`long_run_reward` (up to the start-up bias, see
    the module notes).
    """
    turns = check_positive_int(turns, "turns")
    repetitions = check_positive_int(repetitions, "repetitions")
    t1, t2 = as_params(theta1, "theta1"), as_params(theta2, "theta2")
    if t1.ndim != 1 or t2.ndim != 1:
        raise ValueError(f"theta1 and theta2 must have shape (5,); got {t1.shape} and {t2.shape}")
    axl = _axelrod()
    g = to_axelrod_game(game)
    rng = as_generator(seed)
    p1, p2 = to_axelrod(t1, initial), to_axelrod(t2, initial)
    out = np.empty((repetitions, 2))
    for k, s in enumerate(rng.integers(0, 2**31 - 1, size=repetitions)):
        match = axl.Match((p1, p2), turns=turns, game=g, seed=int(s))
        match.play()
        out[k] = match.final_score_per_turn()
    return out
