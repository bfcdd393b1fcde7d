"""The contract every compilation backend keeps, and a check that none is missing.

Each backend of :data:`lola_sym.compile.BACKENDS` has a test class inheriting
:class:`BackendContract`: its code equals the exact program evaluated at 40
digits (sigmoid and softmax policies, rational constants, a hyper-parameter),
one point equals the same row of a batch, an empty batch works, batches of
every size agree, and a cacheable backend's payload round-trips.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from lola_sym.compile import BACKENDS, CompiledProgram, backend_module, compile_field
from lola_sym.program import Program, sigmoid, softmax

#: compiled against the exact program at 40 digits (relative to the largest output)
RTOL_BACKEND = 1e-13

X = sp.symbols("x0:3", real=True)
Y = sp.symbols("y0:2", real=True)
ETA = sp.Symbol("eta", positive=True)


def _program() -> Program:
    u, v, w = sp.symbols("u v w")
    steps = [(u, sigmoid(X[0] - Y[1])), (v, softmax(1, X[1], X[2])),
             (w, u * v / (1 + ETA * Y[0] ** 2))]
    outs = [w + sp.Rational(1, 3) * u, v - sp.Rational(10 ** 20, 7) * w * 1e-20, ETA * u * v]
    return Program.from_steps(X + Y + (ETA,), steps).with_outputs(outs)


class BackendContract:
    """Tests every backend must pass. Subclasses set ``backend``."""

    backend: str = ""

    @pytest.fixture(autouse=True)
    def _available(self):
        if not backend_module(self.backend).available():
            pytest.skip(f"backend {self.backend!r} is not available here")

    def compiled(self, tmp_path=None):
        return compile_field(_program(), [X, Y], (ETA,), n_out=(2, 1), backend=self.backend,
                             lib_dir=tmp_path)

    def test_equals_the_exact_program(self):
        f = self.compiled()
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
        a, b = f(x, y, 0.7)
        prog = _program()
        for k in range(6):
            env = dict(zip(X, map(sp.Float, x[k]))) | dict(zip(Y, map(sp.Float, y[k])))
            env[ETA] = sp.Float(0.7)
            want = np.array([float(v) for v in prog.evaluate(env, dps=40)])
            got = np.concatenate([a[k], b[k]])
            assert np.allclose(got, want, rtol=RTOL_BACKEND, atol=RTOL_BACKEND * abs(want).max())

    def test_one_point_equals_its_batch_row_and_empty_batches_work(self):
        f = self.compiled()
        rng = np.random.default_rng(1)
        x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
        a, b = f(x, y, 0.3)
        p = f.point(x[2], y[2], np.array([0.3]))
        assert np.array_equal(p[0], a[2]) and np.array_equal(p[1], b[2])
        e = f(np.empty((0, 3)), np.empty((0, 2)), 0.3)
        assert e[0].shape == (0, 2) and e[1].shape == (0, 1)

    def test_batches_of_any_size_agree(self):
        f = self.compiled()
        rng = np.random.default_rng(2)
        x, y = rng.normal(size=(3000, 3)), rng.normal(size=(3000, 2))
        a, _ = f(x, y, 1.1)
        a17, _ = f(x[:17], y[:17], 1.1)
        assert np.array_equal(a[:17], a17)

    def test_saturated_policies_give_no_nan(self):
        f = self.compiled()
        x = np.array([[800.0, -800.0, 800.0], [-800.0, 800.0, 800.0]])
        y = np.array([[0.0, -800.0], [1.0, 800.0]])
        assert all(np.isfinite(g).all() for g in f(x, y, 0.5))

    def test_cacheable_payload_round_trips(self, tmp_path):
        f = self.compiled(tmp_path)
        try:
            payload = f.to_payload()
        except ValueError:
            assert self.backend == "numpy"                 # rebuilt, never cached
            return
        g = CompiledProgram.from_payload(payload, (ETA,), tmp_path)
        x, y = np.ones((2, 3)), np.zeros((2, 2))
        assert all(np.array_equal(p, q) for p, q in zip(f(x, y, 0.2), g(x, y, 0.2)))


class TestC(BackendContract):
    backend = "c"


class TestLlvm(BackendContract):
    backend = "llvm"


class TestNumpy(BackendContract):
    backend = "numpy"


def test_every_backend_keeps_the_contract():
    tested = {c.backend for c in BackendContract.__subclasses__()}
    assert tested == set(BACKENDS)
