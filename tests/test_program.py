"""Tests of lola_sym.program: reverse-mode derivatives are exact."""

import pytest
import sympy as sp

from lola_sym.program import Program, sigmoid

x, y, z = sp.symbols("x y z")


def _prog():
    u, v, w = sp.symbols("u v w")
    return Program.from_steps((x, y, z), [
        (u, x * y + sp.sin(z)),
        (v, u ** 2 / (1 + y ** 2)),
        (w, v * x - u),
    ]).with_outputs([w])


def test_gradient_equals_sympy_diff_of_explicit_expression():
    prog = _prog()
    full = prog.explicit()[0]
    grad_prog, grads = prog.gradient(prog.outputs[0], (x, y, z))
    got = grad_prog.explicit(grads)
    for g, var in zip(got, (x, y, z)):
        assert sp.simplify(g - sp.diff(full, var)) == 0


def test_second_order_by_reverse_over_reverse():
    prog = _prog()
    full = prog.explicit()[0]
    p1, (gx, gy, gz) = prog.gradient(prog.outputs[0], (x, y, z))
    p1, (gxs,) = p1.define([("gx", gx)])
    p2, (hxy, hxz) = p1.gradient(gxs, (y, z), prefix="_h")
    got = p2.explicit([hxy, hxz])
    assert sp.simplify(got[0] - sp.diff(full, x, y)) == 0
    assert sp.simplify(got[1] - sp.diff(full, x, z)) == 0


def test_vjp_holds_the_vector_fixed():
    prog = Program.from_steps((x, y), [("a", x ** 2 * y), ("b", x * y ** 3)])
    a, b = sp.symbols("a b")
    # v = (y, x) as a stop-gradient vector: v^T d(a, b)/dx = y * 2xy + x * y^3
    p2, (g,) = prog.vjp([a, b], (x,), [y, x])
    assert sp.expand(p2.explicit([g])[0] - (2 * x * y ** 2 + x * y ** 3)) == 0
    with pytest.raises(ValueError, match="as many"):
        prog.vjp([a, b], (x,), [y])


def test_sigmoid_derivative_reuses_the_complement_steps():
    t = sp.Symbol("t")
    p, q = sp.symbols("p q")
    prog = Program.from_steps((t,), [(p, sigmoid(t)), (q, sigmoid(-t)), ("v", p ** 2)])
    p2, (g,) = prog.gradient(sp.Symbol("v"), (t,))
    # d/dt p^2 = 2 p * p q written with the step symbols
    assert p2.explicit([g])[0] == sp.expand(2 * sigmoid(t) ** 2 * sigmoid(-t)) or \
        sp.simplify(p2.explicit([g])[0] - 2 * sigmoid(t) ** 2 * sigmoid(-t)) == 0
    assert {p, q} <= set().union(*(e.free_symbols for _, e in p2.steps[3:])) | g.free_symbols


def test_sigmoid_evaluates_to_high_precision():
    v = sigmoid(sp.Float("30", 50)).evalf(50)
    import mpmath
    with mpmath.workdps(50):
        assert abs(v - 1 / (1 + mpmath.exp(-30))) < sp.Float("1e-45")


def test_evaluate_is_exact_for_rationals_and_accepts_intermediates():
    prog = _prog()
    u = sp.Symbol("u")
    got = prog.evaluate({x: sp.Rational(1, 3), y: 2, z: 0, u: sp.Rational(5, 7)})
    v = sp.Rational(5, 7) ** 2 / 5
    assert got == [v / 3 - sp.Rational(5, 7)]


def test_reorder_and_undefined_symbols():
    a, b = sp.symbols("a b")
    prog = Program((x,), ((b, a + 1), (a, x * 2)), (b,))
    assert [s for s, _ in prog.reorder().steps] == [a, b]
    with pytest.raises(ValueError, match="undefined"):
        Program((x,), ((b, a + 1),), (b,)).reorder()


def test_pruned_drops_unused_steps_and_size_counts_operations():
    prog = _prog()
    extra = prog.extend([(sp.Symbol("unused"), x + y)])
    assert len(extra.pruned().steps) == len(prog.steps)
    assert prog.size() > 0
