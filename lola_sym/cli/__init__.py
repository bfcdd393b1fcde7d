"""The ``lola-sym`` command line.

Subcommands (``lola-sym <command> --help`` for the options of each)::

    reproduce    reproduce a paper's results (lola2018, sos-tandem, coin-game)
    derive       Markdown derivation of a rule on a game (or a rule's page)
    train        train learners (two or more), summarise the final rewards
    compare      every rule in self-play from the same seeds, side by side
    tournament   round robin between rules on an iterated game
    fixed-points fixed points of a rule (root finding, or exact with sympy)
    stability    classify a rule's dynamics at one point
    nash-report  stability of the Nash point of matching pennies under each rule
    cache        what the compiled-code cache holds (info), or empty it (clear)
    sweep        train over a grid of games, rules, rates and seeds into a labelled dataset

Conventions: ``--seed`` makes every random draw reproducible; ``--json`` prints
machine-readable JSON on stdout; ``--out FILE`` writes the output (text,
Markdown or JSON) to a file instead; ``--plot FILE`` (``.png`` or ``.pdf``)
saves a figure where a command makes one (both create missing parent
directories). Hyper-parameters: ``--eta`` for the
lookahead rate, ``--hyper k=v ...`` for any other (values may be fractions,
``eta=1/2``), ``--order n`` for HOLA's order; ``--gamma`` is the discount of an
iterated or repeated game (``--hyper gamma=...`` is consensus optimisation's
``gamma``). Numbers may be negative after any option (``--theta1 -1/2 -1e-3``);
exact numbers are parsed strictly (never evaluated) and must lie within 1e300 (a
typo such as ``1e400`` is a usage error).

Games: ``--game`` names a catalogue game. ``--players N`` (2 to 5) and ``--cf X``
set the size and the contribution factor of the contribution game; ``--memory M``
(0 to 2) the memory of a repeated game's policies, and turns a 2x2 iterated game
(``ipd``, ``imp``, ...) into a repeated game of that memory. train and compare
take every game (more than two players: rules with an n-player form only), and so
do fixed-points and stability (``--theta3`` ... for the third player on); tournament
needs a 2x2 memory-1
iterated game, derive such a game or a one-shot one. A game a command cannot
take is a usage error (exit code 2) that says why.

Bad arguments include values outside a rule's declared bounds (``--hyper a=1``
for SOS), structural options whose program would be too large to derive
(``--order 99``) and requests estimated to take far too long; they are checked
before anything runs.

Exit codes: 0 on success, 2 on bad arguments, 1 on a failure while running
(e.g. divergence with ``--on-divergence raise``, a numerical overflow, or a
warning turned into an error with ``python -W error``). Errors are one line on
stderr, ``lola-sym <command>: error: <message>``, without a traceback
(``--traceback`` shows it). Warnings of a successful run are one line each,
``lola-sym <command>: warning: <message>``, and results that are undefined
(NaN, e.g. when every run diverged) are named in a one-line
``lola-sym <command>: note: ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import warnings

from lola_sym.cli.support import UsageError

__all__ = ["main", "build_parser", "UsageError"]

from lola_sym.cli import arguments as arg


class _Parser(argparse.ArgumentParser):
    """Errors as one line with exit code 2; negative numbers of any form are values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse (3.11) takes only -1 and -0.5 for negative numbers, so "--theta1 -1/2"
        # failed with "expected at least one argument"; no option here starts with a digit
        self._negative_number_matcher = arg.NEGATIVE_NUMBER

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks; shows defaults that are not None, False or empty."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        hidden = d is None or d is False or d == [] or d is argparse.SUPPRESS
        if action.option_strings and not hidden and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


# ---------------------------------------------------------------- shared options
def _catalogue(iterated_only=False) -> list:
    from lola_sym.games import CATALOGUE
    if not iterated_only:
        return sorted(CATALOGUE)
    return sorted(k for k, make in CATALOGUE.items() if make().kind == "iterated")


def _rule_names() -> list:
    from lola_sym.rules import RULES
    return sorted(RULES)


