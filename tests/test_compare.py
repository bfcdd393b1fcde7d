"""Comparison of rules from shared seeds (lola_sym.dynamics.compare)."""

import json

import numpy as np
import pytest

from lola_sym import games, policy, train
from lola_sym.dynamics.compare import compare, default_target, target_distance


def test_every_rule_starts_from_the_same_parameters_and_matches_train():
    """The comparison's numbers are train's numbers from one shared draw."""
    c = compare(games.imp(), ["nl", "lola"], runs=5, steps=20, seed=3)
    t_nl, t_lola = c.trajectories["nl"], c.trajectories["lola"]
    np.testing.assert_array_equal(t_nl.theta1[0], t_lola.theta1[0])
    np.testing.assert_array_equal(t_nl.theta2[0], t_lola.theta2[0])
    direct = train(games.imp(), "lola", theta1=t_nl.theta1[0], theta2=t_nl.theta2[0], steps=20)
    r = direct.final_reward
    assert c["lola"].r1_mean == pytest.approx(r[:, 0].mean(), abs=1e-14)
    assert c["lola"].r2_std == pytest.approx(r[:, 1].std(), abs=1e-14)
    d = target_distance(games.imp(), "nash", direct.theta1[-1], direct.theta2[-1])
    assert c["lola"].distance_mean == pytest.approx(d.mean(), abs=1e-14)
    assert c["lola"].near_percent == pytest.approx(100 * np.mean(d < c.near))


def test_lola_reaches_nash_in_imp_where_nl_does_not():
    """LOLA paper, Table 3 / Fig. 4: in IMP LOLA goes to the Nash point, NL cycles."""
    c = compare(games.imp(), ["nl", "lola"], runs=20, steps=200, seed=0)
    assert c["lola"].distance_mean < 0.1 < c["nl"].distance_mean


def test_deterministic_and_json_serialisable():
    a = compare(games.tandem(), ["nl", "sos"], runs=3, steps=10, delta=0.1, eta=0.1, seed=5)
    b = compare(games.tandem(), ["nl", "sos"], runs=3, steps=10, delta=0.1, eta=0.1, seed=5)
    def without_time(c):
        d = c.as_dict()
        return d | {"outcomes": [{k: v for k, v in o.items() if k != "seconds"}
                                 for o in d["outcomes"]]}
    assert without_time(a) == without_time(b)
    assert json.loads(json.dumps(a.as_dict()))["outcomes"][1]["rule"] == "sos"
    assert "sos" in a.format() and "Tandem" in a.format()


def test_per_rule_settings_and_labels():
    c = compare(games.tandem(), ["exact_lola", ("hola", {"order": 1})], runs=3, steps=10,
                delta=0.1, eta=0.1)
    assert c["hola(order=1)"].hyper == {"eta": 0.1, "order": 1}
    # hola order 1 is exact LOLA (COLA paper), so the outcomes coincide
    assert c["hola(order=1)"].r1_mean == pytest.approx(c["exact_lola"].r1_mean, abs=1e-12)


def test_divergence_is_counted_and_left_out():
    """Naive steps spiral out in the Hamiltonian game (|1 + i delta| > 1)."""
    c = compare(games.hamiltonian(), ["nl"], runs=4, steps=200, delta=1.0, max_abs=10.0)
    o = c["nl"]
    assert o.diverged == 4 and np.isnan(o.r1_mean) and np.isnan(o.distance_mean)
    assert "nan" in c.format()


def test_target_distances():
    ipd, tandem = games.ipd(), games.tandem()
    tft, alld = policy("tft", 30.0), policy("alld", 30.0)
    assert target_distance(ipd, "tft", tft, tft) < 1e-12
    assert target_distance(ipd, "tft", tft, alld) == pytest.approx(1.0)
    assert target_distance(games.imp(), "nash", np.zeros(5), np.zeros(5)) == 0.0
    assert target_distance(tandem, "nash", np.array([1.0]), np.array([1.0])) == pytest.approx(
        1 / np.sqrt(2))
    assert target_distance(games.hamiltonian(), "nash", np.array([3.0]), np.array([4.0])) == 5.0
    d = target_distance(tandem, lambda a, b: np.abs(a[..., 0]), np.array([[-2.0]]), np.zeros((1, 1)))
    assert d.tolist() == [2.0]
    assert default_target(games.chicken()) is None


@pytest.mark.parametrize("args, kwargs, match", [
    ((games.ipd(), []), {}, "at least one rule"),
    ((games.ipd(), ["nl", "nl"]), {}, "distinct"),
    ((games.ipd(), ["nope"]), {}, "unknown rule 'nope'"),
    ((games.ipd(), ["nl"]), {"target": "nash"}, "no known Nash target for 'IPD'"),
    ((games.tandem(), ["nl"]), {"target": "tft"}, "needs a memory-1 iterated game"),
    ((games.ipd(), ["nl"]), {"target": "pareto"}, "unknown target 'pareto'"),
    ((games.ipd(), ["nl"]), {"method": "adam"}, "unknown method"),
])
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare(*args, runs=2, steps=1, **kwargs)


def test_bad_rule_spec_type():
    with pytest.raises(TypeError, match="a rule must be a name"):
        compare(games.ipd(), [3], runs=2, steps=1)


# ------------------------------------------------------------- more than two players
def test_three_players_default_rules_and_shared_starts():
    """With three players compare runs the n-player rules tagged "compare" (a registry query)
    from one draw, and each outcome is train's (memory 0: small programs)."""
    from lola_sym.dynamics.compare import default_rules
    from lola_sym.rules import RULES, rule_names
    g = games.contribution(3, "1.8", memory=0)
    rules = default_rules(g)
    assert rules == tuple(r for r in rule_names("compare") if "n_player" in RULES[r].tags)
    c = compare(g, runs=4, steps=5, seed=2, eta=0.5)
    assert [o.rule for o in c.outcomes] == list(rules) and c.target is None
    lola = c.trajectories["lola"]
    direct = train(g, "lola", thetas=[t[0] for t in c.trajectories["nl"].thetas], steps=5,
                   eta=0.5)
    assert all(np.array_equal(a, b) for a, b in zip(lola.thetas, direct.thetas))
    o = c["lola"]
    r = direct.final_reward
    assert o.reward_mean == pytest.approx(tuple(r.mean(axis=0)), abs=1e-14)
    assert (o.r1_mean, o.r2_std) == pytest.approx((r[:, 0].mean(), r[:, 1].std()), abs=1e-14)
    assert "R3" in c.format().splitlines()[1] and len(json.loads(json.dumps(c.as_dict()))[
        "outcomes"][0]["reward_mean"]) == 3


def test_three_players_callable_target_gets_every_agent():
    g = games.contribution(3, "1.8", memory=0)
    c = compare(g, ["nl"], runs=3, steps=2, target=lambda a, b, c: np.abs(a - c)[..., 0])
    tr = c.trajectories["nl"]
    d = np.abs(tr.thetas[0][-1] - tr.thetas[2][-1])[..., 0]
    assert c["nl"].distance_mean == pytest.approx(d.mean(), abs=1e-14)


@pytest.mark.parametrize("rules, kwargs, match", [
    (["nl", "sos"], {}, "rule 'sos' needs exactly two players"),
    (["nl"], {"target": "tft"}, "target 'tft' is defined for two-player games"),
    (["nl"], {"target": "nash"}, "target 'nash' is defined for two-player games"),
])
def test_three_players_bad_arguments(rules, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare(games.contribution(3, "1.8", memory=0), rules, runs=2, steps=1, **kwargs)
