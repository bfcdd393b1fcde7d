"""The committed derivation files match what the code derives now, and say what it computes."""

import importlib.util
import pathlib

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.report.derive import (CLOSED_MAX_OPS, CSE_MAX_STEPS, RENDER_MAX_SECONDS,
                                    check_derivation, derivation, expanded_size, render, rule_page)
from lola_sym.field import derive
from lola_sym.rules import RULES

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: printed expressions (closed forms, or the CSE lines evaluated in order in float64) vs the
#: compiled field, relative to max(1, largest entry): two float64 evaluations of one function
ATOL_PRINTED = 1e-12
#: exact Jacobian at theta = 0 vs central differences of the compiled field, step H_FD:
#: truncation ~ H_FD^2 * |g'''| plus rounding ~ eps / H_FD
H_FD = 1e-5
ATOL_FD = 1e-7


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "derivations" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RULE_PAGES = _load("rules")
GAME_PAGES = _load("games")


def test_values_markdown_is_up_to_date():
    mod = _load("values")
    committed = (ROOT / "derivations" / "values.md").read_text()
    assert mod.render() == committed, "run: python derivations/values.py"


# ------------------------------------------------------------- files up to date
@pytest.mark.parametrize("filename", ["README.md", *RULE_PAGES.pages()])
def test_rule_page_is_up_to_date(filename):
    committed = (ROOT / "derivations" / "rules" / filename).read_text()
    assert RULE_PAGES.render(filename) == committed, "run: python derivations/rules.py"


#: pages that take tens of seconds to render (HOLA's degree-27 closed form on the quartic game)
SLOW_PAGES = ("impossibility_hola.md",)


def _slow_if_repeated(name):
    """Pages of the larger repeated games, and the few slow one-shot pages: the slow tier."""
    return (pytest.param(name, marks=pytest.mark.slow)
            if name.startswith(GAME_PAGES.REPEATED) or name in SLOW_PAGES else name)


@pytest.mark.parametrize("filename", ["README.md", *map(_slow_if_repeated, GAME_PAGES.pages())])
def test_game_page_is_up_to_date(filename):
    committed = (ROOT / "derivations" / "games" / filename).read_text()
    assert GAME_PAGES.render(filename) == committed, "run: python derivations/games.py"


def test_every_rule_and_every_one_shot_game_has_a_page():
    assert set(RULE_PAGES.pages().values()) == set(RULES)
    one_shot = {n for n, f in games.CATALOGUE.items() if f().kind == "differentiable"}
    combos = set(GAME_PAGES.pages().values())
    from lola_sym.report.derive import has_program
    assert {(g, r) for g in one_shot for r in RULES if has_program(r)} <= combos
    assert not any(r == rule for _, r in combos for rule in RULES if not has_program(rule))
    assert {("ipd", "nl"), ("ipd", "lola"), ("imp", "nl"), ("imp", "lola")} <= combos


# ------------------------------------------------- what is printed is what is computed
def _points(game, n=3, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    return [tuple(rng.uniform(-scale, scale, d) for d in game.dims) for _ in range(n)]


def _printed_error(game_name, rule, hyper=None, field_rule=None, field_hyper=None,
                   eval_hyper=None):
    """Largest |printed - compiled| over a few points, relative to max(1, |compiled|).

    ``hyper`` goes into the derivation (exact values), ``eval_hyper`` to the
    evaluation of a derivation with symbolic hyper-parameters, ``field_hyper`` to
    update_field (all default to the rule's defaults).
    """
    d = derivation(game_name, rule, **(hyper or {}))
    f = update_field(d.game, field_rule or rule, backend="numpy", **(field_hyper or {}))
    worst = 0.0
    for thetas in _points(d.game):
        got = np.concatenate(d.evaluate(*thetas, **(eval_hyper or {})))
        want = np.concatenate(f(*thetas))
        worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))))
    return worst


