r"""The game catalogue: the named games of the papers, by the name the CLI uses.

Iterated 2x2 games with memory 1 (:class:`~lola_sym.games.IteratedGame`),
repeated games of other shapes (:class:`~lola_sym.games.RepeatedGame`) and
one-shot differentiable games (:class:`~lola_sym.games.DifferentiableGame`).
Payoffs are rewards (maximised); games published with losses are stored as
values = -loss.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1 and Table 1.
.. [2] Zhao, S. et al. (2022). Proximal Learning With Opponent-Learning
   Awareness. NeurIPS. arXiv:2210.10125 (the contribution game).
.. [3] Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable
   Games. ICLR. arXiv:1811.08469 (the one-shot games).
"""

from __future__ import annotations

from itertools import product
from typing import Any, Callable

import numpy as np
import sympy as sp

from lola_sym._validation import as_rational, check_int
from lola_sym.games.coin import coin_game
from lola_sym.games.differentiable import DifferentiableGame, differentiable
from lola_sym.games.iterated import IteratedGame
from lola_sym.games.repeated import MAX_PLAYERS, RepeatedGame, repeated
from lola_sym.program import sigmoid

__all__ = ["ipd", "imp", "stag_hunt", "chicken", "battle_of_sexes", "ipd_memory2", "rps",
           "contribution", "three_player_ipd", "tandem", "hamiltonian", "balduzzi",
           "matching_pennies", "ultimatum", "chicken_one_shot", "impossibility", "coin_game",
           "CATALOGUE", "by_name"]

#: The symbols of :func:`ipd` with ``symbolic=True``.
R, S, T, P = sp.symbols("R S T P", real=True)
GAMMA = sp.Symbol("gamma", positive=True)


def ipd(gamma=sp.Rational(24, 25), *, symbolic: bool = False):
    """Iterated prisoner's dilemma with the LOLA paper's payoffs.

    CC (-1, -1), CD (-3, 0), DC (0, -3), DD (-2, -2); gamma = 0.96. With
    ``symbolic=True``: a :class:`~lola_sym.games.RepeatedGame` with payoffs
    R (CC), S (CD, the sucker), T (DC, the temptation), P (DD) and discount
    ``gamma`` as symbols; its fields take them at call time.

    Examples
    --------
    >>> ipd().r1, ipd().r2
    ((-1, -3, 0, -2), (-1, 0, -3, -2))
    >>> ipd(symbolic=True).parameters
    (P, R, S, T, gamma)
    """
    if not isinstance(symbolic, bool):
        raise TypeError(f"symbolic must be a bool, got {type(symbolic).__name__}")
    if symbolic:
        return repeated([[[R, S], [T, P]], [[R, T], [S, P]]], GAMMA, name="IPD (symbolic)")
    return IteratedGame(((-1, -3), (0, -2)), ((-1, 0), (-3, -2)), gamma, "IPD")


def imp(gamma=sp.Rational(9, 10)) -> IteratedGame:
    """Iterated matching pennies, zero-sum: agent 1 wins +1 on a match; gamma = 0.9.

    Examples
    --------
    >>> imp().is_zero_sum
    True
    """
    return IteratedGame(((1, -1), (-1, 1)), ((-1, 1), (1, -1)), gamma, "IMP")


def stag_hunt(gamma=sp.Rational(24, 25)) -> IteratedGame:
    """Iterated stag hunt: C = hunt stag. (4, 4), (0, 3), (3, 0), (2, 2).

    Examples
    --------
    >>> g = stag_hunt()
    >>> g.r1, g.r2, g.gamma
    ((4, 0, 3, 2), (4, 3, 0, 2), 24/25)
    """
    return IteratedGame(((4, 0), (3, 2)), ((4, 3), (0, 2)), gamma, "stag hunt")


def chicken(gamma=sp.Rational(24, 25)) -> IteratedGame:
    """Iterated chicken: C = swerve. (0, 0), (-1, 1), (1, -1), (-100, -100).

    The payoffs of the one-shot chicken game of the SOS/COLA literature.

    Examples
    --------
    >>> g = chicken()
    >>> g.r1, g.r2
    ((0, -1, 1, -100), (0, 1, -1, -100))
    """
    return IteratedGame(((0, -1), (1, -100)), ((0, 1), (-1, -100)), gamma, "chicken")


def battle_of_sexes(gamma=sp.Rational(24, 25)) -> IteratedGame:
    """Iterated battle of the sexes: coordinate on C (3, 2) or on D (2, 3); else (0, 0).

    Examples
    --------
    >>> g = battle_of_sexes()
    >>> g.r1, g.r2
    ((3, 0, 0, 2), (2, 0, 0, 3))
    """
    return IteratedGame(((3, 0), (0, 2)), ((2, 0), (0, 3)), gamma, "battle of the sexes")


def ipd_memory2(gamma=sp.Rational(24, 25)) -> RepeatedGame:
    """The LOLA paper's IPD with memory-2 policies: 21 logits per player.

    States: ``s0``, the four one-move histories, the sixteen two-move ones
    (oldest first, own action first in each), e.g. ``"CD,DC"``.

    Examples
    --------
    >>> ipd_memory2().dims
    (21, 21)
    """
    return repeated([[[-1, -3], [0, -2]], [[-1, 0], [-3, -2]]], gamma, memory=2,
                    name="IPD (memory 2)")


