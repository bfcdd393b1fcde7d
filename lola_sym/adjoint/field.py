r"""Update fields of Markov games on the adjoint path, with the compiled fields' call API.

:func:`lola_sym.update_field` returns an :class:`AdjointField` for a game whose
``field_path`` is ``"adjoint"`` (every :class:`~lola_sym.games.markov.MarkovGame`):
``f(theta_1, ..., theta_n) -> (g_1, ..., g_n)``, each ``(..., d_i)``,
broadcasting leading axes, with the same ``failed=`` semantics as
:class:`lola_sym.field.UpdateField` and ``f.path == "adjoint"`` (the compiled
fields say ``"compiled"``). Each point costs one sparse LU (plus one per agent
for exact LOLA) and a few more solves (:mod:`lola_sym.adjoint.solve`).
"""

from __future__ import annotations

import numpy as np

from lola_sym._validation import check_field_call
from lola_sym.adjoint.rules import ADJOINT_RULES
from lola_sym.adjoint.solve import Evaluation
from lola_sym.games.repeated_markov import _cached as markov_of
from lola_sym.rules import get_rule

__all__ = ["AdjointField", "adjoint_field"]


class AdjointField:
    r"""A learning rule on a Markov game, computed by sparse LU and adjoints.

    Attributes
    ----------
    game : MarkovGame
    rule : :class:`~lola_sym.rules.Rule`
    hyper : dict
        Hyper-parameter values bound to this field.
    options : dict
        Structural options (none of the adjoint rules has one).
    path : str
        ``"adjoint"``: which exact path computes the field.
    """

    path = "adjoint"

    def __init__(self, game, rule, hyper, options, error=ValueError):
        self.game, self.rule, self.hyper, self.options = game, rule, hyper, options
        #: the Markov game the solves run on (``game`` itself, or a large repeated game's chain)
        self.markov = markov_of(game)
        self._error = error
        self._step = ADJOINT_RULES[rule.name]

    def __call__(self, *thetas, failed: str = "raise", **parameters) -> tuple:
        """Ascent directions ``(g_1, ..., g_n)``, each of shape ``(..., d_i)``.

        Parameters
        ----------
        *thetas : array_like, shape (..., d_i)
            Finite logits of each player (broadcast against each other).
        failed : {"raise", "nan"}
            Where a direction is not finite: raise a :class:`~lola_sym.field.FieldError`
            naming the first such point, or return NaN in those rows.
        """
        check_field_call(self.rule.name, self.game, thetas, failed)
        dims = self.game.dims
        if parameters:
            raise TypeError(f"{self.game.name} has no symbols; unexpected keyword "
                            f"{sorted(parameters)[0]!r} (hyper-parameters are given to "
                            f"update_field)")
        shape, flat = self.markov.points(thetas)
        m = len(flat[0])
        out = [np.empty((m, d)) for d in dims]
        for p in range(m):
            with np.errstate(all="ignore"):    # a non-finite direction is reported below
                try:
                    g = self._step(Evaluation(self.markov, [t[p] for t in flat]), self.hyper)
                except (ArithmeticError, RuntimeError):   # a singular factorisation
                    g = [np.full(d, np.nan) for d in dims]
            for o, x in zip(out, g):
                o[p] = x
        res = tuple(o.reshape(shape + (d,)) for o, d in zip(out, dims))
        if failed == "nan":
            return res
        bad = ~np.logical_and.reduce([np.isfinite(x).all(axis=-1) for x in res])
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
            raise self._error(
                f"the {self.rule.name!r} direction on {self.game.name} is not finite at point "
                f"{where or 'given'} ({int(bad.sum())} of {bad.size} points): "
                f"{self.failure_reason()}", where, self.failure_reason())
        return res

    def failure_reason(self) -> str:
        """Why this field's direction can fail to be finite at a point (for error messages)."""
        hyper = ", ".join(f"{k}={v:g}" for k, v in self.hyper.items())
        return ("the computation overflowed double precision; the rewards"
                + (f" or the hyper-parameters ({hyper})" if hyper else "")
                + " are too large, rescale them")

    @property
    def program(self):
        """Refused: the adjoint path has no symbolic program."""
        raise ValueError(f"the {self.rule.name!r} field on {self.game.name} is computed "
                         f"numerically by sparse LU and adjoints (path 'adjoint'); it has no "
                         f"symbolic program")

    symbolic = program

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in {**self.options, **self.hyper}.items())
        return (f"AdjointField({self.rule.name!r} on {self.game.name}"
                f"{', ' + hyper if hyper else ''})")


def adjoint_field(game, rule, backend=None, error=ValueError, /, **hyper) -> AdjointField:
    r"""The field of ``rule`` on a Markov game by the adjoint path.

    Parameters
    ----------
    game : MarkovGame
    rule : str
        One of :data:`~lola_sym.adjoint.rules.ADJOINT_RULES`.
    backend : None
        The adjoint path compiles nothing; a backend is refused.
    error : type
        The exception raised for a non-finite direction (``lola_sym.update_field``
        passes its :class:`~lola_sym.field.FieldError`).
    **hyper
        The rule's hyper-parameters (defaults from the registry).

    Examples
    --------
    >>> import numpy as np
    >>> from lola_sym.games import coin_game
    >>> g = coin_game(2)
    >>> f = adjoint_field(g, "lola", eta=1.0)
    >>> g1, g2 = f(np.zeros((3, g.dims[0])), np.zeros(g.dims[1]))
    >>> f.path, g1.shape
    ('adjoint', (3, 216))
    >>> adjoint_field(g, "sos")
    Traceback (most recent call last):
    ...
    ValueError: rule 'sos' has no adjoint form; on Markov games the adjoint path computes ['exact_lola', 'la', 'lola', 'lola_full', 'nl']
    """
    if getattr(game, "field_path", None) != "adjoint":
        raise TypeError(f"the adjoint path takes a Markov game (lola_sym.games.markov) or a "
                        f"repeated game too large for the symbolic program; convert a smaller "
                        f"repeated game with lola_sym.adjoint.markov_of, got "
                        f"{type(game).__name__} {getattr(game, 'name', '')}".rstrip())
    rule = get_rule(rule)
    if rule.name not in ADJOINT_RULES:
        raise ValueError(f"rule {rule.name!r} has no adjoint form; on Markov games the adjoint "
                         f"path computes {sorted(ADJOINT_RULES)}")
    if backend is not None:
        raise ValueError(f"{game.name} is computed by the adjoint path, which compiles nothing: "
                         f"give no backend (got {backend!r})")
    rule.check_players(game)
    options, given = rule.split(hyper)
    return AdjointField(game, rule, rule.hyper_values(given), options, error)