def _printed_error_exact(game_name, rule):
    """:func:`_printed_error` with the printed closed form evaluated at 40 digits.

    A closed form of high degree loses digits to cancellation in float64
    (HOLA on Letcher's quartic game: 1.9e-9 of 53), which says nothing about
    whether it is the compiled field's formula.
    """
    d = derivation(game_name, rule)
    assert d.form == "closed" and not d.definitions and d.rule.combine is None, \
        "only closed forms are evaluated exactly"
    exprs = ([e for grp in d.update for e in grp] if d.update is not None
             else [e for v in d.outputs.values() for e in v])
    f = update_field(d.game, rule, backend="numpy")
    names = [s for grp in d.game.theta for s in grp]
    defaults = {v: sp.nsimplify(d.rule.hyper[k]) for k, v in d.hyper.items() if v.is_Symbol}
    worst = 0.0
    for thetas in _points(d.game):
        at = {**dict(zip(names, (sp.Rational(float(x)) for t in thetas for x in t))), **defaults}
        got = np.array([float(sp.N(e.xreplace(at), 40)) for e in exprs])
        want = np.concatenate(f(*thetas))
        worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))))
    return worst


#: (game, rule) pages whose rule is undefined at every point: the Stackelberg leader on the
#: Hamiltonian game, whose follower Hessian D22 V2 is identically zero
UNDEFINED_EVERYWHERE = {("hamiltonian", "stackelberg")}


@pytest.mark.parametrize("combo", [
    pytest.param(c, marks=pytest.mark.slow)
    if c[0] in GAME_PAGES.REPEATED or f"{c[0]}_{c[1]}.md" in SLOW_PAGES else c
    for c in GAME_PAGES.pages().values()], ids="_".join)
def test_printed_update_is_the_compiled_field(combo):
    """Each page's expressions (hyper-parameters at the rule's defaults) give update_field;
    a closed form that float64 evaluates badly is evaluated at 40 digits instead. Where the
    rule is undefined everywhere (UNDEFINED_EVERYWHERE), the field must refuse every point."""
    if combo in UNDEFINED_EVERYWHERE:
        from lola_sym.field import FieldError
        g = derivation(*combo).game
        f = update_field(g, combo[1])
        for thetas in _points(g):
            with pytest.raises(FieldError, match="singular"):
                f(*thetas)
        return
    err = _printed_error(*combo)
    if err >= ATOL_PRINTED and derivation(*combo).form == "closed":
        err = _printed_error_exact(*combo)
    assert err < ATOL_PRINTED


@pytest.mark.parametrize("rule", ["lola", "co", "sos", "cgd", "hola"])
def test_printed_update_with_given_hyper_parameters(rule):
    hyper = {"lola": {"eta": 0.7}, "co": {"gamma": 0.3}, "sos": {"eta": 0.5, "a": 0.3},
             "cgd": {"eta": 2.0}, "hola": {"eta": 0.4, "order": 1}}[rule]
    assert _printed_error("matching_pennies", rule, hyper, field_hyper=hyper) < ATOL_PRINTED
    assert _printed_error("tandem", rule, hyper, field_hyper=hyper) < ATOL_PRINTED


def test_the_printed_check_can_fail():
    """The comparison sees a wrong formula: NL's page against the LOLA field, eta held fixed."""
    assert _printed_error("matching_pennies", "nl", field_rule="lola",
                          field_hyper={"eta": 1.0}) > 1e-3
    assert _printed_error("ipd", "lola", eval_hyper={"eta": 1.0},
                          field_hyper={"eta": 0.9}) > 1e-3
    assert _printed_error("ipd", "lola", eval_hyper={"eta": 0.9},
                          field_hyper={"eta": 0.9}) < ATOL_PRINTED


def test_symbolic_hyper_parameters_are_printed_as_symbols():
    page = render("matching_pennies", "lola")
    assert r"\eta" in page and "Hyper-parameters: $\\eta$ symbolic" in page
    fixed = render("matching_pennies", "lola", eta=0.5)
    assert r"\eta = \frac{1}{2}" in fixed and "4 \\eta" not in fixed
    assert "render('matching_pennies', 'lola', eta='1/2')" in fixed
    assert "render(game, 'hola', order=1, eta=2)" in render(games.tandem(), "hola", order=1, eta=2)


# ----------------------------------------------------------------- exact identities
def _probabilities():
    return sp.Symbol("p_1", positive=True), sp.Symbol("p_2", positive=True)


