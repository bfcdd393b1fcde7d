"""The committed derivation files match what the code derives now, and say what it computes."""

import importlib.util
import pathlib

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.report.derive import (CLOSED_MAX_OPS, RENDER_MAX_SECONDS, check_derivation, derivation,
                             expanded_size, render, rule_page)
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


@pytest.mark.parametrize("filename", ["README.md", *GAME_PAGES.pages()])
def test_game_page_is_up_to_date(filename):
    committed = (ROOT / "derivations" / "games" / filename).read_text()
    assert GAME_PAGES.render(filename) == committed, "run: python derivations/games.py"


def test_every_rule_and_every_one_shot_game_has_a_page():
    assert set(RULE_PAGES.pages().values()) == set(RULES)
    one_shot = {n for n, f in games.CATALOGUE.items() if f().kind == "differentiable"}
    combos = set(GAME_PAGES.pages().values())
    assert {(g, r) for g in one_shot for r in RULES} <= combos
    assert {("ipd", "nl"), ("ipd", "lola"), ("imp", "nl"), ("imp", "lola")} <= combos


# ------------------------------------------------- what is printed is what is computed
def _points(game, n=3, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-scale, scale, game.dims[0]), rng.uniform(-scale, scale, game.dims[1]))
            for _ in range(n)]


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
    for t1, t2 in _points(d.game):
        got = np.concatenate(d.evaluate(t1, t2, **(eval_hyper or {})))
        want = np.concatenate(f(t1, t2))
        worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))))
    return worst


@pytest.mark.parametrize("combo", list(GAME_PAGES.pages().values()), ids="_".join)
def test_printed_update_is_the_compiled_field(combo):
    """Each page's expressions (hyper-parameters at the rule's defaults) give update_field."""
    assert _printed_error(*combo) < ATOL_PRINTED


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
