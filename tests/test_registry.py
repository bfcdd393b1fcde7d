"""The rule registry: a rule is one object, found by discovery, listed by tag.

Every list of rules the package uses by default (compare, tournament, the Nash
report, the policy-gradient rules) is :func:`lola_sym.rules.rule_names` of a
tag; :meth:`lola_sym.rules.Rule.accepted` is the one place where settings meant
for several rules are picked for one. A rule carries its notes, its
hyper-parameters (with LaTeX and bounds) and its finishing step, written once
for numpy and sympy; the rule modules are imported by discovery, in an order
fixed by the rules' ranks.
"""

import importlib
import pkgutil

import numpy as np
import pytest
import sympy as sp

import lola_sym.rules as rules_pkg
from lola_sym import games, update_field
from lola_sym.report.derive import derivation
from lola_sym.rules.arithmetic import NUMPY, NoClosedForm, SympyArithmetic
from lola_sym.cli import build_parser
from lola_sym.dynamics.compare import DEFAULT_RULES as COMPARE_RULES
from lola_sym.report.nash_report import REPORT_RULES
from lola_sym.sampling.opponent_model import PG_RULES
from lola_sym.dynamics.tournament import DEFAULT_RULES as TOURNAMENT_RULES
from lola_sym.rules import RULES, TAGS, Bound, Hyper, Notes, Rule, register, rule_names
from lola_sym.rules.naive import derive_nl
from tolerances import EPS, RTOL_EXACT_EVAL

#: The hand-kept tuples the registry queries replaced (as they were before the tags).
FORMER_COMPARE = ("nl", "la", "lola", "lola_full", "exact_lola", "hola", "lola2", "co", "sos",
                  "sga", "cgd")
FORMER_TOURNAMENT = ("nl", "lola", "lola2", "la", "sos")
FORMER_PG = ("nl", "lola")
FORMER_SYMPLECTIC = ("sga", "sga_plain")
#: RULES in the order it had when the rule modules were imported by a hand-kept list
FORMER_ORDER = ("nl", "lola", "la", "lola_full", "exact_lola", "hola", "lola2", "co", "sos",
                "sga", "sga_plain", "cgd")


@pytest.fixture
def temporary_rule():
    """Register rules for one test and remove them afterwards, whatever happens."""
    added = []

    def add(name, tags):
        added.append(name)
        return register(Rule(name, "a test rule", derive_nl, tags=frozenset(tags)))
    try:
        yield add
    finally:
        for name in added:
            RULES.pop(name, None)


# ------------------------------------------------------------------ the tags
@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_has_known_tags(name):
    tags = RULES[name].tags
    assert isinstance(tags, frozenset) and tags, name
    assert tags <= set(TAGS), sorted(tags - set(TAGS))


def test_every_tag_is_documented_used_and_answers_registered_rules_in_order():
    order = list(RULES)
    for tag in TAGS:
        names = rule_names(tag)
        assert names, f"no rule carries the tag {tag!r}"
        assert set(names) <= set(RULES)
        assert [order.index(n) for n in names] == sorted(order.index(n) for n in names)
        assert set(names) == {n for n, r in RULES.items() if tag in r.tags}
    assert rule_names() == tuple(RULES)


def test_tags_agree_with_the_rules_declared_structure():
    """The tags that describe a property say what the rule's metadata says."""
    for name, rule in RULES.items():
        assert ("combined" in rule.tags) == (rule.combine is not None), name
        if "lookahead" in rule.tags or "symplectic" in rule.tags:
            assert set(rule.hyper) & {"eta", "lam"}, name
    assert set(rule_names("symplectic")) <= set(rule_names("combined"))
    assert set(rule_names("opponent_shaping")) - {"sos"} <= set(rule_names("lookahead"))