def test_matching_pennies_naive_and_lola_closed_forms():
    r"""By hand: V1 = -(2p1-1)(2p2-1), dp/dtheta = p(1-p) = s; NL g1 = -2 s1 (2p2-1), and
    LOLA adds eta (dV1/dtheta2)(d2V2/dtheta1 dtheta2) = eta (-2 s2 (2p1-1)) (4 s1 s2)."""
    p1, p2 = _probabilities()
    eta = sp.Symbol("eta", positive=True)
    s1, s2 = p1 * (1 - p1), p2 * (1 - p2)
    nl = derivation("matching_pennies", "nl")
    assert nl.form == "closed"
    assert sp.expand(nl.outputs["g_1"][0] - (-2 * s1 * (2 * p2 - 1))) == 0
    assert sp.expand(nl.outputs["g_2"][0] - 2 * s2 * (2 * p1 - 1)) == 0
    lola = derivation("matching_pennies", "lola")
    want1 = -2 * s1 * (2 * p2 - 1) - 8 * eta * s1 * s2 ** 2 * (2 * p1 - 1)
    want2 = 2 * s2 * (2 * p1 - 1) - 8 * eta * s2 * s1 ** 2 * (2 * p2 - 1)
    assert sp.expand(lola.outputs["g_1"][0] - want1) == 0
    assert sp.expand(lola.outputs["g_2"][0] - want2) == 0
    # and the wrong sign of the shaping term is told apart
    assert sp.expand(lola.outputs["g_1"][0] - (want1 + 16 * eta * s1 * s2 ** 2 * (2 * p1 - 1))) != 0


def test_matching_pennies_jacobians_at_the_nash_equilibrium():
    """NL rotates around theta = 0 (eigenvalues +-i/4); LOLA's shaping term gives -eta/16."""
    eta = sp.Symbol("eta", positive=True)
    nl = derivation("matching_pennies", "nl").at_zero
    assert nl["jacobian"] == sp.Matrix([[0, -sp.Rational(1, 4)], [sp.Rational(1, 4), 0]])
    assert dict(nl["eigenvalues"]) == {sp.I / 4: 1, -sp.I / 4: 1}
    lola = derivation("matching_pennies", "lola").at_zero
    assert lola["jacobian"] == sp.Matrix([[-eta / 16, -sp.Rational(1, 4)],
                                          [sp.Rational(1, 4), -eta / 16]])
    assert dict(lola["eigenvalues"]) == {-eta / 16 + sp.I / 4: 1, -eta / 16 - sp.I / 4: 1}
    for rule in ("nl", "lola", "la", "exact_lola", "co", "cgd", "sga_plain"):
        z = derivation("matching_pennies", rule).at_zero
        assert all(v == 0 for vals in z["values"].values() for v in vals), rule


def test_imp_stability_at_the_nash_equilibrium_matches_theory():
    """IMP (Foerster et al. 2018): NL cycles around the mixed Nash equilibrium (purely
    imaginary eigenvalues of the field's Jacobian), LOLA converges (negative real parts)."""
    eta = sp.Symbol("eta", positive=True)
    nl = derivation("imp", "nl").at_zero
    assert all(v == 0 for vals in nl["values"].values() for v in vals)
    assert dict(nl["eigenvalues"]) == {sp.I / 4: 1, -sp.I / 4: 1,
                                       9 * sp.I / 16: 4, -9 * sp.I / 16: 4}
    lola = derivation("imp", "lola").at_zero
    assert set(lola["eigenvalues"]) == {-eta / 16 + sp.I / 4, -eta / 16 - sp.I / 4,
                                        -81 * eta / 256 + 9 * sp.I / 16,
                                        -81 * eta / 256 - 9 * sp.I / 16}
    assert all(sp.re(r).subs(eta, 1) < 0 for r in lola["eigenvalues"])


def test_ipd_field_at_zero_is_exact():
    """Uniform play in the IPD: LOLA's exact direction at theta = 0 vs the compiled field."""
    d = derivation("ipd", "lola")
    eta = sp.Symbol("eta", positive=True)
    got = np.array([float(v.subs(eta, 1)) for vals in d.at_zero["values"].values() for v in vals])
    f = update_field(games.ipd(), "lola", backend="numpy", eta=1.0)
    want = np.concatenate(f(np.zeros(5), np.zeros(5)))
    assert np.max(np.abs(got - want)) < ATOL_PRINTED * max(1.0, np.max(np.abs(want)))
    assert d.at_zero["values"]["g_1"][0] == sp.Rational(-1, 4)


@pytest.mark.parametrize("combo", [("matching_pennies", "exact_lola"), ("ultimatum", "lola2"),
                                   ("tandem", "cgd"), ("matching_pennies", "sga"),
                                   ("matching_pennies", "hola"), ("imp", "lola"), ("ipd", "nl")],
                         ids="_".join)
