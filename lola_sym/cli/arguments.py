"""Argument types of the ``lola-sym`` command line: strict parsing of numbers and names.

Every function takes the option's text and returns its value, or raises
:class:`argparse.ArgumentTypeError` with a message that says what to type
instead; numbers are parsed (never evaluated) and bounded.
"""

from __future__ import annotations

import argparse
import os
import re
from fractions import Fraction

#: Names of the ``--method`` choices (mirrors :data:`lola_sym.dynamics.training.METHODS`).
METHODS = ("simultaneous", "extragradient", "optimistic")


# ------------------------------------------------------------------ argument types
#: Exact numbers on the command line are parsed by ``_validation.parse_rational``: magnitudes
#: within [1e-300, 1e300], so that a typo such as ``1e400`` is a usage error instead of an
#: overflow while running. Integer options (runs, steps, seeds, ...) stay below 2**63.
MAX_INT = 2 ** 63 - 1
#: Command-line words that argparse must take as values, not options: negative
#: numbers in any form (``-1/2``, ``-1e-3``, ``-.5``) and ``-inf``/``-nan`` (then
#: refused with a clear message). Plain argparse knows only ``-1`` and ``-0.5``.
NEGATIVE_NUMBER = re.compile(r"^-(\.?\d|inf|nan)", re.IGNORECASE)


def shown(text: str) -> str:
    """``text`` quoted for an error message, shortened when long."""
    return repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text)} characters)"


def number(kind, lower, strict):
    """An argparse type: a finite ``kind`` above ``lower`` (strictly if ``strict``).

    Integers must also be below :data:`MAX_INT`.

    Examples
    --------
    >>> positive_int("3"), nonneg_float("0.5")
    (3, 0.5)
    >>> positive_float("1e400")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite positive number, got '1e400'
    """
    what = f"{'positive' if strict else 'non-negative'} {'integer' if kind is int else 'number'}"

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {shown(text)}") from None
        ok = (v > lower if strict else v >= lower) and v < float("inf")
        if not ok:
            raise argparse.ArgumentTypeError(f"expected a finite {what}, got {shown(text)}")
        if kind is int and v > MAX_INT:
            raise argparse.ArgumentTypeError(f"expected a {what} below 2**63, got {shown(text)}")
        return v
    return parse


positive_int = number(int, 0, True)
nonneg_int = number(int, 0, False)
positive_float = number(float, 0.0, True)
nonneg_float = number(float, 0.0, False)

#: Largest ``--init-std``: training counts a run whose parameters leave
#: :math:`\max |\theta| = 10^4` as diverged, which a draw reaches only at 10 standard
#: deviations of this size (and every policy is already saturated beyond :math:`|\theta|` of
#: about 40).
MAX_INIT_STD = 1e3


def init_std(text) -> float:
    """An argparse type: a standard deviation in [0, :data:`MAX_INIT_STD`].

    Examples
    --------
    >>> init_std("0.1")
    0.1
    >>> init_std("1e308")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a standard deviation of at most 1000 (draws ...), got '1e308'
    """
    v = nonneg_float(text)
    if v > MAX_INIT_STD:
        raise argparse.ArgumentTypeError(
            f"expected a standard deviation of at most {MAX_INIT_STD:g} (draws of 10 standard "
            f"deviations must stay below max |theta| = 1e4, where a run counts as diverged), "
            f"got {shown(text)}")
    return v


def exact(text) -> Fraction:
    """An argparse type: an exact finite number such as ``2``, ``0.1``, ``-1/3`` or ``-1e-3``.

    Parsed strictly by :func:`lola_sym._validation.parse_rational` (never
    evaluated), magnitudes within [1e-300, 1e300].

    Examples
    --------
    >>> exact("1/3"), exact("0.1"), exact("-1e-3")
    (Fraction(1, 3), Fraction(1, 10), Fraction(-1, 1000))
    >>> exact("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite number such as 0.5, 1e-3 or 1/2, got 'nan'
    >>> exact("1e400")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: the number must have magnitude at most 1e300, got '1e400'
    >>> exact("1/0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: the number must be finite, got '1/0' (division by zero)
    """
    from lola_sym._validation import parse_rational
    try:
        return parse_rational(text, "the number")
    except TypeError:
        raise argparse.ArgumentTypeError(
            f"expected a finite number such as 0.5, 1e-3 or 1/2, got {shown(text)}") from None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def discount(text) -> Fraction:
    """An argparse type: a discount in the open interval (0, 1)."""
    g = exact(text)
    if not 0 < g < 1:
        raise argparse.ArgumentTypeError(f"expected a discount in the open interval (0, 1), "
                                         f"got {text}")
    return g