@pytest.mark.parametrize("name", rule_names("lookahead"))
def test_a_lookahead_rule_is_the_naive_learner_at_zero_eta(name):
    """What the tag says (TAGS["lookahead"]); and not at eta > 0, so the check can fail."""
    game = games.matching_pennies()
    t1, t2 = np.array([[0.7], [-1.3]]), np.array([[-0.4], [2.1]])
    nl = np.concatenate(update_field(game, "nl")(t1, t2))
    zero = np.concatenate(update_field(game, name, eta=0.0)(t1, t2))
    half = np.concatenate(update_field(game, name, eta=0.5)(t1, t2))
    scale = np.max(np.abs(nl))
    assert np.max(np.abs(zero - nl)) <= RTOL_EXACT_EVAL * scale
    assert np.max(np.abs(half - nl)) > 1e3 * RTOL_EXACT_EVAL * scale


def _former(now, former):
    """``now`` restricted to the rules of ``former`` (rules added later carry tags too)."""
    return tuple(n for n in now if n in former)


def test_the_former_lists_are_the_registry_queries():
    """The registry queries give the hand-kept tuples they replaced, in the same order; a rule
    added since (with the tag) joins them without any list being edited."""
    assert COMPARE_RULES == rule_names("compare")
    # the same rules; the order is registry order (LOLA is ranked before LookAhead)
    assert sorted(_former(COMPARE_RULES, FORMER_COMPARE)) == sorted(FORMER_COMPARE)
    # the tournament's order decides which entries are trained and which mirrored: kept
    assert TOURNAMENT_RULES == rule_names("tournament", first="lola2018_tournament")
    assert _former(TOURNAMENT_RULES, FORMER_TOURNAMENT) == FORMER_TOURNAMENT
    assert PG_RULES == rule_names("policy_gradient")
    assert _former(PG_RULES, FORMER_PG) == FORMER_PG
    assert _former(rule_names("symplectic"), FORMER_SYMPLECTIC) == FORMER_SYMPLECTIC
    # "every registered rule" defined at matching pennies' equilibrium: the hand-kept tuple
    # had left out sga_plain; the rules after LOLA that cannot be asked there are listed
    from lola_sym.report.nash_report import NOT_REPORTED
    assert set(NOT_REPORTED) == {"stackelberg", *rule_names("shaping_since_lola")}
    assert REPORT_RULES == tuple(r for r in rule_names() if r not in NOT_REPORTED)
    assert rule_names() == tuple(RULES)
    assert "sga_plain" in REPORT_RULES and "sga_plain" not in FORMER_COMPARE
    assert set(FORMER_COMPARE) < set(REPORT_RULES)


# ------------------------------------------------------- discovery and order
def test_every_module_of_the_package_is_imported_and_the_order_is_kept():
    """No hand-kept list: every module of lola_sym.rules is imported (pkgutil), and RULES
    keeps the order the former list of imports gave, the later rules after it."""
    found = sorted(m.name for m in pkgutil.iter_modules(rules_pkg.__path__)
                   if not m.name.startswith("_"))
    assert rules_pkg.MODULES == tuple(found)
    assert {"naive", "lola", "composite", "registry", "arithmetic"} <= set(found)
    assert tuple(RULES)[:len(FORMER_ORDER)] == FORMER_ORDER
    ranks = [r.rank for r in RULES.values()]
    assert None not in ranks, "the package's rules are ranked"
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    # every registered rule comes from a module of the package
    modules = {f"lola_sym.rules.{m}" for m in found}
    assert all(r.derive.__module__ in modules for r in RULES.values())


def test_the_order_does_not_depend_on_the_import_order():
    """Re-registering the rules in reverse order gives the same RULES."""
    before = dict(RULES)
    try:
        RULES.clear()
        for rule in reversed(list(before.values())):
            register(rule)
        assert list(RULES) == list(before)
    finally:
        RULES.clear()
        RULES.update(before)


def test_ranks_are_unique_and_unranked_rules_come_last(temporary_rule):
    with pytest.raises(ValueError, match="has the rank 2 of rule 'lola'"):
        register(Rule("_test_rank", "a test rule", derive_nl, rank=2, tags=frozenset({"compare"})))
    assert "_test_rank" not in RULES
    top = max(r.rank for r in RULES.values())
    temporary_rule("_test_unranked", {"compare"})
    try:
        register(Rule("_test_ranked", "a test rule", derive_nl, rank=top + 1,
                      tags=frozenset({"compare"})))
        assert list(RULES)[-2:] == ["_test_ranked", "_test_unranked"]
    finally:
        RULES.pop("_test_ranked", None)
    with pytest.raises(TypeError, match="rank of rule '_test_float' must be an int"):
        Rule("_test_float", "a test rule", derive_nl, rank=1.5)