def test_jacobian_at_zero_matches_finite_differences(combo):
    d = derivation(*combo)
    hyper = {k: 1.0 for k in d.rule.hyper if d.hyper[k].is_Symbol}
    J = d.at_zero["jacobian"]
    assert J is not None
    Jnum = np.array(J.subs({sp.Symbol(k, positive=True): v for k, v in hyper.items()}),
                    dtype=float)
    f = update_field(d.game, d.rule.name, backend="numpy", **hyper, **d.options)
    d1, d2 = d.game.dims
    fd = np.zeros((d1 + d2, d1 + d2))
    for j in range(d1 + d2):
        e = np.zeros(d1 + d2)
        e[j] = H_FD
        up = np.concatenate(f(e[:d1], e[d1:]))
        down = np.concatenate(f(-e[:d1], -e[d1:]))
        fd[:, j] = (up - down) / (2 * H_FD)
    assert np.max(np.abs(Jnum - fd)) < ATOL_FD


# ------------------------------------------------------------------ form and errors
def test_form_is_chosen_by_size():
    assert derivation("matching_pennies", "lola").form == "closed"
    assert derivation("ipd", "nl").form == "cse"
    hola = derive(games.matching_pennies(), "hola", (("order", 2),))[0]
    assert expanded_size(hola) > CLOSED_MAX_OPS
    assert derivation("matching_pennies", "hola").form == "cse"
    assert derivation("matching_pennies", "lola", form="cse").form == "cse"
    with pytest.raises(ValueError, match="too large for the closed form"):
        derivation("ipd", "nl", form="closed")


def test_cse_lines_are_numbered_in_order():
    d = derivation("imp", "lola")
    names = [str(s) for _, lines in d.lines for s, _ in lines]
    numbered = [int(n[2:]) for n in names if n.startswith("x_")]
    assert numbered == list(range(1, len(numbered) + 1))
    assert "chi_1,s0" in names and not any(n.startswith("_") for n in names)


def test_combined_rules_show_primitives_and_combination():
    page = render("matching_pennies", "sos")
    assert "## Primitives (closed form)" in page and "## Combination" in page
    assert r"(H_o \xi)_{1}" in page and r"\chi_{2}" in page
    cgd = derivation("matching_pennies", "cgd")
    assert cgd.update is not None and set(cgd.outputs) == {"xi", "H_12", "H_21"}


@pytest.mark.parametrize("call, match", [
    (lambda: render("ipd", "lol"), "unknown rule 'lol'"),
    (lambda: render("pd", "nl"), "unknown game 'pd'"),
    (lambda: render(3, "nl"), "game must be a catalogue name"),
    (lambda: render("ipd", 3), "rule must be a registered name"),
    (lambda: render("ipd", "lola", beta=1), "no hyper-parameter 'beta'"),
    (lambda: render("ipd", "lola", eta="x"), "eta must be a number"),
    (lambda: render("ipd", "hola", order=-1), "must be a non-negative int"),
    (lambda: render("ipd", "nl", form="tree"), "form must be"),
    (lambda: rule_page("lol"), "unknown rule 'lol'"),
    # the rules' declared bounds, as update_field enforces them
    (lambda: render("matching_pennies", "sos", b=0), r"b must lie in \(0, 1\)"),
    (lambda: derivation("tandem", "hola", order=1, eta="-1/2"), "eta must lie in"),
    # a program too large to derive, refused before deriving
    (lambda: render("tandem", "hola", order=99), "program steps"),
])
def test_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):   # a non-literal string: TypeError
        call()


def test_rendered_hyper_parameters_respect_the_rules_bounds():
    """Before: render(..., eta=-1), SOS a=5 and CO gamma=-3 were rendered (update_field refuses them)."""
    for rule, kw in (("lola", {"eta": -1}), ("sos", {"a": 5}), ("co", {"gamma": -3})):
        with pytest.raises(ValueError, match="must lie in"):
            render("matching_pennies", rule, **kw)
    assert "1/2" in render("matching_pennies", "lola", eta="1/2")      # inside the bounds: fine


