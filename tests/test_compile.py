"""Tests of lola_sym.compile."""

import numpy as np
import pytest
import sympy as sp

from lola_sym.compile import compile_field
from lola_sym.program import Program, sigmoid


def test_compiled_program_matches_exact_evaluation_and_shares_subexpressions():
    x = sp.symbols("x0:2")
    y = sp.symbols("y0:1")
    eta = sp.Symbol("eta")
    u = sp.Symbol("u")
    prog = Program.from_steps(x + y + (eta,), [(u, sigmoid(x[0]) * y[0] + x[1] ** 2)])
    prog = prog.with_outputs([u * eta, u + x[1] ** 2, sp.Integer(3)])
    f = compile_field(prog, [x, y], (eta,), n_out=(2, 1), backend="numpy")
    a = np.array([[0.5, -1.0], [2.0, 3.0]])
    b = np.array([[1.5], [-0.5]])
    g1, g2 = f(a, b, 2.0)
    assert g1.shape == (2, 2) and g2.shape == (2, 1)
    for i in range(2):
        vals = {x[0]: a[i, 0], x[1]: a[i, 1], y[0]: b[i, 0], eta: 2.0}
        want = [float(v) for v in prog.evaluate(vals)]
        assert np.allclose(np.r_[g1[i], g2[i]], want, rtol=1e-14)
    assert f.source.count("a1**2") == 1     # common subexpression computed once


def test_compile_errors():
    x = sp.symbols("x0:1")
    prog = Program.from_steps(x, []).with_outputs([x[0] + sp.Symbol("h")])
    with pytest.raises(ValueError, match="without a value"):
        compile_field(prog, [x], (), n_out=(1,))
    with pytest.raises(ValueError, match="does not match"):
        compile_field(prog, [x], (sp.Symbol("h"),), n_out=(2,))
    with pytest.raises(ValueError, match="unknown backend"):
        compile_field(prog, [x], (sp.Symbol("h"),), n_out=(1,), backend="fortran")


def test_llvm_and_numpy_backends_agree_on_a_small_program():
    x = sp.symbols("x0:2")
    u = sp.Symbol("u")
    prog = Program.from_steps(x, [(u, sigmoid(x[0]) * sigmoid(-x[1]) / (1 + x[0] ** 2))])
    prog = prog.with_outputs([u, u * x[1], sp.exp(x[0]) - 1])
    a = np.random.default_rng(0).normal(size=(7, 2)) * 10
    outs = [compile_field(prog, [x], (), n_out=(3,), backend=b)(a)[0] for b in ("numpy", "llvm")]
    assert np.allclose(outs[0], outs[1], rtol=1e-13, atol=0)
    one = compile_field(prog, [x], (), n_out=(3,), backend="llvm")(a[0])[0]
    assert np.allclose(one, outs[0][0], rtol=1e-13, atol=0)


def test_the_saturation_check_can_fail():
    """1 - sigmoid(x) loses all relative precision at x = 30; sigmoid(-x) keeps it."""
    x = sp.symbols("x0:1")
    good = Program.from_steps(x, []).with_outputs([sigmoid(-x[0])])
    bad = Program.from_steps(x, []).with_outputs([1 - sigmoid(x[0])])
    want = 1 / (1 + np.exp(30.0))
    for backend in ("llvm", "numpy"):
        g = compile_field(good, [x], (), n_out=(1,), backend=backend)(np.array([30.0]))[0][0]
        b = compile_field(bad, [x], (), n_out=(1,), backend=backend)(np.array([30.0]))[0][0]
        assert abs(g - want) / want <= 1e-14
        assert abs(b - want) / want > 1e-8


def test_blocked_c_source_equals_the_single_function(monkeypatch):
    """A long program is split into block functions (values shared through ``t``): the
    blocked library gives the single function's outputs and the exact evaluation's."""
    from lola_sym.compile import backend_c
    if not backend_c.available():
        pytest.skip("no C compiler")
    x = sp.symbols("x0:3")
    steps, prev = [], x[0]
    for k in range(40):                    # a chain with long-range uses of x and early steps
        s = sp.Symbol(f"u{k}")
        steps.append((s, prev * x[1 + k % 2] / (1 + prev ** 2) + sigmoid(x[k % 3]) + k))
        prev = s
    prog = Program.from_steps(x, steps).with_outputs([prev, sp.Symbol("u3") * prev,
                                                      sp.Symbol("u17") - x[2]])
    a = np.random.default_rng(1).normal(size=(9, 3))
    single = compile_field(prog, [x], (), n_out=(3,), backend="c")
    monkeypatch.setattr(backend_c, "BLOCK_ABOVE", 5)
    monkeypatch.setattr(backend_c, "BLOCK_STATEMENTS", 7)
    blocked = compile_field(prog, [x], (), n_out=(3,), backend="c")
    assert "static void b_0" in blocked.source and "b_0" not in single.source
    assert "= t[" in blocked.source                       # values cross block boundaries
    got, want = blocked(a)[0], single(a)[0]
    assert np.allclose(got, want, rtol=1e-14, atol=0)
    exact = np.array([[float(v) for v in prog.evaluate(dict(zip(x, row)))] for row in a[:2]])
    assert np.allclose(got[:2], exact, rtol=1e-13, atol=0)
    assert not np.allclose(got[:, 1], got[:, 0])          # the outputs are not all the same


def test_the_c_backend_respects_openmp_thread_limits():
    """threadpoolctl's (or OMP_NUM_THREADS') OpenMP limit caps the threads a large batch
    asks for; without a limit it asks for every core (so the check can fail)."""
    from lola_sym.compile import backend_c
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not backend_c.available():
        pytest.skip("no C compiler")
    x = sp.symbols("x0:2")
    prog = Program.from_steps(x, []).with_outputs([x[0] * x[1]])
    f = compile_field(prog, [x], (), n_out=(1,), backend="c")
    raw = f.raw
    if raw._omp_max is None:
        pytest.skip("built without OpenMP")
    asked, real = [], raw._fn
    raw._fn = lambda X, Y, n, nt: (asked.append(nt), real(X, Y, n, nt))
    raw.threads = 4
    X = np.ones((backend_c.THREADS_MIN_BATCH, 2))
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        f(X)
    f(X[:10])
    assert asked[:2] == [1, 1]
    f(X)
    assert asked[2] == min(4, raw._omp_max()) > 1 or raw._omp_max() == 1
