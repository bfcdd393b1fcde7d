r"""Memory-one policies as probability vectors, their exact long-run reward, Axelrod export.

**2x2 memory-1 games only.** Axelrod's players and the four-state chain of
joint actions below exist for two players with two actions and memory 1 (the
LOLA paper's layout: :class:`~lola_sym.games.IteratedGame`, or a
:class:`~lola_sym.games.RepeatedGame` of that shape); any other game is
refused with a message that says so. The chain's transitions come from the one
chain builder, :func:`lola_sym.games.chain.transitions`, evaluated in log space.

Axelrod's ``MemoryOnePlayer(four_vector=(p_CC, p_CD, p_DC, p_DD), initial)``
reads states as (own last move, opponent's last move), which is our own
perspective: the four vector is our ``sigmoid(theta[1:])`` for either agent.
Our first move is stochastic, ``P(C) = sigmoid(theta[0])``, while Axelrod's
``initial`` is one action. :func:`to_axelrod` therefore plays the more likely
first action by default (``initial="likely"``, C on a tie) or, with
``initial="sample"``, an ``axelrod.MemoryOnePlayer`` subclass that draws the first
move from the player's seeded random source. The first move changes the
discounted value :math:`V` but not the long-run average: every state has a
positive probability, so the chain of joint actions is ergodic and forgets its
start (a fixed-length match of ``T`` turns carries an :math:`O(t_{mix}/T)`
start-up bias, where the mixing time grows like :math:`e^{|\theta|}`).
:func:`long_run_reward` gives the exact undiscounted long-run average reward of
two policies, the quantity a long Axelrod match estimates.

References
----------
.. [1] Knight, V. et al. (2016). An open reproducible framework for the study
   of the iterated prisoner's dilemma. J. Open Research Software 4(1), e35.
.. [2] Leighton, F. T. and Rivest, R. L. (1986). Estimating a probability
   using finite memory. IEEE Trans. Inf. Theory 32(6) (Markov chain tree theorem).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit, logsumexp, softmax

from lola_sym._validation import as_params, check_positive_int, check_real
from lola_sym.dynamics.training import as_generator
from lola_sym.games import ipd
from lola_sym.games.chain import transitions
from lola_sym.games.histories import StateSpace
from lola_sym.games.layout import LOGIT_CLIP
from lola_sym.sampling.markov import chain_shape

__all__ = ["to_memory_one", "from_memory_one", "stationary_distribution", "long_run_reward",
           "to_axelrod", "to_axelrod_game", "simulate_axelrod", "INITIAL_MODES"]

#: How :func:`to_axelrod` turns the stochastic first move into Axelrod's ``initial``.
INITIAL_MODES = ("likely", "sample")
_AXELROD_HINT = ("to_axelrod needs the Axelrod library: pip install axelrod "
                 "(or pip install -e '.[axelrod]')")
#: The states of every 2x2 memory-1 game (the chain does not depend on the payoffs).
_SPACE = StateSpace((2, 2), 1, (("C", "D"),) * 2)


def two_by_two_memory_one(game, what: str):
    """The numeric 2x2 memory-1 game behind ``game``, or an error saying this module needs one.

    Examples
    --------
    >>> from lola_sym import games
    >>> two_by_two_memory_one(games.rps(), "long_run_reward")
    Traceback (most recent call last):
    ...
    ValueError: long_run_reward is defined for 2x2 memory-1 games only (two players with two actions each and memory 1: Axelrod's memory-one players and the four-state chain of joint actions); iterated RPS has 2 players with (3, 3) actions and memory 1
    """
    if getattr(game, "kind", None) not in ("iterated", "repeated"):
        raise TypeError(f"{what} needs an iterated 2x2 game (lola_sym.games.IteratedGame), got "
                        f"{type(game).__name__}")
    g = chain_shape(game).game
    if g.actions != (2, 2) or g.memory != 1:
        raise ValueError(f"{what} is defined for 2x2 memory-1 games only (two players with two "
                         f"actions each and memory 1: Axelrod's memory-one players and the "
                         f"four-state chain of joint actions); {g.name} has {g.n_players} "
                         f"players with {g.actions} actions and memory {g.memory}")
    return g


# ------------------------------------------------------------ memory-one export
def to_memory_one(theta) -> np.ndarray:
    r"""Cooperation probabilities ``[s0, CC, CD, DC, DD]`` of memory-1 logits, shape (..., 5).

    States are the agent's own perspective (own last move first), the
    convention of Axelrod's ``four_vector`` = ``to_memory_one(theta)[1:]``;
    the same function serves agent 1 and agent 2. Entry 0 is the probability
    of cooperating on the first move.

    Examples
    --------
    >>> from lola_sym.games.layout import policy
    >>> to_memory_one(policy("wsls")).round(12)
    array([1., 1., 0., 0., 1.])
    >>> to_memory_one([0, 0, 0, 0, 0])
    array([0.5, 0.5, 0.5, 0.5, 0.5])
    """
    return expit(as_params(theta, "theta"))


def from_memory_one(p, clip: float = LOGIT_CLIP) -> np.ndarray:
    r"""Logits of cooperation probabilities ``[s0, CC, CD, DC, DD]``, clipped to ``[-clip, clip]``.

    Probabilities 0 and 1 map to :math:`\mp` ``clip`` (the saturated logits of
    :func:`lola_sym.games.layout.policy`).

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


class _LogWeight:
    """A probability held as its logarithm: the chain builder's products become sums."""

    __slots__ = ("log",)

    def __init__(self, log):
        self.log = log

    def __mul__(self, other):
        return _LogWeight(self.log + other.log)


def _log_transitions(theta1, theta2) -> np.ndarray:
    """log P of the joint-action chain, shape (..., 4, 4), from log-sigmoids (no cancellation).

    Built by :func:`lola_sym.games.chain.transitions` over :class:`_LogWeight`
    numbers: each player's probability read in its own-perspective state.
    """
    logs = []
    for name, th in (("theta1", theta1), ("theta2", theta2)):
        t = as_params(th, name)
        logs.append((-np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)))   # log p(C), log p(D)

    def prob(i, s, a):
        return _LogWeight(logs[i][a][..., s])
    rows = []
    for h in _SPACE.histories(1):
        out = transitions(_SPACE, prob, h)
        rows.append(np.stack([out[(a,)].log for a in _SPACE.joint], axis=-1))
    return np.stack(np.broadcast_arrays(*rows), axis=-2)