def test_bounds_are_compared_exactly():
    """a = 1 - 1e-30 lies in (0, 1) although it rounds to 1.0 in float64 (a float check
    refused it)."""
    from fractions import Fraction
    a = Fraction(10 ** 30 - 1, 10 ** 30)
    assert float(a) == 1.0
    assert check_derivation("matching_pennies", "sos", a=a) == "closed"
    assert check_derivation("matching_pennies", "lola", eta=0) == "closed"
    with pytest.raises(ValueError, match="a must lie in"):
        check_derivation("matching_pennies", "sos", a=1)


def test_a_page_that_would_take_minutes_is_refused_at_once():
    """HOLA of order 8 on Tandem, eta symbolic: the exact Jacobian at theta = 0 has entries of
    degree 510 in eta (about 70 s for the values, and factoring its characteristic polynomial
    took over two minutes already at order 7). render ran for more than 200 s; now it is
    refused with the estimate and what to change, and written once eta has a value."""
    import time
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as err:
        render("tandem", "hola", order=8)
    message = str(err.value)
    assert "would take about" in message and "degree up to 510 in eta" in message
    assert "eta=1/2" in message and "smaller order" in message
    assert time.perf_counter() - t0 < RENDER_MAX_SECONDS
    assert check_derivation("tandem", "hola", order=8, eta="1/2") == "cse"
    assert check_derivation("tandem", "hola", order=6) == "cse"       # about 20 s: written


def test_cost_estimate_sees_low_degrees_at_nash_points():
    """The degree bound of the exact Jacobian at theta = 0 is the true degree: at matching
    pennies' Nash point every lookahead shift vanishes and HOLA's stays low (a bound by the
    order alone would be 2**(order+1) - 2, and refuse pages written in seconds)."""
    from lola_sym.report.derive_forms import cost_estimate, polynomial_work
    eta = sp.Symbol("eta", positive=True)
    for name, order in (("matching_pennies", 4), ("tandem", 3)):
        game = games.by_name(name)
        prog = derive(game, "hola", (("order", order),))[0]
        degree, _ = polynomial_work(prog, game.theta[0] + game.theta[1])
        J = derivation(name, "hola", order=order).at_zero["jacobian"]
        assert degree == max(sp.degree(e, eta) for e in J), name
    assert degree == 14                                 # Tandem: 2**(3+1) - 2
    assert cost_estimate(game, RULES["hola"], prog, "closed") == {
        "cse": 0.0, "jet": 0.0, "spectrum": 0.0, "degree": 0}


# ------------------------------------------------------------- repeated games
#: the repeated games of the derivation pages, built as the catalogue builds them
REPEATED = {"ipd_memory2": games.ipd_memory2, "rps": games.rps,
            "contribution3": lambda: games.contribution(3, "1.33")}


def _at_zero_error(d, **hyper):
    """|printed exact field at theta = 0 - compiled field at 0|, relative to max(1, |field|)."""
    eta = {sp.Symbol(k, positive=True): v for k, v in hyper.items()}
    got = np.array([float(sp.sympify(v).xreplace(eta)) for vals in d.at_zero["values"].values()
                    for v in vals])
    f = update_field(d.game, d.rule.name, backend="numpy", **hyper)
    want = np.concatenate(f(*[np.zeros(n) for n in d.game.dims]))
    return float(np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want))))


@pytest.mark.parametrize("name", [pytest.param("ipd_memory2", marks=pytest.mark.slow), "rps",
                                  "contribution3"])
def test_repeated_game_page_prints_what_the_field_computes(name):
    """NL on the memory-2 IPD, iterated RPS and the 3-player contribution game: the program is
    small enough to be written out (form 'cse'); its printed lines, evaluated in order, give
    the compiled field at random points, and the printed exact field at theta = 0 the
    compiled field at 0."""
    game = REPEATED[name]()
    d = derivation(game, "nl")
    assert d.form == "cse" and d.size <= CSE_MAX_STEPS
    f = update_field(game, "nl", backend="numpy")
    worst = 0.0
    for thetas in _points(game, n=2, seed=3):
        got, want = np.concatenate(d.evaluate(*thetas)), np.concatenate(f(*thetas))
        worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))))
    assert worst < ATOL_PRINTED
    assert _at_zero_error(d) < ATOL_PRINTED
    assert d.at_zero["jacobian"] is None and d.at_zero["no_jacobian"]   # 27 to 42 parameters
    # the check can fail: the lines at another point are not the field here
    shifted = [t + 0.5 for t in _points(game, n=1, seed=3)[0]]
    assert np.max(np.abs(np.concatenate(d.evaluate(*shifted))
                         - np.concatenate(f(*_points(game, n=1, seed=3)[0])))) > 1e-3