def positive_exact(text) -> Fraction:
    """An argparse type: an exact number above 0 (e.g. a contribution factor ``1.33``)."""
    v = exact(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {shown(text)}")
    return v


def players(text) -> int:
    """An argparse type: a number of players the repeated games support (2..5).

    Examples
    --------
    >>> players("3")
    3
    >>> players("6")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number of players from 2 to 5, got '6'
    """
    from lola_sym.games.repeated import MAX_PLAYERS
    v = positive_int(text)
    if not 2 <= v <= MAX_PLAYERS:
        raise argparse.ArgumentTypeError(f"expected a number of players from 2 to {MAX_PLAYERS}, "
                                         f"got {shown(text)}")
    return v


def memory(text) -> int:
    """An argparse type: a policy memory the repeated games support (0..2).

    Examples
    --------
    >>> memory("2")
    2
    >>> memory("3")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a memory of 0 to 2 (past joint actions the policies see), got '3'
    """
    from lola_sym.games.repeated import MAX_MEMORY
    v = nonneg_int(text)
    if v > MAX_MEMORY:
        raise argparse.ArgumentTypeError(f"expected a memory of 0 to {MAX_MEMORY} (past joint "
                                         f"actions the policies see), got {shown(text)}")
    return v


def key_value(text) -> tuple:
    """An argparse type: ``name=value`` with an exact number as the value.

    Examples
    --------
    >>> key_value("eta=1/2")
    ('eta', Fraction(1, 2))
    >>> key_value("eta")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected name=value (e.g. eta=0.5), got 'eta'
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected name=value (e.g. eta=0.5), got {shown(text)}")
    try:
        return name.strip(), exact(value)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"the value of {name.strip()!r}: {exc}") from None


def rule_spec(text) -> tuple:
    """An argparse type: a rule name, optionally with settings: ``hola:order=3,eta=0.5``.

    Examples
    --------
    >>> rule_spec("sos:a=0.5,eta=1")
    ('sos', {'a': Fraction(1, 2), 'eta': Fraction(1, 1)})
    """
    from lola_sym.rules import RULES
    name, _, rest = text.partition(":")
    if name not in RULES:
        raise argparse.ArgumentTypeError(f"unknown rule {name!r}; choose one of {sorted(RULES)}")
    settings = dict(key_value(kv) for kv in rest.split(",")) if rest else {}
    rule = RULES[name]
    takes = sorted(rule.hyper) + sorted(rule.options) or "none"
    try:
        rule.accepted(settings, strict=True,
                      refusal=f"rule {{rule!r}} takes no setting {{name!r}}; it takes {takes}")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name, settings


def figure_path(text) -> str:
    """An argparse type: a file name ending in ``.png`` or ``.pdf``, with a name before it.

    Examples
    --------
    >>> figure_path("out/curves.PNG")
    'out/curves.PNG'
    >>> figure_path("/tmp/x/.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: the figure file needs a name before its extension, got ... (e.g. '/tmp/x/figure.png')
    """
    if not text.lower().endswith((".png", ".pdf")):
        raise argparse.ArgumentTypeError(f"the figure file must end in .png or .pdf, got "
                                         f"{shown(text)}")
    head, name = os.path.split(text)
    if len(name) == 4:                      # ".png" alone: a hidden file without a suffix
        example = os.path.join(head, "figure" + name)
        raise argparse.ArgumentTypeError(f"the figure file needs a name before its extension, "
                                         f"got {shown(text)} (e.g. {example!r})")
    return text
