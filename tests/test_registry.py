"""The rule registry's tags: lists of rules are queries by tag, settings are picked by the rule.

Every list of rules the package uses by default (compare, tournament, the Nash
report, the policy-gradient rules, the SGA family of the derivation pages) is
:func:`lola_sym.rules.rule_names` of a tag; :meth:`lola_sym.rules.Rule.accepted`
is the one place where settings meant for several rules are picked for one.
"""

import numpy as np
import pytest
import sympy as sp

from lola_sym import games, update_field
from lola_sym.report.derive_forms import combine_closed
from lola_sym.cli import build_parser
from lola_sym.dynamics.compare import DEFAULT_RULES as COMPARE_RULES
from lola_sym.report.nash_report import REPORT_RULES
from lola_sym.sampling.opponent_model import PG_RULES
from lola_sym.dynamics.tournament import DEFAULT_RULES as TOURNAMENT_RULES
from lola_sym.rules import RULES, TAGS, Rule, register, rule_names
from lola_sym.rules.naive import derive_nl
from tolerances import RTOL_EXACT_EVAL

#: The hand-kept tuples the registry queries replaced (as they were before the tags).
FORMER_COMPARE = ("nl", "la", "lola", "lola_full", "exact_lola", "hola", "lola2", "co", "sos",
                  "sga", "cgd")
FORMER_TOURNAMENT = ("nl", "lola", "lola2", "la", "sos")
FORMER_PG = ("nl", "lola")
FORMER_SYMPLECTIC = ("sga", "sga_plain")     # lola_sym.report.derive_forms.combine_closed


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


def test_the_former_lists_are_the_registry_queries():
    assert COMPARE_RULES == rule_names("compare")
    # the same rules; the order is registration order (LOLA is registered before LookAhead)
    assert sorted(COMPARE_RULES) == sorted(FORMER_COMPARE)
    # the tournament's order decides which entries are trained and which mirrored: kept
    assert TOURNAMENT_RULES == FORMER_TOURNAMENT
    assert TOURNAMENT_RULES == rule_names("tournament", first="lola2018_tournament")
    assert PG_RULES == FORMER_PG == rule_names("policy_gradient")
    assert rule_names("symplectic") == FORMER_SYMPLECTIC
    # "every registered rule": the hand-kept tuple had left out sga_plain
    assert REPORT_RULES == rule_names() == tuple(RULES)
    assert "sga_plain" in REPORT_RULES
    assert set(REPORT_RULES) - set(FORMER_COMPARE) == {"sga_plain"}


def test_the_rule_notes_cover_the_registry():
    """The derivation pages' notes are keyed by rule: one per rule, one combination formula
    per combined rule (the notes belong with the rules; until they move, this keeps the
    keys and the registry in step)."""
    from lola_sym.report.rule_notes import COMBINATIONS, NOTES
    assert set(NOTES) == set(RULES)
    assert set(COMBINATIONS) == set(rule_names("combined"))


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


def test_the_symplectic_tag_decides_the_closed_form_of_a_combined_rule(temporary_rule):
    """combine_closed finishes SGA's primitives for the rules tagged "symplectic" (it
    compared names with the tuple ("sga", "sga_plain") before)."""
    x, h, ht, lam = sp.symbols("x h ht lam")
    outputs = {"xi": (x, -x), "H xi": (h, -h), "H^T xi": (ht, -ht)}
    game = games.matching_pennies()
    plain, _ = combine_closed("sga_plain", outputs, {"lam": lam}, game)
    assert sp.simplify(plain[0][0] - (x - lam * (ht - h) / 2)) == 0
    temporary_rule("_test_sga", {"symplectic", "combined"})
    assert combine_closed("_test_sga", outputs, {"lam": lam}, game)[0] == plain
    temporary_rule("_test_other", {"combined"})
    assert combine_closed("_test_other", outputs, {"lam": lam}, game) == (None, ())


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