def test_importing_a_rule_module_again_registers_nothing_twice():
    for name in rules_pkg.MODULES:
        importlib.import_module(f"lola_sym.rules.{name}")
    assert len(RULES) == len(set(RULES))


# ------------------------------------------------------- what a rule carries
@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_carries_its_notes_and_hyper_parameters(name):
    """The notes of the derivation pages and the LaTeX of the hyper-parameters live on the
    rule (they were tables keyed by rule name in report/rule_notes.py)."""
    rule = RULES[name]
    assert isinstance(rule.notes, Notes)
    assert rule.notes.values and rule.notes.losses and rule.notes.source
    assert bool(rule.notes.combination) == ("combined" in rule.tags)
    assert all(isinstance(h, Hyper) and h.latex for h in rule.hyper_specs)
    assert rule.hyper == {h.name: h.default for h in rule.hyper_specs}
    for h in rule.hyper_specs:
        assert rule.bound(h.name) == h.bound and h.default in h.bound
        assert rule.hyper_latex(h.name) == h.latex
    if rule.primitives is not None:
        groups = [n for n, _ in rule.primitives(games.matching_pennies())]
        assert set(groups) == set(rule.notes.primitives), "every primitive has its LaTeX"
        assert set(rule.notes.blocks) <= set(groups)


def test_a_hyper_parameter_name_means_the_same_latex_in_every_rule():
    """The pages print a symbol by its name: two rules may not write one name two ways."""
    tex = {}
    for rule in RULES.values():
        for h in rule.hyper_specs:
            assert tex.setdefault(h.name, h.latex) == h.latex, (rule.name, h.name)


def test_declarations_are_checked():
    with pytest.raises(TypeError, match="must be Hyper declarations"):
        Rule("_test", "a test rule", derive_nl, (("eta", 1.0),))
    with pytest.raises(ValueError, match="declares a hyper-parameter twice"):
        Rule("_test", "a test rule", derive_nl, (Hyper("eta", 1.0, "e"), Hyper("eta", 2.0, "e")))
    with pytest.raises(ValueError, match="an identifier"):
        Hyper("eta 2", 1.0, r"\eta")
    with pytest.raises(TypeError, match="must be a Bound"):
        Hyper("eta", 1.0, r"\eta", (0, 1))
    with pytest.raises(ValueError, match="default 2.0 of 'a' lies outside its bound"):
        Hyper("a", 2.0, "a", Bound(0.0, 1.0, True, True))
    with pytest.raises(ValueError, match="a finishing step and primitives go together"):
        Rule("_test", "a test rule", derive_nl, finish=lambda ar, g, h, game: g)
    # a dict of defaults is still a declaration: LaTeX = name, bound [0, inf)
    r = Rule("_test", "a test rule", derive_nl, {"w": 0.5})
    assert r.hyper == {"w": 0.5} and r.hyper_latex("w") == "w" and r.bound("w") == Bound()


@pytest.mark.parametrize("command, default", [("compare", COMPARE_RULES),
                                              ("tournament", TOURNAMENT_RULES),
                                              ("nash-report", REPORT_RULES)])