def _default_rules(command: str) -> str:
    """The rules ``command`` runs when none are named (its module's registry query)."""
    if command == "compare":
        from lola_sym.dynamics.compare import DEFAULT_RULES
    elif command == "tournament":
        from lola_sym.dynamics.tournament import DEFAULT_RULES
    else:
        from lola_sym.report.nash_report import REPORT_RULES as DEFAULT_RULES
    return " ".join(DEFAULT_RULES)


def _add_game(p, *, required=True, default=None, iterated_only=False):
    names = _catalogue(iterated_only)
    p.add_argument("--game", required=required, default=default, choices=names, metavar="GAME",
                   help=f"a catalogue game: {', '.join(names)}")
    p.add_argument("--gamma", type=arg.discount, default=None, metavar="G",
                   help="discount of an iterated or repeated game, in (0, 1), e.g. 0.9 or "
                        "9/10 (default: the game's own)")
    p.add_argument("--players", type=arg.players, default=None, metavar="N",
                   help="number of players of the contribution game, 2 to 5 (default: the "
                        "game's own)")
    p.add_argument("--cf", type=arg.positive_exact, default=None, metavar="X",
                   help="contribution factor of the contribution game (default: 0.6 x players)")
    p.add_argument("--memory", type=arg.memory, default=None, metavar="M",
                   help="past joint actions the policies see, 0 to 2; a 2x2 iterated game "
                        "becomes a repeated game of that memory (default: the game's own)")


def _add_hyper(p, *, order=True):
    p.add_argument("--eta", type=arg.exact, default=None,
                   help="lookahead rate eta of the rules that take one (default: the rule's)")
    p.add_argument("--hyper", type=arg.key_value, nargs="+", action="extend", default=[],
                   metavar="K=V", help="other hyper-parameters, e.g. a=0.5 b=0.1 (sos), "
                                       "lam=1 (sga), gamma=0.1 (co)")
    if order:
        p.add_argument("--order", type=arg.nonneg_int, default=None,
                       help="structural option 'order' of hola")


def _add_output(p, *, json=True, plot=False):
    if json:
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the output to FILE instead of stdout (missing parent "
                        "directories are created)")
    if plot:
        p.add_argument("--plot", metavar="FILE", type=arg.figure_path, default=None,
                       help="save a figure to FILE (.png or .pdf; missing parent directories "
                            "are created)")


def _add_progress(p):
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only when stderr is a terminal)")


def _add_training(p, *, runs, steps, delta):
    p.add_argument("--runs", type=arg.positive_int, default=runs, help="independent runs")
    p.add_argument("--steps", type=arg.nonneg_int, default=steps, help="updates per run")
    p.add_argument("--delta", type=arg.positive_float, default=delta, help="learning rate")
    p.add_argument("--seed", type=arg.nonneg_int, default=0, help="seed of the initial parameters")
    p.add_argument("--init-std", type=arg.init_std, default=1.0,
                   help=f"standard deviation of the initial parameters, at most "
                        f"{arg.MAX_INIT_STD:g}")


def _command(sub, name, summary, description, examples, func):
    description = "\n".join(textwrap.fill(par, 79) for par in description.split("\n"))
    p = sub.add_parser(name, help=summary, description=description,
                       epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
                       formatter_class=_Formatter)
    p.set_defaults(func=func)
    return p


def _run(name, module="commands"):
    """Runner ``name`` of ``lola_sym.cli.<module>`` (imported when used: fast ``--help``)."""
    def run(args):
        import importlib
        return getattr(importlib.import_module(f"lola_sym.cli.{module}"), name)(args)
    run.module, run.runner = module, name
    return run


# ------------------------------------------------------------------------ parser
from lola_sym.cli.reports import REPORTS  # noqa: E402  (names only: no heavy import)


