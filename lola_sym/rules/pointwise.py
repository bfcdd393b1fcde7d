r"""Fields computed point by point by a numeric method (the rules without one derived program).

POLA (a Newton or gradient solve per point), LOQA and Advantage Alignment (closed
forms on the game's chain) have no straight-line program to compile: their
fields evaluate one point at a time. :class:`PointwiseField` gives them the
call API of the compiled fields -- ``f(theta_1, theta_2) -> (g_1, g_2)``, each
``(..., d_i)`` with leading axes broadcast, the arguments checked, and
``failed="raise"`` (an error naming the first point where the direction is not
finite) or ``"nan"`` (NaN rows) -- around a subclass's :meth:`~PointwiseField.directions`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lola_sym._validation import as_params, check_field_call

__all__ = ["PointwiseField", "ClosedFormField"]


class PointwiseField:
    r"""Base of the numeric fields: broadcasting, checks and failures around one point.

    Subclasses set :attr:`path` and implement :meth:`directions`; a direction
    that cannot be computed raises ``ArithmeticError`` or ``ValueError`` there,
    or comes out non-finite.

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.rules import get_rule
    >>> class Half(PointwiseField):            # a toy field: g_i = theta_i / 2
    ...     def directions(self, *pt):
    ...         return tuple(t / 2 for t in pt)
    >>> f = Half(ipd(), get_rule("nl"), {}, {})
    >>> [g.shape for g in f(np.zeros((3, 5)), np.ones(5))]
    [(3, 5), (3, 5)]
    >>> f(np.zeros(5), np.full(5, np.inf))
    Traceback (most recent call last):
    ...
    ValueError: theta2 has a non-finite entry at index (0,)
    >>> class Blows(PointwiseField):           # not finite where theta_1 > 0
    ...     def directions(self, t1, t2):
    ...         return np.log(-t1), t2
    >>> Blows(ipd(), get_rule("nl"), {}, {})(np.ones(5), np.zeros(5))
    Traceback (most recent call last):
    ...
    ValueError: the 'nl' direction on IPD is not finite at point 0 ([1. 1. 1. 1. 1.], [0. 0. 0. 0. 0.])
    >>> g1, _ = Blows(ipd(), get_rule("nl"), {}, {})(np.ones((2, 5)), np.zeros(5), failed="nan")
    >>> bool(np.isnan(g1).all())
    True
    """

    path = "pointwise"

    def __init__(self, game, rule, hyper, options):
        self.game, self.rule, self.hyper, self.options = game, rule, dict(hyper), dict(options)

    def directions(self, *thetas) -> tuple:
        """The directions at one point (one 1-d array per agent)."""
        raise NotImplementedError

    def __call__(self, *thetas, failed: str = "raise") -> tuple:
        """Directions ``(g_1, ..., g_n)``, each ``(..., d_i)``, leading axes broadcast."""
        check_field_call(self.rule.name, self.game, thetas, failed)
        dims = self.game.dims
        ts = [as_params(t, f"theta{i + 1}", d) for i, (t, d) in enumerate(zip(thetas, dims))]
        shape = np.broadcast_shapes(*(t.shape[:-1] for t in ts))
        flat = [np.broadcast_to(t, shape + (d,)).reshape(-1, d) for t, d in zip(ts, dims)]
        out = [np.empty_like(f) for f in flat]
        for r in range(flat[0].shape[0]):
            pt = [f[r] for f in flat]
            try:
                with np.errstate(all="ignore"):     # a non-finite direction is reported below
                    g = self.directions(*pt)
            except (ArithmeticError, ValueError):
                if failed == "raise":          # the method's own error names its cause
                    raise
                g = tuple(np.full(d, np.nan) for d in dims)
            for o, x in zip(out, g):
                o[r] = x
            if failed == "raise" and not all(np.isfinite(o[r]).all() for o in out):
                raise ValueError(f"the {self.rule.name!r} direction on {self.game.name} is not "
                                 f"finite at point {r} "
                                 f"({', '.join(np.array2string(p, precision=4) for p in pt)})")
        return tuple(o.reshape(shape + (d,)) for o, d in zip(out, dims))


class ClosedFormField(PointwiseField):
    r"""A closed form on the game's chain, evaluated per point (LOQA, Advantage Alignment).

    A subclass sets :attr:`formula` ``(game, theta_1, theta_2, value) -> (g_1, g_2)``,
    :attr:`hyper_name` (the rule's one hyper-parameter, passed as ``value``) and
    :attr:`check_game` (refuses a game the formula cannot take).

    Examples
    --------
    >>> from lola_sym.games import ipd
    >>> from lola_sym.rules import get_rule
    >>> class Scaled(ClosedFormField):         # a toy closed form: g_i = eta * theta_i
    ...     hyper_name = "eta"
    ...     formula = staticmethod(lambda game, t1, t2, eta: (eta * t1, eta * t2))
    >>> f = Scaled(ipd(), get_rule("lola"), {"eta": 2.0}, {})
    >>> f(np.ones(5), np.zeros(5))[0].tolist(), f
    ([2.0, 2.0, 2.0, 2.0, 2.0], Scaled(on IPD, eta=2.0))
    """

    path = "closed_form"
    #: the rule's hyper-parameter that :attr:`formula` takes
    hyper_name = ""
    #: ``formula(game, theta_1, theta_2, value)``: the directions at one point (set by each
    #: subclass)
    formula: Callable[..., tuple]
    #: ``check_game(game)``: raises ValueError for a game the formula cannot take
    check_game = staticmethod(lambda game: None)

    def __init__(self, game, rule, hyper, options):
        self.check_game(game)
        super().__init__(game, rule, hyper, options)

    @property
    def program(self):
        """The rule's derived program (the naive learner's: the formula's gradient part)."""
        return self.rule.derive(self.game).pruned()

    def directions(self, theta1, theta2) -> tuple:
        """The directions ``(g_1, g_2)`` at one point."""
        return self.formula(self.game, theta1, theta2, self.hyper[self.hyper_name])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(on {self.game.name}, "
                f"{self.hyper_name}={self.hyper[self.hyper_name]})")