@pytest.mark.parametrize("name", list(REPEATED))
def test_repeated_game_page_states_the_game(name):
    """State labels, the policy convention (checked against policy_table) and the value
    program's size, as printed."""
    game = REPEATED[name]()
    page = render(game, "nl")
    states = game.state_labels(1)
    assert f"States of each agent ({len(states)}, " in page
    assert ", ".join(f"`{s}`" for s in states) in page
    assert "game.policy_table(theta_1, ..., theta_n)" in page
    assert f"straight-line program of {len(game.value_program().steps):,} steps" in page
    for i, k in enumerate(game.actions, 1):
        assert ", ".join(f"`{a}`" for a in game.labels[i - 1]) in page
    # the printed convention, applied by hand to the labelled logits, is the policy table
    rng = np.random.default_rng(1)
    thetas = [rng.normal(size=d) for d in game.dims]
    tables = game.policy_table(*thetas)
    for i, (th, k) in enumerate(zip(thetas, game.actions)):
        logit = dict(zip(game.param_names[i], th))
        for s, label in enumerate(game.state_labels(i + 1)):
            if k == 2:
                assert "\\sigma(\\theta_{i,s})" in page
                p = 1 / (1 + np.exp(-logit[label]))
                want = [p, 1 - p]
            else:
                assert "the last, which is the reference (logit 0)" in page
                z = [np.exp(logit[f"{label}:{game.labels[i][a]}"]) for a in range(k - 1)]
                want = [x / (1 + sum(z)) for x in z] + [1 / (1 + sum(z))]
            assert np.allclose(tables[i][s], want, rtol=1e-14, atol=0)


def test_a_summary_page_prints_sizes_and_the_field_at_zero():
    """The summary form (here asked for; chosen beyond CSE_MAX_STEPS): the straight-line
    program's size, that of the compiled field's program, no lines, and the exact field at
    theta = 0 as the compiled field gives it."""
    game = games.contribution(3, "1.33")
    d = derivation(game, "nl", form="summary")
    assert d.form == "summary" and d.size == len(derive(game, "nl")[0].steps)  # field.program
    assert sum(n for _, n in d.sections) == d.size and d.lines == ()
    page = render(game, "nl", form="summary")
    assert f"A straight-line program of {d.size:,} steps" in page
    assert "common-subexpression form" not in page and "- $x_{1} = " not in page
    with pytest.raises(ValueError, match="writes no program lines"):
        d.evaluate(*[np.zeros(n) for n in game.dims])
    assert _at_zero_error(d) < ATOL_PRINTED
    assert any(v != 0 for vals in d.at_zero["values"].values() for v in vals)


@pytest.mark.slow
@pytest.mark.parametrize("name, jet", [("rps", True), ("ipd_memory2", False),
                                       ("contribution3", False)])
def test_large_programs_get_a_summary_page(name, jet):
    """LOLA on the repeated games has 2,066 to 3,414 steps: beyond CSE_MAX_STEPS the page gives
    the straight-line program's size (that of the compiled field's program) and, where the
    program is small enough, the exact field at theta = 0 (compared with the compiled one)."""
    game = REPEATED[name]()
    d = derivation(game, "lola")
    f = update_field(game, "lola")
    assert d.form == "summary" and d.size == len(f.program.steps) > CSE_MAX_STEPS
    assert sum(n for _, n in d.sections) == d.size
    page = render(game, "lola")
    assert f"A straight-line program of {d.size:,} steps" in page
    assert "common-subexpression form" not in page
    if jet:
        assert _at_zero_error(d, eta=1.0) < ATOL_PRINTED
        assert _at_zero_error(d, eta=0.5) < ATOL_PRINTED
    else:
        assert d.at_zero["values"] is None and "more than 2500 steps" in page


