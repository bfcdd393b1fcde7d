"""The subcommands of ``lola-sym`` (the parser and entry point are in :mod:`lola_sym.cli`).

Each ``run`` function takes the parsed arguments, prints (or writes) its
output and returns the exit code; :class:`~lola_sym.cli.support.UsageError` means
arguments that do not fit together (exit code 2), other errors propagate to
:func:`lola_sym.cli.main`.
"""

from __future__ import annotations

import inspect
import math
import time
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
import sympy as sp

from lola_sym.cli.support import Progress, UsageError, emit, progress_on, train_in_chunks
from lola_sym.rules import get_rule
from lola_sym.dynamics.training import train


# ------------------------------------------------------------------ shared helpers
@contextmanager
def _usage(prefix: str = ""):
    """Validation of arguments by the library: its ValueError or TypeError is a usage error.

    Only around checks made before anything runs (a rule's bounds, a program's size, a
    game's discount), so that a failure while running still exits with code 1.
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{prefix}{exc}") from None


def _takers(option: str) -> list:
    """The catalogue games whose constructor takes the keyword ``option``."""
    from lola_sym.games import CATALOGUE
    return sorted(k for k, make in CATALOGUE.items()
                  if option in inspect.signature(make).parameters)


def _game(args):
    """The catalogue game named by ``--game``, with ``--gamma``, ``--players``, ``--cf`` and
    ``--memory`` if given (each checked against what the game's constructor takes)."""
    from lola_sym.games import CATALOGUE, repeated
    make = CATALOGUE[args.game]
    takes = inspect.signature(make).parameters
    players, cf, memory = (getattr(args, k, None) for k in ("players", "cf", "memory"))
    kw, given = {}, []
    if players is not None and "n_players" in takes:
        kw["n_players"], given = players, given + ["--players"]
    if cf is not None:
        if "cf" not in takes:
            raise UsageError(f"--cf is the contribution factor of {' and '.join(_takers('cf'))}; "
                             f"{args.game} has none")
        kw["cf"], given = _rational(cf), given + ["--cf"]
    if memory is not None and "memory" in takes:
        kw["memory"], given = memory, given + ["--memory"]
    with _usage(f"{', '.join(given)}: " if given else ""):
        game = make(**kw)
    if args.gamma is not None:
        if "gamma" not in takes:
            raise UsageError(f"--gamma is the discount of an iterated game; {args.game} is "
                             f"one-shot (consensus optimisation's gamma: --hyper gamma=...)")
        with _usage("--gamma: "):
            game = make(**kw, gamma=args.gamma)
    n = len(game.dims)
    if players is not None and players != n:
        raise UsageError(f"--players {players}: {args.game} has {n} players (--players sets the "
                         f"size of {' and '.join(_takers('n_players'))})")
    if memory is not None and "memory" not in takes:
        if game.kind == "iterated":
            if memory != 1:         # the 2x2 game with policies of another memory
                rep = game.as_repeated()
                with _usage("--memory: "):
                    game = repeated([rep.payoff_array(1), rep.payoff_array(2)], rep.gamma,
                                    memory=memory, labels=rep.labels,
                                    name=f"{game.name} (memory {memory})")
        elif game.kind == "repeated":
            if memory != game.memory:
                raise UsageError(f"--memory {memory}: {args.game} has memory {game.memory}; "
                                 f"other memories: {', '.join(_takers('memory'))} or a 2x2 "
                                 f"iterated game such as ipd")
        else:
            raise UsageError(f"--memory is the memory of a repeated game's policies; "
                             f"{args.game} is one-shot")
    return game


def _describe(game) -> str:
    """``game`` in a few words, for the refusals of commands that cannot take it."""
    if game.kind == "repeated":
        return (f"{game.name} is a {len(game.dims)}-player repeated game with "
                f"{'x'.join(map(str, game.actions))} actions and memory {game.memory}")
    return f"{game.name} is {'a one-shot' if game.kind == 'differentiable' else 'an iterated'} game"


def _need_two_players(game, command: str, why: str) -> None:
    if len(game.dims) != 2:
        raise UsageError(f"{command} needs a two-player game ({why}); {_describe(game)}")


def _check_players(game, rules, where=lambda r: "") -> None:
    """Every rule defined for the game's number of players (n-player rules beyond two)."""
    for r in dict.fromkeys(rules):
        with _usage(where(r)):
            get_rule(r).check_players(game)


def _check_values(rule, given: dict, where) -> None:
    """Each hyper-parameter of ``rule`` in ``given`` within the rule's declared bounds.

    ``where(name)`` says which option gave it (``--eta``, ``--hyper``, ``--rules sos:``).
    One name at a time, so that the message names the option at fault.
    """
    for k, v in rule.accepted(given, strict=False, options=False).items():
        with _usage(f"{where(k)}: "):
            rule.hyper_values({k: float(v)})


def _check_size(game, rule, options: dict, where: str = "") -> None:
    """Refuse, before deriving, a program of ``rule`` too large to derive (HOLA's order)."""
    rule = get_rule(rule)
    if rule.options:
        with _usage(where):
            own, _ = rule.split(rule.accepted(options, strict=False))
            rule.check_size(game, own)


def _hyper(args, rules, *, exact=False, options=True) -> dict:
    """``--eta``, ``--hyper`` and ``--order`` as keywords, checked against ``rules``.

    Values stay exact (``Fraction``, or ``sympy.Rational`` with ``exact="sympy"``: never
    strings, so no user text is ever parsed by sympy) when ``exact``, floats otherwise;
    structural options (HOLA's ``order``) are ints.
    """
    given = {}
    pairs = list(args.hyper)
    if getattr(args, "eta", None) is not None:
        pairs.insert(0, ("eta", args.eta))
    if getattr(args, "order", None) is not None:
        pairs.append(("order", Fraction(args.order)))
    rules = [get_rule(r) for r in rules]
    names = list(dict.fromkeys(r.name for r in rules))
    for k, v in pairs:
        if k in given:
            raise UsageError(f"hyper-parameter {k!r} given twice")
        takers = [r for r in rules if r.accepted({k: v}, strict=False, options=options)]
        if not takers:
            takes = sorted({h for r in rules for h in (*r.hyper, *(r.options if options else ()))})
            if len(names) == 1:
                raise UsageError(f"rule {names[0]!r} has no hyper-parameter {k!r}; it takes "
                                 f"{takes or 'none'}")
            raise UsageError(f"none of the rules {names} has a hyper-parameter {k!r}; they take "
                             f"{takes or 'none'}")
        if any(k in r.options for r in takers):
            if v.denominator != 1 or v < 0:
                raise UsageError(f"{k} must be a non-negative integer, got {v}")
            given[k] = int(v)
        elif exact == "sympy":
            given[k] = _rational(v)
        else:
            given[k] = v if exact else float(v)
    for r in rules:
        _check_values(r, given, lambda k: "--eta" if k == "eta" and getattr(
            args, "eta", None) is not None else "--hyper")
    return given


def _check_sizes(args, game, rules, hyper: dict) -> None:
    """``--order`` (in ``hyper``) within the size guard of every rule that takes it."""
    for r in dict.fromkeys(rules):
        _check_size(game, r, hyper, "--order: " if getattr(args, "order", None) is not None
                    else "")


def _rational(v: Fraction) -> sp.Rational:
    """An exact ``Fraction`` from the parser as a ``sympy.Rational`` (no string parsing)."""
    return sp.Rational(v.numerator, v.denominator)


def _hyper_text(h: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in h.items())


def _mean_std(x) -> tuple:
    return (float(np.mean(x)), float(np.std(x))) if x.size else (float("nan"), float("nan"))


def _mean_std_text(m, s, sign="+", digits=4) -> str:
    """``+0.1234 (0.0100)``, or what a NaN mean stands for: no run left to average."""
    if math.isnan(m):
        return "undefined (every run diverged)"
    return f"{m:{sign}.{digits}f} ({s:.{digits}f})"


def train_cmd(args) -> int:
    game = _game(args)
    n = len(game.dims)
    if args.rule2 is not None and n != 2:
        raise UsageError(f"--rule2 is agent 2's rule in a two-player game; {_describe(game)}: "
                         f"every agent uses --rule")
    names = [args.rule, args.rule2 or args.rule] if n == 2 else [args.rule]
    _check_players(game, names, lambda r: "--rule: " if r == args.rule else "--rule2: ")
    hyper = _hyper(args, names)
    _check_sizes(args, game, names, hyper)
    bar = Progress(args.steps, "train", progress_on(args))
    chunk = max(1, math.ceil(args.steps / 40)) if bar.enabled else None
    t0 = time.perf_counter()
    try:
        tr = train_in_chunks(game, args.rule, args.rule2, runs=args.runs, steps=args.steps,
                             delta=args.delta, seed=args.seed, init_std=args.init_std,
                             method=args.method, on_divergence=args.on_divergence, chunk=chunk,
                             callback=lambda done: bar.update(done, "steps"), **hyper)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    ok = ~tr.diverged
    final = tr.final_reward[ok]
    stats = [_mean_std(final[:, k]) for k in range(n)]
    data = {"game": game.name, "rules": list(tr.rules), "hyper": list(tr.hyper),
            "runs": tr.runs, "steps": tr.steps, "delta": tr.delta, "method": tr.method,
            "seed": args.seed, "init_std": args.init_std, "seconds": seconds,
            "reward_mean": [s[0] for s in stats], "reward_std": [s[1] for s in stats],
            "diverged": int(tr.diverged.sum()), "diverged_at": tr.diverged_at,
            "diverged_agents": tr.diverged_agents, "final_reward": tr.final_reward}
    if n == 2:
        data.update(final_theta1=tr.theta1[-1], final_theta2=tr.theta2[-1])
    data["final_thetas"] = [t[-1] for t in tr.thetas]
    what = "(1 - gamma) V" if getattr(game, "gamma", None) is not None else "V"
    lines = [f"{game.name}: {' vs '.join(tr.rules)}, {tr.runs} runs x {tr.steps} "
             f"updates, delta={tr.delta:g}, method={tr.method}, seed={args.seed}"]
    if len(set(tr.rules)) == 1 and all(h == tr.hyper[0] for h in tr.hyper):
        lines += [f"hyper-parameters: {_hyper_text(tr.hyper[0])}"] if tr.hyper[0] else []
    else:
        lines += [f"agent {k + 1} ({tr.rules[k]}): {_hyper_text(h)}"
                  for k, h in enumerate(tr.hyper) if h]
    lines.append(f"final average reward per step {what}, mean (std) over the "
                 f"{int(ok.sum())} runs that did not diverge ({data['diverged']} diverged):")
    for k in range(n):
        lines.append(f"  agent {k + 1} ({tr.rules[k]}): {_mean_std_text(*stats[k])}")
    if ok.any():
        lines += _policy_lines(game, [t[-1][ok] for t in tr.thetas], data)
    lines.append(f"({seconds:.1f} s)")
    if args.plot:
        from lola_sym.report.plots import training_curves
        training_curves(tr, agent="both" if n == 2 else "mean", path=args.plot)
    return emit(args, "\n".join(lines), data,
                why=f"all {tr.runs} runs diverged, so there is no final reward to average"
                if not ok.any() else "")


def _policy_lines(game, final, data) -> list:
    """The mean final policies as text lines (stored in ``data["policy_mean"]`` too).

    Iterated and repeated games: P(first action | state), own perspective, per agent; with
    more than two actions, the mean policy table (JSON) and each agent's first state (text).
    """
    from scipy.special import expit
    if game.kind == "iterated":
        from lola_sym.games.layout import STATES
        p = [expit(t).mean(axis=0) for t in final]
        data["policy_mean"] = p
        return [f"mean final P(C | state), own perspective, states {' '.join(STATES)}:"] + [
            f"  agent {k + 1}: " + " ".join(f"{v:.2f}" for v in p[k]) for k in range(len(p))]
    if game.kind != "repeated":
        return []
    tables = [t.mean(axis=0) for t in game.policy_table(*final)]      # (states, k) each
    if any(k != 2 for k in game.actions):
        data["policy_mean"] = tables
        lines = [f"mean final policy in state {game.state_labels(1)[0]} (all states: --json):"]
        return lines + [f"  agent {i + 1}: " + " ".join(
            f"P({a})={v:.2f}" for a, v in zip(game.labels[i], tables[i][0]))
            for i in range(len(tables))]
    p = [t[:, 0] for t in tables]
    data["policy_mean"] = p
    states = [game.state_labels(i + 1) for i in range(len(p))]
    first = "/".join(dict.fromkeys(lab[0] for lab in game.labels))
    if all(s == states[0] for s in states):
        return [f"mean final P({first} | state), own perspective, states "
                f"{' '.join(states[0])}:"] + [
            f"  agent {k + 1}: " + " ".join(f"{v:.2f}" for v in p[k]) for k in range(len(p))]
    return [f"mean final P({first} | state), own perspective:"] + [
        f"  agent {k + 1}: " + " ".join(f"{s}={v:.2f}" for s, v in zip(states[k], p[k]))
        for k in range(len(p))]


# ------------------------------------------------------------------- reproduce
_REPRODUCE_DEFAULTS = {"lola2018": dict(runs=50, steps=200, delta=1.0, eta=1.0),
                       "sos-tandem": dict(runs=300, steps=1000, delta=0.1, eta=0.1)}


def reproduce(args) -> int:
    for k, v in _REPRODUCE_DEFAULTS[args.paper].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.paper == "sos-tandem":
        return _sos_tandem(args)
    from lola_sym.report.reproduce import format_table, lola2018, rows_as_dicts
    t0 = time.perf_counter()
    rows = lola2018(runs=args.runs, steps=args.steps, delta=args.delta, eta=args.eta,
                    seed=args.seed, games=tuple(args.games))
    seconds = time.perf_counter() - t0
    data = {"paper": "lola2018", "runs": args.runs, "steps": args.steps, "delta": args.delta,
            "eta": args.eta, "seed": args.seed, "seconds": seconds, "rows": rows_as_dicts(rows)}
    header = (f"LOLA (Foerster et al. 2018), exact gradients: {args.runs} runs x {args.steps} "
              f"updates, delta={args.delta:g}, eta={args.eta:g}, theta ~ N(0, 1), "
              f"seed {args.seed}")
    return emit(args, format_table(rows, header) + f"\n({seconds:.1f} s)", data)


def _sos_tandem(args) -> int:
    """Letcher et al. 2019 (SOS), Tandem: LOLA's average loss 4/9, SOS's 0."""
    from lola_sym.games import tandem
    game = tandem()
    kw = dict(runs=args.runs, steps=args.steps, delta=args.delta, seed=args.seed,
              init_std=0.1, on_divergence="mark", eta=args.eta)
    t0 = time.perf_counter()
    rows = []
    for label, rule, extra, paper in (("LOLA", "lola_full", {}, 4 / 9),
                                      ("SOS", "sos", {"a": 0.5, "b": 0.5}, 0.0)):
        tr = train(game, rule, **kw, **extra)
        loss = -tr.final_reward[~tr.diverged].mean(axis=1)    # per run, both agents
        m, s = _mean_std(loss)
        rows.append({"setting": label, "rule": rule, "loss_mean": m, "loss_std": s,
                     "paper_loss": paper, "diverged": int(tr.diverged.sum())})
    seconds = time.perf_counter() - t0
    data = {"paper": "sos-tandem", "runs": args.runs, "steps": args.steps, "delta": args.delta,
            "eta": args.eta, "a": 0.5, "b": 0.5, "init_std": 0.1, "seed": args.seed,
            "seconds": seconds, "rows": rows}
    lines = [f"SOS (Letcher et al. 2019), Tandem, exact gradients: {args.runs} runs x "
             f"{args.steps} updates, delta={args.delta:g}, eta={args.eta:g}, a=b=0.5, "
             f"theta ~ N(0, 0.1^2), seed {args.seed}",
             f"{'setting':8} {'loss (mean, std)':>22} {'paper':>8} {'diverged':>9}"]
    for r in rows:
        paper = "4/9" if r["setting"] == "LOLA" else "0"
        mean = round(r["loss_mean"], 6) + 0.0                 # no "-0.000000"
        loss = _mean_std_text(mean, r["loss_std"], sign="", digits=6)
        lines.append(f"{r['setting']:8} {loss:>22} {paper:>8} {r['diverged']:>9}")
    lines.append("loss = -V at the end averaged over both agents, mean (std) over the runs that "
                 "did not diverge; LOLA overshoots the line x + y = 1, SOS does not.")
    lines.append(f"({seconds:.1f} s)")
    return emit(args, "\n".join(lines), data)


# ----------------------------------------------------------------------- derive
def derive(args) -> int:
    from lola_sym.report.derive import check_derivation, derivation, render, rule_page
    if args.rule_page:
        if args.game or args.gamma is not None or args.hyper or args.eta is not None \
                or args.order is not None:
            raise UsageError("--rule-page takes only --rule (the page is derived on matching "
                             "pennies with symbolic hyper-parameters)")
        page = rule_page(args.rule)
        return emit(args, page, {"rule": args.rule, "markdown": page})
    if args.game is None:
        raise UsageError("--game is required (or --rule-page for the rule's own page)")
    built = _game(args)
    if built.kind == "repeated":
        raise UsageError(f"derive writes pages for the 2x2 memory-1 iterated games and the "
                         f"one-shot games; {_describe(built)} (its exact program: "
                         f"lola_sym.update_field(game, rule).program)")
    game = built if args.gamma is not None else args.game
    hyper = _hyper(args, [args.rule], exact=True)
    with _usage():      # bounds (exactly), the program's size and the page's estimated cost
        check_derivation(game, args.rule, form=args.form, **hyper)
    page = render(game, args.rule, form=args.form, **hyper)
    d = derivation(game, args.rule, form=args.form, **hyper)
    return emit(args, page, {"game": args.game, "rule": args.rule, "form": d.form,
                              "hyper": {k: sp.sstr(v) for k, v in d.hyper.items()},
                              "options": d.options, "markdown": page})


# ---------------------------------------------------------------------- compare
def _specs(entries, *, options=True):
    """``--rules`` entries as names or (name, settings), settings as floats / ints."""
    out, seen = [], set()
    for name, settings in entries:
        key = (name, tuple(sorted(settings.items())))
        if key in seen:
            raise UsageError(f"rule {name!r} is listed twice with the same settings")
        seen.add(key)
        rule = get_rule(name)
        conv = {}
        for k, v in settings.items():
            if k in rule.options:
                if not options:
                    raise UsageError(f"{k!r} of {name!r} is a structural option, not available "
                                     f"here")
                if v.denominator != 1 or v < 0:
                    raise UsageError(f"{k} of {name!r} must be a non-negative integer, got {v}")
                conv[k] = int(v)
            else:
                conv[k] = float(v)
        _check_values(rule, conv, lambda k: f"--rules {name}:{k}")
        out.append((name, conv) if conv else name)
    return out


def _check_spec_sizes(game, specs, hyper: dict) -> None:
    """Each ``--rules`` entry's options (else the shared ``--order``) within the size guard."""
    for s in specs:
        name, own = (s, {}) if isinstance(s, str) else s
        _check_size(game, name, {**hyper, **own}, f"--rules {name}: " if own else "")


def _spec_name(s) -> str:
    return s if isinstance(s, str) else s[0]


def compare(args) -> int:
    from lola_sym.dynamics.compare import compare as run_compare, default_rules, target_distance
    game = _game(args)
    specs = _specs(args.rules) if args.rules else list(default_rules(game))
    _check_players(game, [_spec_name(s) for s in specs], lambda r: f"--rules {r}: ")
    hyper = _hyper(args, [_spec_name(s) for s in specs])
    _check_spec_sizes(game, specs, hyper)
    target = {"auto": "default", "none": None}.get(args.target, args.target)
    if target not in (None, "default"):
        try:
            target_distance(game, target, *(np.zeros((1, d)) for d in game.dims))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    c = run_compare(game, specs, runs=args.runs, steps=args.steps, delta=args.delta,
                    seed=args.seed, init_std=args.init_std, method=args.method, target=target,
                    **hyper)
    if args.plot:
        from lola_sym.report.plots import training_curves
        training_curves(c.trajectories, agent="mean", path=args.plot)
    return emit(args, c.format(), c.as_dict())


# -------------------------------------------------------------------- tournament
def tournament(args) -> int:
    from lola_sym.dynamics.tournament import DEFAULT_RULES, tournament as run_tournament
    game = _game(args)
    if game.kind != "iterated":
        raise UsageError(f"tournament needs a 2x2 iterated game with memory-1 policies (the LOLA "
                         f"paper's Table 4; its table and --policies read memory-1 policies); "
                         f"{_describe(game)}")
    specs = _specs(args.rules) if args.rules else list(DEFAULT_RULES)
    names = [_spec_name(s) for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"rules must be distinct, got {names}")
    per_rule = {s[0]: s[1] for s in specs if not isinstance(s, str)}
    hyper = _hyper(args, names)
    _check_spec_sizes(game, specs, hyper)
    n = len(names)
    total = n * n if not game.is_symmetric else n * (n + 1) // 2
    bar = Progress(total, "tournament", progress_on(args))
    count = [0]

    def progress(a, b):
        bar.update(count[0], f"{a} vs {b}")
        count[0] += 1

    try:
        res = run_tournament(game, names, runs=args.runs, steps=args.steps, delta=args.delta,
                             seed=args.seed, init_std=args.init_std, hyper_by_rule=per_rule,
                             progress=progress, **hyper)
        bar.update(total, "done")
    finally:
        bar.close()
    return emit(args, res.format(std=args.std), res.as_dict(policies=args.policies))


# ---------------------------------------------------------- fixed points, stability
def _labels(game) -> tuple:
    return tuple(tuple(str(s) for s in grp) for grp in game.param_names)


def fixed_points(args) -> int:
    from lola_sym.analysis.fixed_points import (MAX_SCALE, MAX_STARTS, exact_fixed_points,
                                       find_fixed_points)
    from lola_sym.analysis.stability import classify
    game = _game(args)
    _need_two_players(game, "fixed-points", "its points are (theta1, theta2)")
    rule = get_rule(args.rule)
    if args.starts > MAX_STARTS:
        raise UsageError(f"--starts must be at most {MAX_STARTS:,} (each start is one root "
                         f"search of about a millisecond to a second), got {args.starts:,}")
    if args.scale > MAX_SCALE:
        raise UsageError(f"--scale must be at most {MAX_SCALE:g} (starts beyond it saturate "
                         f"every sigmoid), got {args.scale:g}")
    _check_sizes(args, game, [rule.name], _hyper(args, [rule.name]))
    if args.exact:
        if game.kind != "differentiable":
            raise UsageError(f"--exact needs a one-shot game (sympy.solve on its field); "
                             f"{_describe(game)}")
        if rule.combine is not None:
            raise UsageError(f"--exact needs a symbolic rule: {rule.name!r} is combined "
                             f"numerically")
        if args.plot:
            raise UsageError("--plot draws the numerically found fixed points; drop --exact")
        sols = exact_fixed_points(game, rule.name, **_hyper(args, [rule.name], exact="sympy"))
        text = [f"{rule.name} on {game.name}: all solutions of g = 0 (sympy.solve)"]
        if any(str(k).startswith("p_") for s in sols for k in s):
            text.append("in the probabilities p_i = sigmoid(theta_i); 0 or 1 are limits "
                        "of saturated logits")
        text += [("  " + ", ".join(f"{k} = {v}" for k, v in s.items())) or "  (every point)"
                 for s in sols] or ["  none"]
        return emit(args, "\n".join(text),
                     {"game": game.name, "rule": rule.name, "exact": True,
                      "solutions": [{str(k): sp.sstr(v) for k, v in s.items()} for s in sols]})
    if args.plot and game.dims != (1, 1):
        raise UsageError(f"--plot draws the plane of a two-parameter game; {game.name} has "
                         f"{game.dims[0]}+{game.dims[1]} parameters")
    hyper = _hyper(args, [rule.name])
    pts = find_fixed_points(game, rule.name, starts=args.starts, seed=args.seed,
                            scale=args.scale, **hyper)
    rows = []
    for p in pts:
        row = p.as_dict()
        if not p.boundary:
            st = classify(game, rule.name, p.theta1, p.theta2, **hyper)
            row.update(flow=st.flow, lr_threshold=st.lr_threshold,
                       eigenvalues=[[float(z.real), float(z.imag)] for z in st.eigenvalues])
        rows.append(row)
    names = _labels(game)
    text = [f"{rule.name} on {game.name}: {len(pts)} fixed point(s) from {args.starts} starts "
            f"(seed {args.seed}), residual max|g| <= 1e-10"
            + (f"; {_hyper_text(hyper)}" if hyper else "")]
    for k, (p, row) in enumerate(zip(pts, rows), 1):
        if p.boundary:
            lim = "; ".join(f"agent {a}: " + " ".join(f"{names[a - 1][i]}={v}"
                                                      for b, i, v in p.saturated if b == a)
                            for a in (1, 2) if any(b == a for b, _, _ in p.saturated))
            head = (f"boundary ({'attracting' if p.attracting else 'not attracting'}), "
                    f"limit probabilities {lim}")
        else:
            thr = row["lr_threshold"]
            head = (f"interior, flow {row['flow']}, delta* = "
                    f"{'inf' if thr == float('inf') else f'{thr:.4g}'}")
        coords = [", ".join(f"{n}={v:+.4f}" for n, v in zip(names[a], t))
                  for a, t in enumerate((p.theta1, p.theta2))]
        if sum(game.dims) <= 4:
            text.append(f"[{k}] {coords[0]}; {coords[1]}: {head}, residual {p.residual:.1e}")
        else:
            text += [f"[{k}] {head}, residual {p.residual:.1e}", f"    theta1: {coords[0]}",
                     f"    theta2: {coords[1]}"]
    if args.plot:
        _portrait(game, rule.name, pts, rows, hyper, args.plot)
    return emit(args, "\n".join(text), {"game": game.name, "rule": rule.name, "hyper": hyper,
                                          "starts": args.starts, "seed": args.seed,
                                          "points": rows})


def _portrait(game, rule, pts, rows, hyper, path):
    from lola_sym.report.plots import phase_portrait
    from lola_sym.analysis.portraits import vector_field
    inner = [(float(p.theta1[0]), float(p.theta2[0]), r["flow"])
             for p, r in zip(pts, rows) if not p.boundary]
    reach = max([3.0] + [1.2 * max(abs(x), abs(y)) for x, y, _ in inner])
    reach = min(reach, 20.0)
    x = np.linspace(-reach, reach, 41)
    U, V = vector_field(game, rule, x, x, **hyper)
    shown = [fp for fp in inner if max(abs(fp[0]), abs(fp[1])) <= reach]
    phase_portrait(x, x, U, V, fixed_points=shown, xlabel=f"${sp.latex(game.theta[0][0])}$",
                   ylabel=f"${sp.latex(game.theta[1][0])}$", title=f"{rule} on {game.name}",
                   path=path)


def _point(values, dim, name, names) -> list:
    if len(values) == 1:
        return list(values) * dim
    if len(values) != dim:
        raise UsageError(f"{name} needs {dim} numbers ({', '.join(names)}) or one for all, "
                         f"got {len(values)}")
    return list(values)


def _eigen_text(eigenvalues) -> str:
    out = []
    for z in eigenvalues:
        if abs(z.imag) < 1e-12 * max(1.0, abs(z)):
            out.append(f"{z.real:+.4g}")
        elif z.imag > 0:
            out.append(f"{z.real:+.4g}±{z.imag:.4g}i")
        elif not any(abs(w - np.conj(z)) < 1e-12 * max(1.0, abs(z)) for w in eigenvalues):
            out.append(f"{z.real:+.4g}{z.imag:+.4g}i")
    return ", ".join(out)


def stability(args) -> int:
    from lola_sym.analysis.stability import classify, exact_lr_threshold
    game = _game(args)
    _need_two_players(game, "stability", "it takes --theta1 and --theta2")
    rule = get_rule(args.rule)
    names = _labels(game)
    t1 = _point(args.theta1, game.dims[0], "--theta1", names[0])
    t2 = _point(args.theta2, game.dims[1], "--theta2", names[1])
    if args.exact_threshold and (game.kind != "differentiable" or rule.combine is not None):
        raise UsageError("--exact-threshold needs a one-shot game and a symbolic rule (not "
                         f"{game.name} with {rule.name!r})")
    if args.exact_threshold:
        from lola_sym._exact_input import MAX_EXACT_ABS
        for name, values in (("--theta1", t1), ("--theta2", t2)):
            big = [v for v in values if abs(v) > MAX_EXACT_ABS]
            if big:
                raise UsageError(f"{name} must lie within +-{MAX_EXACT_ABS} for "
                                 f"--exact-threshold (the exact sigmoid of a larger logit is "
                                 f"not computed), got {float(big[0]):g}")
    hyper = _hyper(args, [rule.name])
    _check_sizes(args, game, [rule.name], hyper)
    st = classify(game, rule.name, np.array(t1, float), np.array(t2, float), delta=args.delta,
                  **hyper)
    data = st.as_dict()
    data["game"] = game.name
    thr = "inf" if st.lr_threshold == float("inf") else f"{st.lr_threshold:.6g}"
    text = [f"{rule.name} on {game.name} at theta1 = {[float(v) for v in t1]}, "
            f"theta2 = {[float(v) for v in t2]}" + (f" ({_hyper_text(st.hyper)})" if st.hyper
                                                     else ""),
            f"residual max|g|: {st.residual:.3g}"
            + ("  (a fixed point)" if st.residual < 1e-8 else "  (not a fixed point)"),
            f"eigenvalues of J: {_eigen_text(st.eigenvalues)}",
            f"flow: {st.flow}",
            f"learning-rate threshold delta*: {thr} (the map converges locally iff "
            f"0 < delta < delta*)"]
    if st.delta is not None:
        text.append(f"at delta = {st.delta:g}: spectral radius rho(I + delta J) = "
                    f"{st.spectral_radius:.6g}, the map {st.map}")
    yes = {True: "yes", False: "no"}
    text.append(f"game view: stable fixed point {yes[st.stable_fixed_point]}, strict saddle "
                f"{yes[st.strict_saddle]}, differential Nash {yes[st.differential_nash]}")
    if args.exact_threshold:
        expr = exact_lr_threshold(game, rule.name, [_rational(v) for v in t1],
                                  [_rational(v) for v in t2],
                                  **_hyper(args, [rule.name], exact="sympy"))
        data["exact_threshold"] = sp.sstr(expr)
        text.append(f"exact delta*: {sp.sstr(expr)}")
    return emit(args, "\n".join(text), data)


def nash_report(args) -> int:
    from lola_sym.report.nash_report import REPORT_RULES, matching_pennies_report
    rules = tuple(dict.fromkeys(args.rules or REPORT_RULES))
    rep = matching_pennies_report(rules, delta=args.delta, eta=args.eta, runs=args.runs,
                                  steps=args.steps, seed=args.seed,
                                  include=tuple(dict.fromkeys(args.include)))
    return emit(args, rep.format(), rep.as_dict())


# ------------------------------------------------------------------------- cache
def _megabytes(n: int) -> str:
    return f"{n / 10**6:.3g} MB"


def cache_cmd(args) -> int:
    """``lola-sym cache info|clear``: report on or empty the compiled-code cache."""
    from lola_sym import cache
    before = cache.info()
    if args.action == "info":
        text = [f"directory: {before['directory']}",
                f"enabled: {'yes' if before['enabled'] else 'no (LOLA_SYM_NO_CACHE is set)'}",
                f"entries: {before['entries']}",
                f"libraries: {before['libraries']}",
                f"size: {_megabytes(before['bytes'])} ({before['bytes']} bytes)",
                f"cap: {_megabytes(before['max_bytes'])} (LOLA_SYM_CACHE_MAX_MB; least "
                f"recently used entries are evicted beyond it)"]
        return emit(args, "\n".join(text), before)
    entries = cache.clear()
    after = cache.info()
    data = {"directory": before["directory"], "entries_removed": entries,
            "libraries_removed": max(before["libraries"] - after["libraries"], 0),
            "bytes_removed": max(before["bytes"] - after["bytes"], 0)}
    return emit(args, f"removed {entries} entries and {data['libraries_removed']} libraries "
                      f"({_megabytes(data['bytes_removed'])}) from {before['directory']}", data)
