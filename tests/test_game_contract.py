"""The contract every game of the catalogue keeps, and a check that none is missing.

Each catalogue game has a test class inheriting :class:`GameContract`: its
protocol is consistent (dims, symbols, labels, spec), its compiled values equal
its exact value program evaluated at 40 digits, they broadcast like the
logits, and they stay finite where every policy saturates. Markov games (kind
``"markov"``, e.g. the coin game) have no symbolic program: they keep
:class:`MarkovContract`, whose values are checked against a dense solve of the
chain read from the game's own tables instead.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from lola_sym import games

#: compiled values against the exact program at 40 digits (relative to the largest value)
RTOL_VALUE_PROGRAM = 1e-12
#: sparse-LU values of a Markov game against a dense solve of the same chain: both are
#: backward stable, the condition number of I - gamma P is at most (1 + gamma)/(1 - gamma)
#: = 49 in the max-norm, so they agree to a few hundred units of rounding
RTOL_DENSE_SOLVE = 1e-12


class GameContract:
    """Tests every game must pass. Subclasses set ``name`` (a catalogue name)."""

    name: str = ""
    #: values of the game's symbols, for families
    parameters: dict = {}

    def game(self):
        return games.by_name(self.name)

    def point(self, seed=0, scale=1.5):
        rng = np.random.default_rng(seed)
        return [rng.normal(0.0, scale, d) for d in self.game().dims]

    def test_protocol_is_consistent(self):
        g = self.game()
        assert len(g.dims) == len(g.theta) == len(g.param_names) >= 2
        assert [len(t) for t in g.theta] == list(g.dims) == [len(n) for n in g.param_names]
        symbols = [s for t in g.theta for s in t]
        assert len(set(symbols)) == len(symbols)
        assert isinstance(g.name, str) and g.kind in ("iterated", "repeated", "differentiable",
                                                      "markov", "reparameterised")

    def test_spec_is_exact_json_and_identifies_the_game(self):
        g = self.game()
        text = json.dumps(g.spec(), sort_keys=True)
        assert text == json.dumps(self.game().spec(), sort_keys=True)
        assert hash(g) == hash(self.game()) and g == self.game()

    def test_values_equal_the_exact_program(self):
        g = self.game()
        prog = g.value_program()
        th = self.point(1)
        v = g.value(*th, **self.parameters)
        env = {}
        for syms, t in zip(g.theta, th):
            env.update(zip(syms, (sp.Float(repr(float(x)), 40) for x in t)))
        by_name = {s.name: s for s in getattr(g, "parameters", ())}
        env.update({by_name[k]: sp.Rational(str(x)) for k, x in self.parameters.items()})
        want = np.array([float(x) for x in prog.evaluate(env, dps=40)])
        assert v.shape == (len(g.dims),)
        assert np.allclose(v, want, rtol=RTOL_VALUE_PROGRAM,
                           atol=RTOL_VALUE_PROGRAM * np.abs(want).max())

    def test_values_broadcast_over_leading_axes(self):
        g = self.game()
        rng = np.random.default_rng(2)
        batch = [rng.normal(size=(3, d)) for d in g.dims]
        single = [b[1] for b in batch]
        v = g.value(*batch, **self.parameters)
        assert v.shape == (3, len(g.dims))
        assert np.allclose(v[1], g.value(*single, **self.parameters), rtol=1e-14)
        mixed = [batch[0]] + single[1:]                 # one player batched, others fixed
        assert g.value(*mixed, **self.parameters).shape == (3, len(g.dims))

    def test_values_stay_finite_where_policies_saturate(self):
        g = self.game()
        rng = np.random.default_rng(3)
        th = [np.where(rng.random(d) < 0.5, -60.0, 60.0) for d in g.dims]
        assert np.isfinite(g.value(*th, **self.parameters)).all()


def dense_values(game, thetas) -> np.ndarray:
    """A Markov game's values by a dense solve of its chain, built from its tables by loops
    over the joint actions (chance nodes folded into the transitions)."""
    tables = game.policy_table(*thetas)
    probs = [t[v] for t, v in zip(tables, game.views)]
    joint = probs[0]
    for q in probs[1:]:
        joint = (joint[:, :, None] * q[:, None, :]).reshape(len(joint), -1)
    S, Z, A = game.n_states, game.n_chance, game.n_joint
    C = np.zeros((Z, S))
    node, cnext, cprob = game.chance
    np.add.at(C, (node, cnext), cprob)
    s, a, nxt, p = game.transitions
    P = np.zeros((S, S))
    for b in range(A):
        K = np.zeros((S, S + Z))
        sel = a == b
        np.add.at(K, (s[sel], nxt[sel]), p[sel])
        P += joint[:, b, None] * (K[:, :S] + K[:, S:] @ C)
    r = np.einsum("sa,nsa->sn", joint, game.rewards)
    gamma = float(game.gamma)
    if game.horizon is None:
        w = np.linalg.solve(np.eye(S) - gamma * P, r)
    else:
        w = np.zeros_like(r)
        for _ in range(game.horizon):
            w = r + gamma * P @ w
    return game.start @ w


class MarkovContract(GameContract):
    """The contract of a Markov game: the symbolic program is refused with a clear message
    and the exact-program check becomes a check against an independent dense solve."""

    def test_values_equal_the_exact_program(self):
        g = self.game()
        th = self.point(1)
        v = g.value(*th)
        want = dense_values(g, th)
        assert v.shape == (len(g.dims),)
        assert np.allclose(v, want, rtol=RTOL_DENSE_SOLVE,
                           atol=RTOL_DENSE_SOLVE * np.abs(want).max())
        wrong = dense_values(g, [th[1], th[0]])        # the check can fail: players swapped
        assert not np.allclose(wrong, want, rtol=1e-6)

    def test_the_symbolic_program_is_refused_clearly(self):
        with pytest.raises(ValueError, match="no symbolic value program"):
            self.game().value_program()


def _class_name(name):
    return "Test" + "".join(p.capitalize() for p in name.split("_"))


for _name in games.CATALOGUE:
    _base = MarkovContract if games.CATALOGUE[_name]().kind == "markov" else GameContract
    globals()[_class_name(_name)] = type(_class_name(_name), (_base,), {"name": _name})


class TestSymbolicIpd(GameContract):
    """The symbolic IPD, a family whose values take R, S, T, P and gamma at call time."""

    name = "ipd (symbolic)"
    parameters = {"R": -1, "S": -3, "T": 0, "P": -2, "gamma": 0.96}

    def game(self):
        return games.ipd(symbolic=True)


def _contract_classes(cls=GameContract):
    for sub in cls.__subclasses__():
        yield sub
        yield from _contract_classes(sub)


def test_every_catalogue_game_keeps_the_contract():
    tested = {c.name for c in _contract_classes()}
    missing = set(games.CATALOGUE) - tested
    assert not missing, f"catalogue games without a GameContract test class: {sorted(missing)}"


@pytest.mark.parametrize("bad", [[np.zeros(5)], [np.zeros(4), np.zeros(5)]])
def test_wrong_parameter_arrays_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        games.ipd().value(*bad)
