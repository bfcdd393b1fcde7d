"""Shared contract for every learning rule, plus rule-specific identities.

Each rule class inherits :class:`RuleContract`: symbolic (the exact program at
50 digits) = compiled = the independent mpmath reference of tests/reference.py.
"""

import importlib
import pathlib

import numpy as np
import pytest
import sympy as sp

import reference
from lola_sym import games, update_field
from lola_sym.rules import RULES, TAGS, get_rule
from tolerances import EPS, RTOL_BACKENDS, RTOL_EXACT_EVAL, RTOL_REFERENCE, RTOL_SATURATED


def _points(seed, n, scale=6.0):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-scale, scale, 5), rng.uniform(-scale, scale, 5)) for _ in range(n)]


def _rel_err(got, want):
    got, want = np.concatenate(got), np.concatenate(want)
    return np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300)


class RuleContract:
    """Tests every rule must pass. Subclasses set ``rule``, ``hyper`` (and ``options``)."""

    rule = None
    hyper: dict = {}
    options: dict = {}
    #: (game, number of random points, scale of the logits) for the reference check
    reference_games = (("ipd", 2, 6.0), ("matching_pennies", 3, 3.0), ("tandem", 2, 2.0))
    #: points of the determinism check: the compiled code's threaded batch size (numeric
    #: fields, solved point by point, use fewer)
    determinism_points = 600

    def field(self, game="ipd", backend=None):
        return update_field(games.by_name(game), self.rule, backend=backend,
                            **self.hyper, **self.options)

    def test_compiled_matches_independent_reference(self):
        for game, n, scale in self.reference_games:
            f = self.field(game)
            g = games.by_name(game)
            rng = np.random.default_rng(11)
            for _ in range(n):
                t1, t2 = rng.uniform(-scale, scale, g.dims[0]), rng.uniform(-scale, scale, g.dims[1])
                want = reference.directions(self.rule, g, t1, t2, **self.hyper, **self.options)
                assert _rel_err(f(t1, t2), want) <= RTOL_REFERENCE, game

    def test_compiled_matches_exact_program(self):
        f = self.field()
        for t1, t2 in _points(12, 2):
            exact = [np.array(v, dtype=float) for v in f.evaluate(t1, t2, dps=50)]
            assert _rel_err(f(t1, t2), exact) <= RTOL_EXACT_EVAL

    def test_reference_check_can_fail(self):
        f = self.field("matching_pennies")
        t1, t2 = np.array([0.7]), np.array([-0.4])
        want = reference.directions(self.rule, games.matching_pennies(), t1, t2,
                                    **self.hyper, **self.options)
        wrong = (f(t1, t2)[0] * (1 + 1e-8), f(t1, t2)[1])
        assert _rel_err(wrong, want) > RTOL_REFERENCE

    def test_backends_agree(self):
        rng = np.random.default_rng(21)
        t1 = np.r_[rng.uniform(-6, 6, (50, 5)), rng.uniform(-30, 30, (50, 5))]
        t2 = np.r_[rng.uniform(-6, 6, (50, 5)), rng.uniform(-30, 30, (50, 5))]
        want = self.field(backend="numpy")(t1, t2)
        for backend in ("c", "llvm"):
            try:
                got = self.field(backend=backend)(t1, t2)
            except ValueError as exc:            # llvm refuses very deep programs
                assert "too deep" in str(exc)
                continue
            for x, y in zip(got, want):
                scale = np.max(np.abs(y), axis=-1, keepdims=True)
                assert np.all(np.abs(x - y) <= RTOL_BACKENDS * scale), backend

    def test_shapes_dtypes_and_broadcasting(self):
        f = self.field()
        rng = np.random.default_rng(0)
        t1, t2 = rng.normal(size=(4, 1, 5)), rng.normal(size=(3, 5))
        g1, g2 = f(t1, t2)
        assert g1.shape == g2.shape == (4, 3, 5) and g1.dtype == g2.dtype == np.float64
        one1, one2 = f(t1[1, 0], t2[2])
        assert one1.shape == (5,)
        assert np.allclose(one1, g1[1, 2], rtol=10 * EPS, atol=0)
        assert np.allclose(one2, g2[1, 2], rtol=10 * EPS, atol=0)

    def test_inputs_not_mutated_and_deterministic(self):
        f = self.field()
        rng = np.random.default_rng(1)
        n = self.determinism_points
        t1, t2 = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
        c1, c2 = t1.copy(), t2.copy()
        a = f(t1, t2)
        b = f(t1, t2)
        assert np.array_equal(t1, c1) and np.array_equal(t2, c2)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))

    def test_metadata(self):
        r = get_rule(self.rule)
        assert r.needs_hessian == (r.order >= 2)
        prog = self.field().program
        free = set().union(*(sp.sympify(o).free_symbols for o in prog.outputs))
        free |= set().union(*(e.free_symbols for _, e in prog.steps))
        assert set(r.hyper_symbols) <= free, "declared hyper-parameters appear in the derivation"
        assert {s.name for s in prog.inputs} >= {s.name for s in r.hyper_symbols}
        assert set(r.hyper) >= set(r.compiled_hyper()) and r.reference
        assert (r.combine is None) == (r.primitives is None)
        assert r.tags and r.tags <= set(TAGS), "tags from lola_sym.rules.TAGS"
        assert ("combined" in r.tags) == (r.combine is not None)

    def test_rejects_bad_input(self):
        f = self.field()
        with pytest.raises(ValueError, match="shape"):
            f(np.zeros(5), np.zeros((2, 4)))
        with pytest.raises(ValueError, match="non-finite"):
            f(np.zeros(5), np.full(5, np.nan))