def test_the_command_line_shows_the_registry_defaults(command, default, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    listed = " ".join(default)
    assert any(f"(default: {prefix}{listed}{end}" in shown
               for prefix in ("", "every rule: ") for end in (")", ";"))


# ------------------------------------------------- the finishing step, written once
def test_the_closed_update_is_the_finishing_step_in_sympy():
    """Rule.closed_update runs the rule's own finish (it was re-implemented for sympy in
    report/derive_forms.py, with the rule chosen by tag and name)."""
    x, h, ht, lam = sp.symbols("x h ht lam")
    outputs = {"xi": (x, -x), "H^T xi": (ht, -ht), "H xi": (h, -h)}
    game = games.matching_pennies()
    (g1, g2), aux = RULES["sga_plain"].closed_update(outputs, {"lam": lam}, game)
    assert sp.simplify(g1[0] - (x - lam * (ht - h) / 2)) == 0 and aux == ()
    assert sp.simplify(g2[0] - (-x + lam * (ht - h) / 2)) == 0
    (g1, _), aux = RULES["sga"].closed_update(outputs, {"lam": lam}, game)
    (s, expr), = aux                                    # the aligned switch, a named quantity
    assert s == sp.Symbol("s")
    assert sp.simplify(expr - (-(2 * x * ht) * (ht * (ht - h)) / 2 + sp.Rational(1, 10))) == 0
    assert sp.simplify(g1[0] - (x - lam * sp.sign(s) * (ht - h) / 2)) == 0
    with pytest.raises(NoClosedForm, match="piecewise"):
        RULES["sos"].closed_update({"xi": (x, x), "H_o xi": (h, h), "chi": (ht, ht)},
                                   {"eta": lam, "a": lam, "b": lam}, game)
    with pytest.raises(NoClosedForm, match="no finishing step"):
        RULES["lola"].closed_update(outputs, {"eta": lam}, game)


@pytest.mark.parametrize("name", rule_names("combined"))
def test_the_finishing_step_agrees_in_numpy_and_sympy(name):
    """The one finish, run on the same primitives in both arithmetics (SOS: the numpy switch
    against the switch evaluated by hand, since it has no closed form)."""
    game = games.tandem()
    f = update_field(game, name, backend="numpy")
    rng = np.random.default_rng(5)
    t1, t2 = rng.uniform(-1, 1, game.dims[0]), rng.uniform(-1, 1, game.dims[1])
    groups = tuple(np.asarray(g, dtype=float) for g in f.compiled(t1, t2))
    got = np.concatenate(RULES[name].combine(groups, f.hyper, game))
    names = [n for n, _ in RULES[name].primitives(game)]
    exact = {n: tuple(sp.Float(float(v), 30) for v in g) for n, g in zip(names, groups)}
    hyper = {k: sp.Float(v, 30) for k, v in f.hyper.items()}
    try:
        update, aux = RULES[name].closed_update(exact, hyper, game)
    except NoClosedForm:
        assert name == "sos"
        xi, hoxi, chi = groups
        eta, a, b = f.hyper["eta"], f.hyper["a"], f.hyper["b"]
        xi0 = xi + eta * hoxi
        dot = eta * chi @ xi0
        q1 = 1.0 if dot >= 0 else min(1.0, -a * (xi0 @ xi0) / dot)
        q2 = xi @ xi if np.sqrt(xi @ xi) < b else 1.0
        want = xi0 + min(q1, q2) * eta * chi
    else:
        values = {s: e for s, e in aux}
        want = np.array([float(sp.sympify(e).xreplace(values)) for g in update for e in g])
    scale = max(1.0, float(np.max(np.abs(want))))
    assert np.max(np.abs(got - want)) <= 1e3 * EPS * scale
    assert np.max(np.abs(got - 1.01 * want)) > 1e3 * EPS * scale        # the check can fail


def test_the_numpy_arithmetic_batches_and_the_sympy_one_records():
    M = NUMPY.block([[NUMPY.identity(1), np.array([[[2.0]], [[0.0]]])],
                     [np.array([[[0.0]], [[1.0]]]), NUMPY.identity(1)]])
    assert M.shape == (2, 2, 2)
    b = np.array([[1.0, 1.0], [3.0, 4.0]])
    assert np.allclose(NUMPY.solve(M, b), [[-1.0, 1.0], [3.0, 1.0]], rtol=0, atol=EPS)
    singular = NUMPY.block([[NUMPY.identity(1), np.array([[[1.0]], [[0.0]]])],
                            [np.array([[[1.0]], [[0.0]]]), NUMPY.identity(1)]])
    g = NUMPY.solve(singular, b)
    assert np.isnan(g[0]).all() and np.allclose(g[1], b[1])      # NaN only where singular
    ar = SympyArithmetic(max_solve=2)
    x = sp.Symbol("x")
    assert ar.define("s", x + 1) == sp.Symbol("s") and ar.definitions == [(sp.Symbol("s"), x + 1)]
    with pytest.raises(NoClosedForm, match="3 x 3"):
        ar.solve(sp.eye(3), sp.Matrix([1, 2, 3]))


def test_combined_pages_print_the_closed_update_where_there_is_one():
    """The pages get the finished update from the rule: SGA and CGD on matching pennies
    (closed), SOS not (its switch is piecewise)."""
    assert derivation("matching_pennies", "sga").update is not None
    assert derivation("matching_pennies", "cgd").update is not None
    assert derivation("matching_pennies", "sos").update is None


# ------------------------------------------------------------------ the query
def test_a_registered_rule_shows_up_in_its_tags_queries(temporary_rule):
    before = rule_names("compare")
    temporary_rule("_test_compare", {"compare"})
    assert rule_names("compare") == before + ("_test_compare",)
    assert rule_names()[-1] == "_test_compare"
    assert "_test_compare" not in rule_names("tournament")
    # with ``first``: after the other first-tagged rules, before the rest
    temporary_rule("_test_table4", {"tournament", "lola2018_tournament"})
    assert rule_names("tournament", first="lola2018_tournament") == (
        "nl", "lola", "lola2", "_test_table4", "la", "sos")


def test_the_query_can_fail():
    """Removing the temporary rule takes it out again (the check above is not vacuous)."""
    name = "_test_removed"
    register(Rule(name, "a test rule", derive_nl, tags=frozenset({"compare"})))
    try:
        assert name in rule_names("compare")
    finally:
        del RULES[name]
    assert name not in rule_names("compare") and name not in RULES


def test_unknown_and_malformed_tags_are_refused(temporary_rule):
    with pytest.raises(ValueError, match="unknown tag 'comparee'"):
        rule_names("comparee")
    with pytest.raises(ValueError, match="unknown tag 'table4'"):
        rule_names("tournament", first="table4")
    with pytest.raises(ValueError, match="unknown tag 'fast'"):
        temporary_rule("_test_bad_tag", {"fast"})
    with pytest.raises(TypeError, match="must be a frozenset"):
        register(Rule("_test_set_tags", "a test rule", derive_nl, tags={"compare"}))
    assert "_test_bad_tag" not in RULES and "_test_set_tags" not in RULES


# ---------------------------------------------------------------- Rule.accepted
def _every_setting():
    names = {k for r in RULES.values() for k in (*r.hyper, *r.options)} | {"zeta"}
    return {k: i for i, k in enumerate(sorted(names))}


@pytest.mark.parametrize("name", sorted(RULES))
def test_accepted_picks_what_the_rule_takes(name):
    rule, given = RULES[name], _every_setting()
    assert rule.accepted(given, strict=False) == {
        k: v for k, v in given.items() if k in rule.hyper or k in rule.options}
    assert rule.accepted(given, strict=False, options=False) == {
        k: v for k, v in given.items() if k in rule.hyper}
    own = {**rule.hyper, **rule.options}
    assert rule.accepted(own, strict=True) == own
    with pytest.raises(ValueError, match=rf"rule '{name}' takes no hyper-parameter 'zeta'"):
        rule.accepted({**own, "zeta": 1.0}, strict=True)


def test_accepted_refusal_names_the_first_name_alphabetically_in_the_given_words():
    hola = RULES["hola"]
    with pytest.raises(ValueError) as err:
        hola.accepted({"zeta": 1, "b": 2, "eta": 0.5}, strict=True,
                      refusal="{rule}: no {name}; only {takes}")
    assert str(err.value) == "hola: no b; only ['eta', 'order']"
    # options=False: a structural option is refused too
    with pytest.raises(ValueError, match="'order'"):
        hola.accepted({"order": 2}, strict=True, options=False)