def stationary_distribution(theta1, theta2) -> np.ndarray:
    r"""Stationary distribution of the joint actions (CC, CD, DC, DD, agent 1 first), shape (..., 4).

    By the Markov chain tree theorem [1]_, :math:`\pi_i` is proportional to the
    sum over the spanning trees directed towards state :math:`i` of the product
    of their transition probabilities. All terms are positive and are summed in
    log space, so the result keeps full relative accuracy even for saturated
    logits, where a linear solve of :math:`\pi (I - P) = 0` is ill-conditioned.

    Examples
    --------
    >>> from lola_sym.games.layout import policy
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
    game : IteratedGame or RepeatedGame
        A 2x2 memory-1 game (any other is refused, see the module notes).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.games.layout import policy
    >>> long_run_reward(policy("allc"), policy("wsls"), ipd()).round(9)
    array([-2. , -0.5])

    (rare errors alternate WSLS between cooperating and exploiting ALLC: half the time each).
    >>> long_run_reward(policy("wsls"), policy("wsls"), ipd()).round(9)
    array([-1., -1.])
    """
    two_by_two_memory_one(game, "long_run_reward")
    pi = stationary_distribution(theta1, theta2)
    return pi @ chain_shape(game).rewards.T


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

        # picklable by reference: lola_sym.sampling.memory_one.SampledStartPlayer (module __getattr__)
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
    >>> from lola_sym.games.layout import policy
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

    Raises
    ------
    ValueError
        When ``game`` is not a symmetric 2x2 memory-1 iterated game.
    ImportError
        When the Axelrod library is not installed (``pip install axelrod``).

    Examples
    --------
    The payoffs handed to Axelrod, player 1's rewards of CC, CD, DC, DD (so
    ``r, s, t, p = -1, -3, 0, -2``):

    >>> from lola_sym import games
    >>> from lola_sym.sampling.markov import chain_shape
    >>> chain_shape(games.ipd()).payoffs[0].tolist()
    [-1.0, -3.0, 0.0, -2.0]

    Games Axelrod cannot play are refused before the library is needed, and
    without the library the error says how to install it (shown here by
    hiding it, so that the example runs either way):

    >>> to_axelrod_game(games.battle_of_sexes())
    Traceback (most recent call last):
    ...
    ValueError: Axelrod games are symmetric 2x2 games; got 'battle of the sexes', which is not
    >>> import sys
    >>> from unittest import mock
    >>> with mock.patch.dict(sys.modules, {"axelrod": None}):
    ...     try:
    ...         to_axelrod_game(games.ipd())
    ...     except ImportError as exc:
    ...         print(exc)                              # doctest: +ELLIPSIS
    to_axelrod needs the Axelrod library: pip install axelrod ...
    """
    game = ipd() if game is None else game
    if getattr(game, "kind", None) not in ("iterated", "repeated"):
        raise ValueError("Axelrod games are symmetric 2x2 games; got "
                         f"{getattr(game, 'name', type(game).__name__)!r}, which is not")
    g = two_by_two_memory_one(game, "to_axelrod_game")
    if not g.is_symmetric:
        raise ValueError(f"Axelrod games are symmetric 2x2 games; got {g.name!r}, which is not")
    R = chain_shape(g).payoffs[0]                       # CC, CD, DC, DD of player 1
    return _axelrod().Game(r=R[0], s=R[1], t=R[2], p=R[3])


def simulate_axelrod(theta1, theta2, game=None, *, turns: int = 1000, repetitions: int = 10,
                     seed=0, initial: str = "likely") -> np.ndarray:
    """Per-turn average scores of ``repetitions`` seeded Axelrod matches, shape (repetitions, 2).

    Each match has a fixed length of ``turns`` and a seed drawn from ``seed``;
    compare the mean with :func:`long_run_reward` (up to the start-up bias, see
    the module notes).

    Raises
    ------
    ValueError
        On a bad ``turns``, ``repetitions`` or parameter shape, or a game Axelrod
        cannot play (:func:`to_axelrod_game`), before the library is needed.
    ImportError
        When the Axelrod library is not installed (``pip install axelrod``).

    Examples
    --------
    The exact long-run average the matches' scores approach, for noisy TFT
    against noisy WSLS on the IPD (:func:`long_run_reward`):

    >>> from lola_sym import games
    >>> from lola_sym.games.layout import policy
    >>> long_run_reward(policy("tft", 3.0), policy("wsls", 3.0), games.ipd()).round(9)
    array([-1.5, -1.5])

    Arguments are checked first; without the library the error says how to
    install it (shown here by hiding it, so that the example runs either way):

    >>> simulate_axelrod(policy("tft"), policy("wsls"), turns=0)
    Traceback (most recent call last):
    ...
    ValueError: turns must be >= 1, got 0
    >>> import sys
    >>> from unittest import mock
    >>> with mock.patch.dict(sys.modules, {"axelrod": None}):
    ...     try:
    ...         simulate_axelrod(policy("tft", 3.0), policy("wsls", 3.0), turns=10)
    ...     except ImportError as exc:
    ...         print(exc)                              # doctest: +ELLIPSIS
    to_axelrod needs the Axelrod library: pip install axelrod ...
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
