"""``lola-sym reproduce`` for the reproductions that live in report modules.

Each entry names a module of :mod:`lola_sym.report` with a function
``*_reproduction(..., progress=None)`` returning a result with
``format_table()``, ``as_dict()`` and ``plot(path)``, and a ``REDUCED`` dict of
settings that run in seconds (``--reduced``). The command's options that a
reproduction takes are passed on (``options`` maps an option to the function's
keyword); the others are refused by name, so that nothing given is silently
ignored.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

from lola_sym.cli.support import Progress, UsageError, emit, progress_on

__all__ = ["Report", "REPORTS", "PUBLISHED", "run_report"]

#: the options of ``lola-sym reproduce`` that a report may take (argument name: default)
OPTIONS = {"runs": None, "steps": None, "delta": None, "eta": None, "seed": 0}


@dataclass(frozen=True)
class Report:
    """A reproduction run by ``lola-sym reproduce NAME``."""

    title: str
    module: str
    function: str
    #: CLI option -> keyword of the function
    options: dict = field(default_factory=dict)
    #: the module's dict of reduced settings (``--reduced``)
    reduced: str = "REDUCED"
    #: settings of the command that differ from the function's defaults (said in the title)
    defaults: dict = field(default_factory=dict)
    #: what ``--published`` runs instead of ``defaults`` (the function's own defaults)
    published: str = ""

    def load(self):
        """``(function, module)`` (imported on first use)."""
        mod = importlib.import_module(f"lola_sym.report.{self.module}")
        return getattr(mod, self.function), mod


REPORTS = {
    "coin-estimators": Report(
        "REINFORCE, LOLA-PG and DiCE on the coin game against exact gradients (bias, variance)",
        "coin_estimators", "coin_estimators_reproduction", {"eta": "eta", "seed": "seed"}),
    "matching-pennies-ns": Report(
        "matching pennies' exact thresholds as Neimark-Sacker points and (delta, eta) curves",
        "plots_bifurcation", "matching_pennies_reproduction"),
    "letcher-cycles": Report(
        "Letcher et al. 2020: nine methods cycle on the impossibility game (periods, amplitudes)",
        "chaos", "letcher_cycles_reproduction", {"runs": "runs", "steps": "steps", "seed": "seed"},
        reduced="LETCHER_REDUCED"),
    "ipd-chaos": Report(
        "LOLA on the IPD at delta = eta: Lyapunov exponents and the 1e-12 nudge experiment",
        "chaos", "ipd_chaos_reproduction", {"runs": "runs", "steps": "steps", "seed": "seed"},
        reduced="IPD_CHAOS_REDUCED"),
    "pola-ipd": Report(
        "POLA's exact-value IPD experiment (contribution factors 1.1-1.6): share finding TFT",
        "pola_ipd", "pola_ipd_reproduction", {"runs": "runs", "seed": "seed"}),
    "stackelberg-bimatrix": Report(
        "Fiez et al. 2020's bimatrix game: differential Nash vs Stackelberg points, portrait",
        "stackelberg_bimatrix", "stackelberg_bimatrix_reproduction", {"steps": "iterations"}),
    "mfos-grid": Report(
        "M-FOS's baseline grid (STATIC, NL, LOLA, MAMAML) with the ZD check; MAMAML and Good "
        "Shepherd trained 100 iterations at batch 64 (M-FOS's 1,000 x 8,192: --published)",
        "mfos_grid", "mfos_grid_reproduction",
        {"runs": "batch", "steps": "steps", "seed": "seed"},
        defaults={"mamaml_options": dict(outer_lr=0.1, iterations=100, inner_steps=100,
                                         inner_lr=1.0, init_std=1.0, batch=64)},
        published="MAMAML and Good Shepherd trained as M-FOS does, 1,000 Adam iterations at "
                  "batch 8,192 through 100 inner steps, 10 MAMAML seeds (about an hour per "
                  "seed and game on 2 cores)"),
}

#: the reports whose command runs smaller settings than the reference's (``--published``)
PUBLISHED = tuple(k for k, r in REPORTS.items() if r.defaults)


def run_report(args) -> int:
    r"""Run ``REPORTS[args.paper]`` with the given options; print, plot and emit its results.

    Returns the exit code (0); an option the report does not take is a
    :class:`~lola_sym.cli.support.UsageError`.

    Examples
    --------
    The reduced matching-pennies report locates LOLA's Neimark-Sacker step size,
    :math:`\delta = 32/17 = 1.88235\ldots` at :math:`\eta = 1` (the closed form
    :math:`32\eta/(\eta^2 + 16)`, printed beside it):

    >>> from lola_sym.cli import build_parser
    >>> args = build_parser().parse_args(["reproduce", "matching-pennies-ns", "--reduced"])
    >>> run_report(args)                # doctest: +ELLIPSIS
    rule           eta   delta NS (located)          closed form     error
    lola             1    1.882352941176471    1.882352941176471   ...
    0
    >>> run_report(build_parser().parse_args(["reproduce", "pola-ipd", "--eta", "2"]))
    Traceback (most recent call last):
    ...
    lola_sym.cli.support.UsageError: reproduce pola-ipd does not take --eta; of these it takes --runs, --seed
    """
    report = REPORTS[args.paper]
    published = getattr(args, "published", False)
    if published and args.reduced:
        raise UsageError("give --reduced or --published, not both")
    if published and not report.defaults:
        raise UsageError(f"reproduce {args.paper} runs the published settings by default; "
                         f"--published applies to {', '.join(PUBLISHED)}")
    fn, mod = report.load()
    if args.reduced:
        kwargs = dict(getattr(mod, report.reduced))
    else:                                       # --published: the function's own defaults
        kwargs = {} if published else dict(report.defaults)
    for name, default in OPTIONS.items():
        given = getattr(args, name, default)
        if given == default:
            continue
        if name not in report.options:
            takes = (f"of these it takes {', '.join(f'--{k}' for k in report.options)}"
                     if report.options else "it takes only --reduced, --plot, --json and --out")
            raise UsageError(f"reproduce {args.paper} does not take --{name}; {takes}")
        kwargs[report.options[name]] = given
    bar = Progress(1, args.paper, progress_on(args))

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    t0 = time.perf_counter()
    try:
        result = fn(**kwargs, progress=progress)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    if args.plot:
        result.plot(args.plot)
    return emit(args, result.format_table() + f"\n({seconds:.1f} s)",
                {"paper": args.paper, "wall_seconds": seconds, **result.as_dict()})