def rps(gamma=sp.Rational(9, 10), memory: int = 1) -> RepeatedGame:
    """Iterated rock-paper-scissors, zero-sum: +1 for a win, -1 for a loss, 0 for a tie.

    Actions R, P, S; softmax policies with two logits per state (S is the
    reference); memory 1 gives 10 states and 20 logits per player.

    Examples
    --------
    >>> g = rps()
    >>> g.dims, g.param_names[0][:3]
    ((20, 20), ('s0:R', 's0:P', 'RR:R'))
    """
    win = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])     # rows beat columns: P > R etc.
    return repeated([win, -win], gamma, memory=memory, labels=(("R", "P", "S"),) * 2,
                    name="iterated RPS")


def contribution(n_players: int = 3, cf=None, gamma=sp.Rational(24, 25),
                 memory: int = 1) -> RepeatedGame:
    r"""POLA's contribution game: :math:`r_i = cf \cdot (\sum_j c_j) / n - c_i`.

    Action C = contribute (:math:`c_i = 1`), D = keep. ``cf`` defaults to
    :math:`0.6 n` (POLA's ``base_cf_scale``). For two players it is an IPD with
    R = cf - 1, S = cf/2 - 1, T = cf/2, P = 0.

    Examples
    --------
    >>> contribution(2, "1.2").payoff_array(1)
    array([[1/5, -2/5],
           [3/5, 0]], dtype=object)
    """
    n = check_int(n_players, "n_players", 2)
    if n > MAX_PLAYERS:
        raise ValueError(f"n_players must be 2..{MAX_PLAYERS}, got {n}")
    cf = sp.Rational(3, 5) * n if cf is None else as_rational(cf, "cf")
    if not 0 < cf:
        raise ValueError(f"cf must be positive, got {cf}")
    arrays = []
    for i in range(n):
        arr = np.empty((2,) * n, dtype=object)
        for a in product((0, 1), repeat=n):
            c = [1 - x for x in a]
            arr[a] = cf * sum(c) / n - c[i]
        arrays.append(arr)
    return repeated(arrays, gamma, memory=memory, name=f"contribution (n={n}, cf={cf})")


#: pax's 3-player IPD: rows = number of defectors (0..3), columns = own action (C, D).
PAX_TABLE = ((4, 1000), (2, 5), (0, 3), (-1000, 1))


def three_player_ipd(gamma=sp.Rational(24, 25), memory: int = 1) -> RepeatedGame:
    """The 3-player IPD of pax's ``multiplayer_ipd`` configuration.

    A player's reward is ``PAX_TABLE[d][a]`` with ``d`` the number of defectors
    (itself included) and ``a`` its own action; the entries 1000 and -1000 are
    combinations that cannot occur (a defector when nobody defects, a
    cooperator when all defect). This reading of the table is an inference
    from the configuration (see ``newer_methods.md``).

    Examples
    --------
    >>> g = three_player_ipd()
    >>> g.payoff_array(1)[0, 0, 0], g.payoff_array(1)[1, 1, 1], g.is_symmetric
    (4, 1, True)
    """
    arrays = []
    for i in range(3):
        arr = np.empty((2, 2, 2), dtype=object)
        for a in product((0, 1), repeat=3):
            arr[a] = PAX_TABLE[sum(a)][a[i]]
        arrays.append(arr)
    return repeated(arrays, gamma, memory=memory, name="3-player IPD (pax)")


# ---------------------------------------------------------------- one-shot games
_X, _Y = sp.symbols("x y", real=True)
_T1, _T2 = sp.Symbol("theta_1", real=True), sp.Symbol("theta_2", real=True)


def _coin(t):
    """sigma(t) - sigma(-t) = 2 sigma(t) - 1, accurate when saturated."""
    return sigmoid(t) - sigmoid(-t)


def tandem() -> DifferentiableGame:
    """Tandem (SOS paper): losses (x+y)^2 - 2x and (x+y)^2 - 2y; fixed points x + y = 1.

    Examples
    --------
    >>> tandem().V1
    2*x - (x + y)**2
    """
    return differentiable((_X + _Y) ** 2 - 2 * _X, (_X + _Y) ** 2 - 2 * _Y, [_X], [_Y],
                          name="Tandem", loss=True)


def hamiltonian() -> DifferentiableGame:
    """Hamiltonian game: losses x y and -x y (zero-sum; a centre at the origin).

    Examples
    --------
    >>> g = hamiltonian()
    >>> g.V1, g.V2
    (-x*y, x*y)
    """
    return differentiable(_X * _Y, -_X * _Y, [_X], [_Y], name="Hamiltonian", loss=True)