class SaturatedReference:
    """Per-entry relative precision against the reference at saturated logits (issue 5).

    Only for rules whose mpmath reference is fast at 60 digits; deeper rules are
    covered at saturated logits by ``test_backends_agree``.
    """

    def test_saturated_logits_keep_relative_precision(self):
        """|theta| up to 30: every entry to 1e-8 relative, tiny ones included."""
        game = games.by_name("ipd")
        for backend in ("c", "llvm", "numpy"):
            f = self.field(backend=backend)
            for t1, t2 in _points(22, 2, scale=30.0):
                want = reference.directions(self.rule, game, t1, t2, **self.hyper)
                for x, y in zip(f(t1, t2), want):
                    assert np.max(np.abs(x - y) / np.abs(y)) <= RTOL_SATURATED, backend


class TestNaive(RuleContract, SaturatedReference):
    rule = "nl"


class TestLola(RuleContract, SaturatedReference):
    rule = "lola"
    hyper = {"eta": 0.7}


class TestLookAhead(RuleContract):
    rule = "la"
    hyper = {"eta": 0.7}
    #: one IPD point (its mpmath reference takes 8 s a point); the one-shot games as usual
    reference_games = (("ipd", 1, 6.0), ("matching_pennies", 3, 3.0), ("tandem", 2, 2.0))


class TestLolaFull(RuleContract):
    rule = "lola_full"
    hyper = {"eta": 0.7}


class TestExactLola(RuleContract):
    rule = "exact_lola"
    hyper = {"eta": 0.7}


class TestHola(RuleContract):
    rule = "hola"
    hyper = {"eta": 0.5}
    options = {"order": 2}
    reference_games = (("ipd", 1, 3.0), ("matching_pennies", 2, 3.0), ("tandem", 2, 2.0))


class TestLola2(RuleContract):
    rule = "lola2"
    hyper = {"eta": 0.7}
    reference_games = (("ipd", 1, 6.0), ("matching_pennies", 2, 3.0), ("tandem", 2, 2.0))


class TestConsensus(RuleContract):
    rule = "co"
    hyper = {"gamma": 0.3}


class TestSOS(RuleContract):
    rule = "sos"
    hyper = {"eta": 0.7, "a": 0.5, "b": 0.1}


class TestSGA(RuleContract):
    rule = "sga"
    hyper = {"lam": 1.0}


class TestSGAPlain(RuleContract):
    rule = "sga_plain"
    hyper = {"lam": 0.5}


class TestCGD(RuleContract):
    rule = "cgd"
    hyper = {"eta": 0.7}


def test_every_registered_rule_has_a_contract_test():
    """A rule's contract class lives here or in its own tests/test_rule_<name>.py (so that
    adding a rule edits no shared test file): those modules are imported to find them."""
    for path in sorted(pathlib.Path(__file__).parent.glob("test_rule_*.py")):
        importlib.import_module(path.stem)
    tested = {c.rule for c in RuleContract.__subclasses__()}
    assert tested == set(RULES)


def test_lola_with_zero_eta_is_the_naive_learner():
    """Exactly (symbolically), and numerically to rounding."""
    g = games.ipd()
    lola, nl = update_field(g, "lola", eta=0.0), update_field(g, "nl")
    eta = get_rule("lola").hyper_symbols[0]
    assert [o.xreplace({eta: 0}) for o in lola.program.outputs] == list(nl.program.outputs)
    rng = np.random.default_rng(2)
    t1, t2 = rng.normal(size=(50, 5)), rng.normal(size=(50, 5))
    for a, b in zip(lola(t1, t2), nl(t1, t2)):
        assert np.allclose(a, b, rtol=0, atol=RTOL_EXACT_EVAL * np.max(np.abs(b)))


def test_lola_is_symmetric_in_symmetric_games():
    """Swapping the agents' parameters swaps the directions (own-perspective layout)."""
    f = update_field(games.ipd(), "lola", eta=1.0)
    rng = np.random.default_rng(3)
    t1, t2 = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
    g1, g2 = f(t1, t2)
    h1, h2 = f(t2, t1)
    assert np.allclose(g1, h2, rtol=1e-12, atol=1e-12) and np.allclose(g2, h1, rtol=1e-12, atol=1e-12)


def test_lola_correction_is_linear_in_eta():
    g = games.imp()
    t1, t2 = _points(4, 1, 2.0)[0]
    a = update_field(g, "lola", eta=1.0)(t1, t2)[0]
    b = update_field(g, "lola", eta=3.0)(t1, t2)[0]
    n = update_field(g, "nl")(t1, t2)[0]
    assert np.allclose(b - n, 3 * (a - n), rtol=1e-12, atol=1e-14)


def test_unknown_rule_and_hyper_parameter():
    with pytest.raises(ValueError, match="unknown rule 'lolo'"):
        update_field(games.ipd(), "lolo")
    with pytest.raises(ValueError, match="no hyper-parameter 'alpha'"):
        update_field(games.ipd(), "nl", alpha=1.0)
    with pytest.raises(ValueError, match="eta must be finite"):
        update_field(games.ipd(), "lola", eta=float("inf"))
    with pytest.raises(TypeError, match="rule must be a name"):
        update_field(games.ipd(), 3)
