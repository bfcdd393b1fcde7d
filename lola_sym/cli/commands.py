"""The subcommands of ``lola-sym`` (the parser and entry point are in :mod:`lola_sym.cli`).

Each ``run`` function takes the parsed arguments, prints (or writes) its
output and returns the exit code; :class:`~lola_sym.cli.support.UsageError` means
arguments that do not fit together (exit code 2), other errors propagate to
:func:`lola_sym.cli.main`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import sympy as sp

from lola_sym.cli.support import Progress, UsageError, emit, progress_on, train_in_chunks
from lola_sym.rules import get_rule
from lola_sym.dynamics.training import train
from lola_sym.cli.options import (usage, game_of, describe, check_players, check_values, check_size, hyper_of, check_sizes, hyper_text, mean_std, mean_std_text)


def train_cmd(args) -> int:
    game = game_of(args)
    n = len(game.dims)
    if args.rule2 is not None and n != 2:
        raise UsageError(f"--rule2 is agent 2's rule in a two-player game; {describe(game)}: "
                         f"every agent uses --rule")
    names = [args.rule, args.rule2 or args.rule] if n == 2 else [args.rule]
    check_players(game, names, lambda r: "--rule: " if r == args.rule else "--rule2: ")
    hyper = hyper_of(args, names)
    check_sizes(args, game, names, hyper)
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
    stats = [mean_std(final[:, k]) for k in range(n)]
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
        lines += [f"hyper-parameters: {hyper_text(tr.hyper[0])}"] if tr.hyper[0] else []
    else:
        lines += [f"agent {k + 1} ({tr.rules[k]}): {hyper_text(h)}"
                  for k, h in enumerate(tr.hyper) if h]
    lines.append(f"final average reward per step {what}, mean (std) over the "
                 f"{int(ok.sum())} runs that did not diverge ({data['diverged']} diverged):")
    for k in range(n):
        lines.append(f"  agent {k + 1} ({tr.rules[k]}): {mean_std_text(*stats[k])}")
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
                       "sos-tandem": dict(runs=300, steps=1000, delta=0.1, eta=0.1),
                       "coin-game": dict(runs=50, steps=200, delta=30.0, eta=1000.0)}


def reproduce(args) -> int:
    from lola_sym.cli.reports import PUBLISHED, REPORTS, run_report
    if args.paper in REPORTS:
        return run_report(args)
    if args.reduced:
        raise UsageError(f"--reduced applies to {', '.join(REPORTS)}; give {args.paper} "
                         f"fewer --runs or --steps instead")
    if getattr(args, "published", False):
        raise UsageError(f"{args.paper} runs its paper's settings by default; --published "
                         f"applies to {', '.join(PUBLISHED)}")
    for k, v in _REPRODUCE_DEFAULTS[args.paper].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.paper == "sos-tandem":
        return _sos_tandem(args)
    if args.paper == "coin-game":
        return _coin_game(args)
    if args.plot:
        raise UsageError("--plot draws the coin-game reproduction's figure; the other papers' "
                         "tables have none")
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


def _coin_game(args) -> int:
    """The LOLA paper's coin game (Sec. 5.2), exact gradients: own-colour coins and rewards."""
    from lola_sym.report.coin_game import coin_game_reproduction
    bar = Progress(1, "coin game", progress_on(args))

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    try:
        result = coin_game_reproduction(runs=args.runs, steps=args.steps, delta=args.delta,
                                        eta=args.eta, seed=args.seed, progress=progress)
    finally:
        bar.close()
    if args.plot:
        result.figure(args.plot)
    return emit(args, result.format_table(), {"paper": "coin-game", **result.as_dict()})


def _sos_tandem(args) -> int:
    """Letcher et al. 2019 (SOS), Tandem: LOLA's average loss 4/9, SOS's 0."""
    from lola_sym.games import tandem
    game = tandem()
    kw = dict(runs=args.runs, steps=args.steps, delta=args.delta, seed=args.seed,
              init_std=0.1, on_divergence="mark", eta=args.eta)
    t0 = time.perf_counter()
    rows = []
    # (label, rule, its extra hyper-parameters, the paper's average loss)
    settings: list[tuple[str, str, dict[str, Any], float]] = [
        ("LOLA", "lola_full", {}, 4 / 9), ("SOS", "sos", {"a": 0.5, "b": 0.5}, 0.0)]
    for label, rule, extra, paper in settings:
        tr = train(game, rule, **kw, **extra)
        loss = -tr.final_reward[~tr.diverged].mean(axis=1)    # per run, both agents
        m, s = mean_std(loss)
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
        paper_text = "4/9" if r["setting"] == "LOLA" else "0"
        mean = round(r["loss_mean"], 6) + 0.0                 # no "-0.000000"
        loss = mean_std_text(mean, r["loss_std"], sign="", digits=6)
        lines.append(f"{r['setting']:8} {loss:>22} {paper_text:>8} {r['diverged']:>9}")
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
    built = game_of(args)
    shaped = any(getattr(args, k, None) is not None for k in ("gamma", "players", "cf",
                                                               "memory"))
    game = built if shaped else args.game
    hyper = hyper_of(args, [args.rule], exact=True)
    with usage():      # bounds (exactly), the program's size and the page's estimated cost
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
        check_values(rule, conv, lambda k: f"--rules {name}:{k}")
        out.append((name, conv) if conv else name)
    return out


def _check_spec_sizes(game, specs, hyper: dict) -> None:
    """Each ``--rules`` entry's options (else the shared ``--order``) within the size guard."""
    for s in specs:
        name, own = (s, {}) if isinstance(s, str) else s
        check_size(game, name, {**hyper, **own}, f"--rules {name}: " if own else "")


def _spec_name(s) -> str:
    return s if isinstance(s, str) else s[0]


def compare(args) -> int:
    from lola_sym.dynamics.compare import compare as run_compare, default_rules, target_distance
    game = game_of(args)
    specs = _specs(args.rules) if args.rules else list(default_rules(game))
    check_players(game, [_spec_name(s) for s in specs], lambda r: f"--rules {r}: ")
    hyper = hyper_of(args, [_spec_name(s) for s in specs])
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
    game = game_of(args)
    if game.kind != "iterated":
        raise UsageError(f"tournament needs a 2x2 iterated game with memory-1 policies (the LOLA "
                         f"paper's Table 4; its table and --policies read memory-1 policies); "
                         f"{describe(game)}")
    specs = _specs(args.rules) if args.rules else list(DEFAULT_RULES)
    names = [_spec_name(s) for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"rules must be distinct, got {names}")
    per_rule = {s[0]: s[1] for s in specs if not isinstance(s, str)}
    hyper = hyper_of(args, names)
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