def balduzzi() -> DifferentiableGame:
    """Balduzzi et al.'s game: losses x^2/2 + 10 x y and y^2/2 - 10 x y.

    Examples
    --------
    >>> balduzzi().V1
    -x**2/2 - 10*x*y
    """
    return differentiable(_X ** 2 / 2 + 10 * _X * _Y, _Y ** 2 / 2 - 10 * _X * _Y, [_X], [_Y],
                          name="Balduzzi", loss=True)


def impossibility() -> DifferentiableGame:
    r"""Letcher's zero-sum game on which no gradient-based method converges.

    Losses :math:`L_1 = x y - x^2/2 + y^2/2 + x^4/4 - y^4/4` and :math:`L_2 = -L_1`.
    The origin is the only fixed point of the simultaneous gradient, and it
    repels (:math:`\nabla \xi` has eigenvalues :math:`-1 \pm i` in losses),
    while the quartic terms keep every trajectory bounded: GD, EG, OMD, SGA, CO,
    CGD, LA, LOLA and SOS all end on limit cycles (at rate 0.01, Letcher 2020,
    Fig. 1).

    References
    ----------
    .. [1] Letcher, A. (2021). On the impossibility of global convergence in
       multi-loss optimization. ICLR. arXiv:2005.12649.

    Examples
    --------
    >>> g = impossibility()
    >>> g.value([1.0], [0.5])          # values = -losses
    array([-0.359375,  0.359375])
    """
    loss = _X * _Y - _X ** 2 / 2 + _Y ** 2 / 2 + _X ** 4 / 4 - _Y ** 4 / 4
    return differentiable(loss, -loss, [_X], [_Y], name="impossibility", loss=True)


def matching_pennies() -> DifferentiableGame:
    r"""One-shot matching pennies with sigmoid policies (SOS/COLA code).

    Player 1's loss :math:`(2 p_1 - 1)(2 p_2 - 1)`, player 2's its negative;
    Nash equilibrium at :math:`\theta = 0`.

    Examples
    --------
    >>> from lola_sym import update_field
    >>> import numpy as np
    >>> update_field(matching_pennies(), "nl")(np.zeros(1), np.zeros(1))   # the Nash point
    (array([0.]), array([0.]))
    """
    return differentiable(_coin(_T1) * _coin(_T2), -_coin(_T1) * _coin(_T2), [_T1], [_T2],
                          name="matching pennies", loss=True)


def ultimatum() -> DifferentiableGame:
    """Binary ultimatum game: agent 1 offers fair (p_fair), agent 2 accepts unfair (p_accept).

    V_A = 5 p_fair + 8 (1 - p_fair) p_accept, V_B = 5 p_fair + 2 (1 - p_fair) p_accept.

    Examples
    --------
    >>> g = ultimatum()
    >>> g.V1
    8*sigmoid(-theta_1)*sigmoid(theta_2) + 5*sigmoid(theta_1)
    """
    pf, pa, qf = sigmoid(_T1), sigmoid(_T2), sigmoid(-_T1)
    return differentiable(5 * pf + 8 * qf * pa, 5 * pf + 2 * qf * pa, [_T1], [_T2],
                          name="ultimatum")


def chicken_one_shot() -> DifferentiableGame:
    """One-shot chicken, sigmoid policies (action 0 = swerve).

    Payoffs P1 = [[0, -1], [1, -100]], P2 = [[0, 1], [-1, -100]].

    Examples
    --------
    >>> g = chicken_one_shot()
    >>> g.name, g.dims
    ('chicken (one-shot)', (1, 1))
    """
    p = (sigmoid(_T1), sigmoid(-_T1))
    q = (sigmoid(_T2), sigmoid(-_T2))
    P1, P2 = ((0, -1), (1, -100)), ((0, 1), (-1, -100))
    V1 = sum(p[a] * q[b] * P1[a][b] for a in (0, 1) for b in (0, 1))
    V2 = sum(p[a] * q[b] * P2[a][b] for a in (0, 1) for b in (0, 1))
    return differentiable(V1, V2, [_T1], [_T2], name="chicken (one-shot)")


#: The named games, by the name the CLI and reports use.
CATALOGUE: dict[str, Callable[..., Any]] = {
    "ipd": ipd,
    "imp": imp,
    "stag_hunt": stag_hunt,
    "chicken": chicken,
    "battle_of_sexes": battle_of_sexes,
    "tandem": tandem,
    "hamiltonian": hamiltonian,
    "balduzzi": balduzzi,
    "matching_pennies": matching_pennies,
    "ultimatum": ultimatum,
    "chicken_one_shot": chicken_one_shot,
    "impossibility": impossibility,
    "ipd_memory2": ipd_memory2,
    "rps": rps,
    "contribution": contribution,
    "three_player_ipd": three_player_ipd,
    "coin_game": coin_game,
}


def by_name(name: str):
    """A catalogue game by name.

    Examples
    --------
    >>> by_name("ipd").name
    'IPD'
    >>> by_name("pd")
    Traceback (most recent call last):
    ...
    ValueError: unknown game 'pd'; choose one of ['balduzzi', ...]
    """
    try:
        return CATALOGUE[name]()
    except KeyError:
        raise ValueError(f"unknown game {name!r}; choose one of {sorted(CATALOGUE)}") from None
