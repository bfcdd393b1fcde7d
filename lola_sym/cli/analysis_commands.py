"""The analysis subcommands of ``lola-sym``: ``fixed-points`` and ``stability``.

Same contract as :mod:`lola_sym.cli.commands`: each runner takes the parsed
arguments, prints (or writes) its output and returns the exit code.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from lola_sym.cli.options import (check_players, check_sizes, describe, game_of, hyper_of, hyper_text,
                                  rational)
from lola_sym.cli.support import UsageError, emit
from lola_sym.rules import get_rule


#: players whose point ``stability`` takes (``--theta1`` ... ``--theta5``)
MAX_THETAS = 5


def _labels(game) -> tuple:
    return tuple(tuple(str(s) for s in grp) for grp in game.param_names)


def fixed_points(args) -> int:
    from lola_sym.analysis.fixed_points import (MAX_SCALE, MAX_STARTS, exact_fixed_points,
                                       find_fixed_points)
    from lola_sym.analysis.stability import classify
    game = game_of(args)
    rule = get_rule(args.rule)
    check_players(game, [rule.name])
    if args.starts > MAX_STARTS:
        raise UsageError(f"--starts must be at most {MAX_STARTS:,} (each start is one root "
                         f"search of about a millisecond to a second), got {args.starts:,}")
    if args.scale > MAX_SCALE:
        raise UsageError(f"--scale must be at most {MAX_SCALE:g} (starts beyond it saturate "
                         f"every sigmoid), got {args.scale:g}")
    check_sizes(args, game, [rule.name], hyper_of(args, [rule.name]))
    if args.exact:
        if game.kind != "differentiable":
            raise UsageError(f"--exact needs a one-shot game (sympy.solve on its field); "
                             f"{describe(game)}")
        if rule.combine is not None:
            raise UsageError(f"--exact needs a symbolic rule: {rule.name!r} is combined "
                             f"numerically")
        if args.plot:
            raise UsageError("--plot draws the numerically found fixed points; drop --exact")
        sols = exact_fixed_points(game, rule.name, **hyper_of(args, [rule.name], exact="sympy"))
        text = [f"{rule.name} on {game.name}: all solutions of g = 0 (sympy.solve)"]
        if any(str(k).startswith("p_") for s in sols for k in s):
            text.append("in the probabilities p_i = sigmoid(theta_i); 0 or 1 are limits "
                        "of saturated logits")
        text += [("  " + ", ".join(f"{k} = {v}" for k, v in s.items())) or "  (every point)"
                 for s in sols] or ["  none"]
        return emit(args, "\n".join(text),
                     {"game": game.name, "rule": rule.name, "exact": True,
                      "solutions": [{str(k): sp.sstr(v) for k, v in s.items()} for s in sols]})
    if _has_faces(game):
        if args.plot:
            raise UsageError(f"--plot draws the plane of a one-shot two-parameter game; "
                             f"{game.name} is reported by its faces (drop --plot)")
        return _faces(args, game, rule)
    if args.plot and game.dims != (1, 1):
        raise UsageError(f"--plot draws the plane of a two-parameter game; {game.name} has "
                         f"{game.dims[0]}+{game.dims[1]} parameters")
    hyper = hyper_of(args, [rule.name])
    pts = find_fixed_points(game, rule.name, starts=args.starts, seed=args.seed,
                            scale=args.scale, **hyper)
    rows = []
    for p in pts:
        row = p.as_dict()
        if not p.boundary:
            st = classify(game, rule.name, *p.thetas, **hyper)
            row.update(flow=st.flow, lr_threshold=st.lr_threshold,
                       eigenvalues=[[float(z.real), float(z.imag)] for z in st.eigenvalues])
        rows.append(row)
    names = _labels(game)
    text = [f"{rule.name} on {game.name}: {len(pts)} fixed point(s) from {args.starts} starts "
            f"(seed {args.seed}), residual max|g| <= 1e-10"
            + (f"; {hyper_text(hyper)}" if hyper else "")]
    for k, (p, row) in enumerate(zip(pts, rows), 1):
        if p.boundary:
            lim = "; ".join(f"agent {a}: " + " ".join(f"{names[a - 1][i]}={v}"
                                                      for b, i, v in p.saturated if b == a)
                            for a in range(1, len(game.dims) + 1)
                            if any(b == a for b, _, _ in p.saturated))
            head = (f"boundary ({'attracting' if p.attracting else 'not attracting'}), "
                    f"limit probabilities {lim}")
        else:
            thr = row["lr_threshold"]
            head = (f"interior, flow {row['flow']}, delta* = "
                    f"{'inf' if thr == float('inf') else f'{thr:.4g}'}")
        coords = [", ".join(f"{n}={v:+.4f}" for n, v in zip(names[a], t))
                  for a, t in enumerate(p.thetas)]
        if sum(game.dims) <= 4:
            text.append(f"[{k}] {'; '.join(coords)}: {head}, residual {p.residual:.1e}")
        else:
            text += [f"[{k}] {head}, residual {p.residual:.1e}"] + [
                f"    theta{a}: {c}" for a, c in enumerate(coords, 1)]
    if args.plot:
        _portrait(game, rule.name, pts, rows, hyper, args.plot)
    return emit(args, "\n".join(text), {"game": game.name, "rule": rule.name, "hyper": hyper,
                                          "starts": args.starts, "seed": args.seed,
                                          "points": rows})


def _has_faces(game) -> bool:
    """Iterated and repeated games with sigmoid policies: their limits are faces."""
    if game.kind == "iterated":
        return True
    return (game.kind == "repeated" and all(k == 2 for k in game.actions)
            and getattr(game, "field_path", None) != "adjoint")


#: Faces fixed-points searches by default: corners, edges and 2-faces of the IPD (17,664 faces,
#: about a minute); find_faces covers all 59,049 in about 15 minutes on a loaded 2-core machine.
CLI_MAX_FACES = 20_000


def _faces(args, game, rule) -> int:
    """fixed-points on a game with sigmoid policies: the face table of analysis.faces."""
    from lola_sym.analysis.faces import find_faces
    hyper = hyper_of(args, [rule.name])
    max_free = getattr(args, "max_free", None)
    res = find_faces(game, rule.name, starts=min(args.starts, getattr(args, "face_starts", 2)),
                     seed=args.seed, scale=min(args.scale, 4.0), max_free=max_free,
                     max_faces=getattr(args, "max_faces", None) or CLI_MAX_FACES, **hyper)
    rows = []
    for p in res.points:
        row = p.as_dict()
        for i, (f, q) in enumerate(zip(res.per_player(p), p.p), 1):
            row[f"theta{i}"] = [None if v is not None else float(np.log(x / (1 - x)))
                                for v, x in zip(f, q)]
        rows.append(row)
    text = res.format_table(hide_degenerate=not getattr(args, "all_faces", False), group=True)
    data = {**{k: v for k, v in res.as_dict().items() if k != "points"}, "hyper": hyper,
            "seed": args.seed, "points": rows}
    return emit(args, text, data)


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
    game = game_of(args)
    rule = get_rule(args.rule)
    check_players(game, [rule.name])
    names = _labels(game)
    given = [getattr(args, f"theta{i}", None) for i in range(1, MAX_THETAS + 1)]
    n = len(game.dims)
    if any(v is None for v in given[:n]) or any(v is not None for v in given[n:]):
        raise UsageError(f"{game.name} has {n} players: give --theta1 ... --theta{n}, one "
                         f"option per player")
    points = [_point(v, d, f"--theta{i}", nm)
              for i, (v, d, nm) in enumerate(zip(given, game.dims, names), 1)]
    if args.exact_threshold and (game.kind != "differentiable" or rule.combine is not None):
        raise UsageError("--exact-threshold needs a one-shot game and a symbolic rule (not "
                         f"{game.name} with {rule.name!r})")
    if args.exact_threshold:
        from lola_sym._exact_input import MAX_EXACT_ABS
        for name, values in ((f"--theta{i}", t) for i, t in enumerate(points, 1)):
            big = [v for v in values if abs(v) > MAX_EXACT_ABS]
            if big:
                raise UsageError(f"{name} must lie within +-{MAX_EXACT_ABS} for "
                                 f"--exact-threshold (the exact sigmoid of a larger logit is "
                                 f"not computed), got {float(big[0]):g}")
    hyper = hyper_of(args, [rule.name])
    check_sizes(args, game, [rule.name], hyper)
    st = classify(game, rule.name, *(np.array(t, float) for t in points), delta=args.delta,
                  **hyper)
    data = st.as_dict()
    data["game"] = game.name
    thr = "inf" if st.lr_threshold == float("inf") else f"{st.lr_threshold:.6g}"
    at = ", ".join(f"theta{i} = {[float(v) for v in t]}" for i, t in enumerate(points, 1))
    text = [f"{rule.name} on {game.name} at {at}"
            + (f" ({hyper_text(st.hyper)})" if st.hyper else ""),
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
        expr = exact_lr_threshold(game, rule.name, *([rational(v) for v in t] for t in points),
                                  **hyper_of(args, [rule.name], exact="sympy"))
        data["exact_threshold"] = sp.sstr(expr)
        text.append(f"exact delta*: {sp.sstr(expr)}")
    return emit(args, "\n".join(text), data)