def test_softmax_at_zero_is_exact():
    """The exact field at theta = 0 of a 3-action game goes through the softmax at 0 (1/3,
    derivatives (3 delta_ab - 1) / 9): RPS with asymmetric payoffs, NL, against the compiled
    field; uniform play is not a fixed point there."""
    r1 = np.array([[0, -1, 2], [1, 0, -1], [-1, 1, 0]])
    game = games.repeated([r1, -r1.T], "9/10", memory=0, labels=[("R", "P", "S")] * 2)
    d = derivation(game, "nl")
    assert any(v != 0 for vals in d.at_zero["values"].values() for v in vals)
    assert _at_zero_error(d) < ATOL_PRINTED
    J = np.array(d.at_zero["jacobian"], dtype=float)                # 4 parameters: written
    f = update_field(game, "nl", backend="numpy")
    fd = np.zeros((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = H_FD
        up, down = np.concatenate(f(e[:2], e[2:])), np.concatenate(f(-e[:2], -e[2:]))
        fd[:, j] = (up - down) / (2 * H_FD)
    assert np.max(np.abs(J - fd)) < ATOL_FD and np.max(np.abs(J)) > 1e3 * ATOL_FD


# ------------------------------------------------ structured values of iterated games
@pytest.mark.parametrize("name", ["ipd", "imp"])
def test_printed_chain_gives_the_values(name):
    """The printed p0, P and E_k are the game's values, two ways.

    Exactly: 1 + sum_k (-gamma)^k E_k is the expanded determinant D of
    ``value_polynomials``. Numerically: p0 (I - gamma P)^{-1} r_i at random logits
    (numpy solve of the printed matrices) is the compiled value of the game.
    """
    from lola_sym.games.layout import prob_symbols
    from lola_sym.report.derive_forms import chain_form
    game = games.by_name(name)
    p0, P, E = chain_form(game)
    N1, N2, D = game.value_polynomials()
    gamma = game.gamma
    assert sp.expand(1 + sum((-gamma) ** k * e for k, e in enumerate(E, 1)) - D) == 0
    rng = np.random.default_rng(7)
    t1, t2 = rng.normal(size=5), rng.normal(size=5)
    sub = {}
    for (p, pbar), t in zip((prob_symbols(1), prob_symbols(2)), (t1, t2)):
        for k in range(5):
            sub[p[k]] = 1 / (1 + np.exp(-t[k]))
            sub[pbar[k]] = 1 / (1 + np.exp(t[k]))
    p0n = np.array(p0.xreplace(sub), dtype=float).ravel()
    Pn = np.array(P.xreplace(sub), dtype=float)
    M = np.eye(4) - float(gamma) * Pn
    got = np.array([p0n @ np.linalg.solve(M, np.array(r, dtype=float))
                    for r in (game.r1, game.r2)])
    want = np.asarray(game.value(t1, t2), dtype=float).ravel()
    assert np.max(np.abs(got - want)) < ATOL_PRINTED * max(1.0, np.max(np.abs(want)))
    # and the printed minors: det(I - gamma P) from them vs numpy's determinant
    En = [float(e.xreplace(sub)) for e in E]
    assert abs(1 + sum((-float(gamma)) ** k * e for k, e in enumerate(En, 1))
               - np.linalg.det(M)) < ATOL_PRINTED


def test_printed_chain_check_can_fail():
    """A transposed P (the classic mistake) gives different values: the check above bites."""
    from lola_sym.report.derive_forms import chain_form
    game = games.ipd()
    p0, P, _ = chain_form(game)
    free = sorted(P.free_symbols | p0.free_symbols, key=str)
    point = {s: sp.Rational(k + 2, 23) for k, s in enumerate(free)}
    M = sp.eye(4) - game.gamma * P.xreplace(point)
    Mt = sp.eye(4) - game.gamma * P.T.xreplace(point)
    r = sp.Matrix(game.r1)
    q0 = p0.xreplace(point)
    assert abs(float((q0 * M.LUsolve(r))[0] - (q0 * Mt.LUsolve(r))[0])) > 1e-3


def test_large_polynomials_are_printed_structured():
    """The IPD page prints p0, P and the minors E_k broken into lines, not 65 flat monomials."""
    page = (ROOT / "derivations" / "games" / "ipd_lola.md").read_text()
    assert "$$ D =" not in page and "$$ N_1 =" not in page
    assert r"$$ P = \left[\begin{matrix}" in page
    assert page.count(r"\begin{aligned} E_{") == 3          # E_2 .. E_4 broken, E_1 flat
    assert "$$ E_{1} = p_{1,CC} p_{2,CC} + " in page
    longest = max(len(line) for line in page.splitlines() if line.startswith("$$ \\begin{al"))
    widest = max(len(part) for line in page.splitlines() if line.startswith("$$ \\begin{al")
                 for part in line.split(r"\\"))
    assert widest < 300 < longest                  # many short lines in one block