def _package_version() -> str:
    """The version of the installed package (as its metadata says), else the source's."""
    from importlib.metadata import PackageNotFoundError, version

    from lola_sym._version import __version__
    try:
        return version("lola_sym")
    except PackageNotFoundError:        # run from a source tree that is not installed
        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lola-sym``.

    Every subcommand's parser sets ``args.func``, the runner :func:`main` calls;
    exact numbers (``--eta 1/2``) are parsed as :class:`fractions.Fraction`.

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "--game", "ipd", "--rule", "lola",
    ...                                   "--rule2", "nl", "--eta", "1/2", "--runs", "5"])
    >>> args.command, args.game, args.rule, args.rule2, args.eta, args.runs, args.steps
    ('train', 'ipd', 'lola', 'nl', Fraction(1, 2), 5, 200)
    >>> args.func.module, args.func.runner
    ('commands', 'train_cmd')
    >>> build_parser().parse_args(["sweep", "--rules", "nl,lola", "--eta", "0.5:2:4"]).eta
    [0.5, 1.0, 1.5, 2.0]
    """
    parser = _Parser(prog="lola-sym", description="Exact gradients of learning in games.",
                     epilog="Run 'lola-sym <command> --help' for a command's options.")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of an error (for debugging)")
    parser.add_argument("--version", action="version", version=f"lola-sym {_package_version()}",
                        help="print the package version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="<command>")
    rules = _rule_names()

    rep = _command(sub, "reproduce", "reproduce a paper's published results",
                   "Reproduce a paper's results and print them beside the published numbers.\n"
                   "lola2018: Table 3 of Foerster et al. 2018 (IPD, IMP; defaults 50 runs, "
                   "200 steps, delta = eta = 1).\nsos-tandem: Letcher et al. 2019, Tandem, "
                   "LOLA's average loss 4/9 vs SOS's 0 (defaults 300 runs, 1000 steps, "
                   "delta = eta = 0.1, theta ~ N(0, 0.1^2)).",
                   ["lola-sym reproduce lola2018", "lola-sym reproduce sos-tandem --json"],
                   _run("reproduce"))
    rep.add_argument("paper", choices=["lola2018", "sos-tandem", "coin-game", *REPORTS],
                     help="which paper's result (coin-game: the LOLA paper's Sec. 5.2, exact); "
                          + "; ".join(f"{k}: {v.title}" for k, v in REPORTS.items()))
    rep.add_argument("--reduced", action="store_true",
                     help=f"the reduced setting that runs in seconds (for CI): "
                          f"{', '.join(REPORTS)}")
    rep.add_argument("--published", action="store_true",
                     help="the reference's own settings where the command's default is smaller: "
                          + "; ".join(f"{k}: {v.published}" for k, v in REPORTS.items()
                                      if v.defaults))
    rep.add_argument("--runs", type=arg.positive_int, default=None,
                     help="independent runs (default 50; sos-tandem 300)")
    rep.add_argument("--steps", type=arg.nonneg_int, default=None,
                     help="updates per run (default 200; sos-tandem 1000)")
    rep.add_argument("--delta", type=arg.positive_float, default=None,
                     help="learning rate (default 1; sos-tandem 0.1; coin-game 30)")
    rep.add_argument("--eta", type=arg.nonneg_float, default=None,
                     help="LOLA lookahead rate (default 1; sos-tandem 0.1; coin-game 1000)")
    rep.add_argument("--seed", type=arg.nonneg_int, default=0, help="seed of the initial parameters")
    rep.add_argument("--games", nargs="+", choices=["IPD", "IMP"], default=["IPD", "IMP"],
                     help="lola2018 only: which games")
    _add_output(rep, plot=True)
    _add_progress(rep)

    der = _command(sub, "derive", "Markdown derivation of a rule on a game",
                   "Derive a rule on a game exactly and print the derivation as Markdown "
                   "(lola_sym.report.derive.render); hyper-parameters not given stay symbols.",
                   ["lola-sym derive --game matching_pennies --rule lola",
                    "lola-sym derive --game tandem --rule hola --order 3 --eta 1/2",
                    "lola-sym derive --rule sos --rule-page --out sos.md"], _run("derive"))
    _add_game(der, required=False)
    der.add_argument("--rule", required=True, choices=rules, metavar="RULE",
                     help=f"a rule: {', '.join(rules)}")
    der.add_argument("--form", choices=["auto", "closed", "cse"], default="auto",
                     help="closed form, common-subexpression form, or chosen by size")
    der.add_argument("--rule-page", action="store_true",
                     help="print the rule's page (definition, source, matching pennies) only")
    _add_hyper(der)
    _add_output(der)

    tr = _command(sub, "train", "train learners and summarise the final rewards",
                  "Train agent 1 (--rule) against agent 2 (--rule2, default the same rule) "
                  "from many seeded initial conditions at once, and summarise the final "
                  "average reward per step of each agent (mean and std over the runs that "
                  "did not diverge). In a game of more than two players every agent uses "
                  "--rule, which must have an n-player form.",
                  ["lola-sym train --game ipd --rule lola --rule2 nl --runs 50 --steps 200",
                   "lola-sym train --game tandem --rule sos --eta 0.1 --delta 0.1 --json",
                   "lola-sym train --game imp --rule lola --plot curves.png",
                   "lola-sym train --game contribution --players 3 --cf 1.33 --rule nl",
                   "lola-sym train --game ipd --memory 2 --rule nl --runs 20"],
                  _run("train_cmd"))
    _add_game(tr)
    tr.add_argument("--rule", required=True, choices=rules, metavar="RULE",
                    help=f"agent 1's rule (every agent's with more than two players): "
                         f"{', '.join(rules)}")
    tr.add_argument("--rule2", choices=rules, metavar="RULE", default=None,
                    help="agent 2's rule in a two-player game (default: the same as --rule)")
    _add_training(tr, runs=50, steps=200, delta=1.0)
    tr.add_argument("--method", choices=arg.METHODS, default="simultaneous", help="step method")
    tr.add_argument("--on-divergence", choices=["mark", "raise"], default="mark",
                    help="mark diverged runs (frozen, counted) or stop with exit code 1")
    _add_hyper(tr)
    _add_output(tr, plot=True)
    _add_progress(tr)

    cmp_ = _command(sub, "compare", "every rule in self-play on one game, side by side",
                    "Train each rule in self-play from the same initial parameters and report "
                    "the final rewards, the distance to a target and the diverged runs "
                    "(lola_sym.dynamics.compare). A rule may carry its own settings: hola:order=3.",
                    ["lola-sym compare --game tandem --rules nl lola_full sos --delta 0.1 "
                     "--eta 0.1 --init-std 0.1",
                     "lola-sym compare --game ipd --runs 10 --json",
                     "lola-sym compare --game contribution --players 3 --cf 1.33 --steps 50"],
                    _run("compare"))
    _add_game(cmp_)
    cmp_.add_argument("--rules", type=arg.rule_spec, nargs="+", default=None, metavar="RULE",
                      help=f"rules, each NAME or NAME:K=V,... (default: "
                           f"{_default_rules('compare')}; with more than two players those "
                           f"of them with an n-player form)")
    _add_training(cmp_, runs=20, steps=200, delta=1.0)
    cmp_.add_argument("--method", choices=arg.METHODS, default="simultaneous", help="step method")
    cmp_.add_argument("--target", choices=["auto", "tft", "nash", "none"], default="auto",
                      help="distance to tit-for-tat, to the Nash set, or none "
                           "(auto: the game's known target)")
    _add_hyper(cmp_)
    _add_output(cmp_, plot=True)

    tou = _command(sub, "tournament", "round robin between rules on an iterated game",
                   "Train every pair of rules (self-play included) from the same initial "
                   "parameters and print the table of final rewards (Table 4 of Foerster et "
                   "al. 2018). Per-rule settings: sos:a=0.5 or hola:order=1.",
                   ["lola-sym tournament --rules nl lola lola2 --runs 20",
                    "lola-sym tournament --game stag_hunt --json --out table.json"],
                   _run("tournament"))
    _add_game(tou, required=False, default="ipd", iterated_only=True)
    tou.add_argument("--rules", type=arg.rule_spec, nargs="+", default=None, metavar="RULE",
                     help=f"rules, each NAME or NAME:K=V,... (default: "
                          f"{_default_rules('tournament')})")
    _add_training(tou, runs=50, steps=200, delta=0.5)
    tou.add_argument("--std", action="store_true", help="show standard deviations in the table")
    tou.add_argument("--policies", action="store_true",
                     help="with --json: include every run's final policies")
    _add_hyper(tou)
    _add_output(tou)
    _add_progress(tou)

    fp = _command(sub, "fixed-points", "fixed points of a rule on a game",
                  "Find fixed points (g = 0) by root finding from seeded random starts, each "
                  "with its flow classification; or all of them exactly with sympy (--exact, "
                  "one-shot games and symbolic rules).",
                  ["lola-sym fixed-points --game matching_pennies --rule lola --plot mp.png",
                   "lola-sym fixed-points --game tandem --rule lola --exact"],
                  _run("fixed_points", "analysis_commands"))
    _add_game(fp)
    fp.add_argument("--rule", required=True, choices=rules, metavar="RULE",
                    help=f"a rule: {', '.join(rules)}")
    fp.add_argument("--starts", type=arg.positive_int, default=32,
                    help="random starts (at most 100,000: each is one root search)")
    fp.add_argument("--seed", type=arg.nonneg_int, default=0, help="seed of the starts")
    fp.add_argument("--scale", type=arg.positive_float, default=3.0,
                    help="standard deviation of the starts (at most 1000)")
    fp.add_argument("--exact", action="store_true",
                    help="solve g = 0 exactly with sympy (unset hyper-parameters stay symbols)")
    _add_hyper(fp)
    _add_output(fp, plot=True)

    st = _command(sub, "stability", "classify a rule's dynamics at one point",
                  "Classify the flow and the discrete map of a rule at one point from the "
                  "Jacobian's eigenvalues; the supremum delta* of the convergent learning "
                  "rates; the game view (stable fixed point, strict saddle, differential "
                  "Nash). A single number for --theta1/--theta2 fills every entry.",
                  ["lola-sym stability --game matching_pennies --rule lola --theta1 0 "
                   "--theta2 0 --delta 1 --exact-threshold",
                   "lola-sym stability --game ipd --rule nl --theta1 0 --theta2 0 --json"],
                  _run("stability", "analysis_commands"))
    _add_game(st)
    st.add_argument("--rule", required=True, choices=rules, metavar="RULE",
                    help=f"a rule: {', '.join(rules)}")
    st.add_argument("--theta1", type=arg.exact, nargs="+", required=True, metavar="X",
                    help="agent 1's parameters")
    st.add_argument("--theta2", type=arg.exact, nargs="+", required=True, metavar="X",
                    help="agent 2's parameters")
    for i in range(3, 6):
        st.add_argument(f"--theta{i}", type=arg.exact, nargs="+", default=None, metavar="X",
                        help=f"agent {i}'s parameters (games of {i} or more players)")
    st.add_argument("--delta", type=arg.positive_float, default=None,
                    help="classify the discrete map at this learning rate too")
    st.add_argument("--exact-threshold", action="store_true",
                    help="the exact delta* (one-shot games, symbolic rules; unset "
                         "hyper-parameters stay symbols)")
    _add_hyper(st)
    _add_output(st)

    nr = _command(sub, "nash-report", "stability of matching pennies' Nash point per rule",
                  "For every rule, on one-shot and iterated matching pennies: the Jacobian's "
                  "eigenvalues at theta = 0, the flow and map classification, the threshold "
                  "delta* (exact in eta for the one-shot game), and training from random "
                  "starts near the equilibrium (lola_sym.report.nash_report).",
                  ["lola-sym nash-report",
                   "lola-sym nash-report --rules nl lola sos --include one-shot --json"],
                  _run("nash_report"))
    nr.add_argument("--rules", choices=rules, nargs="+", default=None, metavar="RULE",
                    help=f"rules (default: every rule: {_default_rules('nash-report')})")
    nr.add_argument("--include", choices=["one-shot", "iterated"], nargs="+",
                    default=["one-shot", "iterated"], help="which games")
    nr.add_argument("--runs", type=arg.positive_int, default=20, help="training runs")
    nr.add_argument("--steps", type=arg.nonneg_int, default=200, help="updates per run")
    nr.add_argument("--delta", type=arg.positive_float, default=1.0, help="learning rate")
    nr.add_argument("--eta", type=arg.positive_float, default=1.0, help="lookahead rate")
    nr.add_argument("--seed", type=arg.nonneg_int, default=0, help="seed of the initial parameters")
    _add_output(nr)

    ca = _command(sub, "cache", "what the compiled-code cache holds, or empty it",
                  "info: the cache directory, its entries, libraries and total size, the size "
                  "cap (LOLA_SYM_CACHE_MAX_MB, least recently used entries are evicted beyond "
                  "it) and whether the cache is enabled (LOLA_SYM_NO_CACHE). clear: remove "
                  "every entry and library (the code is compiled again when next used).",
                  ["lola-sym cache info", "lola-sym cache clear --json"], _run("cache_cmd"))
    ca.add_argument("action", choices=["info", "clear"], help="show or empty the cache")
    _add_output(ca)
    from lola_sym.cli import sweep as sweep_cli
    sweep_cli.add_parser(sub)
    return parser


def _one_line(exc) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, Warning):            # raised as an error (python -W error)
        text = f"{type(exc).__name__}: {text}"
    return text


#: Warnings shown while a command runs (one line each), at most this many.
MAX_WARNING_LINES = 3


def _show_warnings(prog, caught) -> None:
    """The warnings a command emitted (not raised), one line each, repeats dropped."""
    lines = list(dict.fromkeys(f"{w.category.__name__}: {' '.join(str(w.message).split())}"
                               for w in caught))
    for line in lines[:MAX_WARNING_LINES]:
        print(f"{prog}: warning: {line}", file=sys.stderr)
    if len(lines) > MAX_WARNING_LINES:
        print(f"{prog}: warning: ... and {len(lines) - MAX_WARNING_LINES} more warnings",
              file=sys.stderr)


def main(argv=None) -> int:
    r"""Entry point of the ``lola-sym`` console script; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on arguments that do not fit together, 1 on a failure
        while running (the module docstring); the message is one line on stderr.
        ``--help``, ``--version`` and malformed arguments exit through
        :class:`SystemExit` as argparse does (code 0, 0 and 2).

    Examples
    --------
    Naive learning on matching pennies at the Nash point: the Jacobian's
    eigenvalues are :math:`\pm i/4` (:math:`\partial^2 V^1 / \partial\theta_1
    \partial\theta_2 = 4\,\sigma'(0)^2 = 1/4`), a centre of the flow.

    >>> main(["stability", "--game", "matching_pennies", "--rule", "nl",
    ...       "--theta1", "0", "--theta2", "0"])
    nl on matching pennies at theta1 = [0.0], theta2 = [0.0]
    residual max|g|: 0  (a fixed point)
    eigenvalues of J: +0±0.25i
    flow: centre
    learning-rate threshold delta*: 0 (the map converges locally iff 0 < delta < delta*)
    game view: stable fixed point yes, strict saddle no, differential Nash no
    0

    Options that do not fit together return 2 (the reason is on stderr:
    ``--plot needs --x``); ``--version`` prints and exits:

    >>> main(["sweep", "--plot", "grid.png"])
    2
    >>> import contextlib, io, re
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    ...     main(["--version"])
    >>> re.fullmatch(r"lola-sym \d+\.\d+\.\d+\S*\n", out.getvalue()) is not None
    True
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"lola-sym {args.command}"
    try:
        # warnings are recorded and, after a success, shown as one line each (after an error
        # only the error's line); warnings the filters turn into errors (python -W
        # error::RuntimeWarning) are raised as usual and reported below
        with warnings.catch_warnings(record=True) as caught:
            code = args.func(args)
        _show_warnings(prog, caught)
        return code
    except BrokenPipeError:     # e.g. piped into head: stop quietly (Python docs, signal)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except UsageError as exc:
        if args.traceback:
            raise
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, ArithmeticError, OSError, RuntimeError, Warning) as exc:
        # ArithmeticError covers FloatingPointError (numpy errstate "raise") and OverflowError
        if args.traceback:
            raise
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        if args.traceback:
            raise
        print(f"{prog}: error: out of memory ({_one_line(exc)}); use fewer runs, steps or "
              f"points", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
